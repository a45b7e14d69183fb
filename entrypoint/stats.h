/* stats: the engine's figures while a test runs (master, standalone): fetched from its web
 * API each interval through the loop, written as EMF lines, fed to the guardrail. */
#ifndef LE_STATS_H
#define LE_STATS_H

#include "http.h"
#include "metrics.h"
#include "outfd.h"
#include "webstats.h"

#include <curl/curl.h>

struct sup;

struct stats {
	int on;                   /* sampling: metrics or a guardrail asked for it */
	int emit;                 /* LOCUST_ECS_METRICS: write EMF lines */
	long long next_at;        /* monotonic ms of the next sample, 0 none */
	CURL *easy;               /* the request in flight, or NULL */
	struct http_body body;
	char errbuf[CURL_ERROR_SIZE];
	char url[300];
	struct webstats last;
	int have_last;
	struct guard guard;
	int tripped;
	char guard_reason[300];
	struct emf_ctx ctx;
	char test_name[300];
	struct outfd out;         /* stdout, never blocking */
	long long started_wall;
	unsigned long failed;     /* samples that could not be taken */
};

/* The engines started: sampling begins when asked for (not for workers). */
void stats_begin(struct sup *s, long long now);
long stats_timeout(const struct sup *s, long t, long long now);
void stats_step(struct sup *s, long long now);
/* The end of the test: one summary line (once). */
void stats_end(struct sup *s, int exit_status);
void stats_close(struct sup *s);

#endif
