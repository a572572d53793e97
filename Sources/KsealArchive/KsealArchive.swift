@_exported import KsealCrypto
