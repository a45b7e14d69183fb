/* metrics: CloudWatch Embedded Metric Format lines from Locust's figures, and the
 * guardrail. The format (AWS's "Specification: Embedded metric format"): a root object
 * whose "_aws" holds Timestamp (ms) and CloudWatchMetrics directives (Namespace, at most
 * 30 dimension keys a set, at most 100 metrics, each with a Name and a Unit of
 * CloudWatch's list), and whose root members hold each dimension's value and each
 * metric's number. */
#include "metrics.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct figure {
	const char *name;
	const char *unit;
	double value;            /* <0: the engine did not give it, left out */
};

/* A directive and root members for the figures that are there; request names a third
 * dimension when not NULL. */
static json_t *emf_doc(const struct emf_ctx *c, const struct figure *f, int n, long long ts,
		       const char *request)
{
	json_t *metrics = json_array();
	json_t *dims = request ? json_pack("[s, s, s]", "TestName", "Role", "Request")
			       : json_pack("[s, s]", "TestName", "Role");
	json_t *doc = json_pack("{s:{s:I, s:[{s:s, s:[o], s:o}]}, s:s, s:s}", "_aws",
				"Timestamp", (json_int_t)ts, "CloudWatchMetrics", "Namespace",
				c->ns, "Dimensions", dims, "Metrics", metrics,
				"TestName", c->test_name, "Role", c->role);
	if (doc && request)
		json_object_set_new(doc, "Request", json_string(request));
	if (!doc)
		return NULL;
	for (int i = 0; i < n; i++) {
		if (f[i].value < 0)
			continue;
		json_t *m = json_pack("{s:s, s:s}", "Name", f[i].name, "Unit", f[i].unit);
		if (c->high_res)
			json_object_set_new(m, "StorageResolution", json_integer(1));
		json_array_append_new(metrics, m);
		json_object_set_new(doc, f[i].name, json_real(f[i].value));
	}
	return doc;
}

/* The document as one line with its newline: the length, or -1 when it does not fit. */
static int put_line(json_t *doc, char *out, size_t outlen)
{
	char *text = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
	size_t n = text ? strlen(text) + 2 : 0; /* with the newline and the NUL */
	int rc = -1;
	if (text && n <= outlen && n <= (size_t)METRICS_LINE_MAX) {
		memcpy(out, text, n - 2);
		out[n - 2] = '\n';
		out[n - 1] = '\0';
		rc = (int)n - 1;
	}
	free(text);
	json_decref(doc);
	return rc;
}

int metrics_emf_line(char *out, size_t outlen, const struct emf_ctx *c,
		     const struct webstats *ws, long long ts_ms)
{
	const struct figure f[] = {
		{"Users", "Count", (double)ws->user_count},
		{"RequestsPerSecond", "Count/Second", ws->cur_rps},
		{"FailuresPerSecond", "Count/Second", ws->cur_fail_per_sec},
		{"FailRatio", "None", ws->fail_ratio},
		{"ResponseTimeP50", "Milliseconds", ws->p50_ms},
		{"ResponseTimeP95", "Milliseconds", ws->p95_ms},
		{"ResponseTimeP99", "Milliseconds", ws->p99_ms},
		{"WorkersConnected", "Count", ws->workers >= 0 ? ws->workers : -1},
		{"WorkersMissing", "Count", ws->workers >= 0 ? ws->workers_missing : -1},
	};
	json_t *doc = emf_doc(c, f, (int)(sizeof f / sizeof f[0]), ts_ms, NULL);
	if (doc) {
		json_object_set_new(doc, "State", json_string(ws->state));
		if (ws->p99_ms >= 0 && ws->p99_since_start)
			json_object_set_new(doc, "P99SinceStart", json_true());
	}
	return put_line(doc, out, outlen);
}

int metrics_request_line(char *out, size_t outlen, const struct emf_ctx *c,
			 const struct webstats_req *r, long long ts_ms)
{
	const struct figure f[] = {
		{"RequestsPerSecond", "Count/Second", r->rps},
		{"FailuresPerSecond", "Count/Second", r->fail_per_sec},
		{"ResponseTimeMedian", "Milliseconds", r->median_ms},
		{"ResponseTimeP90", "Milliseconds", r->p90_ms},
		{"ResponseTimeP95", "Milliseconds", r->p95_ms},
		{"ResponseTimeP99", "Milliseconds", r->p99_ms},
	};
	json_t *doc = emf_doc(c, f, (int)(sizeof f / sizeof f[0]), ts_ms, r->name);
	if (doc && r->num_requests >= 0)
		json_object_set_new(doc, "Requests", json_integer(r->num_requests));
	if (doc && r->num_failures >= 0)
		json_object_set_new(doc, "Failures", json_integer(r->num_failures));
	return put_line(doc, out, outlen);
}

int metrics_summary_line(char *out, size_t outlen, const struct emf_ctx *c,
			 const struct webstats *last, const struct test_end *e)
{
	double secs = e->ended_ms > e->started_ms ? (double)(e->ended_ms - e->started_ms) / 1000
						  : 0;
	const struct figure f[] = {
		{"TestRequests", "Count", last ? (double)last->num_requests : -1},
		{"TestFailures", "Count", last ? (double)last->num_failures : -1},
		{"TestDuration", "Seconds", secs},
	};
	json_t *doc = emf_doc(c, f, (int)(sizeof f / sizeof f[0]), e->ended_ms, NULL);
	if (!doc)
		return -1;
	json_object_set_new(doc, "Event", json_string("summary"));
	json_object_set_new(doc, "ExitStatus", json_integer(e->exit_status));
	json_object_set_new(doc, "StoppedBy", json_string(e->stopped_by));
	if (e->guard_reason)
		json_object_set_new(doc, "GuardReason", json_string(e->guard_reason));
	if (last) {
		const struct { const char *k; double v; } extra[] = {
			{"FailRatio", last->fail_ratio}, {"AverageResponseTime", last->avg_ms},
			{"MaxResponseTime", last->max_ms}, {"ResponseTimeP50", last->p50_ms},
			{"ResponseTimeP95", last->p95_ms}, {"ResponseTimeP99", last->p99_ms},
		};
		for (size_t i = 0; i < sizeof extra / sizeof extra[0]; i++)
			if (extra[i].v >= 0)
				json_object_set_new(doc, extra[i].k, json_real(extra[i].v));
	}
	return put_line(doc, out, outlen);
}

int guard_feed(struct guard *g, const struct webstats *ws, long long now, char *why,
	       size_t whylen)
{
	int known = 0, crossed = 0;
	char fr[64] = "", p95[64] = "";
	/* the current share of failures when Locust gives the current rates: the ratio
	 * since the start would take long to rise in a long test */
	int current = ws->cur_rps > 0 && ws->cur_fail_per_sec >= 0;
	double ratio = current ? ws->cur_fail_per_sec / ws->cur_rps : ws->fail_ratio;
	if (g->max_fail_ratio >= 0 && (current || ws->fail_ratio >= 0)) {
		known = 1;
		if (ratio > g->max_fail_ratio) {
			crossed = 1;
			snprintf(fr, sizeof fr, "%s fail ratio %.3f above %.3f",
				 current ? "current" : "overall", ratio, g->max_fail_ratio);
		}
	}
	if (g->max_p95_ms > 0 && ws->p95_ms >= 0) {
		known = 1;
		if (ws->p95_ms > (double)g->max_p95_ms) {
			crossed = 1;
			snprintf(p95, sizeof p95, "p95 %.0f ms above %ld ms", ws->p95_ms,
				 g->max_p95_ms);
		}
	}
	if (!known)
		return 0;
	if (!crossed) {
		g->crossed_since = 0;
		return 0;
	}
	if (!g->crossed_since)
		g->crossed_since = now;
	if (now - g->crossed_since < g->for_ms)
		return 0;
	snprintf(why, whylen, "%s%s%s for %lld ms (LOCUST_ECS_GUARD_FOR %ld ms)", fr,
		 fr[0] && p95[0] ? ", " : "", p95, now - g->crossed_since, g->for_ms);
	return 1;
}
