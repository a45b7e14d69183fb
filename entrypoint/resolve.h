/* resolve: the master's name -> addresses (A, AAAA, SRV) with c-ares, in the event loop. */
#ifndef LE_RESOLVE_H
#define LE_RESOLVE_H

#include <netinet/in.h>
#include <poll.h>
#include <stddef.h>

#define RESOLVE_MAX_ADDRS 16
#define RESOLVE_ADDR_LEN 46 /* INET6_ADDRSTRLEN */

struct resolve_result {
	int status;                                      /* ARES_SUCCESS or an ARES_E* */
	int nxdomain;                                    /* the name does not exist (yet) */
	char error[160];                                 /* c-ares's words */
	int naddr;
	char addrs[RESOLVE_MAX_ADDRS][RESOLVE_ADDR_LEN]; /* in the server's order */
	int port;                                        /* from the SRV record, else 0 */
	char srv_target[256];
};

struct resolver;

/* servers: NULL for /etc/resolv.conf, or "ip[:port],..." (config-validated). */
struct resolver *resolve_new(const char *servers, char *err, size_t errlen);
void resolve_free(struct resolver *r);

/* Starts a lookup of name (an SRV owner when srv). An IP literal completes at once. */
void resolve_start(struct resolver *r, const char *name, int srv);
int resolve_busy(const struct resolver *r);

/* Event loop glue: fds to poll (at most max), timeout in ms (-1 none), and processing. */
int resolve_pollfds(struct resolver *r, struct pollfd *pfd, int max);
long resolve_timeout_ms(struct resolver *r);
void resolve_process(struct resolver *r, const struct pollfd *pfd, int n);

/* 1 and the result once the lookup ended (once per lookup), else 0. */
int resolve_take(struct resolver *r, struct resolve_result *out);

/* Timeout and tries from resolv.conf's text and RES_OPTIONS (either may be NULL). */
void resolve_options(const char *resolv_conf, const char *res_options, int *timeout_ms,
		     int *tries);

/* The SRV record to use from a DNS answer (wire format): the lowest priority, then the
 * highest weight. ARES_SUCCESS with its port and target, else an ARES_E* (ENODATA: no
 * usable record). Pure; what on_srv does with a reply, for tests and the fuzzer. */
int resolve_parse_srv(const unsigned char *abuf, size_t alen, int *port, char *target,
		      size_t tlen);

/* 1 when s is an IPv4 or IPv6 literal. */
int resolve_is_literal(const char *s);

#endif
