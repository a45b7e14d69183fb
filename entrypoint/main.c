/* locust-entrypoint: PID 1 of a Locust container on ECS; one poll loop, one state machine.
 * The loop below waits for anything (signals, DNS, probes, children, deadlines), then
 * lets the phase's step decide; every exit goes through the stop sequence. */
#include "core.h"
#include "clock.h"
#include "log.h"
#include "state.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#ifndef LE_VERSION
#define LE_VERSION "0.0.0"
#endif

extern char **environ;

#define MAX_POLL 64
#define CRASH_BACKOFF_MAX_MS 30000
#define CRASH_LOOP_LIMIT 10   /* consecutive quick crashes before giving up */
#define QUICK_CRASH_MS 10000  /* an engine that dies sooner than this crashed "quickly" */
#define STATE_WARN_EVERY_MS 60000
#define KILL_RECHECK_MS 100   /* after the SIGKILL: look again for re-parented orphans */

static void step_running(struct sup *s, long long now);
static void step_restarting(struct sup *s, long long now);
static void step_ending(struct sup *s, long long now);

/* The phases: their names in the state document and what happens in each after an event.
 * draining: the engine (master or standalone) ended; what it left gets the grace. */
static const struct {
	const char *name;
	void (*step)(struct sup *s, long long now);
} phases[PH_COUNT] = {
	[PH_STARTING] = {"starting", NULL},
	[PH_RESOLVING] = {"resolving", master_search_step},
	[PH_WAITING] = {"waiting", master_search_step},
	[PH_RUNNING] = {"running", step_running},
	[PH_RESTARTING] = {"restarting", step_restarting},
	[PH_REJOINING] = {"rejoining", master_search_step},
	[PH_DRAINING] = {"draining", step_ending},
	[PH_STOPPING] = {"stopping", step_ending},
};

/* ---------- the state document ---------- */

static int ending(const struct sup *s)
{
	return s->phase == PH_STOPPING || s->phase == PH_DRAINING;
}

void core_save_state(struct sup *s)
{
	char err[300];
	long long now = clock_mono_ms();
	struct state_info si = {
		.cfg = &s->cfg, .role = config_role_name(s->cfg.role),
		.phase = phases[s->phase].name, .phase_since = s->phase_since,
		.started = s->started_wall, .master_addr = s->addr[0] ? s->addr : NULL,
		.master_port = s->port, .engines = s->eng, .nengines = s->neng,
		.restarts = s->restarts, .last_reason = s->last_reason[0] ? s->last_reason : NULL,
	};
	/* the health check reads one deadline: the master wait, or the rejoin window */
	long long dl = s->phase == PH_REJOINING ? s->rejoin_deadline
		       : s->phase == PH_RESOLVING || s->phase == PH_WAITING ? s->wait_deadline : 0;
	if (dl)
		si.wait_deadline = clock_wall_ms() + (dl - now);
	/* tried on every change: a full disk or a removed directory may come back */
	if (state_prepare_dir(s->cfg.state_dir, err, sizeof err) == 0 &&
	    state_write(s->cfg.state_dir, &si, err, sizeof err) == 0) {
		if (s->state_warned)
			log_info("state", "the state document is written again");
		s->state_written = 1;
		s->state_warned = 0;
		return;
	}
	if (!s->state_warned || now - s->state_warned >= STATE_WARN_EVERY_MS) {
		log_warnx("state", "%s; the health check cannot see this supervisor until the "
			  "state can be written again (LOCUST_ECS_STATE_DIR)", err);
		s->state_warned = now;
	}
}

void core_set_phase(struct sup *s, enum phase p)
{
	if (s->phase != p)
		log_debug("phase", "%s -> %s", phases[s->phase].name, phases[p].name);
	s->phase = p;
	s->phase_since = clock_wall_ms();
	core_save_state(s);
}

/* ---------- engines ---------- */

int core_running(const struct sup *s)
{
	int n = 0;
	for (int i = 0; i < s->neng; i++)
		n += s->eng[i].pid != 0;
	return n;
}

static long crash_delay(const struct engine *e)
{
	long delay = 1000L << (e->restarts - 1 > 5 ? 5 : e->restarts - 1);
	return delay > CRASH_BACKOFF_MAX_MS ? CRASH_BACKOFF_MAX_MS : delay;
}

/* Starts engine i. A fork that lacked resources is tried again with the crash back-off;
 * an engine that cannot be run at all ends the supervisor with 126, 127 or 70. */
static void start_engine(struct sup *s, int i, long long now)
{
	char err[512];
	struct engine *e = &s->eng[i];
	char **argv = config_engine_argv(&s->cfg, s->cfg.role == ROLE_WORKER ? s->addr : NULL,
					 s->port);
	int rc = argv ? sup_spawn(e, argv, i == 0, err, sizeof err) : EXIT_SOFTWARE;
	if (!argv)
		snprintf(err, sizeof err, "out of memory building the engine's arguments");
	config_free_argv(argv);
	e->restart_at_ms = 0;
	if (rc == SUP_AGAIN) {
		e->restarts++;
		e->restart_at_ms = now + crash_delay(e);
		log_warnx("engine.start", "%s; trying engine %d again in %lld ms", err, i + 1,
			  e->restart_at_ms - now);
		return;
	}
	if (rc) {
		log_error("engine.start", "%s", err);
		core_finish(s, rc, now);
		return;
	}
	log_info("engine.start", "engine %d of %d started: pid %d%s%s", i + 1, s->neng,
		 (int)e->pid, s->cfg.role == ROLE_WORKER ? ", master " : "",
		 s->cfg.role == ROLE_WORKER ? s->addr : "");
}

void core_start_all(struct sup *s, long long now)
{
	for (int i = 0; i < s->neng && !ending(s); i++)
		start_engine(s, i, now);
	if (ending(s))
		return;
	core_set_phase(s, PH_RUNNING);
	stats_begin(s, now);
}

static void note_final(struct sup *s, int status)
{
	if (status > s->worst)
		s->worst = status;
}

void core_restart_engines(struct sup *s, const char *reason, long long now)
{
	s->restarts++;
	snprintf(s->last_reason, sizeof s->last_reason, "%s", reason);
	if (core_running(s)) {
		sup_signal_all(s->eng, s->neng, SIGTERM);
		for (int i = 0; i < s->neng; i++)
			s->eng[i].stop_sent = s->eng[i].pid != 0;
		s->stop_deadline = now + s->cfg.restart_grace_ms;
	}
	log_warnx("engine.restart", "restarting the engines: %s", reason);
	core_set_phase(s, PH_RESTARTING);
}

/* ---------- stopping ---------- */

/* Stops everything: sig goes to the engines, what they left and our orphans, then the
 * grace, then SIGKILL. stop_sig is the signal that asked for it (0 when the supervisor
 * ends by itself). The signal is sent before anything is logged. */
static void begin_stop(struct sup *s, int sig, int stop_sig, long long now)
{
	int n = core_running(s);
	s->stop_sig = stop_sig;
	master_drop(s);
	sup_signal_all(s->eng, s->neng, sig);
	sup_signal_leftovers(s->eng, s->neng, sig);
	sup_signal_orphans(s->eng, s->neng, sig);
	s->stop_deadline = now + s->cfg.stop_grace_ms;
	s->killed = 0;
	if (stop_sig)
		log_info("stop", "got %s: stopping %d engine%s and what they left (grace %ld ms)",
			 strsignal(sig), n, n == 1 ? "" : "s", s->cfg.stop_grace_ms);
	core_set_phase(s, PH_STOPPING);
}

void core_finish(struct sup *s, int status, long long now)
{
	if (s->forced < 0)
		s->forced = status;
	if (s->phase != PH_STOPPING)
		begin_stop(s, SIGTERM, 0, now);
}

static int exit_status(const struct sup *s)
{
	int st = s->forced >= 0 ? s->forced : s->worst;
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
		if (core_running(s)) {
			sup_signal_all(s->eng, s->neng, sig);
			log_debug("signal", "forwarded %s", strsignal(sig));
		}
	}
}

/* ---------- engine exits ---------- */

/* A worker's engine crashed: it starts again alone, backing off; ten quick crashes in a
 * row end the supervisor. */
static void on_crash(struct sup *s, int i, long long lived, long long now)
{
	struct engine *e = &s->eng[i];
	e->restarts = lived < QUICK_CRASH_MS ? e->restarts + 1 : 1;
	if (e->restarts > CRASH_LOOP_LIMIT) {
		log_error("engine.crashloop",
			  "engine %d crashed %d times in a row within %d s of starting; giving up",
			  i + 1, e->restarts - 1, QUICK_CRASH_MS / 1000);
		note_final(s, e->status);
		core_finish(s, e->status, now);
		return;
	}
	e->restart_at_ms = now + crash_delay(e);
	s->restarts++;
	snprintf(s->last_reason, sizeof s->last_reason, "engine %d exited with status %d",
		 i + 1, e->status);
	log_warnx("engine.crash", "engine %d exited with status %d; starting it again in %lld ms",
		  i + 1, e->status, e->restart_at_ms - now);
	core_save_state(s);
}

static void on_engine_exit(struct sup *s, int i, long long now)
{
	struct engine *e = &s->eng[i];
	long long lived = now - e->started_ms;
	e->exited = 0;
	log_info("engine.exit", "engine %d (pid %d) exited with status %d after %lld ms", i + 1,
		 (int)e->last_pid, e->status, lived);
	if (ending(s)) {
		note_final(s, e->status);
		/* what it left is ours now: it gets the stop signal too */
		if (s->phase == PH_STOPPING && s->stop_sig) {
			sup_signal_leftovers(s->eng, s->neng, s->stop_sig);
			sup_signal_orphans(s->eng, s->neng, s->stop_sig);
		}
		return;
	}
	if (s->phase == PH_RESTARTING && e->stop_sent)
		return;
	if (s->cfg.role != ROLE_WORKER) {
		/* the test is over: what the engine left (helpers, daemons) gets SIGTERM and
		 * the grace, as in a stop */
		note_final(s, e->status);
		sup_signal_leftovers(s->eng, s->neng, SIGTERM);
		sup_signal_orphans(s->eng, s->neng, SIGTERM);
		s->stop_deadline = now + s->cfg.stop_grace_ms;
		core_set_phase(s, PH_DRAINING);
		return;
	}
	if (e->status == 0) {
		note_final(s, 0); /* "quit" from the master: rejoin only a master that comes back */
		return;
	}
	on_crash(s, i, lived, now);
}

static void after_reap(struct sup *s, long long now)
{
	for (int i = 0; i < s->neng; i++)
		if (s->eng[i].exited)
			on_engine_exit(s, i, now);
	if (s->cfg.role != ROLE_WORKER || s->phase != PH_RUNNING || core_running(s))
		return;
	for (int i = 0; i < s->neng; i++)
		if (s->eng[i].restart_at_ms)
			return;
	master_quit(s, now);
}

/* ---------- the steps ---------- */

static void step_running(struct sup *s, long long now)
{
	for (int i = 0; i < s->neng && s->phase == PH_RUNNING; i++) {
		struct engine *e = &s->eng[i];
		if (!e->pid && e->restart_at_ms && now >= e->restart_at_ms) {
			start_engine(s, i, now);
			if (s->phase == PH_RUNNING)
				core_save_state(s);
		}
	}
	if (s->phase == PH_RUNNING && s->cfg.role == ROLE_WORKER)
		master_running_step(s, now);
	else if (s->phase == PH_RUNNING)
		stats_step(s, now);
}

static void step_restarting(struct sup *s, long long now)
{
	if (core_running(s) && now >= s->stop_deadline && !s->killed) {
		sup_signal_all(s->eng, s->neng, SIGKILL);
		s->killed = 1;
		log_warnx("engine.kill", "engines still running after the restart grace: SIGKILL");
	}
	if (core_running(s))
		return;
	s->killed = 0;
	master_restarted(s, now);
}

static void step_ending(struct sup *s, long long now)
{
	char what[600];
	if (now < s->stop_deadline || s->killed)
		return;
	int n = sup_kill_rest(s->eng, s->neng, what, sizeof what);
	s->killed = 1;
	if (n)
		log_warnx("engine.kill", "%d process%s still running after the grace (%ld ms): SIGKILL "
			  "to %s", n, n == 1 ? "" : "es", s->cfg.stop_grace_ms, what);
}

/* ---------- the loop ---------- */

long core_min_timeout(long t, long long deadline, long long now)
{
	if (!deadline)
		return t;
	long d = deadline <= now ? 0 : (long)(deadline - now);
	return t < 0 || d < t ? d : t;
}

static long loop_timeout(struct sup *s, long long now)
{
	long t = master_timeout(s, -1, now);
	if (s->http && httploop_timeout(s->http) >= 0)
		t = core_min_timeout(t, now + httploop_timeout(s->http), now);
	t = stats_timeout(s, t, now);
	if (s->phase == PH_STOPPING || s->phase == PH_DRAINING || s->phase == PH_RESTARTING)
		t = core_min_timeout(t, s->killed ? 0 : s->stop_deadline, now);
	if (s->phase == PH_RUNNING)
		for (int i = 0; i < s->neng; i++)
			t = core_min_timeout(t, s->eng[i].pid ? 0 : s->eng[i].restart_at_ms, now);
	if (s->killed)
		t = core_min_timeout(t, now + KILL_RECHECK_MS, now);
	return t;
}

static int loop(struct sup *s)
{
	for (;;) {
		struct pollfd pfd[MAX_POLL];
		int nres, children_left;
		long long now = clock_mono_ms();
		pfd[0] = (struct pollfd){.fd = s->sfd, .events = POLLIN};
		int n = 1 + master_pollfds(s, pfd + 1, MAX_POLL / 2, &nres);
		int nhttp = s->http ? httploop_pollfds(s->http, pfd + n, MAX_POLL - n) : 0;
		if (poll(pfd, (nfds_t)n + (nfds_t)nhttp, (int)loop_timeout(s, now)) < 0 &&
		    errno != EINTR) {
			int e = errno;
			struct timespec pause = {0, 10L * 1000 * 1000};
			nanosleep(&pause, NULL); /* never spin on a poll that keeps failing */
			log_error("poll", "poll failed: %s", strerror(e));
			core_finish(s, EXIT_SOFTWARE, clock_mono_ms());
		}
		now = clock_mono_ms();
		on_signals(s, now);
		if (sup_reap(s->eng, s->neng, &children_left))
			after_reap(s, now);
		master_process(s, pfd + 1, nres, now);
		if (s->http)
			httploop_process(s->http, pfd + n, nhttp);
		if (phases[s->phase].step)
			phases[s->phase].step(s, now);
		/* the one way out: stopping or draining, and nothing left below us */
		if (ending(s) && !core_running(s) && !children_left)
			return exit_status(s);
		if (ending(s) && !core_running(s) && s->killed)
			sup_kill_rest(s->eng, s->neng, NULL, 0); /* orphans re-parented since */
	}
}

/* ---------- start-up ---------- */

static int run(struct sup *s)
{
	char err[300];
	long long now = clock_mono_ms();
	s->started_wall = clock_wall_ms();
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
	if (sup_stop_pending()) {
		/* a stop that came during the metadata fetch: start nothing, the loop ends us */
		core_set_phase(s, PH_STARTING);
	} else if (s->cfg.role != ROLE_WORKER) {
		core_start_all(s, now);
	} else if (master_open(s, err, sizeof err) < 0) {
		log_error("start", "%s", err);
		core_finish(s, EXIT_SOFTWARE, now);
	} else {
		master_begin_search(s, now, PH_RESOLVING);
	}
	return loop(s);
}

int main(int argc, char **argv)
{
	static struct sup s;
	int rc;

	if (sup_std_fds() < 0)
		return EXIT_SOFTWARE; /* no stderr to say it on */
	s.envp = environ;
	s.worst = s.forced = -1;
	s.sfd = sup_init();
	if (s.sfd < 0) {
		fprintf(stderr, "locust-entrypoint: unable to set up signal handling: %s\n",
			strerror(errno));
		return EXIT_SOFTWARE;
	}
	srand((unsigned)(getpid() ^ clock_mono_ms()));
	rc = cli_prepare(&s, argc, argv);
	if (rc < 0) {
		rc = run(&s);
		stats_end(&s, rc);
		log_info("exit", "exiting with status %d", rc);
	}
	master_close(&s);
	stats_close(&s);
	httploop_free(s.http);
	if (s.state_written)
		state_remove(s.cfg.state_dir);
	config_free(&s.cfg);
	close(s.sfd);
	return rc;
}
