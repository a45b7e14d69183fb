/* proctcp: parse /proc/net/tcp{,6} and /proc/<pid>/fd to see a process's TCP connections. */
#include "proctcp.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_TOKENS 10 /* sl, local, remote, st, queues, tr, retrnsmt, uid, timeout, inode */

static const unsigned char v4mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

static void normalize(struct proctcp_addr *a)
{
	if (a->family == AF_INET6 && memcmp(a->a, v4mapped, sizeof v4mapped) == 0) {
		memmove(a->a, a->a + 12, 4);
		memset(a->a + 4, 0, 12);
		a->family = AF_INET;
	}
}

int proctcp_addr_parse(const char *text, int port, struct proctcp_addr *out)
{
	char tmp[64];
	size_t n = strlen(text);
	memset(out, 0, sizeof *out);
	if (port < 0 || port > 65535 || n == 0 || n >= sizeof tmp)
		return -1;
	if (text[0] == '[' && text[n - 1] == ']') {
		memcpy(tmp, text + 1, n - 2);
		tmp[n - 2] = '\0';
	} else {
		memcpy(tmp, text, n + 1);
	}
	out->port = (unsigned)port;
	if (inet_pton(AF_INET, tmp, out->a) == 1) {
		out->family = AF_INET;
		return 0;
	}
	if (inet_pton(AF_INET6, tmp, out->a) == 1) {
		out->family = AF_INET6;
		normalize(out);
		return 0;
	}
	return -1;
}

int proctcp_addr_equal(const struct proctcp_addr *x, const struct proctcp_addr *y)
{
	size_t n = x->family == AF_INET ? 4 : 16;
	return x->family == y->family && x->port == y->port && memcmp(x->a, y->a, n) == 0;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Exactly n (<= 8) hex digits. */
static int hex_u32(const char *s, size_t n, uint32_t *out)
{
	uint32_t v = 0;
	for (size_t i = 0; i < n; i++) {
		int d = hexval(s[i]);
		if (d < 0)
			return -1;
		v = v << 4 | (uint32_t)d;
	}
	*out = v;
	return 0;
}

/* "0100007F:1F90" (tcp) or 32 hex digits and a port (tcp6). The kernel prints each
 * 32-bit word of the address as the integer it holds in memory (host order): storing the
 * parsed integer back in host order gives the address's bytes again, on any host. */
static int parse_endpoint(const char *s, size_t n, struct proctcp_addr *out)
{
	uint32_t w, port;
	size_t alen = n >= 5 ? n - 5 : 0;
	memset(out, 0, sizeof *out);
	if ((alen != 8 && alen != 32) || s[alen] != ':' || hex_u32(s + alen + 1, 4, &port) < 0)
		return -1;
	for (size_t i = 0; i < alen / 8; i++) {
		if (hex_u32(s + i * 8, 8, &w) < 0)
			return -1;
		memcpy(out->a + i * 4, &w, 4);
	}
	out->family = alen == 8 ? AF_INET : AF_INET6;
	out->port = port;
	normalize(out);
	return 0;
}

static int parse_dec(const char *s, size_t n, unsigned long long *out)
{
	unsigned long long v = 0;
	if (n == 0 || n > 19)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (unsigned long long)(s[i] - '0');
	}
	*out = v;
	return 0;
}

int proctcp_parse_line(const char *line, size_t len, struct proctcp_entry *out)
{
	const char *tok[MAX_TOKENS];
	size_t tlen[MAX_TOKENS], nt = 0, i = 0;
	unsigned long long sl;
	uint32_t st;

	memset(out, 0, sizeof *out);
	while (nt < MAX_TOKENS) {
		while (i < len && (line[i] == ' ' || line[i] == '\t'))
			i++;
		if (i >= len || line[i] == '\n' || line[i] == '\0')
			break;
		tok[nt] = line + i;
		while (i < len && line[i] != ' ' && line[i] != '\t' && line[i] != '\n' &&
		       line[i] != '\0')
			i++;
		tlen[nt] = (size_t)(line + i - tok[nt]);
		nt++;
	}
	if (nt < MAX_TOKENS)
		return -1;
	/* "12:" */
	if (tlen[0] < 2 || tok[0][tlen[0] - 1] != ':' || parse_dec(tok[0], tlen[0] - 1, &sl) < 0)
		return -1;
	if (parse_endpoint(tok[1], tlen[1], &out->local) < 0 ||
	    parse_endpoint(tok[2], tlen[2], &out->remote) < 0 || tlen[3] != 2 ||
	    hex_u32(tok[3], 2, &st) < 0 || parse_dec(tok[9], tlen[9], &out->inode) < 0)
		return -1;
	out->state = (int)st;
	return 0;
}

static int has_inode(const unsigned long long *v, size_t n, unsigned long long ino)
{
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (v[mid] == ino)
			return 1;
		if (v[mid] < ino)
			lo = mid + 1;
		else
			hi = mid;
	}
	return 0;
}

static int is_header(const char *line, size_t len)
{
	size_t i = 0;
	while (i < len && line[i] == ' ')
		i++;
	return i + 3 <= len && memcmp(line + i, "sl ", 3) == 0;
}

size_t proctcp_count(const char *buf, size_t len, const struct proctcp_addr *to,
		     const unsigned long long *inodes, size_t ninodes, size_t *bad)
{
	size_t found = 0, nbad = 0, off = 0;
	while (off < len) {
		const char *line = buf + off;
		const char *nl = memchr(line, '\n', len - off);
		size_t n = nl ? (size_t)(nl - line) : len - off;
		struct proctcp_entry e;
		off += n + (nl != NULL);
		/* cppcheck-suppress knownConditionTrueFalse ; an empty line has nl == line */
		if (n == 0 || is_header(line, n))
			continue;
		if (proctcp_parse_line(line, n, &e) < 0) {
			nbad++;
			continue;
		}
		if (e.state == PROCTCP_ESTABLISHED && e.inode && proctcp_addr_equal(&e.remote, to) &&
		    has_inode(inodes, ninodes, e.inode))
			found++;
	}
	if (bad)
		*bad = nbad;
	return found;
}

int proctcp_socket_inode(const char *link, size_t len, unsigned long long *ino)
{
	static const char pre[] = "socket:[";
	size_t pl = sizeof pre - 1;
	if (len < pl + 2 || memcmp(link, pre, pl) != 0 || link[len - 1] != ']')
		return -1;
	return parse_dec(link + pl, len - pl - 1, ino);
}

static int cmp_ull(const void *a, const void *b)
{
	unsigned long long x = *(const unsigned long long *)a, y = *(const unsigned long long *)b;
	return x < y ? -1 : x > y;
}

void proctcp_sort(unsigned long long *inodes, size_t n)
{
	if (n > 1)
		qsort(inodes, n, sizeof *inodes, cmp_ull);
}

int proctcp_pid_sockets(int pid, unsigned long long **out, size_t *n, char *err,
			size_t errlen)
{
	char path[64];
	unsigned long long *v = NULL;
	size_t cap = 0, cnt = 0;
	struct dirent *de;
	DIR *d;

	*out = NULL;
	*n = 0;
	snprintf(path, sizeof path, "/proc/%d/fd", pid);
	if (!(d = opendir(path))) {
		snprintf(err, errlen, "unable to list %s: %s", path, strerror(errno));
		return -1;
	}
	while ((de = readdir(d))) {
		char link[128];
		unsigned long long ino;
		if (de->d_name[0] == '.')
			continue;
		ssize_t l = readlinkat(dirfd(d), de->d_name, link, sizeof link);
		if (l <= 0 || (size_t)l >= sizeof link ||
		    proctcp_socket_inode(link, (size_t)l, &ino) < 0)
			continue; /* closed meanwhile, or not a socket */
		if (cnt == cap) {
			size_t ncap = cap ? cap * 2 : 64;
			unsigned long long *nv = realloc(v, ncap * sizeof *nv);
			if (!nv) {
				snprintf(err, errlen, "out of memory");
				free(v);
				closedir(d);
				return -1;
			}
			v = nv;
			cap = ncap;
		}
		v[cnt++] = ino;
	}
	closedir(d);
	proctcp_sort(v, cnt);
	*out = v;
	*n = cnt;
	return 0;
}
