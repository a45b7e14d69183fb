/* test_resolve: resolver options, literals, and picking the SRV record from an answer. */
#include "resolve.h"
#include "tap.h"

#include <ares.h>

/* A DNS answer in wire format, built here so that each case says what the server sent. */
struct msg {
	unsigned char b[512];
	size_t n;
};

static void put16(struct msg *m, unsigned v)
{
	m->b[m->n++] = (unsigned char)(v >> 8);
	m->b[m->n++] = (unsigned char)v;
}

/* "a.b" as labels; a name ending in "@" ends with a pointer to the question's name. */
static void put_name(struct msg *m, const char *name)
{
	while (*name && *name != '@') {
		size_t len = strcspn(name, ".@");
		m->b[m->n++] = (unsigned char)len;
		memcpy(m->b + m->n, name, len);
		m->n += len;
		name += len;
		if (*name == '.')
			name++;
	}
	if (*name == '@')
		put16(m, 0xc00c);
	else
		m->b[m->n++] = 0;
}

static void start(struct msg *m, unsigned rcode, unsigned answers)
{
	m->n = 0;
	put16(m, 0x1234);
	put16(m, 0x8180 | rcode); /* a response, recursion desired and available */
	put16(m, 1);
	put16(m, answers);
	put16(m, 0);
	put16(m, 0);
	put_name(m, "_locust._tcp.master.locust");
	put16(m, 33); /* SRV */
	put16(m, 1);  /* IN */
}

/* One answer record for the question's name; SRV data or a CNAME's target. */
static void answer(struct msg *m, unsigned type, unsigned prio, unsigned weight, unsigned port,
		   const char *target)
{
	size_t len_at;
	put16(m, 0xc00c);
	put16(m, type);
	put16(m, 1);
	put16(m, 0);
	put16(m, 60); /* TTL */
	len_at = m->n;
	put16(m, 0);
	if (type == 33) {
		put16(m, prio);
		put16(m, weight);
		put16(m, port);
	}
	put_name(m, target);
	m->b[len_at] = (unsigned char)((m->n - len_at - 2) >> 8);
	m->b[len_at + 1] = (unsigned char)(m->n - len_at - 2);
}

static void test_srv(void)
{
	struct msg m;
	char target[256];
	int port = -1;

	start(&m, 0, 3);
	answer(&m, 33, 10, 5, 5557, "a.master.locust");
	answer(&m, 33, 5, 1, 6000, "b.master.locust");
	answer(&m, 33, 20, 90, 7000, "c.master.locust");
	is_int(resolve_parse_srv(m.b, m.n, &port, target, sizeof target), ARES_SUCCESS,
	       "three SRV records");
	is_int(port, 6000, "the lowest priority wins");
	is_str(target, "b.master.locust", "its target");

	start(&m, 0, 2);
	answer(&m, 33, 1, 1, 5557, "light.locust");
	answer(&m, 33, 1, 9, 5558, "heavy.locust");
	resolve_parse_srv(m.b, m.n, &port, target, sizeof target);
	is_str(target, "heavy.locust", "same priority: the highest weight wins");
	is_int(port, 5558, "and its port");

	start(&m, 0, 2);
	answer(&m, 5, 0, 0, 0, "other.locust");
	answer(&m, 33, 0, 0, 5557, "node@");
	is_int(resolve_parse_srv(m.b, m.n, &port, target, sizeof target), ARES_SUCCESS,
	       "an SRV after a CNAME");
	is_str(target, "node._locust._tcp.master.locust", "a compressed target is expanded");

	start(&m, 0, 1);
	answer(&m, 33, 0, 0, 5557, "");
	is_int(resolve_parse_srv(m.b, m.n, &port, target, sizeof target), ARES_ENODATA,
	       "target \".\" (no service) is no data");
	start(&m, 0, 1);
	answer(&m, 33, 0, 0, 0, "m.locust");
	is_int(resolve_parse_srv(m.b, m.n, &port, target, sizeof target), ARES_ENODATA,
	       "port 0 is no data");
	start(&m, 3, 0);
	is_int(resolve_parse_srv(m.b, m.n, &port, target, sizeof target), ARES_ENODATA,
	       "NXDOMAIN without answers is no data");
	start(&m, 0, 1);
	answer(&m, 33, 0, 0, 5557, "m.locust");
	ok(resolve_parse_srv(m.b, m.n - 4, &port, target, sizeof target) != ARES_SUCCESS,
	   "a truncated answer is refused");
	ok(resolve_parse_srv(m.b, 5, &port, target, sizeof target) != ARES_SUCCESS,
	   "a truncated header is refused");
	printf("# c-ares %s (built with %s)\n", ares_version(NULL), ARES_VERSION_STR);
}

int main(void)
{
	int t, n;
	resolve_options(NULL, NULL, &t, &n);
	is_int(t, 2000, "default timeout 2 s");
	is_int(n, 2, "default 2 attempts");
	resolve_options("nameserver 10.0.0.2\noptions ndots:2 timeout:3 attempts:4\n", NULL, &t, &n);
	is_int(t, 3000, "timeout from resolv.conf");
	is_int(n, 4, "attempts from resolv.conf");
	resolve_options("options timeout:3\n", "timeout:1 attempts:1", &t, &n);
	is_int(t, 1000, "RES_OPTIONS wins");
	is_int(n, 1, "RES_OPTIONS attempts");
	resolve_options("options timeout:0 attempts:99 timeout:x\n", NULL, &t, &n);
	is_int(t, 2000, "out-of-range timeout ignored");
	is_int(n, 2, "out-of-range attempts ignored");
	resolve_options("#options timeout:9\nsearch a.b\n", NULL, &t, &n);
	is_int(t, 2000, "comment lines ignored");
	ok(resolve_is_literal("10.1.2.3"), "IPv4 literal");
	ok(resolve_is_literal("fe80::1"), "IPv6 literal");
	ok(!resolve_is_literal("master.locust"), "a name is not a literal");
	ok(!resolve_is_literal("10.1.2"), "not a full IPv4");
	test_srv();
	return done_testing();
}
