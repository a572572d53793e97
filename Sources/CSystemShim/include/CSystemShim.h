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
#endif
