/* summary: what a test's results say about it: the totals in Locust's CSV, the test id,
 * and the summary.json uploaded beside the reports. Pure. */
#ifndef LE_SUMMARY_H
#define LE_SUMMARY_H

#include <jansson.h>
#include <stddef.h>

#define SUMMARY_TEST_ID_MAX 128

/* The "Aggregated" row of Locust's <prefix>_stats.csv (every 2.x writes one); a figure
 * the file lacks (or writes as N/A) is negative. */
struct totals {
	long long requests, failures;
	double rps, failures_per_s;
	double avg_ms, min_ms, max_ms, median_ms, p95_ms, p99_ms;
};
/* 0 when the row was found, else -1. */
int summary_csv_totals(const char *csv, size_t len, struct totals *t);

/* A test id: 1 to 128 of A-Z a-z 0-9 . _ -, not "." or "..". 1 when valid. */
int summary_valid_test_id(const char *id);
/* One made at start: UTC time and a tag ("20240501T120000Z-1a2b3c4d"): the task id's
 * first 8 characters, else the random tag given. */
void summary_make_test_id(long long wall_ms, const char *task_id, unsigned rnd, char *out,
			  size_t outlen);

/* "2024-05-01T12:00:00.123Z" */
void summary_iso_time(long long wall_ms, char *out, size_t outlen);

/* The Content-Type an object is uploaded with, from its name. */
const char *summary_content_type(const char *name);

#endif
