#define _GNU_SOURCE
#include "CSystemShim.h"
#include <fcntl.h>
#include <stdio.h>
#include <sched.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <string.h>
#include <unistd.h>

ssize_t kseal_copy_file_range(int fd_in, int64_t *off_in, int fd_out, size_t len) {
    loff_t off = *off_in;
    ssize_t n = copy_file_range(fd_in, &off, fd_out, NULL, len, 0);
    *off_in = off;
    return n;
}

ssize_t kseal_getrandom(void *buffer, size_t length) { return getrandom(buffer, length, 0); }

long kseal_utime_omit(void) { return UTIME_OMIT; }

int kseal_renameat_noreplace(int olddirfd, const char *oldpath, int newdirfd, const char *newpath) {
    return renameat2(olddirfd, oldpath, newdirfd, newpath, RENAME_NOREPLACE);
}

int kseal_open_unnamed(int dirfd, int mode) {
    return openat(dirfd, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, mode);
}

int kseal_link_unnamed(int fd, int newdirfd, const char *newname) {
    char path[64];
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    if (linkat(AT_FDCWD, path, newdirfd, newname, AT_SYMLINK_FOLLOW) == 0) return 0;
    // Without /proc, AT_EMPTY_PATH does the same (it needs CAP_DAC_READ_SEARCH).
    return linkat(fd, "", newdirfd, newname, AT_EMPTY_PATH);
}

void kseal_wipe(void *buffer, size_t length) { explicit_bzero(buffer, length); }

#include <malloc.h>
int kseal_limit_malloc_arenas(int count) { return mallopt(M_ARENA_MAX, count); }

#include <linux/falloc.h>
int kseal_punch_hole(int fd, int64_t offset, int64_t length) {
    return fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, offset, length);
}

#include <sys/sysmacros.h>
uint32_t kseal_major(uint64_t device) { return major(device); }
uint32_t kseal_minor(uint64_t device) { return minor(device); }
uint64_t kseal_makedev(uint32_t major, uint32_t minor) { return makedev(major, minor); }
int kseal_seek_data(void) { return SEEK_DATA; }
int kseal_seek_hole(void) { return SEEK_HOLE; }

#include <sys/xattr.h>
ssize_t kseal_llistxattr(const char *path, char *list, size_t size) { return llistxattr(path, list, size); }
ssize_t kseal_lgetxattr(const char *path, const char *name, void *value, size_t size) { return lgetxattr(path, name, value, size); }
int kseal_lsetxattr(const char *path, const char *name, const void *value, size_t size) { return lsetxattr(path, name, value, size, 0); }
int kseal_fsetxattr(int fd, const char *name, const void *value, size_t size) { return fsetxattr(fd, name, value, size, 0); }

int kseal_available_cpus(void) {
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) != 0) return 1;
    int count = CPU_COUNT(&set);
    return count > 0 ? count : 1;
}
