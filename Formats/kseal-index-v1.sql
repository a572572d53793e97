-- kseal index schema, format v1. Normative; see kseal-archive-v1.md §9 for the rules a reader
-- enforces on top of it. This file is compiled into kseal (Package.swift), which executes it as is.
PRAGMA application_id = 1263748428;  -- 0x4B53454C, "KSEL"
PRAGMA user_version = 1;
CREATE TABLE entries (
    id          INTEGER PRIMARY KEY,   -- 1, 2, 3, ... in archive order
    path        BLOB NOT NULL UNIQUE,  -- relative path, '/'-separated raw bytes
    kind        INTEGER NOT NULL,      -- 1 file, 2 directory, 3 symlink, 4 hard link
    mode        INTEGER NOT NULL,      -- permission bits, 0 to 0o7777
    uid         INTEGER NOT NULL,
    gid         INTEGER NOT NULL,
    mtime_sec   INTEGER NOT NULL,      -- seconds since the epoch
    mtime_nsec  INTEGER NOT NULL,      -- 0 to 999999999
    size        INTEGER NOT NULL,      -- content bytes for files and hard links, else 0
    target      BLOB                   -- symlink: the link text; hard link: path of an earlier file entry
);
CREATE TABLE chunks (
    ordinal        INTEGER PRIMARY KEY,  -- frame ordinal: 0, 1, 2, ... in order of first use
    sha256         BLOB NOT NULL UNIQUE, -- SHA-256 of the uncompressed chunk
    plain_length   INTEGER NOT NULL,     -- 1 to chunk_size
    stored_length  INTEGER NOT NULL,     -- bytes sealed in the frame (compressed or raw)
    compression    INTEGER NOT NULL,     -- 0 raw, 1 zstd
    frame_offset   INTEGER NOT NULL      -- offset of the sealed frame from the start of the frames area
);
CREATE TABLE file_chunks (
    entry_id  INTEGER NOT NULL,          -- entries.id of a file (kind 1)
    seq       INTEGER NOT NULL,          -- 0, 1, 2, ... position of the chunk in the file
    ordinal   INTEGER NOT NULL,          -- chunks.ordinal
    PRIMARY KEY (entry_id, seq)
) WITHOUT ROWID;
