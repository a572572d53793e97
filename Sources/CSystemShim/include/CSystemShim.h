#ifndef KSEAL_CSYSTEMSHIM_H
#define KSEAL_CSYSTEMSHIM_H
// glibc declares these only under _GNU_SOURCE, which a Swift module cannot set for its importers;
// shim.c defines it and forwards. Values come from the system headers, never retyped.
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

ssize_t kseal_copy_file_range(int fd_in, int64_t *off_in, int fd_out, size_t len);
ssize_t kseal_getrandom(void *buffer, size_t length);
long kseal_utime_omit(void);
int kseal_renameat_noreplace(int olddirfd, const char *oldpath, int newdirfd, const char *newpath);
// An unnamed file in the directory `dirfd` (O_TMPFILE): it never appears under any name unless
// kseal_link_unnamed gives it one, and vanishes on close, even after SIGKILL. -1/errno if the
// file system cannot do it.
int kseal_open_unnamed(int dirfd, int mode);
// Gives the unnamed file `fd` the name `newname` in `newdirfd` (fails with EEXIST if taken).
int kseal_link_unnamed(int fd, int newdirfd, const char *newname);
// Frees a range of a file's blocks and cached pages (fallocate PUNCH_HOLE | KEEP_SIZE); -1/errno
// where the file system cannot.
int kseal_punch_hole(int fd, int64_t offset, int64_t length);
// Caps glibc's per-thread heap arenas (mallopt M_ARENA_MAX); returns 1 on success.
int kseal_limit_malloc_arenas(int count);
// The CPUs this process may run on (sched_getaffinity; CPU_COUNT is a macro), at least 1.
int kseal_available_cpus(void);
// Zeroes memory in a way the compiler may not elide (explicit_bzero).
void kseal_wipe(void *buffer, size_t length);

// Device numbers as Linux splits them (glibc's major/minor/makedev are macros Swift cannot call).
uint32_t kseal_major(uint64_t device);
uint32_t kseal_minor(uint64_t device);
uint64_t kseal_makedev(uint32_t major, uint32_t minor);
// SEEK_DATA and SEEK_HOLE (behind _GNU_SOURCE in glibc's headers).
int kseal_seek_data(void);
int kseal_seek_hole(void);
// Extended attributes of a path itself, never a symlink's target (<sys/xattr.h> is not in
// Swift's Glibc module).
ssize_t kseal_llistxattr(const char *path, char *list, size_t size);
ssize_t kseal_lgetxattr(const char *path, const char *name, void *value, size_t size);
int kseal_lsetxattr(const char *path, const char *name, const void *value, size_t size);
int kseal_fsetxattr(int fd, const char *name, const void *value, size_t size);
#endif
