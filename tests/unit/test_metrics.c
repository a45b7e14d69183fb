/* test_metrics: EMF lines from Locust's figures, and the guardrail's clock. */
#include "tap.h"
#include "metrics.h"

#include <jansson.h>
#include <string.h>

static struct webstats sample(void)
{
	struct webstats ws;
	memset(&ws, 0, sizeof ws);
	snprintf(ws.state, sizeof ws.state, "running");
	ws.workers = 3;
	ws.workers_missing = 1;
	ws.fail_ratio = 0.25;
	ws.user_count = 40;
	ws.cur_rps = 123.5;
	ws.cur_fail_per_sec = 2;
	ws.p50_ms = 12;
	ws.p95_ms = 80;
	ws.p99_ms = -1; /* not given */
	ws.num_requests = 1000;
	ws.num_failures = 250;
	ws.avg_ms = 20;
	ws.max_ms = 900;
	return ws;
}

static void test_line(void)
{
	char line[METRICS_LINE_MAX];
	struct emf_ctx c = {"Locust", "checkout", "master", 1};
	struct webstats ws = sample();
	int n = metrics_emf_line(line, sizeof line, &c, &ws, 1700000000123LL);
	ok(n > 0 && line[n - 1] == '\n' && (size_t)n == strlen(line), "one line, %d bytes", n);
	json_error_t je;
	json_t *o = json_loads(line, 0, &je);
	ok(o != NULL, "JSON");
	json_t *d = json_array_get(json_object_get(json_object_get(o, "_aws"),
						   "CloudWatchMetrics"), 0);
	is_int(json_integer_value(json_object_get(json_object_get(o, "_aws"), "Timestamp")),
	       1700000000123LL, "Timestamp in ms");
	is_str(json_string_value(json_object_get(d, "Namespace")), "Locust", "namespace");
	json_t *ms = json_object_get(d, "Metrics");
	is_int((long long)json_array_size(ms), 8, "every figure given, p99 left out");
	ok(json_object_get(o, "ResponseTimeP99") == NULL, "no member for a missing figure");
	size_t i;
	json_t *m;
	int units_ok = 1;
	json_array_foreach(ms, i, m) {
		const char *name = json_string_value(json_object_get(m, "Name"));
		units_ok &= json_is_number(json_object_get(o, name)) &&
			    json_integer_value(json_object_get(m, "StorageResolution")) == 1;
	}
	ok(units_ok, "each metric a number member, high resolution");
	ok(json_real_value(json_object_get(o, "WorkersConnected")) == 3 &&
	   json_real_value(json_object_get(o, "WorkersMissing")) == 1, "workers");
	is_str(json_string_value(json_object_get(o, "TestName")), "checkout", "dimension");
	json_decref(o);

	ws.workers = -1;
	c.high_res = 0;
	n = metrics_emf_line(line, sizeof line, &c, &ws, 1700000000123LL);
	ok(n > 0 && !strstr(line, "Workers") && !strstr(line, "StorageResolution"),
	   "standalone: no workers; standard resolution says nothing");
	char longname[256];
	memset(longname, 'n', 255);
	longname[255] = '\0';
	struct emf_ctx big = {longname, longname, "standalone", 1};
	n = metrics_emf_line(line, sizeof line, &big, &ws, 1700000000123LL);
	ok(n > 0 && n < METRICS_LINE_MAX, "longest names: still under PIPE_BUF (%d)", n);
	is_int(metrics_emf_line(line, 100, &c, &ws, 1), -1, "a buffer too small: refused");
}

static void test_summary(void)
{
	char line[METRICS_LINE_MAX];
	struct emf_ctx c = {"Locust", "t", "standalone", 0};
	struct webstats ws = sample();
	struct test_end e = {1000, 61000, 3, "guardrail", "fail ratio 0.250 above 0.100"};
	int n = metrics_summary_line(line, sizeof line, &c, &ws, &e);
	json_t *o = n > 0 ? json_loads(line, 0, NULL) : NULL;
	ok(o && json_real_value(json_object_get(o, "TestDuration")) == 60, "duration 60 s");
	ok(o && json_real_value(json_object_get(o, "TestRequests")) == 1000, "totals");
	ok(o && json_integer_value(json_object_get(o, "ExitStatus")) == 3, "exit status");
	is_str(o ? json_string_value(json_object_get(o, "StoppedBy")) : NULL, "guardrail", "why");
	json_decref(o);
	n = metrics_summary_line(line, sizeof line, &c, NULL, &e);
	ok(n > 0 && !strstr(line, "TestRequests"), "no sample: no totals, still a summary");
}

static void test_guard(void)
{
	char why[300] = "";
	struct webstats ws = sample(); /* 123.5 requests/s, 2 failures/s, 0.25 since the start */
	struct guard g = {0.2, 0, 2000, 0};
	is_int(guard_feed(&g, &ws, 1000, why, sizeof why), 0,
	       "the current ratio (0.016) counts, not the one since the start (0.25)");
	ws.cur_fail_per_sec = 61.75; /* half of the requests fail now */
	is_int(guard_feed(&g, &ws, 1000, why, sizeof why), 0, "crossed, not yet sustained");
	is_int(guard_feed(&g, &ws, 2500, why, sizeof why), 0, "1.5 s");
	is_int(guard_feed(&g, &ws, 3000, why, sizeof why), 1, "2 s: tripped");
	ok(strstr(why, "current fail ratio 0.500 above 0.200") != NULL, "with the figures: %s",
	   why);
	g.crossed_since = 0;
	guard_feed(&g, &ws, 1000, why, sizeof why);
	ws.cur_fail_per_sec = 1;
	is_int(guard_feed(&g, &ws, 2000, why, sizeof why), 0, "back under: the clock resets");
	ws.cur_fail_per_sec = 100;
	is_int(guard_feed(&g, &ws, 3500, why, sizeof why), 0, "crossed again: from zero");
	ws.cur_rps = -1;
	ws.fail_ratio = -1;
	is_int(guard_feed(&g, &ws, 9000, why, sizeof why), 0, "no figure: no decision");
	ws.fail_ratio = 0.3; /* no current rates (idle): the ratio since the start */
	is_int(guard_feed(&g, &ws, 9000, why, sizeof why), 1, "the crossing held meanwhile");
	ok(strstr(why, "overall fail ratio 0.300") != NULL, "%s", why);
	struct guard p = {-1, 100, 0, 0};
	ws = sample();
	is_int(guard_feed(&p, &ws, 1, why, sizeof why), 0, "p95 80 ms under 100 ms");
	p.max_p95_ms = 50;
	is_int(guard_feed(&p, &ws, 2, why, sizeof why), 1, "p95 80 ms over 50 ms, no wait");
	ok(strstr(why, "p95 80 ms above 50 ms") != NULL, "%s", why);
}

static void test_request_line(void)
{
	char line[METRICS_LINE_MAX];
	struct emf_ctx c = {"Locust", "t", "master", 0};
	struct webstats_req r = {"GET /caf\xc3\xa9", 10, 1, 2.5, 0.5, 7, 9, -1, 20};
	int n = metrics_request_line(line, sizeof line, &c, &r, 1700000000000LL);
	json_t *o = n > 0 ? json_loads(line, 0, NULL) : NULL;
	is_str(o ? json_string_value(json_object_get(o, "Request")) : NULL, "GET /caf\xc3\xa9",
	       "the Request dimension, UTF-8 kept");
	json_t *d = json_array_get(json_object_get(json_object_get(o, "_aws"),
						   "CloudWatchMetrics"), 0);
	is_int((long long)json_array_size(json_array_get(json_object_get(d, "Dimensions"), 0)), 3,
	       "three dimension keys");
	ok(o && !json_object_get(o, "ResponseTimeP95") && json_object_get(o, "ResponseTimeP90"),
	   "only the percentiles given");
	json_decref(o);
}

int main(void)
{
	test_line();
	test_request_line();
	test_summary();
	test_guard();
	return done_testing();
}
