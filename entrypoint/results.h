/* results: test code in from S3 before the engines start, the engine's reports and a
 * summary out to S3 after they end; every transfer in the supervisor's loop. */
#ifndef LE_RESULTS_H
#define LE_RESULTS_H

#include <jansson.h>

struct sup;

/* At start: 0 when there is nothing to fetch or ask first (the caller starts the engines
 * or the master search itself); 1 when results.c took over: it fetches the test code and
 * asks the engine its version in PH_STARTING, then calls core_begin (or core_finish). */
int results_prepare(struct sup *s, long long now);
/* Each turn of the loop: downloads, unpacking, the version, uploads. */
void results_step(struct sup *s, long long now);
/* The earlier of t and what results.c waits for (core_min_timeout's rules). */
long results_timeout(const struct sup *s, long t, long long now);
/* The engines have ended and the supervisor is ending: starts the uploads the first time;
 * 1 once they are over (done, failed, or cut at the stop deadline), else 0. */
int results_settled(struct sup *s, long long now);
/* The signal a stop sends the engines: SIGINT instead of SIGTERM to a master or standalone
 * engine whose reports are wanted (Locust writes --html on SIGINT, not on SIGTERM). */
int results_engine_signal(struct sup *s, int sig);
/* The exit status once uploads are over: EXIT_IOERR when LOCUST_ECS_RESULTS_REQUIRED is
 * set and an upload failed (unless the supervisor already failed by itself). */
int results_status(const struct sup *s, int status);
/* The most workers seen at once (for summary.json), from whoever samples the master. */
void results_note_workers(struct sup *s, int n);
/* --print-config's "s3" object (null when S3 is not used). */
json_t *results_print_config(const struct sup *s);
/* At exit: ends every transfer, removes the downloaded code (and the reports when all
 * were uploaded). Before httploop_free. */
void results_close(struct sup *s);

#endif
