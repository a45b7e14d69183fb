/* resolve: asynchronous DNS through c-ares, honouring /etc/resolv.conf. */
#include "resolve.h"
#include "fileio.h"
#include "log.h"

#include <ares.h>
#include <arpa/inet.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

/* c-ares 1.28 asks and answers with parsed records (ares_search_dnsrec, the
 * ares_dns_record API) and 1.34 deprecates the raw-buffer calls they replace; Debian 12
 * has 1.18, which has only those. ares_process_fds (1.34) takes every ready socket in one
 * call. The socket-state callback that tells us what to poll exists in every version. */
#define HAVE_DNSREC (ARES_VERSION >= 0x011c00)
#define HAVE_PROCESS_FDS (ARES_VERSION >= 0x012200)
#if !HAVE_DNSREC
#include <arpa/nameser.h>
#endif

#define RESOLVE_MAX_SOCKS 16 /* what the event loop gives us room for */

struct resolver {
	ares_channel ch;
	int busy;
	int ready;
	struct resolve_result res;
	struct pollfd socks[RESOLVE_MAX_SOCKS]; /* as c-ares's socket-state callback says */
	int nsocks;
	int socks_full_logged;
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

/* resolv.conf's text into buf (empty when unreadable); read once per resolver. */
static const char *read_resolv_conf(char *buf, size_t len)
{
	if (file_read_into("/etc/resolv.conf", buf, len) < 0)
		buf[0] = '\0';
	return buf;
}

/* c-ares says which sockets it wants watched, and for what; (0, 0) when one is closed. */
static void on_sock_state(void *data, ares_socket_t fd, int readable, int writable)
{
	struct resolver *r = data;
	short events = (short)((readable ? POLLIN : 0) | (writable ? POLLOUT : 0));
	int i = 0;
	while (i < r->nsocks && r->socks[i].fd != fd)
		i++;
	if (!events) {
		if (i < r->nsocks)
			r->socks[i] = r->socks[--r->nsocks];
		return;
	}
	if (i == r->nsocks) {
		if (r->nsocks == RESOLVE_MAX_SOCKS) {
			/* unwatched, its query ends by c-ares's timeout and is retried */
			if (!r->socks_full_logged++)
				log_warnx("dns", "c-ares opened more than %d sockets; the others are "
					  "not watched", RESOLVE_MAX_SOCKS);
			return;
		}
		r->nsocks++;
	}
	r->socks[i] = (struct pollfd){.fd = fd, .events = events};
}

struct resolver *resolve_new(const char *servers, char *err, size_t errlen)
{
	struct resolver *r = calloc(1, sizeof *r);
	char conf[8192];
	int st;
	if (!r) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	st = ares_library_init(ARES_LIB_INIT_ALL);
	if (st == ARES_SUCCESS) {
		/* NOCHECKRESP: a SERVFAIL or REFUSED is reported as such (and retried by our
		 * backoff) rather than as "could not contact DNS servers" */
		struct ares_options o = {.flags = ARES_FLAG_NOCHECKRESP,
					 .sock_state_cb = on_sock_state,
					 .sock_state_cb_data = r};
		int mask = ARES_OPT_FLAGS | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES |
			   ARES_OPT_SOCK_STATE_CB;
		resolve_options(read_resolv_conf(conf, sizeof conf), getenv("RES_OPTIONS"),
				&o.timeout, &o.tries);
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

/* The SRV record to use: the lowest priority first, then the highest weight. */
struct srv_pick {
	int found;
	unsigned priority, weight, port;
	const char *target; /* points into the answer being read */
};

static void srv_consider(struct srv_pick *p, unsigned priority, unsigned weight, unsigned port,
			 const char *target)
{
	if (p->found && (priority > p->priority || (priority == p->priority && weight <= p->weight)))
		return;
	*p = (struct srv_pick){1, priority, weight, port, target ? target : ""};
}

/* ARES_ENODATA when there is no usable record ("." as target means no service). */
static int srv_take(const struct srv_pick *p, int *port, char *target, size_t tlen)
{
	if (!p->found || p->port == 0 || !p->target[0] || strcmp(p->target, ".") == 0)
		return ARES_ENODATA;
	*port = (int)p->port;
	snprintf(target, tlen, "%s", p->target);
	return ARES_SUCCESS;
}

#if HAVE_DNSREC
static int srv_from_record(const ares_dns_record_t *rec, int *port, char *target, size_t tlen)
{
	struct srv_pick p = {0};
	size_t n = rec ? ares_dns_record_rr_cnt(rec, ARES_SECTION_ANSWER) : 0;
	for (size_t i = 0; i < n; i++) {
		const ares_dns_rr_t *rr = ares_dns_record_rr_get_const(rec, ARES_SECTION_ANSWER, i);
		if (rr && ares_dns_rr_get_type(rr) == ARES_REC_TYPE_SRV)
			srv_consider(&p, ares_dns_rr_get_u16(rr, ARES_RR_SRV_PRIORITY),
				     ares_dns_rr_get_u16(rr, ARES_RR_SRV_WEIGHT),
				     ares_dns_rr_get_u16(rr, ARES_RR_SRV_PORT),
				     ares_dns_rr_get_str(rr, ARES_RR_SRV_TARGET));
	}
	return srv_take(&p, port, target, tlen);
}

int resolve_parse_srv(const unsigned char *abuf, size_t alen, int *port, char *target,
		      size_t tlen)
{
	ares_dns_record_t *rec = NULL;
	int st = ares_dns_parse(abuf, alen, 0, &rec);
	if (st == ARES_SUCCESS)
		st = srv_from_record(rec, port, target, tlen);
	ares_dns_record_destroy(rec);
	return st;
}
#else
int resolve_parse_srv(const unsigned char *abuf, size_t alen, int *port, char *target,
		      size_t tlen)
{
	struct ares_srv_reply *srv = NULL;
	struct srv_pick p = {0};
	int st = alen > INT_MAX ? ARES_EBADRESP : ares_parse_srv_reply(abuf, (int)alen, &srv);
	if (st != ARES_SUCCESS)
		return st;
	for (const struct ares_srv_reply *s = srv; s; s = s->next)
		srv_consider(&p, s->priority, s->weight, s->port, s->host);
	st = srv_take(&p, port, target, tlen);
	ares_free_data(srv);
	return st;
}
#endif

/* The SRV answer is in (or failed): on to the target's addresses. */
static void srv_done(struct resolver *r, int status)
{
	if (status != ARES_SUCCESS)
		finish(r, status);
	else
		lookup_addrs(r, r->res.srv_target);
}

#if HAVE_DNSREC
static void on_srv(void *arg, ares_status_t status, size_t timeouts, const ares_dns_record_t *rec)
{
	struct resolver *r = arg;
	int st = (int)status;
	(void)timeouts;
	if (status == ARES_EDESTRUCTION)
		return;
	if (st == ARES_SUCCESS)
		st = srv_from_record(rec, &r->res.port, r->res.srv_target, sizeof r->res.srv_target);
	srv_done(r, st);
}

/* ares_search_dnsrec answers a failure through on_srv too; only building the question
 * fails here. */
static void search_srv(struct resolver *r, const char *name)
{
	ares_dns_record_t *q = NULL;
	ares_status_t st = ares_dns_record_create(&q, 0, ARES_FLAG_RD, ARES_OPCODE_QUERY,
						  ARES_RCODE_NOERROR);
	if (st == ARES_SUCCESS)
		st = ares_dns_record_query_add(q, name, ARES_REC_TYPE_SRV, ARES_CLASS_IN);
	if (st == ARES_SUCCESS)
		ares_search_dnsrec(r->ch, q, on_srv, r); /* it keeps a copy of q */
	else
		finish(r, (int)st);
	ares_dns_record_destroy(q);
}
#else
static void on_srv(void *arg, int status, int timeouts, unsigned char *abuf, int alen)
{
	struct resolver *r = arg;
	(void)timeouts;
	if (status == ARES_EDESTRUCTION)
		return;
	if (status == ARES_SUCCESS)
		status = resolve_parse_srv(abuf, (size_t)alen, &r->res.port, r->res.srv_target,
					   sizeof r->res.srv_target);
	srv_done(r, status);
}

static void search_srv(struct resolver *r, const char *name)
{
	ares_search(r->ch, name, ns_c_in, ns_t_srv, on_srv, r);
}
#endif

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
		search_srv(r, name); /* the search list and ndots apply, as for addresses */
	else
		lookup_addrs(r, name);
}

int resolve_busy(const struct resolver *r)
{
	return r->busy;
}

int resolve_pollfds(struct resolver *r, struct pollfd *pfd, int max)
{
	int n = r->nsocks < max ? r->nsocks : max;
	for (int i = 0; i < n; i++)
		pfd[i] = (struct pollfd){.fd = r->socks[i].fd, .events = r->socks[i].events};
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

/* An error or hang-up is a read event to c-ares: reading is how it learns of it. */
static int readable(short revents)
{
	return (revents & (POLLIN | POLLERR | POLLHUP)) != 0;
}

#if HAVE_PROCESS_FDS
void resolve_process(struct resolver *r, const struct pollfd *pfd, int n)
{
	ares_fd_events_t ev[RESOLVE_MAX_SOCKS];
	size_t k = 0;
	ares_status_t st;
	for (int i = 0; i < n && k < RESOLVE_MAX_SOCKS; i++) {
		unsigned events = (readable(pfd[i].revents) ? ARES_FD_EVENT_READ : 0) |
				  ((pfd[i].revents & POLLOUT) ? ARES_FD_EVENT_WRITE : 0);
		if (events)
			ev[k++] = (ares_fd_events_t){.fd = pfd[i].fd, .events = events};
	}
	if (!k && !r->busy)
		return;
	st = ares_process_fds(r->ch, ev, k, ARES_PROCESS_FLAG_NONE); /* and the timeouts */
	if (st != ARES_SUCCESS)
		log_warnx("dns", "c-ares could not process its sockets: %s", ares_strerror(st));
}
#else
void resolve_process(struct resolver *r, const struct pollfd *pfd, int n)
{
	for (int i = 0; i < n; i++) {
		if (!pfd[i].revents)
			continue;
		ares_process_fd(r->ch, readable(pfd[i].revents) ? pfd[i].fd : ARES_SOCKET_BAD,
				(pfd[i].revents & POLLOUT) ? pfd[i].fd : ARES_SOCKET_BAD);
	}
	if (r->busy)
		ares_process_fd(r->ch, ARES_SOCKET_BAD, ARES_SOCKET_BAD); /* timeouts */
}
#endif

int resolve_take(struct resolver *r, struct resolve_result *out)
{
	if (!r->ready)
		return 0;
	*out = r->res;
	r->ready = 0;
	return 1;
}
