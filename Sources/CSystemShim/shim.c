#define _GNU_SOURCE
#include "CSystemShim.h"
#include <fcntl.h>
#include <stdio.h>
#include <sys/random.h>
#include <sys/stat.h>
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
