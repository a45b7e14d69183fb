/* outfd: the supervisor's non-blocking paths to the stdout and stderr it shares. */
#include "outfd.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

/* How a line reaches the fd without ever waiting for a reader. */
enum path {
	PATH_PLAIN,   /* a regular file or /dev/null: a write does not wait */
	PATH_OWN,     /* our own O_NONBLOCK open of the pipe, FIFO or terminal */
	PATH_SEND,    /* a socket: send() with MSG_DONTWAIT */
	PATH_POLL,    /* a pipe we could not reopen: write only when poll says there is room */
};

/* O_NONBLOCK on the std fd itself would change the open file description the engines
 * share (Python would see EAGAIN); reopening through /proc makes a description of our
 * own. */
void outfd_open(struct outfd *o, int stdfd)
{
	struct stat st;
	char path[32];
	outfd_close(o);
	o->fd = stdfd;
	o->path = PATH_PLAIN;
	if (fstat(stdfd, &st) < 0 || S_ISREG(st.st_mode))
		return;
	if (S_ISSOCK(st.st_mode)) {
		o->path = PATH_SEND;
		return;
	}
	if (S_ISCHR(st.st_mode) && !isatty(stdfd))
		return; /* /dev/null and the like */
	snprintf(path, sizeof path, "/proc/self/fd/%d", stdfd);
	int fd = open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	if (fd >= 0) {
		o->fd = fd;
		o->path = PATH_OWN;
	} else {
		o->path = PATH_POLL;
	}
}

void outfd_close(struct outfd *o)
{
	if (o->path == PATH_OWN && o->fd > 2)
		close(o->fd);
	o->path = PATH_PLAIN;
}

int outfd_write(struct outfd *o, const char *line, size_t len)
{
	ssize_t w;
	struct pollfd pfd = {.fd = o->fd, .events = POLLOUT};
	switch (o->path) {
	case PATH_SEND:
		w = send(o->fd, line, len, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (w < 0 && errno == ENOTSOCK) /* not a socket after all */
			w = write(o->fd, line, len);
		break;
	case PATH_POLL:
		/* a pipe with room for a page takes a line of up to PIPE_BUF without waiting */
		if (poll(&pfd, 1, 0) != 1 || !(pfd.revents & POLLOUT)) {
			w = -1;
			break;
		}
		w = write(o->fd, line, len);
		break;
	default:
		do
			w = write(o->fd, line, len);
		while (w < 0 && errno == EINTR);
		break;
	}
	if (w == (ssize_t)len)
		return 0;
	o->dropped++;
	return -1;
}
