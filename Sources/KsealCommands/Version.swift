/// kseal's version, as `--version` prints it in both front ends.
public enum KsealVersion {
    public static let string = "0.4.2"
}
