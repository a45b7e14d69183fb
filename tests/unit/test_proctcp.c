/* test_proctcp: the /proc/net/tcp{,6} and /proc/<pid>/fd parsers of locust-healthcheck. */
#include "tap.h"
#include "../../healthcheck/proctcp.h"
#include "fileio.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

/* Samples as a little-endian kernel prints them (x86-64, arm64): each 32-bit word of an
 * address is printed as the integer it holds in memory. */
static const char tcp4[] =
	"  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  "
	"timeout inode                                                     \n"
	"   0: 00000000:15B5 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0    "
	"    0 1060 1 00000000b2953504 100 0 0 10 0                      \n"
	"   1: 0100007F:C98B 0100007F:15B5 01 00000000:00000000 02:000AF3A4 00000000  1000    "
	"    0 4242 2 000000006b21c927 20 4 30 10 -1                     \n"
	"   2: 0F02000A:D431 0500000A:15B5 01 00000000:00000000 02:000AF3A4 00000000  1000    "
	"    0 4243 2 000000006b21c927 20 4 30 10 -1                     \n"
	"   3: 0100007F:C98C 0100007F:15B5 06 00000000:00000000 03:00000E3C 00000000     0    "
	"    0 0 3 000000006b21c927                                      \n"
	"   4: 0100007F:C98D 0100007F:15B5 08 00000000:00000000 00:00000000 00000000  1000    "
	"    0 4244 1 000000006b21c927 20 4 30 10 -1                     \n"
	"   5: 0100007F:C98E 0100007F:1F90 01 00000000:00000000 02:000AF3A4 00000000  1000    "
	"    0 4245 2 000000006b21c927 20 4 30 10 -1                     \n";

static const char tcp6[] =
	"  sl  local_address                         remote_address                        st "
	"tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"
	"   0: 00000000000000000000000001000000:8CEF 00000000000000000000000001000000:15B5 01 "
	"00000000:00000000 00:00000000 00000000  1000        0 5001 1 00000000462be30d 20 4 0 "
	"10 -1\n"
	"   1: 0000000000000000FFFF00000100007F:8CF0 0000000000000000FFFF00000100007F:15B5 01 "
	"00000000:00000000 00:00000000 00000000  1000        0 5002 1 00000000462be30d 20 4 0 "
	"10 -1\n"
	/* fd00::5 */
	"   2: 000000FD000000000000000001000000:8CF1 000000FD000000000000000005000000:15B5 01 "
	"00000000:00000000 00:00000000 00000000  1000        0 5003 1 00000000462be30d 20 4 0 "
	"10 -1";

static void test_addr(void)
{
	struct proctcp_addr a, b;
	is_int(proctcp_addr_parse("127.0.0.1", 5557, &a), 0, "IPv4 literal");
	is_int(a.family, AF_INET, "IPv4 family");
	is_int(a.a[0], 127, "first byte in network order");
	is_int(a.port, 5557, "port kept");
	is_int(proctcp_addr_parse("::ffff:127.0.0.1", 5557, &b), 0, "IPv4-mapped literal");
	is_int(b.family, AF_INET, "IPv4-mapped becomes IPv4");
	ok(proctcp_addr_equal(&a, &b), "127.0.0.1 equals ::ffff:127.0.0.1");
	is_int(proctcp_addr_parse("[::1]", 80, &b), 0, "bracketed IPv6");
	is_int(b.family, AF_INET6, "IPv6 family");
	ok(!proctcp_addr_equal(&a, &b), "127.0.0.1 differs from ::1");
	is_int(proctcp_addr_parse("master.locust", 5557, &a), -1, "a name is not a literal");
	is_int(proctcp_addr_parse("", 5557, &a), -1, "empty");
	is_int(proctcp_addr_parse("127.0.0.1", 70000, &a), -1, "port out of range");
	is_int(proctcp_addr_parse("[", 1, &a), -1, "lone bracket");
}

static void test_line(void)
{
	struct proctcp_entry e;
	struct proctcp_addr want;
	const char *l1 = "   1: 0100007F:C98B 0100007F:15B5 01 00000000:00000000 02:000AF3A4 "
			 "00000000  1000        0 4242 2 000000006b21c927 20 4 30 10 -1\n";
	is_int(proctcp_parse_line(l1, strlen(l1), &e), 0, "an ESTABLISHED IPv4 line parses");
	is_int(e.state, PROCTCP_ESTABLISHED, "state 01");
	is_int(e.inode, 4242, "inode");
	is_int(e.local.port, 0xC98B, "local port");
	proctcp_addr_parse("127.0.0.1", 5557, &want);
	ok(proctcp_addr_equal(&e.remote, &want), "remote is 127.0.0.1:5557");

	const char *hdr = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when "
			  "retrnsmt   uid  timeout inode\n";
	is_int(proctcp_parse_line(hdr, strlen(hdr), &e), -1, "the header is not an entry");
	const char *shortl = "   1: 0100007F:C98B 0100007F:15B5 01";
	is_int(proctcp_parse_line(shortl, strlen(shortl), &e), -1, "a cut line is rejected");
	const char *badhex = "   1: 0100007G:C98B 0100007F:15B5 01 00000000:00000000 02:000AF3A4 "
			     "00000000  1000        0 4242 2";
	is_int(proctcp_parse_line(badhex, strlen(badhex), &e), -1, "a bad hex digit is rejected");
	const char *badlen = "   1: 100007F:C98B 0100007F:15B5 01 00000000:00000000 02:000AF3A4 "
			     "00000000  1000        0 4242 2";
	is_int(proctcp_parse_line(badlen, strlen(badlen), &e), -1, "a 7-digit address is rejected");
	const char *badino = "   1: 0100007F:C98B 0100007F:15B5 01 00000000:00000000 02:000AF3A4 "
			     "00000000  1000        0 42x42 2";
	is_int(proctcp_parse_line(badino, strlen(badino), &e), -1, "a bad inode is rejected");
	const char *nocolon = "   1 0100007F:C98B 0100007F:15B5 01 00000000:00000000 02:000AF3A4 "
			      "00000000  1000        0 4242 2";
	is_int(proctcp_parse_line(nocolon, strlen(nocolon), &e), -1, "slot without colon");
	/* the length bounds the parse: the same line cut before the inode */
	is_int(proctcp_parse_line(l1, 60, &e), -1, "len is honoured");
	is_int(proctcp_parse_line("", 0, &e), -1, "empty line");
}

static void test_count(void)
{
	struct proctcp_addr m, m6, other;
	unsigned long long inodes[] = {4245, 4242, 4243, 4244, 5001, 5002, 5003};
	unsigned long long only_other[] = {4243};
	size_t bad = 99;

	proctcp_sort(inodes, sizeof inodes / sizeof inodes[0]);
	ok(inodes[0] == 4242 && inodes[6] == 5003, "sorted ascending");
	proctcp_addr_parse("127.0.0.1", 5557, &m);
	is_int(proctcp_count(tcp4, strlen(tcp4), &m, inodes, 7, &bad), 1,
	       "one ESTABLISHED connection to 127.0.0.1:5557 (TIME_WAIT, CLOSE_WAIT, other port "
	       "not counted)");
	is_int(bad, 0, "no bad lines besides the header");
	is_int(proctcp_count(tcp4, strlen(tcp4), &m, only_other, 1, NULL), 0,
	       "not ours: the inode is not among the process's sockets");
	is_int(proctcp_count(tcp4, strlen(tcp4), &m, NULL, 0, NULL), 0, "no sockets at all");
	proctcp_addr_parse("10.0.0.5", 5557, &other);
	is_int(proctcp_count(tcp4, strlen(tcp4), &other, inodes, 7, NULL), 1,
	       "10.0.0.5:5557 (local 10.0.2.15) found");
	is_int(proctcp_count(tcp6, strlen(tcp6), &m, inodes, 7, &bad), 1,
	       "tcp6: the IPv4-mapped connection counts for 127.0.0.1");
	is_int(bad, 0, "tcp6 without a final newline parses");
	proctcp_addr_parse("::1", 5557, &m6);
	is_int(proctcp_count(tcp6, strlen(tcp6), &m6, inodes, 7, NULL), 1, "tcp6: ::1:5557");
	proctcp_addr_parse("fd00::5", 5557, &m6);
	is_int(proctcp_count(tcp6, strlen(tcp6), &m6, inodes, 7, NULL), 1, "tcp6: fd00::5");
	is_int(proctcp_count(tcp4, strlen(tcp4), &m6, inodes, 7, NULL), 0,
	       "an IPv6 master is not in tcp");

	const char *junk = "garbage\n\n   9: zz\n";
	is_int(proctcp_count(junk, strlen(junk), &m, inodes, 7, &bad), 0, "junk counts nothing");
	is_int(bad, 2, "two bad lines, the empty one skipped");
	/* a NUL inside the text ends that line's parse without reading past len */
	char withnul[sizeof tcp4];
	memcpy(withnul, tcp4, sizeof tcp4);
	withnul[300] = '\0';
	ok(proctcp_count(withnul, sizeof tcp4 - 1, &m, inodes, 7, NULL) <= 1,
	   "an embedded NUL is survived");
}

static void test_inode(void)
{
	unsigned long long ino = 0;
	const char *s = "socket:[123456]";
	is_int(proctcp_socket_inode(s, strlen(s), &ino), 0, "socket link");
	is_int(ino, 123456, "its inode");
	s = "pipe:[123]";
	is_int(proctcp_socket_inode(s, strlen(s), &ino), -1, "a pipe is not a socket");
	s = "socket:[]";
	is_int(proctcp_socket_inode(s, strlen(s), &ino), -1, "no digits");
	s = "socket:[12";
	is_int(proctcp_socket_inode(s, strlen(s), &ino), -1, "unterminated");
	s = "/dev/null";
	is_int(proctcp_socket_inode(s, strlen(s), &ino), -1, "a file");
	s = "socket:[99999999999999999999]";
	is_int(proctcp_socket_inode(s, strlen(s), &ino), -1, "too many digits");
}

/* Against the real kernel: a connection of this very process is found. */
static void test_live(void)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t sl = sizeof sa;
	struct proctcp_addr to;
	unsigned long long *ino = NULL;
	size_t nino = 0, len = 0;
	char *text = NULL, err[200];
	int l = socket(AF_INET, SOCK_STREAM, 0), c = socket(AF_INET, SOCK_STREAM, 0);

	ok(l >= 0 && c >= 0, "sockets");
	ok(bind(l, (struct sockaddr *)&sa, sizeof sa) == 0 && listen(l, 1) == 0 &&
	   getsockname(l, (struct sockaddr *)&sa, &sl) == 0, "listening on loopback");
	ok(connect(c, (struct sockaddr *)&sa, sizeof sa) == 0, "connected to it");
	proctcp_addr_parse("127.0.0.1", ntohs(sa.sin_port), &to);
	is_int(proctcp_pid_sockets(getpid(), &ino, &nino, err, sizeof err), 0,
	       "our socket inodes");
	ok(nino >= 2, "at least the two sockets (%zu)", nino);
	is_int(file_read("/proc/self/net/tcp", PROCTCP_MAX_FILE, &text, &len), 0,
	       "/proc/self/net/tcp read");
	is_int(proctcp_count(text, len, &to, ino, nino, NULL), 1,
	       "the kernel's table shows our connection");
	free(text);
	free(ino);
	is_int(proctcp_pid_sockets(-5, &ino, &nino, err, sizeof err), -1, "no such pid");
	ok(strstr(err, "/proc/-5/fd") != NULL, "the error names the directory: %s", err);
	is_int(file_read("/proc/self/nonexistent", 1024, &text, &len), -1,
	       "a missing file");
	is_int(file_read("/proc/self/status", 100, &text, &len), -1,
	       "a file larger than the limit");
	close(c);
	close(l);
}

int main(void)
{
	test_addr();
	test_line();
	test_count();
	test_inode();
	test_live();
	return done_testing();
}
