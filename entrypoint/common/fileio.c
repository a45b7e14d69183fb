/* fileio: one bounded whole-file reader for both programs. */
#include "fileio.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int read_fd(int fd, size_t max, char **buf, size_t *len)
{
	size_t cap = 4096, n = 0;
	char *b = malloc(cap);
	if (!b) {
		errno = ENOMEM;
		return -1;
	}
	for (;;) {
		if (cap - n < 1024) {
			char *nb = realloc(b, cap * 2);
			if (!nb) {
				free(b);
				errno = ENOMEM;
				return -1;
			}
			b = nb;
			cap *= 2;
		}
		ssize_t r = read(fd, b + n, cap - n - 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			int e = errno;
			free(b);
			errno = e;
			return -1;
		}
		if (r == 0)
			break;
		n += (size_t)r;
		if (n > max) {
			free(b);
			errno = EFBIG;
			return -1;
		}
	}
	b[n] = '\0';
	*buf = b;
	*len = n;
	return 0;
}

int file_read(const char *path, size_t max, char **buf, size_t *len)
{
	struct stat sb;
	int fd, rc = -1, e;

	*buf = NULL;
	*len = 0;
	/* O_NONBLOCK: a FIFO must not make us wait for a writer */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0)
		return -1;
	if (fstat(fd, &sb) < 0)
		goto out;
	if (!S_ISREG(sb.st_mode)) {
		errno = S_ISDIR(sb.st_mode) ? EISDIR : EINVAL;
		goto out;
	}
	rc = read_fd(fd, max, buf, len);
out:
	e = errno;
	close(fd);
	errno = e;
	return rc;
}

int file_read_into(const char *path, char *out, size_t outlen)
{
	char *b;
	size_t n;
	if (!outlen || file_read(path, outlen - 1, &b, &n) < 0)
		return -1;
	memcpy(out, b, n + 1);
	free(b);
	return 0;
}
