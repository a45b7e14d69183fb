/* test_webstats: the /stats/requests parser of locust-healthcheck, on Locust's own answers. */
#include "tap.h"
#include "webstats.h"

#include <math.h>

/* A master's answer as Locust 2.12.1 gives it (trimmed stats[]): no worker_count. */
static const char master_212[] =
	"{\"current_response_time_percentile_50\": null, \"current_response_time_percentile_95\": "
	"null, \"errors\": [], \"fail_ratio\": 0.25, \"state\": \"running\", \"stats\": [{\"avg_"
	"content_length\": 3.0, \"method\": \"GET\", \"name\": \"/\", \"num_failures\": 1, "
	"\"num_requests\": 4}], \"total_rps\": 12.5, \"user_count\": 10, \"workers\": [{\"cpu_usage\": "
	"1.5, \"id\": \"w1\", \"memory_usage\": 56221696, \"state\": \"running\", \"user_count\": 5}, "
	"{\"cpu_usage\": 0.0, \"id\": \"w2\", \"memory_usage\": 1, \"state\": \"missing\", "
	"\"user_count\": 0}, {\"cpu_usage\": 0.0, \"id\": \"w3\", \"memory_usage\": 1, \"state\": "
	"\"ready\", \"user_count\": 0}]}";

static const char standalone[] =
	"{\"errors\": [], \"fail_ratio\": 0.0, \"state\": \"ready\", \"stats\": [], \"total_rps\": 0.0,"
	" \"user_count\": 0}";

static const char newer[] =
	"{\"state\": \"spawning\", \"fail_ratio\": 0, \"worker_count\": 4, \"user_count\": 3}";

static void t(const char *doc, int want_rc, const char *what)
{
	struct webstats ws;
	char err[200] = "";
	int rc = webstats_parse(doc, strlen(doc), &ws, err, sizeof err);
	is_int(rc, want_rc, "%s%s%s", what, err[0] ? ": " : "", err);
}

/* A command line as /proc/PID/cmdline holds it: sizeof - 1 keeps the last NUL. */
#define CMD(s) (s), sizeof(s) - 1

static void test_cmdline_auth(void)
{
	static const struct { const char *buf; size_t len; int found; const char *want; } c[] = {
		{CMD("locust\0--web-auth\0admin:pw\0"), 1, "admin:pw"},
		{CMD("locust\0--web-auth=admin:pw\0-u\0003\0"), 1, "admin:pw"},
		{CMD("locust\0--web-auth=a:b"), 1, "a:b"}, /* no final NUL */
		{CMD("locust\0--web-auth\0a:b"), 1, "a:b"},
		{CMD("locust\0--web-auth\0"), 0, ""},     /* no value after it */
		{CMD("locust\0--web-auth"), 0, ""},
		{CMD("locust\0--\0--web-auth=a:b\0"), 0, ""}, /* after "--": not an option */
		{CMD("locust\0--web-authx=a:b\0"), 0, ""},
		{CMD("locust\0-u\0--web-auth=\0"), 1, ""},  /* empty value */
		{CMD(""), 0, ""},
	};
	for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
		char out[64] = "";
		is_int(webstats_cmdline_auth(c[i].buf, c[i].len, out, sizeof out), c[i].found,
		       "cmdline case %zu found", i);
		is_str(out, c[i].want, "cmdline case %zu value", i);
	}
	char small[4];
	is_int(webstats_cmdline_auth(CMD("--web-auth=abcdef\0"), small, sizeof small), 1,
	       "a long value");
	is_str(small, "abc", "is cut to fit, terminated");
}

/* The live figures, from the shape of Locust 2.12 (flat current percentiles, rates in
 * the Aggregated row) and of 2.45+ (current_rps at the top, percentiles in an object). */
static void test_live(void)
{
	struct webstats ws;
	char err[200];
	static const char v212[] =
		"{\"state\":\"running\",\"user_count\":4,\"fail_ratio\":0.5,"
		"\"total_rps\":9.5,\"current_response_time_percentile_95\":80,"
		"\"current_response_time_percentile_50\":12,\"stats\":[{\"name\":\"/\","
		"\"current_rps\":1},{\"name\":\"Aggregated\",\"num_requests\":100,"
		"\"num_failures\":50,\"current_rps\":9.5,\"current_fail_per_sec\":4.5,"
		"\"avg_response_time\":20.5,\"max_response_time\":300,"
		"\"ninety_ninth_response_time\":200}],\"errors\":[]}";
	is_int(webstats_parse(v212, sizeof v212 - 1, &ws, err, sizeof err), 0, "2.12 shape");
	ok(ws.cur_rps == 9.5 && ws.cur_fail_per_sec == 4.5, "rates from the Aggregated row");
	ok(ws.p50_ms == 12 && ws.p95_ms == 80, "current p50/p95 from the flat keys");
	ok(ws.p99_ms == 200 && ws.p99_since_start, "p99 since the start, said so");
	ok(ws.num_requests == 100 && ws.num_failures == 50, "totals");
	ok(ws.avg_ms == 20.5 && ws.max_ms == 300, "average and max");
	static const char v245[] =
		"{\"state\":\"running\",\"user_count\":4,\"fail_ratio\":0.1,"
		"\"total_rps\":1000,\"current_rps\":33,\"current_fail_per_sec\":3,"
		"\"current_response_time_percentiles\":{\"response_time_percentile_0.5\":7,"
		"\"response_time_percentile_0.95\":40,\"response_time_percentile_0.99\":90},"
		"\"worker_count\":2,\"stats\":[{\"name\":\"Aggregated\",\"current_rps\":30,"
		"\"num_requests\":10,\"num_failures\":1,\"response_time_percentile_0.99\":99}]}";
	is_int(webstats_parse(v245, sizeof v245 - 1, &ws, err, sizeof err), 0, "2.45+ shape");
	ok(ws.cur_rps == 33 && ws.cur_fail_per_sec == 3, "current rates at the top win");
	ok(ws.p50_ms == 7 && ws.p95_ms == 40 && ws.p99_ms == 90 && !ws.p99_since_start,
	   "current percentiles from the object");
	ok(ws.workers == 2, "worker_count when no workers[]");
	static const char idle[] = "{\"state\":\"ready\",\"stats\":[],"
				   "\"current_response_time_percentile_95\":null}";
	is_int(webstats_parse(idle, sizeof idle - 1, &ws, err, sizeof err), 0, "before any request");
	ok(ws.cur_rps < 0 && ws.p95_ms < 0 && ws.num_requests < 0, "figures absent, not zero");
}

/* The busiest request names, in order, their names cut at a character's boundary. */
static void test_top(void)
{
	struct webstats ws;
	char err[200], doc[16384], name[400];
	size_t o = 0;
	memset(name, 'a', 197);
	memcpy(name + 197, "\xc3\xa9\xc3\xa9", 4); /* a character across the cut */
	name[201] = '\0';
	o += (size_t)snprintf(doc + o, sizeof doc - o, "{\"state\":\"running\",\"stats\":[");
	for (int i = 0; i < 25; i++)
		o += (size_t)snprintf(doc + o, sizeof doc - o,
				      "{\"method\":\"GET\",\"name\":\"/%d\",\"num_requests\":%d,"
				      "\"current_rps\":%d,\"ninetieth_response_time\":9},", i,
				      (i * 7) % 25, i);
	o += (size_t)snprintf(doc + o, sizeof doc - o,
			      "{\"method\":\"POST\",\"name\":\"%s\",\"num_requests\":1000},"
			      "{\"name\":\"Aggregated\",\"num_requests\":999999}]}", name);
	is_int(webstats_parse(doc, o, &ws, err, sizeof err), 0, "25 names and a long one");
	is_int(ws.ntop, WEBSTATS_TOP, "the busiest %d kept", WEBSTATS_TOP);
	ok(strncmp(ws.top[0].name, "POST aaa", 8) == 0, "the busiest first, Aggregated not a name");
	is_int((long long)strlen(ws.top[0].name), 4 + 197 - 2, "cut before the split character");
	int sorted = 1;
	for (int i = 1; i < ws.ntop; i++)
		sorted &= ws.top[i - 1].num_requests >= ws.top[i].num_requests;
	ok(sorted, "in order");
	ok(ws.top[1].num_requests == 24 && ws.top[1].p90_ms == 9 && ws.top[1].p95_ms < 0,
	   "2.12's ninetieth is p90; no p95 is made up");
}

int main(void)
{
	test_live();
	test_top();
	test_cmdline_auth();
	struct webstats ws;
	char err[200];

	is_int(webstats_parse(master_212, strlen(master_212), &ws, err, sizeof err), 0,
	       "Locust 2.12 master");
	is_str(ws.state, "running", "state");
	is_int(ws.workers, 2, "two workers not missing (running, ready)");
	is_int(ws.workers_missing, 1, "one missing");
	ok(fabs(ws.fail_ratio - 0.25) < 1e-9, "fail ratio 0.25");
	is_int(ws.user_count, 10, "user count");
	ok(fabs(ws.total_rps - 12.5) < 1e-9, "total rps");

	is_int(webstats_parse(standalone, strlen(standalone), &ws, err, sizeof err), 0,
	       "standalone");
	is_int(ws.workers, -1, "standalone lists no workers");
	ok(ws.fail_ratio == 0.0, "fail ratio 0");

	is_int(webstats_parse(newer, strlen(newer), &ws, err, sizeof err), 0, "newer Locust");
	is_int(ws.workers, 4, "worker_count when workers[] is absent");
	ok(ws.fail_ratio == 0.0, "an integer 0 is a number too");

	const char *both = "{\"state\":\"ready\",\"worker_count\":9,\"workers\":[{\"state\":\"ready\"}]}";
	is_int(webstats_parse(both, strlen(both), &ws, err, sizeof err), 0, "both given");
	is_int(ws.workers, 1, "workers[] wins over worker_count");

	const char *nofr = "{\"state\":\"stopped\"}";
	is_int(webstats_parse(nofr, strlen(nofr), &ws, err, sizeof err), 0, "minimal");
	ok(ws.fail_ratio == -1 && ws.user_count == -1 && ws.total_rps == -1,
	   "absent numbers are -1");

	/* a length shorter than the text: only that prefix is parsed */
	is_int(webstats_parse(standalone, 20, &ws, err, sizeof err), -1, "truncated body");

	t("", -1, "empty body");
	t("<html>Unauthorized</html>", -1, "HTML");
	t("[1,2]", -1, "an array");
	t("{}", -1, "no state");
	t("{\"state\": 3}", -1, "state not a string");
	t("{\"state\":\"ready\",\"workers\":{}}", -1, "workers not an array");
	t("{\"state\":\"ready\",\"workers\":[1]}", -1, "a worker not an object");
	t("{\"state\":\"ready\",\"workers\":[{\"id\":\"x\"}]}", -1, "a worker without state");
	t("{\"state\":\"ready\",\"worker_count\":\"4\"}", -1, "worker_count a string");
	t("{\"state\":\"ready\",\"worker_count\":-4}", -1, "worker_count negative");
	t("{\"state\":\"ready\",\"fail_ratio\":\"0.1\"}", -1, "fail_ratio a string");
	t("{\"state\":\"ready\",\"user_count\":null}", -1, "user_count null");
	t("{\"state\":\"ready\",\"fail_ratio\":NaN}", -1, "NaN is not JSON");
	t("{\"state\":\"ready\",\"extra\":{\"deep\":[1,2,{\"x\":null}]}}", 0,
	  "unknown keys are ignored");
	t("{\"state\":\"ready\"} trailing", -1, "trailing garbage");
	return done_testing();
}
