/* fileio: whole-file reads, bounded, for /proc, /sys, resolv.conf and the state document. */
#ifndef LE_FILEIO_H
#define LE_FILEIO_H

#include <stddef.h>

/* Reads the regular file at path whole into *buf (malloc'ed, NUL-terminated; *len bytes).
 * Never waits for a writer (a FIFO put in its place is refused, not opened for good).
 * 0, or -1 with errno: the open/read error, EFBIG above max bytes, EISDIR for a
 * directory, EINVAL for anything else that is not a regular file. */
int file_read(const char *path, size_t max, char **buf, size_t *len);

/* file_read into a caller's buffer (at most outlen - 1 bytes, NUL-terminated): 0 or -1. */
int file_read_into(const char *path, char *out, size_t outlen);

#endif
