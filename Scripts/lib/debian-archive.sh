# Sourced by Scripts/kernel-run and Scripts/aarch64-toolchain: Debian packages fetched through
# private package lists, so the host's own apt state is never touched.
#
#   debian_apt TOOL ARG...     apt-get/apt-cache against the private lists (amd64 and arm64)
#   debian_refresh_lists       refreshes them at most once a day (KERNEL_REFRESH=1: now)
#   debian_mirror              the Debian archive URI the host's apt uses (or DEBIAN_MIRROR)
#   debian_install_missing PKG...   installs (with the host's apt) those of PKG not installed
#
# The lists cover bookworm, trixie, trixie-backports and sid, with bookworm's and trixie's
# security updates, for amd64 and arm64. They live in $DEBIAN_APT_DIR (default
# ${XDG_CACHE_HOME:-~/.cache}/kseal/apt), beside the packages they download.

DEBIAN_APT_DIR=${DEBIAN_APT_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/kseal/apt}

# The Debian archive and security URIs the host's apt already uses (deb822 or one-line sources).
debian_mirror_uris() {
    local main=${DEBIAN_MIRROR:-} security=${DEBIAN_SECURITY_MIRROR:-} uris
    uris=$(cat /etc/apt/sources.list.d/*.sources 2>/dev/null | sed -n 's/^URIs:[[:space:]]*//p'; \
           cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null | awk '$1=="deb" {for (i=2;i<=NF;i++) if ($i ~ /^[a-z]+:\/\//) {print $i; break}}')
    [ -n "$main" ] || main=$(tr ' ' '\n' <<<"$uris" | grep -E '/debian/?$' | head -n 1)
    [ -n "$security" ] || security=$(tr ' ' '\n' <<<"$uris" | grep -E '/debian-security/?$' | head -n 1)
    [ -n "$main" ] || { echo "debian-archive: no Debian archive in the host's apt sources; set DEBIAN_MIRROR" >&2; return 125; }
    echo "${main%/} ${security%/}"
}

debian_mirror() { local main _; read -r main _ <<<"$(debian_mirror_uris)"; echo "$main"; }

debian_apt() {
    local tool=$1; shift
    "$tool" -o Dir::State::Lists="$DEBIAN_APT_DIR/lists" -o Dir::Etc::sourcelist="$DEBIAN_APT_DIR/sources.list" \
        -o Dir::Etc::sourceparts=- -o Dir::Cache::pkgcache= -o Dir::Cache::srcpkgcache= \
        -o Dir::State::status=/dev/null -o Dir::Cache::archives="$DEBIAN_APT_DIR/archives" \
        -o APT::Architectures::=amd64 -o APT::Architectures::=arm64 \
        -o APT::Sandbox::User=root -o Debug::NoLocking=1 "$@"
}

debian_refresh_lists() {
    mkdir -p "$DEBIAN_APT_DIR/lists/partial" "$DEBIAN_APT_DIR/archives/partial"
    local stamp="$DEBIAN_APT_DIR/updated" main security suite sources
    read -r main security <<<"$(debian_mirror_uris)"
    local keyring=/usr/share/keyrings/debian-archive-keyring.gpg
    sources=$(
        for suite in bookworm trixie trixie-backports sid; do echo "deb [arch=amd64,arm64 signed-by=$keyring] $main $suite main"; done
        if [ -n "$security" ]; then
            for suite in bookworm-security trixie-security; do echo "deb [arch=amd64,arm64 signed-by=$keyring] $security $suite main"; done
        fi)
    if [ "${KERNEL_REFRESH:-0}" != 1 ] && [ -f "$stamp" ] && [ -n "$(find "$stamp" -mmin -1440)" ] \
        && [ "$sources" = "$(cat "$DEBIAN_APT_DIR/sources.list" 2>/dev/null)" ]; then return 0; fi
    echo "$sources" > "$DEBIAN_APT_DIR/sources.list"
    if debian_apt apt-get update -qq >&2; then touch "$stamp"
    else echo "debian-archive: cannot refresh Debian's package lists; using what is cached" >&2; fi
}

debian_install_missing() {
    local missing=() p
    for p in "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
    done
    if [ ${#missing[@]} -gt 0 ]; then
        echo "$(basename "$0"): installing ${missing[*]}" >&2
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq >&2 && apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
    fi
}
