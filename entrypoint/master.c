/* master: a worker task's master: look it up, wait for it, watch it, follow it when it
 * dies, restarts or moves, and rejoin one that comes back after a quit. */
#include "core.h"
#include "clock.h"
#include "log.h"

#include <ares.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#define RESOLVE_BACKOFF_MIN_MS 100
#define RESOLVE_BACKOFF_MAX_MS 3000
#define WAIT_LOG_EVERY_MS 10000

int master_open(struct sup *s, char *err, size_t errlen)
{
	s->zctx = probe_context();
	if (!s->zctx) {
		snprintf(err, errlen, "unable to create a ZMQ context: %s",
			 zmq_strerror(zmq_errno()));
		return -1;
	}
	s->res = resolve_new(s->cfg.dns_servers, err, errlen);
	return s->res ? 0 : -1;
}

static void drop_candidates(struct sup *s)
{
	for (int i = 0; i < s->ncand; i++)
		probe_free(s->cand[i]);
	s->ncand = 0;
}

static void drop_watch(struct sup *s)
{
	probe_free(s->watch);
	s->watch = NULL;
}

static void drop_recheck(struct sup *s)
{
	probe_free(s->recheck);
	s->recheck = NULL;
}

void master_drop(struct sup *s)
{
	drop_candidates(s);
	drop_watch(s);
	drop_recheck(s);
}

void master_close(struct sup *s)
{
	master_drop(s);
	resolve_free(s->res);
	s->res = NULL;
	if (s->zctx)
		zmq_ctx_term(s->zctx);
	s->zctx = NULL;
}

static int master_port(const struct sup *s, const struct resolve_result *r)
{
	return r->port ? r->port : s->cfg.master_port;
}

static int is_candidate(const struct sup *s, const char *addr)
{
	for (int k = 0; k < s->ncand; k++)
		if (strcmp(probe_addr(s->cand[k]), addr) == 0)
			return 1;
	return 0;
}

static int listed(const struct resolve_result *r, const char *addr)
{
	for (int i = 0; i < r->naddr; i++)
		if (strcmp(r->addrs[i], addr) == 0)
			return 1;
	return 0;
}

/* Probes every address of the lookup not probed yet, in the server's order; drops the
 * candidates the name no longer gives. */
static void probe_candidates(struct sup *s, const struct resolve_result *r)
{
	char err[300];
	for (int i = 0; i < r->naddr; i++) {
		if (is_candidate(s, r->addrs[i]) || s->ncand >= RESOLVE_MAX_ADDRS)
			continue;
		struct probe *p = probe_new(s->zctx, s->cfg.probe, r->addrs[i], master_port(s, r),
					    s->cfg.probe_timeout_ms, err, sizeof err);
		if (!p) {
			log_warnx("probe", "%s", err);
			continue;
		}
		s->cand[s->ncand++] = p;
	}
	for (int k = 0; k < s->ncand;) {
		if (listed(r, probe_addr(s->cand[k]))) {
			k++;
			continue;
		}
		probe_free(s->cand[k]);
		s->cand[k] = s->cand[--s->ncand];
	}
}

/* Does the lookup give exactly the addresses being probed? */
static int same_addresses(const struct sup *s, const struct resolve_result *r)
{
	if (r->naddr != s->ncand)
		return 0;
	for (int i = 0; i < r->naddr; i++)
		if (!is_candidate(s, r->addrs[i]))
			return 0;
	return 1;
}

static void schedule_resolve(struct sup *s, long long now)
{
	long b = s->resolve_backoff ? s->resolve_backoff : RESOLVE_BACKOFF_MIN_MS;
	/* jitter spreads many workers' retries; it protects nothing, rand() is enough */
	long jitter = b / 4 ? rand() % (b / 4) : 0; /* NOLINT(cert-msc30-c,cert-msc50-cpp) */
	s->next_resolve = now + b + jitter;
	s->resolve_backoff = b * 2 > RESOLVE_BACKOFF_MAX_MS ? RESOLVE_BACKOFF_MAX_MS : b * 2;
}

void master_begin_search(struct sup *s, long long now, enum phase phase)
{
	drop_candidates(s);
	s->resolve_backoff = 0;
	s->next_resolve = now;
	if (phase == PH_REJOINING)
		s->rejoin_deadline = now + s->cfg.rejoin_window_ms;
	else
		s->wait_deadline = s->cfg.master_wait_ms ? now + s->cfg.master_wait_ms : 0;
	s->last_wait_log = now;
	core_set_phase(s, phase);
}

static void on_lookup_failed(struct sup *s, const struct resolve_result *r, long long now)
{
	if (r->nxdomain && !s->nx_noted) {
		s->nx_noted = 1;
		log_warnx("dns.nxdomain",
			  "%s does not exist (yet). The VPC resolver caches this negative answer "
			  "for the Cloud Map namespace's SOA negative TTL (900 s unless lowered): "
			  "create the namespace with a low SOA TTL (aws servicediscovery "
			  "create-private-dns-namespace --properties "
			  "'DnsProperties={SOA={TTL=15}}') and the service's records with a low "
			  "TTL", s->cfg.master_host);
	}
	if (now - s->last_wait_log >= WAIT_LOG_EVERY_MS || s->last_res.status != r->status ||
	    !s->last_res.error[0]) {
		log_info("dns.retry", "looking up %s: %s; retrying", s->cfg.master_host, r->error);
		s->last_wait_log = now;
	}
	schedule_resolve(s, now);
}

/* With the tcp probe kind nothing watches the connection: each recheck connects anew. */
static void recheck_tcp(struct sup *s)
{
	char err[300];
	if (s->cfg.probe != PROBE_TCP || s->recheck)
		return;
	s->recheck = probe_new(s->zctx, PROBE_TCP, s->addr, s->port, s->cfg.probe_timeout_ms, err,
			       sizeof err);
	if (!s->recheck)
		log_warnx("probe", "%s", err);
}

/* A recheck while running: is the master still where the engines are? */
static void recheck_lookup(struct sup *s, const struct resolve_result *r, int ok, long long now)
{
	s->next_resolve = now + s->cfg.recheck_ms;
	if (!ok) {
		log_debug("dns.recheck", "re-checking %s: %s", s->cfg.master_host, r->error);
		return;
	}
	if (listed(r, s->addr) && master_port(s, r) == s->port) {
		drop_candidates(s);
		recheck_tcp(s);
		return; /* still there */
	}
	if (!s->ncand)
		log_info("master.moved", "%s now gives %s%s: probing the new address",
			 s->cfg.master_host, r->addrs[0], r->naddr > 1 ? " and others" : "");
	probe_candidates(s, r);
}

/* A lookup ended. In the waiting phases it feeds the candidates; while running it
 * tells whether the master moved. */
static void on_lookup(struct sup *s, const struct resolve_result *r, long long now)
{
	int ok = r->status == ARES_SUCCESS && r->naddr > 0;
	if (s->phase == PH_RUNNING) {
		recheck_lookup(s, r, ok, now);
		return;
	}
	if (!ok) {
		on_lookup_failed(s, r, now);
		s->last_res = *r;
		return;
	}
	s->last_res = *r;
	if (s->phase == PH_RESOLVING) {
		log_info("dns.resolved", "%s -> %s%s (port %d)", s->cfg.master_host, r->addrs[0],
			 r->naddr > 1 ? " and more" : "", master_port(s, r));
		core_set_phase(s, PH_WAITING);
	} else if (s->ncand && !same_addresses(s, r)) {
		log_info("dns.changed", "%s now gives %s%s (port %d) while waiting",
			 s->cfg.master_host, r->addrs[0], r->naddr > 1 ? " and more" : "",
			 master_port(s, r));
	}
	probe_candidates(s, r);
	/* keep looking the name up while waiting: the record may still change */
	s->resolve_backoff = RESOLVE_BACKOFF_MAX_MS;
	schedule_resolve(s, now);
}

static void adopt_master(struct sup *s, int k, const char *why)
{
	struct probe *p = s->cand[k];
	s->cand[k] = s->cand[--s->ncand];
	drop_watch(s);
	s->watch = p;
	s->watch_ups = probe_ups(p);
	snprintf(s->addr, sizeof s->addr, "%s", probe_addr(p));
	s->port = probe_port(p);
	drop_candidates(s);
	s->next_resolve = clock_mono_ms() + s->cfg.recheck_ms; /* the watch starts now */
	log_info("master.ready", "master %s at %s:%d is %s (%s)", s->cfg.master_host, s->addr,
		 s->port, s->cfg.probe == PROBE_ZMTP ? "answering ZMTP" : "accepting connections",
		 why);
}

/* Is candidate k a master we may join? After a quit, not the master that sent it,
 * unless it went away and came back. */
static int acceptable(const struct sup *s, int k)
{
	const struct probe *p = s->cand[k];
	if (probe_state(p) != PROBE_UP)
		return 0;
	if (s->phase != PH_REJOINING || strcmp(probe_addr(p), s->quit_addr) != 0)
		return 1;
	return probe_failures(p) > 0 || probe_ups(p) >= 2;
}

static int ready_candidate(const struct sup *s)
{
	for (int k = 0; k < s->ncand; k++)
		if (acceptable(s, k))
			return k;
	return -1;
}

/* A tcp probe stops at its first connect: one that reached the master that sent "quit"
 * is dropped, so that the next lookup probes the address anew until that master is gone. */
static void drop_stale_tcp(struct sup *s)
{
	for (int k = 0; k < s->ncand;) {
		if (probe_state(s->cand[k]) == PROBE_UP && !acceptable(s, k)) {
			probe_free(s->cand[k]);
			s->cand[k] = s->cand[--s->ncand];
			continue;
		}
		k++;
	}
}

static void report_unreachable(struct sup *s)
{
	char tried[1200] = "";
	size_t o = 0;
	for (int k = 0; k < s->ncand && o < sizeof tried; k++)
		o += (size_t)snprintf(tried + o, sizeof tried - o, "%s%s:%d (%s)", k ? ", " : "",
				      probe_addr(s->cand[k]), probe_port(s->cand[k]),
				      probe_error(s->cand[k])[0] ? probe_error(s->cand[k])
								 : "no answer yet");
	if (!s->ncand)
		snprintf(tried, sizeof tried, "no address: %s",
			 s->last_res.error[0] ? s->last_res.error : "lookup still running");
	log_error("master.unreachable",
		  "the master %s was not reachable within LOCUST_ECS_MASTER_WAIT (%ld ms); tried "
		  "%s",
		  s->cfg.master_host, s->cfg.master_wait_ms, tried);
}

void master_search_step(struct sup *s, long long now)
{
	int k = ready_candidate(s);
	if (k >= 0) {
		adopt_master(s, k, s->phase == PH_REJOINING ? "rejoining" : "found");
		core_start_all(s, now);
		return;
	}
	if (s->phase == PH_REJOINING && s->cfg.probe == PROBE_TCP)
		drop_stale_tcp(s);
	if (s->phase == PH_REJOINING && now >= s->rejoin_deadline) {
		int st = s->worst < 0 ? 0 : s->worst;
		log_info("exit", "no master came back within the rejoin window; exiting with the "
			 "engines' status %d", st);
		core_finish(s, st, now);
		return;
	}
	if (s->phase != PH_REJOINING && s->wait_deadline && now >= s->wait_deadline) {
		report_unreachable(s);
		core_finish(s, EXIT_UNAVAILABLE, now);
		return;
	}
	if (now - s->last_wait_log >= WAIT_LOG_EVERY_MS && s->ncand) {
		log_info("master.wait", "waiting for the master %s at %s:%d: %s",
			 s->cfg.master_host, probe_addr(s->cand[0]), probe_port(s->cand[0]),
			 probe_error(s->cand[0])[0] ? probe_error(s->cand[0]) : "no answer yet");
		s->last_wait_log = now;
	}
}

void master_running_step(struct sup *s, long long now)
{
	int k;
	if (s->watch && probe_state(s->watch) == PROBE_DOWN) {
		core_restart_engines(s, "the connection to the master was lost (it died, was "
				     "replaced, or stopped answering heartbeats)", now);
		return;
	}
	if (s->watch && probe_ups(s->watch) != s->watch_ups) {
		core_restart_engines(s, "the master was restarted at the same address", now);
		return;
	}
	if (s->recheck && probe_state(s->recheck) == PROBE_UP) {
		drop_recheck(s);
	} else if (s->recheck && probe_failures(s->recheck) >= 2) {
		/* two failed connects in a row (about 50 ms apart, or two timeouts) */
		char why[300];
		snprintf(why, sizeof why, "the master's port no longer accepts connections: %s",
			 probe_error(s->recheck));
		drop_recheck(s);
		core_restart_engines(s, why, now);
		drop_watch(s);
		return;
	}
	if ((k = ready_candidate(s)) >= 0) {
		char why[200];
		snprintf(why, sizeof why, "the master moved from %s to %s", s->addr,
			 probe_addr(s->cand[k]));
		adopt_master(s, k, "moved");
		core_restart_engines(s, why, now);
	}
}

void master_restarted(struct sup *s, long long now)
{
	if (s->watch && probe_state(s->watch) == PROBE_UP) {
		s->watch_ups = probe_ups(s->watch);
		core_start_all(s, now);
		return;
	}
	drop_watch(s);
	master_begin_search(s, now, PH_RESOLVING);
}

void master_quit(struct sup *s, long long now)
{
	log_info("master.quit",
		 "every engine was told to quit by the master %s; rejoining a master that comes "
		 "back within %ld ms (LOCUST_ECS_REJOIN_WINDOW)", s->addr, s->cfg.rejoin_window_ms);
	snprintf(s->quit_addr, sizeof s->quit_addr, "%s", s->addr);
	drop_watch(s);
	master_begin_search(s, now, PH_REJOINING);
}

static int searching(const struct sup *s)
{
	return s->phase == PH_RESOLVING || s->phase == PH_WAITING || s->phase == PH_REJOINING;
}

int master_pollfds(struct sup *s, struct pollfd *pfd, int max, int *nres)
{
	int n = 0;
	*nres = 0;
	if (!s->res)
		return 0;
	*nres = n = resolve_pollfds(s->res, pfd, max < 16 ? max : 16);
	for (int k = 0; k < s->ncand && n < max; k++)
		n += probe_pollfd(s->cand[k], &pfd[n]);
	if (s->watch && n < max)
		n += probe_pollfd(s->watch, &pfd[n]);
	if (s->recheck && n < max)
		n += probe_pollfd(s->recheck, &pfd[n]);
	return n;
}

long master_timeout(struct sup *s, long t, long long now)
{
	if (!s->res)
		return t;
	if ((searching(s) || s->phase == PH_RUNNING) && !resolve_busy(s->res))
		t = core_min_timeout(t, s->next_resolve, now);
	if (resolve_busy(s->res) && resolve_timeout_ms(s->res) >= 0)
		t = core_min_timeout(t, now + resolve_timeout_ms(s->res), now);
	for (int k = 0; k <= s->ncand; k++) {
		const struct probe *p = k < s->ncand ? s->cand[k] : s->recheck;
		long pt = p ? probe_timeout_ms(p, now) : -1;
		if (pt >= 0)
			t = core_min_timeout(t, now + pt, now);
	}
	if (searching(s))
		t = core_min_timeout(t, s->phase == PH_REJOINING ? s->rejoin_deadline
								 : s->wait_deadline, now);
	return t;
}

static void run_resolver(struct sup *s, long long now)
{
	struct resolve_result r;
	if (resolve_take(s->res, &r))
		on_lookup(s, &r, now);
	if (!resolve_busy(s->res) && (searching(s) || s->phase == PH_RUNNING) &&
	    s->next_resolve && now >= s->next_resolve) {
		s->next_resolve = 0;
		resolve_start(s->res, s->cfg.master_host, s->cfg.master_is_srv);
		if (resolve_take(s->res, &r)) /* a literal completes at once */
			on_lookup(s, &r, now);
	}
}

void master_process(struct sup *s, struct pollfd *resfds, int nres, long long now)
{
	if (!s->res)
		return;
	resolve_process(s->res, resfds, nres);
	run_resolver(s, now);
	for (int k = 0; k < s->ncand; k++)
		probe_process(s->cand[k], now);
	if (s->watch)
		probe_process(s->watch, now);
	if (s->recheck)
		probe_process(s->recheck, now);
}
