/* metrics: live test figures as CloudWatch EMF lines on stdout, and the guardrail that
 * stops a test hurting its target. */
#ifndef LE_METRICS_H
#define LE_METRICS_H

#include "webstats.h"

#include <stddef.h>

#define METRICS_LINE_MAX 4096 /* PIPE_BUF: a line never interleaves with Locust's */

/* What every line carries besides the figures. */
struct emf_ctx {
	const char *ns;           /* CloudWatch namespace */
	const char *test_name;    /* dimension TestName */
	const char *role;         /* dimension Role: master or standalone */
	int high_res;             /* StorageResolution 1 (interval under 60 s) */
};

/* One EMF line (with its newline) for a sample of /stats/requests taken at ts_ms (wall
 * clock). Figures the engine did not give are left out. The length, or -1 when it does
 * not fit in outlen (at most METRICS_LINE_MAX). Pure. */
int metrics_emf_line(char *out, size_t outlen, const struct emf_ctx *c,
		     const struct webstats *ws, long long ts_ms);

/* One line for one request name: dimensions TestName, Role and Request; its current rates
 * and its response times since the start. The length, or -1. Pure. */
int metrics_request_line(char *out, size_t outlen, const struct emf_ctx *c,
			 const struct webstats_req *r, long long ts_ms);

/* What the end of a test is told by. */
struct test_end {
	long long started_ms, ended_ms; /* wall clock */
	int exit_status;
	const char *stopped_by;         /* "engine", "signal", "guardrail" ... */
	const char *guard_reason;       /* the figures that tripped the guardrail, or NULL */
};

/* The summary line: the last sample's totals and percentiles, duration, exit status. */
int metrics_summary_line(char *out, size_t outlen, const struct emf_ctx *c,
			 const struct webstats *last, const struct test_end *e);

/* The guardrail: thresholds crossed for a sustained time. */
struct guard {
	double max_fail_ratio;    /* <0: none */
	long max_p95_ms;          /* 0: none */
	long for_ms;              /* how long a threshold must stay crossed */
	long long crossed_since;  /* monotonic ms the current crossing began, 0 none */
};

/* Feeds one sample taken at now (monotonic ms). 1 when the guardrail trips (the reason,
 * with the figures, in why), else 0. The fail ratio is the current one (failures/s over
 * requests/s) where Locust gives the current rates, else the one since the start. A
 * sample without the figure a threshold needs neither starts nor ends a crossing. Pure. */
int guard_feed(struct guard *g, const struct webstats *ws, long long now, char *why,
	       size_t whylen);

#endif
