/* locust-entrypoint: PID 1 of a Locust container on ECS; one poll loop, one state machine. */
#include "config.h"
#include "log.h"
#include "metadata.h"
#include "probe.h"
#include "resolve.h"
#include "state.h"
#include "supervise.h"

#include <errno.h>
#include <jansson.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>
#include <zmq.h>
#include <ares.h>
#include <curl/curl.h>

#ifndef LE_VERSION
#define LE_VERSION "0.0.0"
#endif

extern char **environ;

enum phase {
	PH_STARTING, PH_RESOLVING, PH_WAITING, PH_RUNNING, PH_RESTARTING, PH_REJOINING,
	PH_DRAINING, PH_STOPPING,
};
static const char *const phase_names[] = {
	"starting", "resolving", "waiting", "running", "restarting", "rejoining", "stopping",
	"stopping",
};

#define MAX_ENGINES 256
#define MAX_POLL 64
#define CRASH_BACKOFF_MAX_MS 30000
#define CRASH_LOOP_LIMIT 10   /* consecutive quick crashes before giving up */
#define QUICK_CRASH_MS 10000  /* an engine that dies sooner than this crashed "quickly" */
#define RESOLVE_BACKOFF_MIN_MS 100
#define RESOLVE_BACKOFF_MAX_MS 3000
#define WAIT_LOG_EVERY_MS 10000

struct sup {
	struct config cfg;
	struct ecs_meta meta;
	char **envp;
	int sfd;
	enum phase phase;
	long long phase_since, started_wall;
	struct engine eng[MAX_ENGINES];
	int neng;
	const char *engines_why;   /* where LOCUST_ECS_ENGINES=auto took its count */
	int worst;                 /* worst final status of an engine, -1 none */
	int restarts;
	char last_reason[200];
	int state_ok;              /* state directory usable */

	/* worker: the master */
	void *zctx;
	struct resolver *res;
	struct probe *cand[RESOLVE_MAX_ADDRS];
	int ncand;
	struct probe *watch;       /* connection to the master the engines use */
	unsigned watch_ups;        /* handshakes of watch seen so far */
	char addr[64];             /* the master the engines use */
	int port;
	char quit_addr[64];        /* the master that told the engines to quit */
	long long next_resolve, wait_deadline, rejoin_deadline, last_wait_log;
	long resolve_backoff;
	int nx_noted;
	struct probe *recheck;     /* tcp probe kind: a fresh connect to the master each recheck */
	struct resolve_result last_res;

	/* stopping */
	int stop_sig;
	long long stop_deadline;
	int killed;
};

static void set_phase(struct sup *s, enum phase p);

static void save_state(struct sup *s)
{
	char err[300];
	if (!s->state_ok)
		return;
	struct state_info si = {
		.cfg = &s->cfg, .phase = phase_names[s->phase], .phase_since = s->phase_since,
		.started = s->started_wall, .master_addr = s->addr[0] ? s->addr : NULL,
		.master_port = s->port, .engines = s->eng, .nengines = s->neng,
		.restarts = s->restarts, .last_reason = s->last_reason[0] ? s->last_reason : NULL,
	};
	/* the health check reads one deadline: the master wait, or the rejoin window */
	long long dl = s->phase == PH_REJOINING ? s->rejoin_deadline
		       : s->phase == PH_RESOLVING || s->phase == PH_WAITING ? s->wait_deadline : 0;
	if (dl)
		si.wait_deadline = state_wall_ms() + (dl - sup_now_ms());
	if (state_write(s->cfg.state_dir, &si, err, sizeof err) < 0) {
		log_warnx("state", "%s; the health check cannot see this supervisor", err);
		s->state_ok = 0;
	}
}

static void set_phase(struct sup *s, enum phase p)
{
	if (s->phase != p)
		log_debug("phase", "%s -> %s", phase_names[s->phase], phase_names[p]);
	s->phase = p;
	s->phase_since = state_wall_ms();
	save_state(s);
}

static int running_engines(const struct sup *s)
{
	int n = 0;
	for (int i = 0; i < s->neng; i++)
		n += s->eng[i].pid != 0;
	return n;
}

/* ---------- engines ---------- */

static int start_engine(struct sup *s, int i)
{
	char err[512];
	char **argv = config_engine_argv(&s->cfg, s->cfg.role == ROLE_WORKER ? s->addr : NULL,
					 s->port);
	if (!argv) {
		log_error("engine.start", "out of memory building the engine's arguments");
		return EXIT_SOFTWARE;
	}
	int rc = sup_spawn(&s->eng[i], argv, err, sizeof err);
	config_free_argv(argv);
	if (rc) {
		log_error("engine.start", "%s", err);
		return rc;
	}
	log_info("engine.start", "engine %d of %d started: pid %d%s%s", i + 1, s->neng,
		 (int)s->eng[i].pid, s->cfg.role == ROLE_WORKER ? ", master " : "",
		 s->cfg.role == ROLE_WORKER ? s->addr : "");
	return 0;
}

static int start_all(struct sup *s)
{
	for (int i = 0; i < s->neng; i++) {
		s->eng[i].restart_at_ms = 0;
		int rc = start_engine(s, i);
		if (rc)
			return rc;
	}
	set_phase(s, PH_RUNNING);
	return 0;
}

static void note_final(struct sup *s, int status)
{
	if (status > s->worst)
		s->worst = status;
}

/* ---------- the master (worker role) ---------- */

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

static void drop_recheck(struct sup *s);

static int master_port(const struct sup *s, const struct resolve_result *r)
{
	return r->port ? r->port : s->cfg.master_port;
}

/* Probes every address of the lookup not probed yet, in the server's order. */
static void probe_candidates(struct sup *s, const struct resolve_result *r)
{
	char err[300];
	for (int i = 0; i < r->naddr; i++) {
		int known = 0;
		for (int k = 0; k < s->ncand; k++)
			known |= strcmp(probe_addr(s->cand[k]), r->addrs[i]) == 0;
		if (known || s->ncand >= RESOLVE_MAX_ADDRS)
			continue;
		struct probe *p = probe_new(s->zctx, s->cfg.probe, r->addrs[i], master_port(s, r),
					    s->cfg.probe_timeout_ms, err, sizeof err);
		if (!p) {
			log_warnx("probe", "%s", err);
			continue;
		}
		s->cand[s->ncand++] = p;
	}
	/* candidates the name no longer gives are dropped */
	for (int k = 0; k < s->ncand;) {
		int listed = 0;
		for (int i = 0; i < r->naddr; i++)
			listed |= strcmp(probe_addr(s->cand[k]), r->addrs[i]) == 0;
		if (listed) {
			k++;
			continue;
		}
		probe_free(s->cand[k]);
		s->cand[k] = s->cand[--s->ncand];
	}
}

static void schedule_resolve(struct sup *s, long long now)
{
	long b = s->resolve_backoff ? s->resolve_backoff : RESOLVE_BACKOFF_MIN_MS;
	/* jitter spreads many workers' retries; it protects nothing, rand() is enough */
	long jitter = b / 4 ? rand() % (b / 4) : 0; /* NOLINT(cert-msc30-c,cert-msc50-cpp) */
	s->next_resolve = now + b + jitter;
	s->resolve_backoff = b * 2 > RESOLVE_BACKOFF_MAX_MS ? RESOLVE_BACKOFF_MAX_MS : b * 2;
}

/* Looks for a master again: in PH_RESOLVING with a fresh master-wait deadline, or in
 * PH_REJOINING (after a quit) until the rejoin window closes. */
static void begin_search(struct sup *s, long long now, enum phase phase)
{
	drop_candidates(s);
	s->resolve_backoff = 0;
	s->next_resolve = now;
	if (phase == PH_REJOINING)
		s->rejoin_deadline = now + s->cfg.rejoin_window_ms;
	else
		s->wait_deadline = s->cfg.master_wait_ms ? now + s->cfg.master_wait_ms : 0;
	s->last_wait_log = now;
	set_phase(s, phase);
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

static void drop_recheck(struct sup *s)
{
	probe_free(s->recheck);
	s->recheck = NULL;
}

/* Does the lookup give exactly the addresses being probed? */
static int same_addresses(const struct sup *s, const struct resolve_result *r)
{
	if (r->naddr != s->ncand)
		return 0;
	for (int i = 0; i < r->naddr; i++) {
		int found = 0;
		for (int k = 0; k < s->ncand; k++)
			found |= strcmp(probe_addr(s->cand[k]), r->addrs[i]) == 0;
		if (!found)
			return 0;
	}
	return 1;
}

/* A lookup ended. In the waiting phases it feeds the candidates; while running it
 * tells whether the master moved. */
static void on_lookup(struct sup *s, const struct resolve_result *r, long long now)
{
	int ok = r->status == ARES_SUCCESS && r->naddr > 0;
	if (s->phase == PH_RUNNING) {
		s->next_resolve = now + s->cfg.recheck_ms;
		if (!ok) {
			log_debug("dns.recheck", "re-checking %s: %s", s->cfg.master_host, r->error);
			return;
		}
		for (int i = 0; i < r->naddr; i++)
			if (strcmp(r->addrs[i], s->addr) == 0 && master_port(s, r) == s->port) {
				drop_candidates(s);
				recheck_tcp(s);
				return; /* still there */
			}
		if (!s->ncand)
			log_info("master.moved", "%s now gives %s%s: probing the new address",
				 s->cfg.master_host, r->addrs[0], r->naddr > 1 ? " and others" : "");
		probe_candidates(s, r);
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
		set_phase(s, PH_WAITING);
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
	s->next_resolve = sup_now_ms() + s->cfg.recheck_ms; /* the watch starts now */
	log_info("master.ready", "master %s at %s:%d is %s (%s)", s->cfg.master_host, s->addr,
		 s->port, s->cfg.probe == PROBE_ZMTP ? "answering ZMTP" : "accepting connections",
		 why);
}

static void restart_engines(struct sup *s, const char *reason, long long now)
{
	s->restarts++;
	snprintf(s->last_reason, sizeof s->last_reason, "%s", reason);
	log_warnx("engine.restart", "restarting the engines: %s", reason);
	if (!running_engines(s)) {
		set_phase(s, PH_RESTARTING);
		return;
	}
	sup_signal_all(s->eng, s->neng, SIGTERM);
	for (int i = 0; i < s->neng; i++)
		s->eng[i].stop_sent = s->eng[i].pid != 0;
	s->stop_deadline = now + s->cfg.restart_grace_ms;
	set_phase(s, PH_RESTARTING);
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

/* ---------- stopping ---------- */

/* Stops everything: sig is forwarded to the engines; stop_sig is the signal that asked
 * for it (0 when the supervisor itself gives up). */
static void begin_stop(struct sup *s, int sig, int stop_sig, long long now)
{
	s->stop_sig = stop_sig;
	drop_candidates(s);
	drop_watch(s);
	drop_recheck(s);
	/* orphans (a draining grandchild, a daemon that left the engine's group) get the
	 * stop signal too, so that they can end within the grace rather than be killed */
	sup_signal_orphans(s->eng, s->neng, sig);
	if (!running_engines(s)) {
		set_phase(s, PH_STOPPING);
		return;
	}
	if (stop_sig)
		log_info("stop", "got %s: stopping the engines (grace %ld ms)", strsignal(sig),
			 s->cfg.stop_grace_ms);
	sup_signal_all(s->eng, s->neng, sig);
	s->stop_deadline = now + s->cfg.stop_grace_ms;
	set_phase(s, PH_STOPPING);
}

static int exit_status(const struct sup *s)
{
	int st = s->worst;
	if (st < 0) /* no engine ever ended: stopped while waiting */
		st = s->stop_sig ? 128 + s->stop_sig : EXIT_SOFTWARE;
	if (s->cfg.clean_stop && s->stop_sig && st == 128 + s->stop_sig)
		st = 0;
	return st;
}

/* ---------- signals ---------- */

static void on_signals(struct sup *s, long long now)
{
	struct signalfd_siginfo si;
	while (read(s->sfd, &si, sizeof si) == (ssize_t)sizeof si) {
		int sig = (int)si.ssi_signo;
		if (sig == SIGCHLD)
			continue; /* reaping happens after every wake-up */
		if ((sig == SIGTERM || sig == SIGINT) && s->phase != PH_STOPPING) {
			begin_stop(s, sig, sig, now);
			continue;
		}
		if (running_engines(s)) {
			log_debug("signal", "forwarding %s", strsignal(sig));
			sup_signal_all(s->eng, s->neng, sig);
		}
	}
}

/* ---------- engine exits ---------- */

static void on_engine_exit(struct sup *s, int i, long long now)
{
	struct engine *e = &s->eng[i];
	long long lived = now - e->started_ms;
	e->exited = 0;
	log_info("engine.exit", "engine %d (pid gone) exited with status %d after %lld ms", i + 1,
		 e->status, lived);
	if (s->phase == PH_STOPPING || s->phase == PH_DRAINING) {
		note_final(s, e->status);
		/* its orphans are ours now: they get the stop signal too */
		if (s->phase == PH_STOPPING && s->stop_sig)
			sup_signal_orphans(s->eng, s->neng, s->stop_sig);
		return;
	}
	if (s->phase == PH_RESTARTING && e->stop_sent)
		return;
	if (s->cfg.role != ROLE_WORKER) {
		note_final(s, e->status);
		s->stop_deadline = now + s->cfg.stop_grace_ms;
		set_phase(s, PH_DRAINING);
		return;
	}
	if (e->status == 0) {
		/* "quit" from the master: rejoin only a master that comes back */
		note_final(s, 0);
		return;
	}
	/* a crash: restart this engine alone, backing off */
	e->restarts = lived < QUICK_CRASH_MS ? e->restarts + 1 : 1;
	if (e->restarts > CRASH_LOOP_LIMIT) {
		log_error("engine.crashloop",
			  "engine %d crashed %d times in a row within %d s of starting; giving up",
			  i + 1, e->restarts - 1, QUICK_CRASH_MS / 1000);
		note_final(s, e->status);
		begin_stop(s, SIGTERM, 0, now);
		return;
	}
	long delay = 1000L << (e->restarts - 1 > 5 ? 5 : e->restarts - 1);
	if (delay > CRASH_BACKOFF_MAX_MS)
		delay = CRASH_BACKOFF_MAX_MS;
	e->restart_at_ms = now + delay;
	s->restarts++;
	snprintf(s->last_reason, sizeof s->last_reason, "engine %d exited with status %d",
		 i + 1, e->status);
	log_warnx("engine.crash", "engine %d exited with status %d; starting it again in %ld ms",
		  i + 1, e->status, delay);
	save_state(s);
}

static void after_reap(struct sup *s, long long now)
{
	for (int i = 0; i < s->neng; i++)
		if (s->eng[i].exited)
			on_engine_exit(s, i, now);
	if (s->cfg.role == ROLE_WORKER && s->phase == PH_RUNNING && !running_engines(s)) {
		int pending = 0;
		for (int i = 0; i < s->neng; i++)
			pending |= s->eng[i].restart_at_ms != 0;
		if (!pending) {
			log_info("master.quit",
				 "every engine was told to quit by the master %s; rejoining a master "
				 "that comes back within %ld ms (LOCUST_ECS_REJOIN_WINDOW)",
				 s->addr, s->cfg.rejoin_window_ms);
			snprintf(s->quit_addr, sizeof s->quit_addr, "%s", s->addr);
			drop_watch(s);
			begin_search(s, now, PH_REJOINING);
		}
	}
}

/* ---------- the loop ---------- */

static long min_timeout(long a, long long deadline, long long now)
{
	if (!deadline)
		return a;
	long d = deadline <= now ? 0 : (long)(deadline - now);
	return a < 0 || d < a ? d : a;
}

static int searching(const struct sup *s)
{
	return s->phase == PH_RESOLVING || s->phase == PH_WAITING || s->phase == PH_REJOINING;
}

static long loop_timeout(struct sup *s, long long now)
{
	long t = -1;
	if (s->res && (searching(s) || s->phase == PH_RUNNING) && !resolve_busy(s->res))
		t = min_timeout(t, s->next_resolve, now);
	if (s->res)
		t = min_timeout(t, resolve_busy(s->res) && resolve_timeout_ms(s->res) >= 0
					   ? now + resolve_timeout_ms(s->res) : 0, now);
	for (int k = 0; k <= s->ncand; k++) {
		const struct probe *p = k < s->ncand ? s->cand[k] : s->recheck;
		long pt = p ? probe_timeout_ms(p, now) : -1;
		if (pt >= 0)
			t = min_timeout(t, now + pt, now);
	}
	if (searching(s))
		t = min_timeout(t, s->phase == PH_REJOINING ? s->rejoin_deadline : s->wait_deadline,
				now);
	if (s->phase == PH_STOPPING || s->phase == PH_DRAINING || s->phase == PH_RESTARTING)
		t = min_timeout(t, s->stop_deadline, now);
	if (s->phase == PH_RUNNING)
		for (int i = 0; i < s->neng; i++)
			t = min_timeout(t, s->eng[i].pid ? 0 : s->eng[i].restart_at_ms, now);
	if (s->killed)
		t = min_timeout(t, now + 100, now);
	return t;
}

static int collect_fds(struct sup *s, struct pollfd *pfd, int *nres)
{
	int n = 0;
	pfd[n++] = (struct pollfd){.fd = s->sfd, .events = POLLIN};
	*nres = 0;
	if (s->res) {
		*nres = resolve_pollfds(s->res, pfd + n, 16);
		n += *nres;
	}
	for (int k = 0; k < s->ncand && n < MAX_POLL; k++)
		n += probe_pollfd(s->cand[k], &pfd[n]);
	if (s->watch && n < MAX_POLL)
		n += probe_pollfd(s->watch, &pfd[n]);
	if (s->recheck && n < MAX_POLL)
		n += probe_pollfd(s->recheck, &pfd[n]);
	return n;
}

/* One evaluation of the state machine after any event. Returns -1 to go on, or the
 * supervisor's exit status. */
static int step(struct sup *s, long long now)
{
	int k;
	switch (s->phase) {
	case PH_RESOLVING:
	case PH_WAITING:
	case PH_REJOINING:
		if ((k = ready_candidate(s)) >= 0) {
			adopt_master(s, k, s->phase == PH_REJOINING ? "rejoining" : "found");
			int rc = start_all(s);
			if (rc)
				return rc;
			break;
		}
		if (s->phase == PH_REJOINING && s->cfg.probe == PROBE_TCP)
			drop_stale_tcp(s);
		if (s->phase == PH_REJOINING && now >= s->rejoin_deadline) {
			log_info("exit", "no master came back within the rejoin window; exiting "
				 "with the engines' status %d", s->worst < 0 ? 0 : s->worst);
			return s->worst < 0 ? 0 : s->worst;
		}
		if (s->phase != PH_REJOINING && s->wait_deadline && now >= s->wait_deadline) {
			report_unreachable(s);
			return EXIT_UNAVAILABLE;
		}
		if (now - s->last_wait_log >= WAIT_LOG_EVERY_MS && s->ncand) {
			log_info("master.wait", "waiting for the master %s at %s:%d: %s",
				 s->cfg.master_host, probe_addr(s->cand[0]), probe_port(s->cand[0]),
				 probe_error(s->cand[0])[0] ? probe_error(s->cand[0]) : "no answer yet");
			s->last_wait_log = now;
		}
		break;
	case PH_RUNNING:
		if (s->cfg.role != ROLE_WORKER)
			break;
		for (int i = 0; i < s->neng; i++)
			if (!s->eng[i].pid && s->eng[i].restart_at_ms && now >= s->eng[i].restart_at_ms) {
				s->eng[i].restart_at_ms = 0;
				int rc = start_engine(s, i);
				if (rc)
					return rc;
				save_state(s);
			}
		if (s->watch && probe_state(s->watch) == PROBE_DOWN) {
			restart_engines(s, "the connection to the master was lost (it died, was "
					   "replaced, or stopped answering heartbeats)", now);
			break;
		}
		if (s->watch && probe_ups(s->watch) != s->watch_ups) {
			restart_engines(s, "the master was restarted at the same address", now);
			break;
		}
		if (s->recheck && probe_state(s->recheck) == PROBE_UP) {
			drop_recheck(s);
		} else if (s->recheck && probe_failures(s->recheck) >= 2) {
			/* two failed connects in a row (about 50 ms apart, or two timeouts) */
			char why[300];
			snprintf(why, sizeof why, "the master's port no longer accepts connections: %s",
				 probe_error(s->recheck));
			drop_recheck(s);
			restart_engines(s, why, now);
			drop_watch(s);
			break;
		}
		if ((k = ready_candidate(s)) >= 0) {
			char why[200];
			snprintf(why, sizeof why, "the master moved from %s to %s", s->addr,
				 probe_addr(s->cand[k]));
			adopt_master(s, k, "moved");
			restart_engines(s, why, now);
		}
		break;
	case PH_RESTARTING:
		if (running_engines(s) && now >= s->stop_deadline && !s->killed) {
			log_warnx("engine.kill", "engines still running after the restart grace: "
				  "SIGKILL");
			sup_signal_all(s->eng, s->neng, SIGKILL);
			s->killed = 1;
		}
		if (running_engines(s))
			break;
		s->killed = 0;
		if (s->watch && probe_state(s->watch) == PROBE_UP) {
			s->watch_ups = probe_ups(s->watch);
			return start_all(s) ? EXIT_SOFTWARE : -1;
		}
		drop_watch(s);
		begin_search(s, now, PH_RESOLVING);
		break;
	case PH_DRAINING:
	case PH_STOPPING:
		if (now >= s->stop_deadline && !s->killed) {
			if (running_engines(s))
				log_warnx("engine.kill", "the engines did not stop within the grace "
					  "(%ld ms): SIGKILL", s->cfg.stop_grace_ms);
			sup_kill_rest(s->eng, s->neng);
			s->killed = 1;
		}
		break;
	default:
		break;
	}
	return -1;
}

static void run_resolver(struct sup *s, long long now)
{
	struct resolve_result r;
	if (!s->res)
		return;
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

static int loop(struct sup *s)
{
	for (;;) {
		struct pollfd pfd[MAX_POLL];
		int nres, children_left;
		long long now = sup_now_ms();
		int n = collect_fds(s, pfd, &nres);
		int rc = poll(pfd, (nfds_t)n, (int)loop_timeout(s, now));
		if (rc < 0 && errno != EINTR) {
			log_error("poll", "poll failed: %s", strerror(errno));
			return EXIT_SOFTWARE;
		}
		now = sup_now_ms();
		on_signals(s, now);
		if (sup_reap(s->eng, s->neng, &children_left))
			after_reap(s, now);
		if (s->res)
			resolve_process(s->res, pfd + 1, nres);
		run_resolver(s, now);
		for (int k = 0; k < s->ncand; k++)
			probe_process(s->cand[k], now);
		if (s->watch)
			probe_process(s->watch, now);
		if (s->recheck)
			probe_process(s->recheck, now);
		if ((s->phase == PH_STOPPING || s->phase == PH_DRAINING) && !running_engines(s) &&
		    !children_left)
			return exit_status(s);
		if ((s->phase == PH_STOPPING || s->phase == PH_DRAINING) && !running_engines(s) &&
		    s->killed)
			sup_kill_rest(s->eng, s->neng); /* orphans re-parented since the kill */
		rc = step(s, now);
		if (rc >= 0)
			return rc;
	}
}

/* ---------- start-up ---------- */

static void usage(FILE *f)
{
	fprintf(f,
		"usage: locust-entrypoint [--help | --version | --print-config] [--] "
		"[LOCUST ARGS...]\n\n"
		"PID 1 of a Locust container on Amazon ECS: reads the environment, finds the\n"
		"master (worker role), runs Locust, forwards signals, reaps, reports health.\n\n"
		"Role:    LOCUST_MODE=standalone|master|worker|slave, LOCUST_MODE_MASTER,\n"
		"         LOCUST_MODE_WORKER\n"
		"Master:  LOCUST_MASTER_HOST (or LOCUST_MASTER_NODE_HOST), LOCUST_MASTER_PORT\n"
		"         (or LOCUST_MASTER_NODE_PORT, default 5557)\n"
		"Test:    TARGET_URL (-H), LOCUSTFILE_PATH (-f, default /locustfile.py),\n"
		"         LOCUST_OPTS (extra engine arguments, shell-like quoting, no expansion)\n"
		"Knobs:   LOCUST_ECS_ENGINE, LOCUST_ECS_STOP_GRACE, LOCUST_ECS_RESTART_GRACE,\n"
		"         LOCUST_ECS_CLEAN_STOP, LOCUST_ECS_LOG_FORMAT, LOCUST_ECS_LOG_LEVEL,\n"
		"         LOCUST_ECS_MASTER_WAIT, LOCUST_ECS_PROBE, LOCUST_ECS_PROBE_TIMEOUT,\n"
		"         LOCUST_ECS_DNS_SERVERS, LOCUST_ECS_ENGINES, LOCUST_ECS_RECHECK_INTERVAL,\n"
		"         LOCUST_ECS_REJOIN_WINDOW, LOCUST_ECS_STATE_DIR, LOCUST_ECS_METADATA,\n"
		"         LOCUST_ECS_HEALTH_*  (see README.md)\n\n"
		"Arguments after the options go to Locust; use -- before Locust's own --help.\n"
		"Exit: the engine's status, 128+signal, 126/127 engine not runnable, 64 usage,\n"
		"78 configuration, 69 master not reachable in time, 70 internal error.\n");
}

static void version(void)
{
	printf("locust-ecs %s (libcurl %s, jansson %s, libzmq %d.%d.%d, c-ares %s)\n",
	       LE_VERSION, curl_version_info(CURLVERSION_NOW)->version, jansson_version_str(),
	       ZMQ_VERSION_MAJOR, ZMQ_VERSION_MINOR, ZMQ_VERSION_PATCH, ares_version(NULL));
}

/* A redacted string as JSON (null for NULL or when out of memory). */
static json_t *redacted(const char *word, const char *prev)
{
	char *r = word ? config_redact(word, prev) : NULL;
	json_t *j = r ? json_string(r) : json_null();
	free(r);
	return j;
}

/* Secrets are shown as "***": --web-auth values, passwords in URLs. */
static json_t *redacted_argv(char **argv)
{
	json_t *a = json_array();
	for (int i = 0; argv[i]; i++)
		json_array_append_new(a, redacted(argv[i], i ? argv[i - 1] : NULL));
	return a;
}

static int print_config(struct sup *s)
{
	const struct config *c = &s->cfg;
	char **argv = config_engine_argv(c, c->role == ROLE_WORKER ? c->master_host : NULL,
					 c->master_port);
	json_t *doc = json_pack(
		"{s:s, s:s, s:o, s:s, s:s, s:o, s:{s:i, s:b, s:b, s:b, s:s?}, s:o, s:o}",
		"version", LE_VERSION, "role", config_role_name(c->role), "target_url",
		redacted(c->target_url, NULL), "locustfile", c->locustfile, "engine", c->engine,
		"engines", c->role == ROLE_WORKER && c->engines == 0
				   ? json_string("auto") : json_integer(c->engines ? c->engines : 1),
		"web", "port", c->web_port, "headless", c->headless, "tls", c->web_tls,
		"auth", c->web_auth != NULL, "host", c->web_host,
		"engine_argv", argv ? redacted_argv(argv) : json_null(),
		"metadata", metadata_to_json(&s->meta));
	/* (a NULL doc takes the additions below and drops them; the dump then fails) */
	json_object_set_new(doc, "role_source", json_string(c->role_source));
	json_object_set_new(doc, "engine_count", json_integer(s->neng)); /* "auto" resolved */
	if (s->engines_why)
		json_object_set_new(doc, "engine_count_from", json_string(s->engines_why));
	if (c->role == ROLE_MASTER)
		json_object_set_new(doc, "master_bind",
				    json_pack("{s:s, s:i}", "host",
					      c->master_bind_host ? c->master_bind_host : "*",
					      "port", c->master_bind_port));
	if (c->role == ROLE_WORKER) {
		const char *how = resolve_is_literal(c->master_host) ? "IP literal, no DNS"
				  : c->master_is_srv ? "DNS SRV record, then A/AAAA of its target"
						     : "DNS A and AAAA records";
		json_object_set_new(doc, "master",
				    json_pack("{s:s, s:i, s:s, s:s, s:s, s:I}", "host",
					      c->master_host, "port", c->master_port, "resolve", how,
					      "dns_servers", c->dns_servers ? c->dns_servers
									    : "/etc/resolv.conf",
					      "probe", c->probe == PROBE_ZMTP ? "zmtp" : "tcp",
					      "wait_ms", (json_int_t)c->master_wait_ms));
	}
	json_object_set_new(doc, "supervisor",
			    json_pack("{s:I, s:I, s:b, s:I, s:I, s:s, s:I, s:I}", "stop_grace_ms",
				      (json_int_t)c->stop_grace_ms, "restart_grace_ms",
				      (json_int_t)c->restart_grace_ms, "clean_stop", c->clean_stop,
				      "recheck_ms", (json_int_t)c->recheck_ms, "rejoin_window_ms",
				      (json_int_t)c->rejoin_window_ms, "state_dir", c->state_dir,
				      "health_timeout_ms", (json_int_t)c->health_timeout_ms,
				      "health_grace_ms", (json_int_t)c->health_grace_ms));
	char *text = doc ? json_dumps(doc, JSON_INDENT(2)) : NULL;
	int rc = 0;
	if (text) {
		printf("%s\n", text);
	} else {
		log_error("print-config", "unable to encode the configuration as JSON");
		rc = EXIT_SOFTWARE;
	}
	free(text);
	json_decref(doc);
	config_free_argv(argv);
	return rc;
}

static void task_context(struct sup *s)
{
	const struct ecs_meta *m = &s->meta;
	char fam[300];
	log_context("role", config_role_name(s->cfg.role));
	if (m->task_id[0])
		log_context("task", m->task_id);
	if (m->family[0]) {
		snprintf(fam, sizeof fam, "%s:%s", m->family, m->revision);
		log_context("family", fam);
	}
	if (m->az[0])
		log_context("az", m->az);
}

static int prepare(struct sup *s, int argc, char **argv)
{
	char err[CONFIG_ERR_MAX];
	int rc = config_parse(&s->cfg, s->envp, argc, argv, err, sizeof err);
	log_init(s->cfg.log_format, s->cfg.log_level, "locust-entrypoint");
	if (rc) {
		log_error("config", "%s", err);
		return rc;
	}
	if (s->cfg.action == ACT_HELP) {
		usage(stdout);
		return 0;
	}
	if (s->cfg.action == ACT_VERSION) {
		version();
		return 0;
	}
	if (s->cfg.metadata)
		metadata_fetch(s->envp, &s->meta, s->sfd);
	task_context(s);
	if (s->cfg.role == ROLE_WORKER) {
		s->neng = s->cfg.engines ? s->cfg.engines
					 : metadata_engines_auto(&s->meta, "/sys/fs/cgroup",
								 "/proc/self/cgroup", &s->engines_why);
		if (s->neng > MAX_ENGINES)
			s->neng = MAX_ENGINES;
	} else {
		s->neng = 1;
	}
	if (s->cfg.action == ACT_PRINT_CONFIG) {
		return print_config(s);
	}
	if ((rc = config_check_files(&s->cfg, s->envp, err, sizeof err))) {
		log_error("config", "%s", err);
		return rc;
	}
	return -1;
}

static int stop_pending(void)
{
	sigset_t pend;
	return sigpending(&pend) == 0 &&
	       (sigismember(&pend, SIGTERM) == 1 || sigismember(&pend, SIGINT) == 1);
}

static int run(struct sup *s)
{
	char err[300];
	long long now = sup_now_ms();
	s->started_wall = state_wall_ms();
	s->state_ok = state_prepare_dir(s->cfg.state_dir, err, sizeof err) == 0;
	if (!s->state_ok)
		log_warnx("state", "%s; the health check cannot see this supervisor "
			  "(LOCUST_ECS_STATE_DIR)", err);
	for (int i = 0; i < s->neng; i++)
		s->eng[i].status = -1;
	if (s->cfg.legacy_slave)
		log_info("config", "LOCUST_MODE=slave is the name before Locust 1.0: running as "
			 "worker");
	log_info("start", "locust-ecs %s: role %s, %d engine%s%s%s%s, pid %d%s", LE_VERSION,
		 config_role_name(s->cfg.role), s->neng, s->neng > 1 ? "s" : "",
		 s->engines_why ? " (from " : "", s->engines_why ? s->engines_why : "",
		 s->engines_why ? ")" : "", (int)getpid(),
		 getpid() == 1 ? " (init)" : " (subreaper)");
	if (stop_pending()) {
		/* a stop that came during the metadata fetch: start nothing, the loop ends us */
		set_phase(s, PH_STARTING);
		return loop(s);
	}
	if (s->cfg.role != ROLE_WORKER) {
		int rc = start_all(s);
		return rc ? rc : loop(s);
	}
	s->zctx = probe_context();
	s->res = resolve_new(s->cfg.dns_servers, err, sizeof err);
	if (!s->zctx || !s->res) {
		log_error("start", "%s", s->res ? "unable to create a ZMQ context" : err);
		return EXIT_SOFTWARE;
	}
	begin_search(s, now, PH_RESOLVING);
	return loop(s);
}

int main(int argc, char **argv)
{
	static struct sup s;
	int rc;

	s.envp = environ;
	s.worst = -1;
	s.sfd = sup_init();
	if (s.sfd < 0) {
		fprintf(stderr, "locust-entrypoint: unable to set up signal handling: %s\n",
			strerror(errno));
		return EXIT_SOFTWARE;
	}
	srand((unsigned)(getpid() ^ sup_now_ms()));
	rc = prepare(&s, argc, argv);
	if (rc < 0) {
		rc = run(&s);
		/* a spawn that failed leaves the engine's exit code as ours */
		if (rc == EXIT_NOTFOUND && s.worst >= 0)
			rc = s.worst;
		int left;
		sup_reap(s.eng, s.neng, &left);
		log_info("exit", "exiting with status %d", rc);
	}
	drop_candidates(&s);
	drop_watch(&s);
	drop_recheck(&s);
	resolve_free(s.res);
	if (s.zctx)
		zmq_ctx_term(s.zctx);
	if (s.state_ok)
		state_remove(s.cfg.state_dir);
	config_free(&s.cfg);
	close(s.sfd);
	return rc;
}
