/* outfd: whole lines to stdout or stderr without ever waiting for a reader. */
#ifndef LE_OUTFD_H
#define LE_OUTFD_H

#include <stddef.h>

struct outfd {
	int fd;                   /* ours (O_NONBLOCK), or the std fd itself */
	int path;                 /* how a line is written: see outfd.c */
	unsigned long dropped;    /* lines that could not be written at once */
};

/* Opens the supervisor's own way to std fd (1 or 2): a non-blocking open of the pipe,
 * FIFO or terminal behind it (the fd itself, which the engines share, keeps its flags),
 * send(MSG_DONTWAIT) for a socket, a plain write for a file. */
void outfd_open(struct outfd *o, int stdfd);
void outfd_close(struct outfd *o);

/* Writes line (len bytes, at most PIPE_BUF so that it stays whole) at once or not at
 * all: 0, or -1 when it was dropped (and counted). */
int outfd_write(struct outfd *o, const char *line, size_t len);

#endif
