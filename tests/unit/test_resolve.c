/* test_resolve: resolver options and literals. */
#include "resolve.h"
#include "tap.h"

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
	return done_testing();
}
