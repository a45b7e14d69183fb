/* summary: the totals of Locust's CSV and the names around a test's results. */
#include "summary.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CSV_FIELDS_MAX 64
#define CSV_FIELD_LEN 128

struct csv_row {
	char f[CSV_FIELDS_MAX][CSV_FIELD_LEN]; /* fields cut to fit */
	int n;
};

static void end_field(struct csv_row *r, size_t *o)
{
	if (r->n < CSV_FIELDS_MAX)
		r->f[r->n++][*o] = '\0';
	*o = 0;
}

/* Reads one row of RFC 4180 CSV (quotes, "" inside them, CRLF or LF) from *p; 0, or -1
 * at the end of the input. Fields are cut to fit, extra ones dropped. */
static int csv_row(const char **p, const char *end, struct csv_row *r)
{
	const char *s = *p;
	size_t o = 0;
	int quoted = 0;
	if (s >= end)
		return -1;
	r->n = 0;
	for (; s < end; s++) {
		char c = *s;
		if (quoted && c == '"' && s + 1 < end && s[1] == '"') {
			s++; /* "" inside quotes: one quote */
		} else if (c == '"') {
			quoted = !quoted;
			continue;
		} else if (!quoted && c == '\r') {
			continue;
		} else if (!quoted && (c == ',' || c == '\n')) {
			end_field(r, &o);
			if (c == '\n') {
				*p = s + 1;
				return 0;
			}
			continue;
		}
		if (r->n < CSV_FIELDS_MAX && o + 1 < CSV_FIELD_LEN)
			r->f[r->n][o++] = c;
	}
	end_field(r, &o);
	*p = s;
	return 0;
}

static int column(const struct csv_row *h, const char *name)
{
	for (int i = 0; i < h->n; i++)
		if (!strcmp(h->f[i], name))
			return i;
	return -1;
}

/* The number in column col of row, or -1 when absent or not a number ("N/A"). */
static double field(const struct csv_row *h, const struct csv_row *row, const char *name)
{
	int c = column(h, name);
	char *end;
	if (c < 0 || c >= row->n || !row->f[c][0])
		return -1;
	errno = 0;
	double v = strtod(row->f[c], &end);
	return errno || *end || v < 0 || v != v ? -1 : v;
}

int summary_csv_totals(const char *csv, size_t len, struct totals *t)
{
	static struct csv_row head, row; /* large: not on the stack */
	if (!csv)
		return -1;
	const char *p = csv, *end = csv + len;
	if (csv_row(&p, end, &head) < 0 || column(&head, "Name") < 0)
		return -1;
	int name = column(&head, "Name");
	while (csv_row(&p, end, &row) == 0) {
		if (name >= row.n || strcmp(row.f[name], "Aggregated") != 0)
			continue;
		double req = field(&head, &row, "Request Count");
		double fail = field(&head, &row, "Failure Count");
		t->requests = req < 0 ? -1 : (long long)req;
		t->failures = fail < 0 ? -1 : (long long)fail;
		t->rps = field(&head, &row, "Requests/s");
		t->failures_per_s = field(&head, &row, "Failures/s");
		t->avg_ms = field(&head, &row, "Average Response Time");
		t->min_ms = field(&head, &row, "Min Response Time");
		t->max_ms = field(&head, &row, "Max Response Time");
		t->median_ms = field(&head, &row, "Median Response Time");
		t->p95_ms = field(&head, &row, "95%");
		t->p99_ms = field(&head, &row, "99%");
		return 0;
	}
	return -1;
}

int summary_valid_test_id(const char *id)
{
	size_t n = strlen(id);
	if (n == 0 || n > SUMMARY_TEST_ID_MAX || !strcmp(id, ".") || !strcmp(id, ".."))
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)id[i]) && !strchr("._-", id[i]))
			return 0;
	return 1;
}

void summary_make_test_id(long long wall_ms, const char *task_id, unsigned rnd, char *out,
			  size_t outlen)
{
	char tag[16];
	time_t t = (time_t)(wall_ms / 1000);
	struct tm tm;
	gmtime_r(&t, &tm);
	size_t k = 0;
	for (const char *p = task_id ? task_id : ""; *p && k < 8; p++)
		if (isalnum((unsigned char)*p))
			tag[k++] = *p;
	tag[k] = '\0';
	if (k < 8)
		snprintf(tag, sizeof tag, "%08x", rnd);
	snprintf(out, outlen, "%04d%02d%02dT%02d%02d%02dZ-%s", tm.tm_year + 1900, tm.tm_mon + 1,
		 tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, tag);
}

void summary_iso_time(long long wall_ms, char *out, size_t outlen)
{
	time_t t = (time_t)(wall_ms / 1000);
	struct tm tm;
	gmtime_r(&t, &tm);
	snprintf(out, outlen, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
		 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
		 (int)(wall_ms % 1000));
}

const char *summary_content_type(const char *name)
{
	static const struct { const char *ext, *type; } types[] = {
		{".csv", "text/csv; charset=utf-8"},
		{".html", "text/html; charset=utf-8"},
		{".json", "application/json"},
		{".txt", "text/plain; charset=utf-8"},
	};
	size_t n = strlen(name);
	for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
		size_t e = strlen(types[i].ext);
		if (n >= e && !strcmp(name + n - e, types[i].ext))
			return types[i].type;
	}
	return "application/octet-stream";
}
