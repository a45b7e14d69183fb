/* resolve: asynchronous DNS through c-ares, honouring /etc/resolv.conf. */
#include "resolve.h"
#include "log.h"

#include <ares.h>
#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

struct resolver {
	ares_channel ch;
	int busy;
	int ready;
	struct resolve_result res;
};

int resolve_is_literal(const char *s)
{
	unsigned char a[16];
	return inet_pton(AF_INET, s, a) == 1 || inet_pton(AF_INET6, s, a) == 1;
}

/* "options timeout:N attempts:N" as in resolv.conf(5), in the file and in RES_OPTIONS
 * (which wins). c-ares's own defaults (5 s, 4 tries, doubling) would let one lookup of a
 * silent server run for a minute; ours are glibc's attempts with a shorter timeout. */
static void scan_options(const char *text, int *timeout_ms, int *tries)
{
	for (const char *p = text; p && *p; p++) {
		long v;
		char *end;
		if (strncmp(p, "timeout:", 8) == 0) {
			v = strtol(p + 8, &end, 10);
			if (end != p + 8 && v >= 1 && v <= 30)
				*timeout_ms = (int)v * 1000;
		} else if (strncmp(p, "attempts:", 9) == 0) {
			v = strtol(p + 9, &end, 10);
			if (end != p + 9 && v >= 1 && v <= 5)
				*tries = (int)v;
		}
	}
}

void resolve_options(const char *resolv_conf, const char *res_options, int *timeout_ms,
		     int *tries)
{
	*timeout_ms = 2000;
	*tries = 2;
	for (const char *line = resolv_conf; line && *line;) {
		const char *nl = strchr(line, '\n');
		if (strncmp(line, "options", 7) == 0 && (line[7] == ' ' || line[7] == '\t')) {
			char buf[512];
			size_t n = nl ? (size_t)(nl - line) : strlen(line);
			snprintf(buf, sizeof buf, "%.*s", (int)(n < sizeof buf ? n : sizeof buf - 1),
				 line);
			scan_options(buf, timeout_ms, tries);
		}
		line = nl ? nl + 1 : NULL;
	}
	scan_options(res_options, timeout_ms, tries);
}

static const char *read_resolv_conf(void)
{
	static char buf[8192];
	FILE *f = fopen("/etc/resolv.conf", "re");
	size_t n = 0;
	if (f) {
		n = fread(buf, 1, sizeof buf - 1, f);
		fclose(f);
	}
	buf[n] = '\0';
	return buf;
}

struct resolver *resolve_new(const char *servers, char *err, size_t errlen)
{
	struct resolver *r = calloc(1, sizeof *r);
	int st;
	if (!r) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	st = ares_library_init(ARES_LIB_INIT_ALL);
	if (st == ARES_SUCCESS) {
		/* NOCHECKRESP: a SERVFAIL or REFUSED is reported as such (and retried by our
		 * backoff) rather than as "could not contact DNS servers" */
		struct ares_options o = {.flags = ARES_FLAG_NOCHECKRESP};
		int mask = ARES_OPT_FLAGS | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES;
		resolve_options(read_resolv_conf(), getenv("RES_OPTIONS"), &o.timeout, &o.tries);
#ifdef ARES_OPT_QUERY_CACHE
		/* c-ares 1.23 and later cache answers, NXDOMAIN for the SOA's minimum TTL (its
		 * ares_init_options manual: qcache_max_ttl 0 turns the cache off): a worker
		 * asking before the master registers would wait that long on top of the VPC
		 * resolver. Every lookup goes to the server. Debian 12's 1.18 has no cache. */
		o.qcache_max_ttl = 0;
		mask |= ARES_OPT_QUERY_CACHE;
#endif
		st = ares_init_options(&r->ch, &o, mask);
	}
	if (st == ARES_SUCCESS && servers)
		st = ares_set_servers_ports_csv(r->ch, servers);
	if (st != ARES_SUCCESS) {
		snprintf(err, errlen, "unable to set up the DNS resolver: %s", ares_strerror(st));
		if (r->ch)
			ares_destroy(r->ch);
		free(r);
		return NULL;
	}
	return r;
}

void resolve_free(struct resolver *r)
{
	if (!r)
		return;
	ares_destroy(r->ch); /* runs pending callbacks with ARES_EDESTRUCTION */
	free(r);
	ares_library_cleanup();
}

static void finish(struct resolver *r, int status)
{
	r->res.status = status;
	r->res.nxdomain = status == ARES_ENOTFOUND;
	if (status != ARES_SUCCESS)
		snprintf(r->res.error, sizeof r->res.error, "%s", ares_strerror(status));
	r->busy = 0;
	r->ready = 1;
}

static void add_addr(struct resolve_result *res, const struct sockaddr *sa)
{
	char buf[RESOLVE_ADDR_LEN];
	const void *src = sa->sa_family == AF_INET
				  ? (const void *)&((const struct sockaddr_in *)sa)->sin_addr
				  : (const void *)&((const struct sockaddr_in6 *)sa)->sin6_addr;
	if (!inet_ntop(sa->sa_family, src, buf, sizeof buf))
		return;
	for (int i = 0; i < res->naddr; i++)
		if (strcmp(res->addrs[i], buf) == 0)
			return;
	if (res->naddr < RESOLVE_MAX_ADDRS)
		memcpy(res->addrs[res->naddr++], buf, sizeof buf);
}

static void on_addrinfo(void *arg, int status, int timeouts, struct ares_addrinfo *ai)
{
	struct resolver *r = arg;
	(void)timeouts;
	if (status == ARES_EDESTRUCTION)
		return;
	if (status == ARES_SUCCESS && ai)
		for (struct ares_addrinfo_node *n = ai->nodes; n; n = n->ai_next)
			if (n->ai_family == AF_INET || n->ai_family == AF_INET6)
				add_addr(&r->res, n->ai_addr);
	if (ai)
		ares_freeaddrinfo(ai);
	if (status == ARES_SUCCESS && r->res.naddr == 0)
		status = ARES_ENODATA;
	finish(r, status);
}

static void lookup_addrs(struct resolver *r, const char *name)
{
	struct ares_addrinfo_hints hints;
	memset(&hints, 0, sizeof hints);
	hints.ai_family = AF_UNSPEC;
	hints.ai_flags = ARES_AI_NOSORT; /* keep the server's order (Cloud Map MULTIVALUE) */
	ares_getaddrinfo(r->ch, name, NULL, &hints, on_addrinfo, r);
}

static void on_srv(void *arg, int status, int timeouts, unsigned char *abuf, int alen)
{
	struct resolver *r = arg;
	struct ares_srv_reply *srv = NULL, *best = NULL;
	(void)timeouts;
	if (status == ARES_EDESTRUCTION)
		return;
	if (status == ARES_SUCCESS)
		status = ares_parse_srv_reply(abuf, alen, &srv);
	if (status != ARES_SUCCESS) {
		finish(r, status);
		return;
	}
	/* lowest priority first, then the highest weight */
	for (struct ares_srv_reply *s = srv; s; s = s->next)
		if (!best || s->priority < best->priority ||
		    (s->priority == best->priority && s->weight > best->weight))
			best = s;
	if (!best || best->port == 0 || !best->host[0]) {
		ares_free_data(srv);
		finish(r, ARES_ENODATA);
		return;
	}
	r->res.port = best->port;
	snprintf(r->res.srv_target, sizeof r->res.srv_target, "%s", best->host);
	ares_free_data(srv);
	lookup_addrs(r, r->res.srv_target);
}

void resolve_start(struct resolver *r, const char *name, int srv)
{
	memset(&r->res, 0, sizeof r->res);
	r->ready = 0;
	r->busy = 1;
	if (resolve_is_literal(name)) {
		snprintf(r->res.addrs[0], sizeof r->res.addrs[0], "%s", name);
		r->res.naddr = 1;
		finish(r, ARES_SUCCESS);
		return;
	}
	if (srv)
		ares_search(r->ch, name, ns_c_in, ns_t_srv, on_srv, r); /* search list, ndots */
	else
		lookup_addrs(r, name);
}

int resolve_busy(const struct resolver *r)
{
	return r->busy;
}

int resolve_pollfds(struct resolver *r, struct pollfd *pfd, int max)
{
	ares_socket_t socks[ARES_GETSOCK_MAXNUM];
	int bits = ares_getsock(r->ch, socks, ARES_GETSOCK_MAXNUM), n = 0;
	for (int i = 0; i < ARES_GETSOCK_MAXNUM && n < max; i++) {
		short ev = 0;
		/* c-ares's own macros shift a signed 1 into the sign bit for the last socket */
		if ((unsigned)bits & (1u << i))
			ev |= POLLIN;
		if ((unsigned)bits & (1u << (i + ARES_GETSOCK_MAXNUM)))
			ev |= POLLOUT;
		if (!ev)
			continue;
		pfd[n].fd = socks[i];
		pfd[n].events = ev;
		pfd[n].revents = 0;
		n++;
	}
	return n;
}

long resolve_timeout_ms(struct resolver *r)
{
	struct timeval tv, *t;
	if (!r->busy)
		return -1;
	t = ares_timeout(r->ch, NULL, &tv);
	if (!t)
		return 1000;
	return (long)t->tv_sec * 1000 + (t->tv_usec + 999) / 1000;
}

void resolve_process(struct resolver *r, const struct pollfd *pfd, int n)
{
	for (int i = 0; i < n; i++) {
		if (!pfd[i].revents)
			continue;
		ares_process_fd(r->ch,
				(pfd[i].revents & (POLLIN | POLLERR | POLLHUP)) ? pfd[i].fd
									    : ARES_SOCKET_BAD,
				(pfd[i].revents & POLLOUT) ? pfd[i].fd : ARES_SOCKET_BAD);
	}
	if (r->busy)
		ares_process_fd(r->ch, ARES_SOCKET_BAD, ARES_SOCKET_BAD); /* timeouts */
}

int resolve_take(struct resolver *r, struct resolve_result *out)
{
	if (!r->ready)
		return 0;
	*out = r->res;
	r->ready = 0;
	return 1;
}
