/* webstats: parse Locust's /stats/requests JSON (2.12 and later) from a buffer. */
#include "webstats.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

/* Locust 2.12 lists workers[] but has no worker_count; later versions have both. The
 * list is the better source: worker_count may count states we would not. */
static int count_workers(json_t *doc, struct webstats *out, char *err, size_t errlen)
{
	json_t *ws = json_object_get(doc, "workers");
	json_t *wc = json_object_get(doc, "worker_count");
	size_t i;
	json_t *w;

	out->workers = -1;
	if (ws && !json_is_array(ws)) {
		snprintf(err, errlen, "\"workers\" is not an array");
		return -1;
	}
	if (json_is_array(ws)) {
		out->workers = 0;
		json_array_foreach(ws, i, w) {
			const char *st = json_string_value(json_object_get(w, "state"));
			if (!json_is_object(w) || !st) {
				snprintf(err, errlen, "workers[%zu] has no \"state\" string", i);
				return -1;
			}
			if (strcmp(st, "missing") == 0)
				out->workers_missing++;
			else
				out->workers++;
		}
		return 0;
	}
	if (wc) {
		if (!json_is_integer(wc) || json_integer_value(wc) < 0 ||
		    json_integer_value(wc) > 1000000) {
			snprintf(err, errlen, "\"worker_count\" is not a count");
			return -1;
		}
		out->workers = (int)json_integer_value(wc);
	}
	return 0;
}

static int number(json_t *doc, const char *key, double *out, char *err, size_t errlen)
{
	json_t *v = json_object_get(doc, key);
	if (!v)
		return 0;
	if (!json_is_number(v) || !isfinite(json_number_value(v))) {
		snprintf(err, errlen, "\"%s\" is not a number", key);
		return -1;
	}
	*out = json_number_value(v);
	return 0;
}

/* A number that may be absent or null (Locust sends null before any request): -1 then. */
static double opt_number(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);
	return json_is_number(v) && isfinite(json_number_value(v)) && json_number_value(v) >= 0
		       ? json_number_value(v) : -1;
}

static long long opt_count(json_t *o, const char *key)
{
	double v = opt_number(o, key);
	return v >= 0 && v < 1e15 ? (long long)v : -1;
}

/* The "Aggregated" row: the last of stats[] in every 2.x (named so since 1.0). */
static json_t *aggregated(json_t *doc)
{
	json_t *st = json_object_get(doc, "stats");
	size_t n = json_is_array(st) ? json_array_size(st) : 0;
	json_t *last = n ? json_array_get(st, n - 1) : NULL;
	const char *name = json_string_value(json_object_get(last, "name"));
	return name && strcmp(name, "Aggregated") == 0 ? last : NULL;
}

/* The first of two keys that is present (a newer and an older name). */
static double either(json_t *o, const char *a, const char *b)
{
	double v = opt_number(o, a);
	return v >= 0 ? v : opt_number(o, b);
}

/* "METHOD name" into out, cut so that no UTF-8 character is split. */
static void req_name(json_t *row, char *out, size_t outlen)
{
	const char *m = json_string_value(json_object_get(row, "method"));
	const char *n = json_string_value(json_object_get(row, "name"));
	size_t k = (size_t)snprintf(out, outlen, "%s%s%s", m ? m : "", m ? " " : "", n ? n : "");
	if (k >= outlen) {
		k = outlen - 1;
		while (k > 0 && ((unsigned char)out[k] & 0xc0) == 0x80)
			k--; /* out[k] starts a character: cut before it */
		out[k] = '\0';
	}
}

/* Keeps the WEBSTATS_TOP rows with the most requests, busiest first. */
static void keep_top(struct webstats *out, const struct webstats_req *r)
{
	int at = out->ntop;
	while (at > 0 && out->top[at - 1].num_requests < r->num_requests)
		at--;
	if (at >= WEBSTATS_TOP)
		return;
	int last = out->ntop < WEBSTATS_TOP ? out->ntop : WEBSTATS_TOP - 1;
	memmove(&out->top[at + 1], &out->top[at], (size_t)(last - at) * sizeof out->top[0]);
	out->top[at] = *r;
	if (out->ntop < WEBSTATS_TOP)
		out->ntop++;
}

static void request_rows(json_t *doc, struct webstats *out)
{
	json_t *st = json_object_get(doc, "stats"), *row;
	size_t i, n = json_is_array(st) ? json_array_size(st) : 0;
	json_array_foreach(st, i, row) {
		const char *name = json_string_value(json_object_get(row, "name"));
		if (!json_is_object(row) || !name || (i == n - 1 && !strcmp(name, "Aggregated")))
			continue;
		struct webstats_req r;
		req_name(row, r.name, sizeof r.name);
		r.num_requests = opt_count(row, "num_requests");
		r.num_failures = opt_count(row, "num_failures");
		r.rps = opt_number(row, "current_rps");
		r.fail_per_sec = opt_number(row, "current_fail_per_sec");
		r.median_ms = either(row, "response_time_percentile_0.5", "median_response_time");
		r.p90_ms = either(row, "response_time_percentile_0.9", "ninetieth_response_time");
		r.p95_ms = opt_number(row, "response_time_percentile_0.95");
		r.p99_ms = either(row, "response_time_percentile_0.99", "ninety_ninth_response_time");
		keep_top(out, &r);
	}
}

static void live_figures(json_t *doc, struct webstats *out)
{
	json_t *agg = aggregated(doc);
	json_t *cur = json_object_get(doc, "current_response_time_percentiles");
	out->cur_rps = opt_number(doc, "current_rps");
	if (out->cur_rps < 0)
		out->cur_rps = opt_number(agg, "current_rps");
	out->cur_fail_per_sec = opt_number(doc, "current_fail_per_sec");
	if (out->cur_fail_per_sec < 0)
		out->cur_fail_per_sec = opt_number(agg, "current_fail_per_sec");
	out->p50_ms = opt_number(doc, "current_response_time_percentile_50");
	if (out->p50_ms < 0)
		out->p50_ms = opt_number(cur, "response_time_percentile_0.5");
	out->p95_ms = opt_number(doc, "current_response_time_percentile_95");
	if (out->p95_ms < 0)
		out->p95_ms = opt_number(cur, "response_time_percentile_0.95");
	out->p99_ms = opt_number(cur, "response_time_percentile_0.99");
	if (out->p99_ms < 0) {
		out->p99_ms = either(agg, "response_time_percentile_0.99", "ninety_ninth_response_time");
		out->p99_since_start = out->p99_ms >= 0;
	}
	out->num_requests = opt_count(agg, "num_requests");
	out->num_failures = opt_count(agg, "num_failures");
	out->avg_ms = opt_number(agg, "avg_response_time");
	out->max_ms = opt_number(agg, "max_response_time");
	request_rows(doc, out);
}

int webstats_parse(const char *buf, size_t len, struct webstats *out, char *err,
		   size_t errlen)
{
	json_error_t je;
	json_t *doc = json_loadb(buf, len, 0, &je);
	double users = -1;
	int rc = -1;

	memset(out, 0, sizeof *out);
	out->workers = -1;
	out->fail_ratio = -1;
	out->user_count = -1;
	out->total_rps = -1;
	if (!doc) {
		snprintf(err, errlen, "not JSON: %s (line %d)", je.text, je.line);
		return -1;
	}
	if (!json_is_object(doc)) {
		snprintf(err, errlen, "not a JSON object");
		goto out;
	}
	const char *st = json_string_value(json_object_get(doc, "state"));
	if (!st) {
		snprintf(err, errlen, "no \"state\" string: not Locust's /stats/requests");
		goto out;
	}
	snprintf(out->state, sizeof out->state, "%s", st);
	if (count_workers(doc, out, err, errlen) < 0 ||
	    number(doc, "fail_ratio", &out->fail_ratio, err, errlen) < 0 ||
	    number(doc, "total_rps", &out->total_rps, err, errlen) < 0 ||
	    number(doc, "user_count", &users, err, errlen) < 0)
		goto out;
	if (out->fail_ratio < 0)
		out->fail_ratio = -1;
	out->user_count = users >= 0 && users < 1e15 ? (long long)users : -1;
	live_figures(doc, out);
	rc = 0;
out:
	json_decref(doc);
	return rc;
}

int webstats_cmdline_auth(const char *buf, size_t len, char *out, size_t outlen)
{
	const char *val = NULL;
	size_t vlen = 0;
	for (size_t off = 0; off < len && !val;) {
		const char *arg = buf + off;
		const char *nul = memchr(arg, '\0', len - off);
		size_t n = nul ? (size_t)(nul - arg) : len - off;
		off += n + 1;
		if (n == 2 && memcmp(arg, "--", 2) == 0) /* what follows is not the engine's */
			break;
		if (n >= 11 && memcmp(arg, "--web-auth=", 11) == 0) {
			val = arg + 11;
			vlen = n - 11;
		} else if (n == 10 && memcmp(arg, "--web-auth", 10) == 0 && off < len) {
			val = buf + off;
			nul = memchr(val, '\0', len - off);
			vlen = nul ? (size_t)(nul - val) : len - off;
		}
	}
	if (!val || !outlen)
		return 0;
	if (vlen >= outlen)
		vlen = outlen - 1;
	memcpy(out, val, vlen);
	out[vlen] = '\0';
	return 1;
}
