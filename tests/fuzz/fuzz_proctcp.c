/* fuzz_proctcp: the /proc/net/tcp{,6} line and table parsers and the fd-link parser. */
#include "../../healthcheck/proctcp.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const masters[] = {"127.0.0.1", "::1", "10.0.0.5", "fd00::5"};
	unsigned long long inodes[] = {0, 1, 4242, 5001, 5002, 5003, 18446744073709551615ull};
	const char *buf = (const char *)data;
	struct proctcp_entry e;
	size_t total = 0, bad = 0;

	/* whole tables: a count never exceeds the number of lines */
	for (size_t i = 0; i < sizeof masters / sizeof masters[0]; i++) {
		struct proctcp_addr to;
		if (proctcp_addr_parse(masters[i], 5557, &to) < 0)
			__builtin_trap();
		size_t n = proctcp_count(buf, size, &to, inodes, 7, &bad);
		if (n > size / 10 + 1 || bad > size + 1)
			__builtin_trap();
		total += n;
	}
	/* one line: what parses has sane fields */
	if (proctcp_parse_line(buf, size, &e) == 0) {
		if (e.state < 0 || e.state > 0xff || e.local.port > 0xffff || e.remote.port > 0xffff ||
		    (e.local.family != AF_INET && e.local.family != AF_INET6))
			__builtin_trap();
		if (!proctcp_addr_equal(&e.remote, &e.remote))
			__builtin_trap();
	}
	unsigned long long ino;
	proctcp_socket_inode(buf, size, &ino);
	/* the same bytes as an address literal (a NUL-terminated copy) */
	char *s = malloc(size + 1);
	if (s) {
		struct proctcp_addr a;
		memcpy(s, data, size);
		s[size] = '\0';
		if (proctcp_addr_parse(s, (int)(size % 70000), &a) == 0 && a.port > 65535)
			__builtin_trap();
		free(s);
	}
	(void)total;
	return 0;
}
