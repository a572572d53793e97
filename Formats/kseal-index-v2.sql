-- kseal index schema, format v2. Normative, with kseal-archive-v2.md §9 for the rules a reader enforces on top.
-- STRICT tables: SQLite itself refuses a value of the wrong storage type.
PRAGMA application_id = 1263748428;  -- 0x4B53454C, "KSEL", as v1
PRAGMA user_version = 2;
CREATE TABLE entries (
    id          INTEGER PRIMARY KEY,   -- 1, 2, 3, ... in archive order
    path        BLOB NOT NULL UNIQUE,  -- relative path, '/'-separated raw bytes
    kind        INTEGER NOT NULL,      -- 1 file, 2 directory, 3 symlink, 4 hard link,
                                       -- 5 character device, 6 block device, 7 FIFO
    mode        INTEGER NOT NULL,      -- permission bits, 0 to 0o7777
    uid         INTEGER NOT NULL,
    gid         INTEGER NOT NULL,
    user_name   BLOB,                  -- the owner's name on the writing host, or NULL
    group_name  BLOB,                  -- the group's name on the writing host, or NULL
    mtime_sec   INTEGER NOT NULL,      -- seconds since the epoch, signed
    mtime_nsec  INTEGER NOT NULL,      -- 0 to 999999999, counting forward
    size        INTEGER NOT NULL,      -- content bytes for files and hard links, else 0
    target      BLOB,                  -- symlink: the link text; hard link: path of an earlier file entry
    dev_major   INTEGER,               -- devices (kinds 5, 6) only
    dev_minor   INTEGER                -- devices (kinds 5, 6) only
) STRICT;
CREATE TABLE chunks (
    ordinal        INTEGER PRIMARY KEY,  -- frame ordinal: 0, 1, 2, ... in order of first use
    sha256         BLOB NOT NULL UNIQUE, -- SHA-256 of the uncompressed chunk (never all zero bytes)
    plain_length   INTEGER NOT NULL,     -- 1 to chunk_size
    stored_length  INTEGER NOT NULL,     -- bytes sealed in the frame (compressed or raw)
    compression    INTEGER NOT NULL,     -- 0 raw, 1 zstd
    frame_offset   INTEGER NOT NULL      -- offset of the sealed frame from the start of the frames area
) STRICT;
CREATE TABLE file_chunks (
    entry_id  INTEGER NOT NULL,          -- entries.id of a file (kind 1)
    seq       INTEGER NOT NULL,          -- 0, 1, 2, ... position of the extent in the file
    ordinal   INTEGER,                   -- chunks.ordinal, or NULL for a run of zero bytes
    zeros     INTEGER NOT NULL,          -- 0 with an ordinal; else the run's length, >= 1
    PRIMARY KEY (entry_id, seq)
) STRICT, WITHOUT ROWID;
CREATE TABLE xattrs (
    entry_id  INTEGER NOT NULL,          -- entries.id (any kind but hard link)
    name      BLOB NOT NULL,             -- full name with its namespace: user.*, trusted.*,
                                         -- security.*, system.posix_acl_access/_default
    value     BLOB NOT NULL,             -- raw bytes as the kernel returns them
    PRIMARY KEY (entry_id, name)
) STRICT, WITHOUT ROWID;
