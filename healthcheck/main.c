/* locust-healthcheck: is this Locust container doing its job? One verdict, within a bound. */
#include "clock.h"
#include "duration.h"
#include "fileio.h"
#include "http.h"
#include "probe.h"
#include "procfs.h"
#include "proctcp.h"
#include "state.h"
#include "webstats.h"

#include <curl/curl.h>
#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>
#include <zmq.h>

#ifndef LE_VERSION
#define LE_VERSION "0.0.0"
#endif

#define WEB_MAX_BODY ((size_t)16 * 1024 * 1024) /* /stats/requests grows with the request names */
#define PROBE_POLL_MS 20                 /* libzmq's monitor fd is edge-like: look often */
#define MARGIN_MAX_MS 400                /* time kept after the checks to print and exit */

/* What the process is doing, for the message of the timer that bounds it. */
enum stage { ST_START, ST_STATE, ST_PROC, ST_WEB, ST_PROBE, ST_DONE, ST_COUNT };
static const char *const stage_names[ST_COUNT] = {
	"starting", "reading the state", "reading /proc", "asking the web UI",
	"probing the master port", "printing the verdict",
};

/* The backstop timer's output, prepared before it is armed: a handler may only write. */
static char alarm_msg[ST_COUNT][256];
static size_t alarm_len[ST_COUNT];
static volatile sig_atomic_t cur_stage;

struct hc {
	char cfg_err[300];        /* one of our own settings is wrong */
	int json;
	const char *state_dir;
	char state_path[512];
	long timeout_ms;
	long long t0, deadline; /* monotonic ms: start, end of the work */
	struct state_view st;
	int have_state;
	json_t *checks;
	json_t *extra; /* web / probe details for --json */
	int healthy;
	char reason[600];
	char summary[600];
};

static void on_alarm(int sig)
{
	(void)sig;
	ssize_t w = write(STDOUT_FILENO, alarm_msg[cur_stage], alarm_len[cur_stage]);
	(void)w;
	_exit(1);
}

static void set_stage(enum stage s)
{
	cur_stage = (sig_atomic_t)s;
}

/* Bounds the whole process: whatever hangs, SIGALRM prints "timed out" and exits 1. */
static void arm_backstop(const struct hc *h)
{
	long slack = h->timeout_ms / 20 < 50 ? h->timeout_ms / 20 : 50;
	long at = h->timeout_ms - slack;
	struct itimerval it = {.it_value = {.tv_sec = at / 1000, .tv_usec = (at % 1000) * 1000}};
	struct sigaction sa;

	for (int s = 0; s < ST_COUNT; s++) {
		int n = h->json
			? snprintf(alarm_msg[s], sizeof alarm_msg[s],
				   "{\"healthy\":false,\"reason\":\"timed out after %ld ms while "
				   "%s\",\"timeout_ms\":%ld}\n", at, stage_names[s], h->timeout_ms)
			: snprintf(alarm_msg[s], sizeof alarm_msg[s],
				   "unhealthy: timed out after %ld ms while %s "
				   "(LOCUST_ECS_HEALTH_TIMEOUT=%ld ms)\n", at, stage_names[s],
				   h->timeout_ms);
		alarm_len[s] = n > 0 && (size_t)n < sizeof alarm_msg[s] ? (size_t)n : 0;
	}
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_alarm;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGALRM, &sa, NULL);
	setitimer(ITIMER_REAL, &it, NULL);
}

static long remaining_ms(const struct hc *h)
{
	long long r = h->deadline - clock_mono_ms();
	return r < 1 ? 1 : (long)r;
}

/* ---------- the verdict ---------- */

static void record(struct hc *h, const char *name, int ok, const char *fmt, va_list ap)
	__attribute__((format(printf, 4, 0)));

static void record(struct hc *h, const char *name, int ok, const char *fmt, va_list ap)
{
	char msg[600];
	vsnprintf(msg, sizeof msg, fmt, ap);
	json_array_append_new(h->checks, json_pack("{s:s, s:b, s:s}", "check", name, "ok", ok,
						   "detail", msg));
	if (!ok && h->healthy) {
		h->healthy = 0;
		snprintf(h->reason, sizeof h->reason, "%s", msg);
	}
	if (ok)
		snprintf(h->summary, sizeof h->summary, "%s", msg);
}

static void pass(struct hc *h, const char *name, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void fail(struct hc *h, const char *name, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* A check that passed; its text is the verdict's reason unless a later one says more. */
static void pass(struct hc *h, const char *name, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	record(h, name, 1, fmt, ap);
	va_end(ap);
}

/* A check that failed; the first failure is the verdict's reason. */
static void fail(struct hc *h, const char *name, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	record(h, name, 0, fmt, ap);
	va_end(ap);
}

/* "3.2 s", "250 ms", "4 min": how long ago or ahead, for people. */
static const char *span(long long ms, char *buf, size_t len)
{
	if (ms < 0)
		ms = -ms;
	if (ms < 10000)
		snprintf(buf, len, "%lld ms", ms);
	else if (ms < 600000)
		snprintf(buf, len, "%lld s", ms / 1000);
	else
		snprintf(buf, len, "%lld min", ms / 60000);
	return buf;
}

/* ---------- the state document ---------- */

static int load_state(struct hc *h)
{
	char err[400];
	size_t len = 0;
	char *buf = NULL;
	int rc = -1;

	set_stage(ST_STATE);
	if (file_read(h->state_path, STATE_MAX_BYTES, &buf, &len) < 0) {
		if (errno == ENOENT)
			fail(h, "state", "no state document at %s: the supervisor is not running, "
			     "has not started yet, cannot write it, or uses another "
			     "LOCUST_ECS_STATE_DIR", h->state_path);
		else if (errno == EFBIG)
			fail(h, "state", "the state document %s is larger than %zu bytes: not ours",
			     h->state_path, STATE_MAX_BYTES);
		else
			fail(h, "state", "unable to read the state document %s: %s", h->state_path,
			     errno == EISDIR ? "it is a directory"
			     : errno == EINVAL ? "not a regular file" : strerror(errno));
		return -1;
	}
	if (state_parse(buf, len, &h->st, err, sizeof err) < 0) {
		fail(h, "state", "the state document %s is corrupt or truncated: %s",
		     h->state_path, err);
		goto out;
	}
	h->have_state = 1;
	rc = 0;
out:
	free(buf);
	return rc;
}

/* ---------- processes ---------- */

/* The state letter of /proc/<pid>/stat ('R', 'S', 'Z'...), 0 when there is no such pid. */
static char proc_state(int pid)
{
	char st = 0;
	if (proc_stat(pid, &st, NULL, NULL) < 0)
		return 0;
	return st;
}

/* Is pid the process that started at ticks? 0 yes, else a reason in why. */
static int same_process(int pid, unsigned long long ticks, char *why, size_t len)
{
	char st = proc_state(pid);
	unsigned long long now_ticks = proc_start_ticks(pid);
	if (!st || !now_ticks) {
		snprintf(why, len, "is gone");
		return -1;
	}
	if (ticks && now_ticks != ticks) {
		snprintf(why, len, "is another process now (pid reused: started at tick %llu, "
			 "not %llu)", now_ticks, ticks);
		return -1;
	}
	if (st == 'Z' || st == 'X') {
		snprintf(why, len, "has exited (not reaped yet)");
		return -1;
	}
	return 0;
}

/* Stopped (SIGSTOP, a tracer): its connections stay up, but it sends no load and no
 * heartbeat. */
static int stopped(int pid)
{
	char st = proc_state(pid);
	return st == 'T' || st == 't';
}

static int check_supervisor(struct hc *h)
{
	char why[200], sb[32];
	const struct state_view *s = &h->st;
	if (same_process(s->pid, s->pid_start_ticks, why, sizeof why) < 0) {
		fail(h, "supervisor", "the supervisor (pid %d) that wrote %s %s: the state is stale",
		     s->pid, h->state_path, why);
		return -1;
	}
	pass(h, "supervisor", "the supervisor (pid %d, %s) is %s since %s", s->pid, s->role,
	     s->phase, span(clock_wall_ms() - s->phase_since, sb, sizeof sb));
	return 0;
}

/* ---------- phases ---------- */

static int waiting_phase(const char *p)
{
	return !strcmp(p, "resolving") || !strcmp(p, "waiting") || !strcmp(p, "rejoining");
}

/* 1 when the engines and the role's checks decide, 0 when the phase alone did. */
static int check_phase(struct hc *h)
{
	const struct state_view *s = &h->st;
	long long now = clock_wall_ms();
	char a[32], b[32];

	if (!strcmp(s->phase, "running"))
		return 1;
	if (!strcmp(s->phase, "draining")) {
		fail(h, "phase", "the engine has ended (since %s): the supervisor is ending what "
		     "it left", span(now - s->phase_since, a, sizeof a));
	} else if (!strcmp(s->phase, "stopping")) {
		fail(h, "phase", "the supervisor is stopping (since %s): the engines are ending",
		     span(now - s->phase_since, a, sizeof a));
	} else if (!strcmp(s->phase, "starting")) {
		pass(h, "phase", "%s: the supervisor is starting", s->role);
	} else if (!strcmp(s->phase, "restarting")) {
		pass(h, "phase", "%s: restarting the engines%s%s", s->role,
		     s->last_reason[0] ? ": " : "", s->last_reason);
	} else if (waiting_phase(s->phase)) {
		const char *host = s->master_host[0] ? s->master_host : "(unknown)";
		if (s->wait_deadline > 0 && now >= s->wait_deadline)
			fail(h, "phase", "the master %s was not reachable before the deadline, "
			     "which passed %s ago (LOCUST_ECS_MASTER_WAIT)", host,
			     span(now - s->wait_deadline, a, sizeof a));
		else if (s->wait_deadline > 0)
			pass(h, "phase", "waiting for the master %s (%s for %s; deadline in %s)", host,
			     s->phase, span(now - s->phase_since, a, sizeof a),
			     span(s->wait_deadline - now, b, sizeof b));
		else
			pass(h, "phase", "waiting for the master %s (%s for %s; no deadline)", host,
			     s->phase, span(now - s->phase_since, a, sizeof a));
	} else {
		fail(h, "phase", "the state document's phase \"%s\" is unknown", s->phase);
	}
	return 0;
}

static int check_engines(struct hc *h)
{
	const struct state_view *s = &h->st;
	char why[200], name[32], sb[32];
	long long now = clock_wall_ms();

	set_stage(ST_PROC);
	if (s->nengines == 0) {
		fail(h, "engines", "the state lists no engine while %s", s->phase);
		return -1;
	}
	for (int i = 0; i < s->nengines; i++) {
		const struct state_engine_view *e = &s->engines[i];
		snprintf(name, sizeof name, "engine %d", i + 1);
		if (e->pid <= 0 && e->last_status == 0)
			fail(h, name, "engine %d is not running: it exited with status 0", i + 1);
		else if (e->pid <= 0 && e->last_status > 0)
			fail(h, name, "engine %d is not running: restarting after a crash (status %d)",
			     i + 1, e->last_status);
		else if (e->pid <= 0)
			fail(h, name, "engine %d is not running: restarting after a crash", i + 1);
		else if (same_process(e->pid, e->start_ticks, why, sizeof why) < 0)
			fail(h, name, "engine %d (pid %d) %s", i + 1, e->pid, why);
		else if (stopped(e->pid))
			fail(h, name, "engine %d (pid %d) is stopped (SIGSTOP or a tracer)", i + 1,
			     e->pid);
		else
			pass(h, name, "%s: engine %d (pid %d) is running, started %s ago", s->role,
			     i + 1, e->pid, span(now - e->started, sb, sizeof sb));
	}
	return h->healthy ? 0 : -1;
}

/* ---------- master and standalone: the web UI ---------- */

/* --web-auth in the engine's own command line (from LOCUST_OPTS or the container's
 * command). The value is copied into out. */
static int engine_web_auth(int pid, char *out, size_t outlen)
{
	char path[64], *buf = NULL;
	size_t len = 0;
	snprintf(path, sizeof path, "/proc/%d/cmdline", pid);
	if (pid <= 0 || file_read(path, (size_t)1024 * 1024, &buf, &len) < 0)
		return 0;
	int found = webstats_cmdline_auth(buf, len, out, outlen);
	explicit_bzero(buf, len);
	free(buf);
	return found;
}

static int wildcard_host(const char *hst)
{
	return !hst[0] || !strcmp(hst, "*") || !strcmp(hst, "0.0.0.0") || !strcmp(hst, "::") ||
	       !strcmp(hst, "[::]");
}

/* Thresholds of the state (LOCUST_ECS_HEALTH_MIN_WORKERS, _MAX_FAIL_RATIO). */
static void judge_stats(struct hc *h, const struct webstats *ws, long ms)
{
	const struct state_view *s = &h->st;
	int master = !strcmp(s->role, "master");
	int workers = ws->workers < 0 ? 0 : ws->workers;
	char wtext[80] = "", ftext[40] = "unknown";

	if (ws->fail_ratio >= 0)
		snprintf(ftext, sizeof ftext, "%.3f", ws->fail_ratio);
	if (master)
		snprintf(wtext, sizeof wtext, ", %d worker%s%s", workers, workers == 1 ? "" : "s",
			 ws->workers_missing ? " (and some missing)" : "");
	if (master && s->min_workers >= 0 && workers < s->min_workers) {
		fail(h, "workers", "master: %d worker%s not missing, fewer than "
		     "LOCUST_ECS_HEALTH_MIN_WORKERS=%d (%d missing)", workers,
		     workers == 1 ? "" : "s", s->min_workers, ws->workers_missing);
		return;
	}
	if (s->max_fail_ratio >= 0 && !(ws->fail_ratio >= 0 && ws->fail_ratio <= s->max_fail_ratio)) {
		fail(h, "fail_ratio", "%s: fail ratio %s is above LOCUST_ECS_HEALTH_MAX_FAIL_RATIO=%g",
		     s->role, ftext, s->max_fail_ratio);
		return;
	}
	pass(h, "web", "%s: the web UI answered in %ld ms: state %s%s, %lld users, fail ratio %s",
	     s->role, ms, ws->state, wtext, ws->user_count < 0 ? 0 : ws->user_count, ftext);
}

static void check_web(struct hc *h)
{
	const struct state_view *s = &h->st;
	char url[200], errbuf[CURL_ERROR_SIZE] = "", err[300], auth[512] = "";
	const char *host = wildcard_host(s->web_host) ? "127.0.0.1" : s->web_host;
	const char *auth_src = NULL, *env_auth = getenv("LOCUST_WEB_AUTH");
	struct http_body b = {.max = WEB_MAX_BODY};
	struct webstats ws;
	long code = 0, ms;
	CURLcode cc;
	CURL *c;

	set_stage(ST_WEB);
	snprintf(url, sizeof url, strchr(host, ':') && host[0] != '[' ? "%s://[%s]:%d%s"
								       : "%s://%s:%d%s",
		 s->web_tls ? "https" : "http", host, s->web_port, "/stats/requests");
	/* the engine's own command line holds --web-auth from LOCUST_OPTS or the
	 * container's command; Locust reads LOCUST_WEB_AUTH from the environment */
	if (engine_web_auth(s->engines[0].pid, auth, sizeof auth)) {
		auth_src = "--web-auth of the engine's command line";
	} else if (env_auth && env_auth[0]) {
		snprintf(auth, sizeof auth, "%s", env_auth);
		auth_src = "LOCUST_WEB_AUTH";
	}
	long long t = clock_mono_ms();
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK || !(c = curl_easy_init())) {
		fail(h, "web", "unable to initialise libcurl");
		return;
	}
	if (http_setup(c, url, &b, errbuf, remaining_ms(h), remaining_ms(h),
		       "locust-healthcheck/" LE_VERSION) != CURLE_OK) {
		fail(h, "web", "unable to set up the request to %s", url);
		goto out;
	}
	if (s->web_tls) { /* the engine's own certificate, often self-signed: not verified */
		curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
	}
	if (auth_src) {
		curl_easy_setopt(c, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
		curl_easy_setopt(c, CURLOPT_USERPWD, auth);
	}
	cc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
	ms = (long)(clock_mono_ms() - t);
	json_object_set_new(h->extra, "web",
			    json_pack("{s:s, s:i, s:I, s:b, s:s?}", "url", url, "http_status",
				      (int)code, "ms", (json_int_t)ms, "auth", auth_src != NULL,
				      "auth_source", auth_src));
	long long age = s->nengines && s->engines[0].started > 0
				? clock_wall_ms() - s->engines[0].started : -1;
	if (cc == CURLE_COULDNT_CONNECT && age >= 0 && age < s->grace_ms)
		/* Locust opens its web port a moment after it starts: like a worker's
		 * connection, that is healthy within LOCUST_ECS_HEALTH_GRACE */
		pass(h, "web", "%s: the engine started %lld ms ago and its web UI is not listening "
		     "yet, within the grace (%lld ms)", s->role, age, s->grace_ms);
	else if (cc == CURLE_OPERATION_TIMEDOUT)
		fail(h, "web", "%s: the web UI at %s did not answer within %ld ms", s->role, url, ms);
	else if (cc != CURLE_OK && !(b.too_big && cc == CURLE_WRITE_ERROR))
		fail(h, "web", "%s: the web UI at %s did not answer: %s", s->role, url,
		     errbuf[0] ? errbuf : curl_easy_strerror(cc));
	else if (b.too_big)
		fail(h, "web", "%s: the web UI at %s sent more than %zu bytes", s->role, url,
		     WEB_MAX_BODY);
	else if (code == 401)
		fail(h, "web", "%s: the web UI at %s answered 401: %s", s->role, url,
		     auth_src ? "it refused the credentials" : "it wants credentials; set "
		     "LOCUST_WEB_AUTH (or --web-auth in LOCUST_OPTS) as the engine has it");
	else if (code != 200)
		fail(h, "web", "%s: the web UI at %s answered HTTP %ld", s->role, url, code);
	else if (webstats_parse(b.buf ? b.buf : "", b.len, &ws, err, sizeof err) < 0)
		fail(h, "web", "%s: the web UI at %s answered 200 but not with Locust's stats: %s",
		     s->role, url, err);
	else {
		json_object_set_new(json_object_get(h->extra, "web"), "stats",
				    json_pack("{s:s, s:i, s:i, s:f, s:I, s:f, s:f, s:I, s:I}",
					      "state", ws.state, "workers", ws.workers,
					      "workers_missing", ws.workers_missing, "fail_ratio",
					      ws.fail_ratio, "user_count", (json_int_t)ws.user_count,
					      "total_rps", ws.total_rps, "current_rps", ws.cur_rps,
					      "requests", (json_int_t)ws.num_requests, "failures",
					      (json_int_t)ws.num_failures));
		judge_stats(h, &ws, ms);
	}
out:
	explicit_bzero(auth, sizeof auth);
	http_body_free(&b);
	curl_easy_cleanup(c);
	curl_global_cleanup();
}

/* ---------- headless master: the ZMQ port ---------- */

static void check_zmtp(struct hc *h)
{
	const struct state_view *s = &h->st;
	char err[300];
	void *z;
	struct probe *p = NULL;
	long long t = clock_mono_ms();
	/* the master listens where it was bound: loopback reaches it unless bound to one
	 * address (a task's private IP, say); an IPv6 literal may come in brackets */
	char host[sizeof s->master_bind_host];
	const char *bh = s->master_bind_host;
	size_t bl = strlen(bh);
	if (wildcard_host(bh))
		snprintf(host, sizeof host, "127.0.0.1");
	else if (bl > 2 && bh[0] == '[' && bh[bl - 1] == ']')
		snprintf(host, sizeof host, "%.*s", (int)(bl - 2), bh + 1);
	else
		snprintf(host, sizeof host, "%s", bh);

	set_stage(ST_PROBE);
	if (!(z = probe_context())) {
		fail(h, "probe", "unable to create a ZMQ context: %s", zmq_strerror(zmq_errno()));
		return;
	}
	p = probe_new(z, PROBE_ZMTP, host, s->master_bind_port, remaining_ms(h), err, sizeof err);
	if (!p) {
		fail(h, "probe", "%s", err);
		goto out;
	}
	/* a refused connect on loopback is final: the first failure ends the wait */
	for (;;) {
		long long now = clock_mono_ms();
		struct pollfd pfd;
		probe_process(p, now);
		if (probe_state(p) == PROBE_UP || probe_failures(p) > 0 || now >= h->deadline)
			break;
		long wait = (long)(h->deadline - now);
		int have = probe_pollfd(p, &pfd);
		poll(&pfd, have ? 1 : 0, wait < PROBE_POLL_MS ? (int)wait : PROBE_POLL_MS);
	}
	long ms = (long)(clock_mono_ms() - t);
	json_object_set_new(h->extra, "probe",
			    json_pack("{s:s, s:i, s:b, s:I}", "address", host, "port",
				      s->master_bind_port, "up", probe_state(p) == PROBE_UP, "ms",
				      (json_int_t)ms));
	if (probe_state(p) == PROBE_UP)
		pass(h, "probe", "headless master: %s port %d answered the ZMTP handshake in %ld ms",
		     host, s->master_bind_port, ms);
	else
		fail(h, "probe", "headless master: %s port %d: %s", host, s->master_bind_port,
		     probe_error(p)[0] ? probe_error(p) : "no ZMTP handshake within the timeout");
out:
	probe_free(p);
	zmq_ctx_term(z);
}

/* ---------- worker: the connections to the master ---------- */

struct tables {
	char *text[2];
	size_t len[2];
};

/* /proc/<pid>/net/tcp and tcp6: the tables of the engine's network namespace. */
static int load_tables(int pid, struct tables *t, char *err, size_t errlen)
{
	static const char *const names[2] = {"tcp", "tcp6"};
	char path[64];
	for (int i = 0; i < 2; i++) {
		snprintf(path, sizeof path, "/proc/%d/net/%s", pid, names[i]);
		if (file_read(path, PROCTCP_MAX_FILE, &t->text[i], &t->len[i]) < 0) {
			if (errno == ENOENT && i == 1)
				continue; /* no IPv6 in this kernel */
			snprintf(err, errlen, "unable to read %s: %s", path, strerror(errno));
			return -1;
		}
	}
	return 0;
}

/* The ESTABLISHED connections pid holds to the master: 0 with *n, or -1 with err. */
static int connections_of(int pid, const struct tables *t, const struct proctcp_addr *to,
			  size_t *n, char *err, size_t errlen)
{
	unsigned long long *ino = NULL;
	size_t nino = 0;
	*n = 0;
	if (proctcp_pid_sockets(pid, &ino, &nino, err, errlen) < 0)
		return -1;
	for (int k = 0; k < 2; k++)
		*n += t->text[k] ? proctcp_count(t->text[k], t->len[k], to, ino, nino, NULL) : 0;
	free(ino);
	return 0;
}

/* With Locust's --processes the engine forks its workers, which hold the connections;
 * they stay in the engine's process group. How many of them are connected: 0 with
 * *members and *connected, or -1 with err. */
static int group_connections(int leader, const struct tables *t,
			     const struct proctcp_addr *to, int *members, int *connected,
			     char *err, size_t errlen)
{
	DIR *d = opendir("/proc");
	struct dirent *de;
	*members = *connected = 0;
	if (!d) {
		snprintf(err, errlen, "unable to read /proc: %s", strerror(errno));
		return -1;
	}
	while ((de = readdir(d))) {
		char *end;
		size_t n = 0;
		long pid = strtol(de->d_name, &end, 10);
		if (*end || pid <= 0 || pid == leader || proc_pgrp((pid_t)pid) != leader)
			continue;
		(*members)++;
		if (connections_of((int)pid, t, to, &n, err, errlen) == 0 && n > 0)
			(*connected)++;
	}
	closedir(d);
	return 0;
}

static void check_worker(struct hc *h)
{
	const struct state_view *s = &h->st;
	struct proctcp_addr to;
	struct tables t = {{NULL, NULL}, {0, 0}};
	char err[300], ep[100], sb[32], gb[32];
	long long now = clock_wall_ms();
	int loaded = 0, nconn = 0, ngrace = 0;

	set_stage(ST_PROC);
	snprintf(ep, sizeof ep, strchr(s->master_addr, ':') ? "[%s]:%d" : "%s:%d", s->master_addr,
		 s->master_port);
	if (proctcp_addr_parse(s->master_addr, s->master_port, &to) < 0 || s->master_port <= 0) {
		fail(h, "master", "worker: the state has no usable master address (\"%s\")", ep);
		return;
	}
	for (int i = 0; i < s->nengines && h->healthy; i++) {
		const struct state_engine_view *e = &s->engines[i];
		size_t n = 0;
		char name[32];
		snprintf(name, sizeof name, "engine %d", i + 1);
		if (e->started > 0 && now - e->started < s->grace_ms) {
			ngrace++;
			pass(h, name, "worker: engine %d started %s ago, within the grace (%s)", i + 1,
			     span(now - e->started, sb, sizeof sb), span(s->grace_ms, gb, sizeof gb));
			continue;
		}
		if (!loaded && load_tables(e->pid, &t, err, sizeof err) < 0) {
			fail(h, name, "worker: %s", err);
			break;
		}
		loaded = 1;
		if (s->processes > 0) {
			int members, connected;
			if (group_connections(e->pid, &t, &to, &members, &connected, err,
					      sizeof err) < 0) {
				fail(h, name, "worker: engine %d: %s", i + 1, err);
				break;
			}
			if (connected < s->processes) {
				fail(h, name, "worker: engine %d (pid %d): %d of its %d worker "
				     "processes (--processes) hold an ESTABLISHED connection to the "
				     "master %s (%d running)", i + 1, e->pid, connected,
				     s->processes, ep, members);
				break;
			}
			nconn++;
			pass(h, name, "worker: engine %d (pid %d): its %d worker processes are "
			     "connected to the master %s", i + 1, e->pid, connected, ep);
			continue;
		}
		if (connections_of(e->pid, &t, &to, &n, err, sizeof err) < 0) {
			fail(h, name, "worker: engine %d: %s", i + 1, err);
			break;
		}
		if (n == 0) {
			fail(h, name, "worker: engine %d (pid %d) holds no ESTABLISHED connection to "
			     "the master %s (started %s ago; grace %s)", i + 1, e->pid, ep,
			     span(now - e->started, sb, sizeof sb), span(s->grace_ms, gb, sizeof gb));
			break;
		}
		nconn++;
		pass(h, name, "worker: engine %d (pid %d) is connected to the master %s", i + 1,
		     e->pid, ep);
	}
	free(t.text[0]);
	free(t.text[1]);
	if (!h->healthy || s->nengines == 1)
		return;
	if (ngrace == 0)
		pass(h, "worker", "worker: %d engines connected to the master %s", nconn, ep);
	else if (nconn == 0)
		pass(h, "worker", "worker: %d engines started within the grace (%s)", ngrace,
		     span(s->grace_ms, gb, sizeof gb));
	else
		pass(h, "worker", "worker: %d engines connected to the master %s, %d within the "
		     "grace (%s)", nconn, ep, ngrace, span(s->grace_ms, gb, sizeof gb));
}

/* ---------- the whole check ---------- */

static void check(struct hc *h)
{
	const struct state_view *s = &h->st;
	if (h->cfg_err[0]) {
		fail(h, "config", "%s", h->cfg_err);
		return;
	}
	if (load_state(h) < 0 || check_supervisor(h) < 0 || !check_phase(h) ||
	    check_engines(h) < 0)
		return;
	if (!strcmp(s->role, "worker"))
		check_worker(h);
	else if (!s->headless)
		check_web(h);
	else if (!strcmp(s->role, "master"))
		check_zmtp(h);
	else
		pass(h, "headless", "standalone, headless: no web UI to ask; the engine is running");
}

/* One line, whatever the state document held: control characters become '?'. */
static void one_line(char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			*s = '?';
}

static void print_verdict(struct hc *h)
{
	const char *why = h->healthy ? h->summary : h->reason;
	set_stage(ST_DONE);
	if (!h->json) {
		char line[700];
		snprintf(line, sizeof line, "%s", why[0] ? why : "no check ran");
		one_line(line);
		printf("%s: %s\n", h->healthy ? "healthy" : "unhealthy", line);
		return;
	}
	json_t *doc = json_pack("{s:b, s:s, s:s, s:I, s:I, s:O}", "healthy", h->healthy, "reason",
				why, "state_path", h->state_path, "timeout_ms",
				(json_int_t)h->timeout_ms, "elapsed_ms",
				(json_int_t)(clock_mono_ms() - h->t0), "checks", h->checks);
	if (doc && h->have_state)
		json_object_set_new(doc, "supervisor",
				    json_pack("{s:i, s:s, s:s, s:I, s:i, s:s}", "pid", h->st.pid,
					      "role", h->st.role, "phase", h->st.phase, "phase_since",
					      (json_int_t)h->st.phase_since, "restarts",
					      h->st.restarts, "last_restart_reason",
					      h->st.last_reason));
	if (doc)
		json_object_update(doc, h->extra);
	char *text = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
	printf("%s\n", text ? text : "{\"healthy\":false,\"reason\":\"out of memory\"}");
	if (!text)
		h->healthy = 0;
	free(text);
	json_decref(doc);
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: locust-healthcheck [--json] [--state-dir DIR]\n\n"
		"Tells whether the Locust container that locust-entrypoint supervises does its\n"
		"job: exit 0 healthy, 1 unhealthy, one line on stdout saying why (--json: the\n"
		"whole verdict). Everything else comes from the supervisor's state document;\n"
		"its own settings: LOCUST_ECS_STATE_DIR, LOCUST_ECS_HEALTH_TIMEOUT (default 4s),\n"
		"LOCUST_WEB_AUTH (else --web-auth of the engine's command line).\n");
}

static int parse_args(struct hc *h, int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--json")) {
			h->json = 1;
		} else if (!strcmp(argv[i], "--state-dir") && i + 1 < argc) {
			h->state_dir = argv[++i];
		} else if (!strncmp(argv[i], "--state-dir=", 12)) {
			h->state_dir = argv[i] + 12;
		} else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			usage(stdout);
			return 0;
		} else if (!strcmp(argv[i], "--version")) {
			printf("locust-healthcheck %s\n", LE_VERSION);
			return 0;
		} else {
			fprintf(stderr, "locust-healthcheck: unknown argument \"%s\"\n", argv[i]);
			usage(stderr);
			return 1; /* Docker reserves 2; anything else non-zero is "unhealthy" */
		}
	}
	if (h->state_dir && h->state_dir[0] != '/') {
		fprintf(stderr, "locust-healthcheck: --state-dir needs an absolute path\n");
		return 1;
	}
	return -1;
}

/* The check's own settings, from the environment: everything else is in the state. */
static void own_settings(struct hc *h)
{
	const char *t = getenv("LOCUST_ECS_HEALTH_TIMEOUT");
	const char *dir = getenv("LOCUST_ECS_STATE_DIR");
	long ms;
	h->timeout_ms = 4000;
	if (t && (duration_parse(t, &ms) < 0 || ms < 100 || ms > 60000))
		snprintf(h->cfg_err, sizeof h->cfg_err,
			 "LOCUST_ECS_HEALTH_TIMEOUT=\"%.40s\" is not a duration from 100ms to 60s "
			 "(\"4\", \"4s\", \"500ms\")", t);
	else if (t)
		h->timeout_ms = ms;
	if (!h->state_dir && dir && dir[0] != '/')
		snprintf(h->cfg_err, sizeof h->cfg_err,
			 "LOCUST_ECS_STATE_DIR=\"%.200s\" is not an absolute path", dir);
	else if (!h->state_dir)
		h->state_dir = dir ? dir : "/tmp/locust-ecs";
}

int main(int argc, char **argv)
{
	static struct hc h; /* struct state_view is large: not on the stack */
	int rc;

	h.t0 = clock_mono_ms();
	h.healthy = 1;
	if ((rc = parse_args(&h, argc, argv)) >= 0)
		return rc;
	own_settings(&h);
	snprintf(h.state_path, sizeof h.state_path, "%s/%s",
		 h.state_dir ? h.state_dir : "(unset)", STATE_FILE);
	long margin = h.timeout_ms / 4 < MARGIN_MAX_MS ? h.timeout_ms / 4 : MARGIN_MAX_MS;
	h.deadline = h.t0 + h.timeout_ms - margin;
	arm_backstop(&h);
	h.checks = json_array();
	h.extra = json_object();
	check(&h);
	print_verdict(&h);
	fflush(stdout);
	json_decref(h.checks);
	json_decref(h.extra);
	return h.healthy ? 0 : 1;
}
