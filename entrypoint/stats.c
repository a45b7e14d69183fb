/* stats: sampling the engine's /stats/requests in the loop, EMF out, guardrail in. */
#include "core.h"
#include "clock.h"
#include "log.h"
#include "results.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#ifndef LE_VERSION
#define LE_VERSION "0.0.0"
#endif

#define STATS_BODY_MAX ((size_t)16 * 1024 * 1024) /* grows with the request names */
#define GUARD_EXIT 3                              /* the README's status: stopped by us */

static int wildcard(const char *h)
{
	return !h || !h[0] || !strcmp(h, "*") || !strcmp(h, "0.0.0.0") || !strcmp(h, "::") ||
	       !strcmp(h, "[::]");
}

static void set_url(struct stats *st, const struct config *c, const char *path)
{
	const char *host = wildcard(c->web_host) ? "127.0.0.1" : c->web_host;
	int v6 = strchr(host, ':') && host[0] != '[';
	snprintf(st->url, sizeof st->url, "%s://%s%s%s:%d%s", c->web_tls ? "https" : "http",
		 v6 ? "[" : "", host, v6 ? "]" : "", c->web_port, path);
}

void stats_begin(struct sup *s, long long now)
{
	struct stats *st = &s->stats;
	const struct config *c = &s->cfg;
	if (c->role == ROLE_WORKER || st->on)
		return;
	st->emit = c->metrics;
	st->on = c->metrics || c->guard_fail_ratio >= 0 || c->guard_p95_ms > 0;
	if (!st->on)
		return;
	if (c->headless) {
		log_warnx("metrics", "the engine runs --headless: it has no web API to read its "
			  "figures from, so there are no live metrics and no guardrail (use "
			  "--autostart with the web UI instead)");
		st->on = 0;
		return;
	}
	snprintf(st->test_name, sizeof st->test_name, "%s",
		 c->test_name ? c->test_name : s->meta.family[0] ? s->meta.family : "locust");
	st->ctx = (struct emf_ctx){c->metrics_namespace, st->test_name,
				   config_role_name(c->role), c->metrics_interval_ms < 60000};
	st->guard = (struct guard){c->guard_fail_ratio, c->guard_p95_ms, c->guard_for_ms, 0};
	st->started_wall = clock_wall_ms();
	st->next_at = now + c->metrics_interval_ms;
	if (st->emit)
		outfd_open(&st->out, STDOUT_FILENO);
	if (!s->http && !(s->http = httploop_new())) {
		log_error("metrics", "unable to set up libcurl: no live metrics");
		st->on = 0;
	}
}

long stats_timeout(const struct sup *s, long t, long long now)
{
	const struct stats *st = &s->stats;
	if (!st->on || st->easy || s->phase != PH_RUNNING)
		return t;
	return core_min_timeout(t, st->next_at, now);
}

/* The guardrail tripped: the test is stopped as ECS or a user stops a task, by the stop
 * sequence (SIGTERM, the grace), and the supervisor exits with GUARD_EXIT. */
static void trip(struct sup *s, const char *why, long long now)
{
	struct stats *st = &s->stats;
	st->tripped = 1;
	snprintf(st->guard_reason, sizeof st->guard_reason, "%s", why);
	/* forward first: the SIGTERM ends the test in every Locust (a master tells its
	 * workers to quit), then it is logged */
	core_finish(s, GUARD_EXIT, now);
	log_error("guard", "stopping the test: %s (users %lld, %.1f requests/s, %.1f "
		  "failures/s)", why, st->last.user_count, st->last.cur_rps,
		  st->last.cur_fail_per_sec);
}

static void emit(struct stats *st, const char *line, int n)
{
	if (n > 0 && outfd_write(&st->out, line, (size_t)n) < 0 && st->out.dropped == 1)
		log_warnx("metrics", "stdout cannot take the metrics now: lines are dropped "
			  "rather than wait");
}

static void on_sample(CURL *easy, CURLcode rc, void *arg)
{
	struct sup *s = arg;
	struct stats *st = &s->stats;
	long code = 0;
	char err[300], why[300], line[METRICS_LINE_MAX];
	struct webstats ws;
	long long now = clock_mono_ms();
	curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &code);
	curl_easy_cleanup(easy);
	st->easy = NULL;
	if (rc != CURLE_OK || code != 200 ||
	    webstats_parse(st->body.buf ? st->body.buf : "", st->body.len, &ws, err,
			   sizeof err) < 0) {
		if (st->failed++ % 10 == 0)
			log_warnx("metrics", "no figures from %s: %s", st->url,
				  rc != CURLE_OK ? (st->errbuf[0] ? st->errbuf : curl_easy_strerror(rc))
				  : code != 200 ? "it did not answer 200" : err);
		http_body_free(&st->body);
		return;
	}
	http_body_free(&st->body);
	st->last = ws;
	st->have_last = 1;
	results_note_workers(s, ws.workers);
	if (st->emit) {
		long long ts = clock_wall_ms();
		emit(st, line, metrics_emf_line(line, sizeof line, &st->ctx, &ws, ts));
		for (int i = 0; i < ws.ntop && i < s->cfg.metrics_per_request; i++)
			emit(st, line, metrics_request_line(line, sizeof line, &st->ctx, &ws.top[i],
							    ts));
	}
	if (s->phase == PH_RUNNING && !st->tripped &&
	    guard_feed(&st->guard, &ws, now, why, sizeof why))
		trip(s, why, now);
}

static void sample(struct sup *s)
{
	struct stats *st = &s->stats;
	const struct config *c = &s->cfg;
	CURL *h = curl_easy_init();
	st->errbuf[0] = '\0';
	st->body = (struct http_body){.max = STATS_BODY_MAX};
	set_url(st, c, "/stats/requests");
	long ms = c->metrics_interval_ms < 5000 ? c->metrics_interval_ms : 5000;
	if (!h || http_setup(h, st->url, &st->body, st->errbuf, ms, ms,
			     "locust-ecs/" LE_VERSION) != CURLE_OK) {
		curl_easy_cleanup(h);
		return;
	}
	if (c->web_tls) { /* the engine's own certificate, often self-signed */
		curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
	}
	if (c->web_auth) {
		curl_easy_setopt(h, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
		curl_easy_setopt(h, CURLOPT_USERPWD, c->web_auth);
	}
	if (httploop_add(s->http, h, on_sample, s) < 0) {
		curl_easy_cleanup(h);
		return;
	}
	st->easy = h;
}

void stats_step(struct sup *s, long long now)
{
	struct stats *st = &s->stats;
	if (!st->on || st->easy || now < st->next_at)
		return;
	st->next_at = now + s->cfg.metrics_interval_ms;
	sample(s);
}

void stats_end(struct sup *s, int exit_status)
{
	struct stats *st = &s->stats;
	char line[METRICS_LINE_MAX];
	if (!st->emit || !st->started_wall)
		return;
	struct test_end e = {
		st->started_wall, clock_wall_ms(), exit_status,
		st->tripped ? "guardrail" : s->stop_sig ? "signal" : "engine",
		st->tripped ? st->guard_reason : NULL,
	};
	emit(st, line, metrics_summary_line(line, sizeof line, &st->ctx,
					    st->have_last ? &st->last : NULL, &e));
	st->emit = 0;
}

void stats_close(struct sup *s)
{
	struct stats *st = &s->stats;
	httploop_discard(s->http, &st->easy);
	http_body_free(&st->body);
	outfd_close(&st->out);
}
