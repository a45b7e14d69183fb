/* webstats: Locust's GET /stats/requests answer, for the health check and the metrics. */
#ifndef HC_WEBSTATS_H
#define HC_WEBSTATS_H

#include <stddef.h>

#define WEBSTATS_TOP 20 /* request names kept, the busiest first */

/* One request name's row of stats[] (not the Aggregated one); -1 for what is absent. */
struct webstats_req {
	char name[200];      /* "GET /path", cut at a character's boundary */
	long long num_requests, num_failures;
	double rps, fail_per_sec;   /* current */
	double median_ms, p90_ms, p95_ms, p99_ms; /* since the start */
};

struct webstats {
	char state[32];      /* ready spawning running cleanup stopping stopped ... */
	int workers;         /* workers not "missing"; -1 when the answer lists none (standalone) */
	int workers_missing; /* workers[] entries whose state is "missing" */
	double fail_ratio;   /* 0..1; -1 when absent */
	long long user_count;/* -1 when absent */
	double total_rps;    /* -1 when absent */

	/* live figures (the metrics), -1 when the engine's answer has none. Current rates and
	 * percentiles where this Locust gives them: top-level current_rps and
	 * current_fail_per_sec (2.45+), else the "Aggregated" row's; current p50/p95 from
	 * current_response_time_percentile_50/95 (before 2.45) or
	 * current_response_time_percentiles (after); p99 is current where given, else the
	 * Aggregated row's since the start (p99_since_start set) */
	double cur_rps, cur_fail_per_sec;
	double p50_ms, p95_ms, p99_ms;
	int p99_since_start;
	long long num_requests, num_failures; /* the Aggregated row, since the start */
	double avg_ms, max_ms;
	struct webstats_req top[WEBSTATS_TOP]; /* the busiest request names */
	int ntop;
};

/* Parses the JSON body. Lenient about keys it does not use, strict about the types of
 * those it does. 0, or -1 with the reason in err. */
int webstats_parse(const char *buf, size_t len, struct webstats *out, char *err,
		   size_t errlen);

/* The value of --web-auth (or --web-auth=VALUE) in a command line as /proc/PID/cmdline
 * holds it (arguments each ended by a NUL; the last NUL may be missing), up to "--".
 * 1 and the value copied into out (cut to fit), or 0 when there is none. */
int webstats_cmdline_auth(const char *buf, size_t len, char *out, size_t outlen);

#endif
