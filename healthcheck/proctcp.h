/* proctcp: which TCP connections a process holds, from /proc/<pid>/fd and /proc/net/tcp{,6}. */
#ifndef HC_PROCTCP_H
#define HC_PROCTCP_H

#include <stddef.h>

#define PROCTCP_ESTABLISHED 1 /* the kernel's TCP_ESTABLISHED, as /proc/net/tcp prints it */
#define PROCTCP_MAX_FILE ((size_t)64 * 1024 * 1024)

/* An address and port; IPv4-mapped IPv6 addresses (::ffff:a.b.c.d) are kept as IPv4 so
 * that a tcp6 socket connected to an IPv4 master compares equal. */
struct proctcp_addr {
	int family;          /* AF_INET or AF_INET6 */
	unsigned char a[16]; /* network byte order; 4 bytes used for AF_INET */
	unsigned port;
};

struct proctcp_entry {
	struct proctcp_addr local, remote;
	int state;                /* PROCTCP_ESTABLISHED, ... */
	unsigned long long inode; /* 0 for a connection no process holds (TIME_WAIT...) */
};

/* "127.0.0.1" or "::1" (or "[::1]") and a port -> addr. 0, or -1 when not an IP literal. */
int proctcp_addr_parse(const char *text, int port, struct proctcp_addr *out);
int proctcp_addr_equal(const struct proctcp_addr *x, const struct proctcp_addr *y);

/* One line of /proc/net/tcp or tcp6 (without or with its newline). 0, or -1 when the
 * line is not a socket entry (the header, garbage). */
int proctcp_parse_line(const char *line, size_t len, struct proctcp_entry *out);

/* Counts the ESTABLISHED entries of a whole /proc/net/tcp{,6} text whose remote end is
 * `to` and whose inode is among inodes[] (sorted ascending). Lines that are not entries
 * are skipped; *bad (may be NULL) gets how many of those there were besides the header. */
size_t proctcp_count(const char *buf, size_t len, const struct proctcp_addr *to,
		     const unsigned long long *inodes, size_t ninodes, size_t *bad);

/* The inode of an fd link's target "socket:[12345]". 0, or -1 when not a socket. */
int proctcp_socket_inode(const char *link, size_t len, unsigned long long *ino);

/* Sorts inodes ascending (for proctcp_count). */
void proctcp_sort(unsigned long long *inodes, size_t n);

/* I/O around the parsers. */

/* The socket inodes among /proc/<pid>/fd, sorted (malloc'ed into *out). 0, or -1 with
 * the reason in err. */
int proctcp_pid_sockets(int pid, unsigned long long **out, size_t *n, char *err,
			size_t errlen);

#endif
