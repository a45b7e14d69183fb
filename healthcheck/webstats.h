/* webstats: the parts of Locust's GET /stats/requests answer the health check judges. */
#ifndef HC_WEBSTATS_H
#define HC_WEBSTATS_H

#include <stddef.h>

/* What every Locust 2.x answers, whatever its shape: worker_count came in 2.37.2,
 * "total_rps" turned cumulative in 2.43.4, "current_rps" came in 2.45; stats[] ends with
 * the "Aggregated" row in every version. */
struct webstats {
	char state[32];      /* ready spawning running cleanup stopping stopped ... */
	int workers;         /* workers not "missing" (workers[], else worker_count); -1 when
				the answer has neither (standalone) */
	int workers_missing; /* workers[] entries whose state is "missing" */
	double fail_ratio;   /* 0..1; -1 when absent */
	long long user_count;/* -1 when absent */
	double current_rps;  /* requests/s now: "current_rps", else the Aggregated row's (the
				top-level "total_rps" is a run's average from 2.43.4); -1 absent */
	long long requests;  /* the Aggregated row's num_requests; -1 when absent */
	long long failures;  /* and its num_failures */
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
