/* webstats: parse Locust's /stats/requests JSON (every 2.x shape) from a buffer. */
#include "webstats.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

/* Locust lists workers[] in every 2.x; worker_count (ready, spawning and running ones)
 * came in 2.37.2. The list is the source, worker_count only where it is missing: a
 * worker that is stopping or cleaning up is still there, which worker_count leaves out. */
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

static long long count(double d)
{
	return d >= 0 && d < 1e15 ? (long long)d : -1;
}

/* The last stats[] row: "Aggregated", the whole run's figures, in every 2.x. */
static int aggregated(json_t *doc, struct webstats *out, double *row_rps, char *err,
		      size_t errlen)
{
	json_t *st = json_object_get(doc, "stats"), *row;
	double req = -1, fails = -1;
	if (!st)
		return 0;
	if (!json_is_array(st)) {
		snprintf(err, errlen, "\"stats\" is not an array");
		return -1;
	}
	if (!json_array_size(st))
		return 0;
	row = json_array_get(st, json_array_size(st) - 1);
	if (!json_is_object(row)) {
		snprintf(err, errlen, "the last \"stats\" entry is not an object");
		return -1;
	}
	if (number(row, "current_rps", row_rps, err, errlen) < 0 ||
	    number(row, "num_requests", &req, err, errlen) < 0 ||
	    number(row, "num_failures", &fails, err, errlen) < 0)
		return -1;
	out->requests = count(req);
	out->failures = count(fails);
	return 0;
}

int webstats_parse(const char *buf, size_t len, struct webstats *out, char *err,
		   size_t errlen)
{
	json_error_t je;
	json_t *doc = json_loadb(buf, len, 0, &je);
	double users = -1, row_rps = -1, rps = -1;
	int rc = -1;

	memset(out, 0, sizeof *out);
	out->workers = -1;
	out->fail_ratio = -1;
	out->user_count = out->requests = out->failures = -1;
	out->current_rps = -1;
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
	    number(doc, "current_rps", &rps, err, errlen) < 0 ||
	    number(doc, "user_count", &users, err, errlen) < 0 ||
	    aggregated(doc, out, &row_rps, err, errlen) < 0)
		goto out;
	if (out->fail_ratio < 0)
		out->fail_ratio = -1;
	out->user_count = count(users);
	rps = rps >= 0 ? rps : row_rps;
	out->current_rps = rps >= 0 ? rps : -1;
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
