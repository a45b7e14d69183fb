/* test_engine: the engine's version (parsed, found beside the program), and what each
 * version takes: removed options, --processes, -f, the web UI's password. */
#include "config.h"
#include "config_args.h"
#include "engine.h"
#include "tap.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define E(...) ((const char *const[]){__VA_ARGS__, NULL})

static void test_parse(void)
{
	struct locust_version v;
	is_int(engine_version_parse("2.46.7", &v), 0, "2.46.7 parses");
	ok(v.major == 2 && v.minor == 46 && v.patch == 7, "into 2, 46, 7");
	is_int(engine_version_parse("2.21", &v), 0, "2.21 parses");
	is_int(v.patch, 0, "no patch is 0");
	is_int(engine_version_parse("2.46.7.dev3", &v), 0, "a dev release parses");
	is_str(v.text, "2.46.7.dev3", "its text is kept whole");
	is_int(engine_version_parse("2.12.1-py3.11", &v), 0, "an egg-info tail is ignored");
	is_int(v.patch, 1, "patch 1");
	is_int(engine_version_parse("0.0.0", &v), -1, "0.0.0 is a placeholder (Debian's 2.12.1)");
	is_int(engine_version_parse("", &v), -1, "empty");
	is_int(engine_version_parse("2", &v), -1, "a major alone");
	is_int(engine_version_parse("v2.46", &v), -1, "a leading v");
	is_int(engine_version_parse("2.x", &v), -1, "no minor number");
	is_int(engine_version_parse("99999999.1", &v), -1, "absurdly large");

	engine_version_parse("2.21.0", &v);
	is_int(engine_version_at_least(&v, 2, 21, 0), 1, "2.21.0 >= 2.21.0");
	is_int(engine_version_at_least(&v, 2, 20, 9), 1, "2.21.0 >= 2.20.9");
	is_int(engine_version_at_least(&v, 2, 21, 1), 0, "2.21.0 < 2.21.1");
	is_int(engine_version_at_least(&v, 3, 0, 0), 0, "2.21.0 < 3.0");
	memset(&v, 0, sizeof v);
	is_int(engine_version_at_least(&v, 2, 0, 0), -1, "unknown is unknown");
}

static void touch(const char *path)
{
	FILE *f = fopen(path, "w");
	if (f)
		fclose(f);
}

/* Makes root/rel and every directory on the way; the last part is a file when file. */
static void make(const char *root, const char *rel, int file)
{
	char p[512];
	int n = snprintf(p, sizeof p, "%s/%s", root, rel);
	for (char *s = p + strlen(root) + 1; n > 0 && (s = strchr(s, '/')); s++) {
		*s = '\0';
		mkdir(p, 0700);
		*s = '/';
	}
	if (file)
		touch(p);
	else
		mkdir(p, 0700);
}

static int find(const char *root, const char *rel, struct locust_version *v)
{
	char p[512];
	snprintf(p, sizeof p, "%s/%s", root, rel);
	return engine_version_find(p, v);
}

static void test_find(void)
{
	char root[] = "/tmp/le-test-engine-XXXXXX";
	struct locust_version v;
	ok(mkdtemp(root) != NULL, "temp dir");
	/* the official image: /opt/venv/bin/locust, /opt/venv/lib/python3.13/site-packages */
	make(root, "venv/bin/locust", 1);
	make(root, "venv/lib/python3.13/site-packages/locust-2.46.7.dist-info", 0);
	make(root, "venv/lib/python3.13/site-packages/locust_plugins-4.0.dist-info", 0);
	is_int(find(root, "venv/bin/locust", &v), 0, "a venv's Locust is found");
	is_str(v.text, "2.46.7", "its version from the dist-info name");
	ok(strstr(v.from, "site-packages/locust-2.46.7.dist-info") != NULL, "from names it");

	/* Debian: /usr/bin/locust and /usr/lib/python3/dist-packages; 2.12.1 says 0.0.0 */
	make(root, "usr/bin/locust", 1);
	make(root, "usr/lib/python3/dist-packages/locust-0.0.0.dist-info", 0);
	is_int(find(root, "usr/bin/locust", &v), -1, "Debian's 0.0.0 says nothing");
	make(root, "usr/lib/python3/dist-packages/locust-2.24.0.dist-info", 0);
	is_int(find(root, "usr/bin/locust", &v), 0, "Debian's newer packages are found");
	is_str(v.text, "2.24.0", "2.24.0");
	is_int(find(root, "nowhere/bin/locust", &v), -1, "no such program");

	char cmd[600];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
	ok(system(cmd) == 0, "cleaned up"); /* NOLINT(cert-env33-c): the test's own temp dir */
}

/* The configuration with a version set, as engine_identify leaves it. */
static int prepared(struct config *c, char *err, const char *const *envs,
		    const char *const *args)
{
	int rc = parse(c, err, envs, args);
	if (!rc)
		engine_identify(c, (char *const *)envs);
	return rc;
}

static void test_removed(void)
{
	struct config c;
	char err[CONFIG_ERR_MAX];
	static const struct {
		const char *version, *opts;
		int rc;
		const char *want;
	} cases[] = {
		{"2.46.7", "LOCUST_OPTS=--hatch-rate 5", 78, "-r/--spawn-rate"},
		{"2.28.0", "LOCUST_OPTS=--hatch-rate=5", 78, "since 2.28"},
		{"2.27.0", "LOCUST_OPTS=--hatch-rate 5", 0, NULL}, /* a deprecated alias still */
		{"2.12.1", "LOCUST_OPTS=--step-load", 78, "LoadTestShape"},
		{NULL, "LOCUST_OPTS=--step-users 5", 78, "LoadTestShape"}, /* every 2.x */
		{NULL, "LOCUST_OPTS=--no-web -c 10", 78, "--headless"},
		{NULL, "LOCUST_OPTS=-c10", 78, "-u/--users"},
		{NULL, "LOCUST_OPTS=-n 100", 78, "-t/--run-time"},
		{NULL, "LOCUST_OPTS=--expect-slaves 2", 78, "--expect-workers"},
		{"2.46.7", "LOCUST_OPTS=--legacy-ui", 78, "legacy web UI"},
		{"2.27.0", "LOCUST_OPTS=--legacy-ui", 0, NULL},
		{"2.22.0", "LOCUST_OPTS=--modern-ui", 78, "only one"},
		{"2.46.7", "LOCUST_OPTS=--web-auth a:s3cret", 78, "LOCUST_WEB_AUTH=user:password"},
		{"2.20.1", "LOCUST_OPTS=--web-auth a:s3cret", 0, NULL},
		{NULL, "LOCUST_OPTS=--web-auth a:s3cret", 0, NULL}, /* unknown: as it is */
		{"2.46.7", "LOCUST_OPTS=-u 10 -- --hatch-rate", 0, NULL}, /* after "--" */
		{"2.46.7", "LOCUST_OPTS=--headless -u 10 -r 2 --csv=-c", 0, NULL},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char ver[64];
		snprintf(ver, sizeof ver, "LOCUST_ECS_LOCUST_VERSION=%s",
			 cases[i].version ? cases[i].version : "");
		/* no engine to find a version beside: the version is only what the case says */
		const char *env[] = {cases[i].opts, ver, "LOCUST_ECS_ENGINE=/nonexistent/bin/locust",
				     NULL};
		is_int(prepared(&c, err, env, NULL), 0, "case %zu parses", i);
		int rc = engine_check(&c, (char *const *)env, err, sizeof err);
		is_int(rc, cases[i].rc, "%s with %s", cases[i].opts,
		       cases[i].version ? cases[i].version : "an unknown version");
		if (cases[i].want)
			ok(strstr(err, cases[i].want) && !strstr(err, "s3cret") && !strchr(err, '\n'),
			   "names the replacement: %s", err);
		config_free(&c);
	}
	/* in the command too */
	const char *env[] = {"LOCUST_ECS_LOCUST_VERSION=2.46.7", NULL};
	prepared(&c, err, env, E("--headless", "--hatch-rate", "3"));
	is_int(engine_check(&c, (char *const *)env, err, sizeof err), 78, "in the command");
	ok(strstr(err, "the command") != NULL, "says where: %s", err);
	config_free(&c);
}

static void test_processes(void)
{
	struct config c;
	char err[CONFIG_ERR_MAX];
	const char *w[] = {"LOCUST_MODE=worker", "LOCUST_MASTER_HOST=m", "LOCUST_OPTS=--processes 4",
			   "LOCUST_ECS_LOCUST_VERSION=2.46.7", NULL};
	is_int(prepared(&c, err, w, NULL), 0, "--processes with the worker role");
	is_int(c.processes, 4, "4 processes");
	is_int(c.engines, 1, "one engine forks them");
	is_int(engine_check(&c, (char *const *)w, err, sizeof err), 0, "2.46.7 takes it");
	char **a = config_engine_argv(&c, "10.0.0.5", 5557);
	is_str(argv_line(a), "locust|-f|/locustfile.py|--processes|4|--worker|--master-host|10.0.0.5|"
	       "--master-port|5557", "given once, by the supervisor");
	config_free_argv(a);
	config_free(&c);

	const char *env[] = {"LOCUST_PROCESSES=-1", "LOCUST_ECS_LOCUST_VERSION=2.12.1", NULL};
	is_int(prepared(&c, err, env, NULL), 0, "LOCUST_PROCESSES=-1 parses");
	is_int(c.processes, -1, "-1: one per vCPU, resolved at start");
	is_int(engine_check(&c, (char *const *)env, err, sizeof err), 78, "not before 2.19");
	ok(strstr(err, "2.19") && strstr(err, "LOCUST_ECS_ENGINES"), "says so: %s", err);
	char **e = engine_env(&c, (char *const *)env);
	is_str(argv_line(e), "LOCUST_ECS_LOCUST_VERSION=2.12.1",
	       "LOCUST_PROCESSES is not passed on: --processes is");
	engine_env_free(e);
	config_free(&c);

	ok(parse(&c, err, E("LOCUST_MODE=master", "LOCUST_OPTS=--processes 2"), NULL) == 78 &&
	   strstr(err, "standalone"), "the master role with --processes is refused: %s", err);
	config_free(&c);
	ok(parse(&c, err, E("LOCUST_MODE=worker", "LOCUST_MASTER_HOST=m", "LOCUST_ECS_ENGINES=2",
			    "LOCUST_PROCESSES=2"), NULL) == 78 &&
	   strstr(err, "LOCUST_ECS_ENGINES=2"), "engines and processes both: %s", err);
	config_free(&c);
	is_int(parse(&c, err, E("LOCUST_MODE=worker", "LOCUST_MASTER_HOST=m", "LOCUST_ECS_ENGINES=1",
				"LOCUST_PROCESSES=2"), NULL), 0, "LOCUST_ECS_ENGINES=1 agrees");
	config_free(&c);
	ok(parse(&c, err, E("LOCUST_PROCESSES=x"), NULL) == 78 && strstr(err, "LOCUST_PROCESSES"),
	   "a bad count: %s", err);
	config_free(&c);
	ok(parse(&c, err, E("LOCUST_PROCESSES=2", "LOCUST_OPTS=--processes 3"), NULL) == 78,
	   "two counts that disagree");
	config_free(&c);
}

static void test_web_auth(void)
{
	struct config c;
	char err[CONFIG_ERR_MAX], plugin[] = "/tmp/le-test-plugin-XXXXXX", pp[80], lfdir[] =
		"/tmp/le-test-lfdir-XXXXXX", lf[80];
	int fd = mkstemp(plugin);
	close(fd);
	snprintf(pp, sizeof pp, "LOCUST_ECS_WEB_AUTH_PLUGIN=%s", plugin);
	ok(mkdtemp(lfdir) != NULL, "a locustfile directory");
	snprintf(lf, sizeof lf, "LOCUSTFILE_PATH=%s", lfdir);

	const char *m[] = {"LOCUST_MODE=master", "LOCUST_WEB_AUTH=admin:s3cret", pp,
			   "LOCUST_ECS_LOCUST_VERSION=2.46.7", "PATH=/bin", NULL};
	is_int(prepared(&c, err, m, NULL), 0, "master, 2.46.7, LOCUST_WEB_AUTH");
	ok(c.web_plugin, "goes through the plugin");
	is_int(engine_check(&c, (char *const *)m, err, sizeof err), 0, "the plugin is there");
	char **a = config_engine_argv(&c, NULL, 0);
	char want[256];
	snprintf(want, sizeof want, "locust|-f|/locustfile.py,%s|--web-login|--master", plugin);
	is_str(argv_line(a), want, "-f gets the plugin, and --web-login");
	ok(!strstr(argv_line(a), "s3cret"), "no secret in argv");
	config_free_argv(a);
	char **e = engine_env(&c, (char *const *)m);
	ok(strstr(argv_line(e), "LOCUST_ECS_WEB_AUTH=admin:s3cret") != NULL, "the plugin's variable");
	ok(!strstr(argv_line(e), "LOCUST_WEB_AUTH="), "LOCUST_WEB_AUTH, which 2.21+ refuse, is not");
	engine_env_free(e);
	config_free(&c);

	const char *old[] = {"LOCUST_MODE=master", "LOCUST_WEB_AUTH=admin:s3cret", pp,
			     "LOCUST_ECS_LOCUST_VERSION=2.20.1", NULL};
	prepared(&c, err, old, NULL);
	ok(!c.web_plugin, "2.20.1: Locust's own --web-auth reads LOCUST_WEB_AUTH");
	e = engine_env(&c, (char *const *)old);
	ok(strstr(argv_line(e), "LOCUST_WEB_AUTH=admin:s3cret") &&
	   !strstr(argv_line(e), "LOCUST_ECS_WEB_AUTH="),
	   "passed on as it is");
	engine_env_free(e);
	a = config_engine_argv(&c, NULL, 0);
	is_str(argv_line(a), "locust|-f|/locustfile.py|--master", "argv as today");
	config_free_argv(a);
	config_free(&c);

	const char *w[] = {"LOCUST_MODE=worker", "LOCUST_MASTER_HOST=m",
			   "LOCUST_WEB_AUTH=admin:s3cret", "LOCUST_ECS_LOCUST_VERSION=2.46.7", NULL};
	prepared(&c, err, w, NULL);
	ok(!c.web_plugin, "a worker has no web UI: no plugin");
	e = engine_env(&c, (char *const *)w);
	ok(!strstr(argv_line(e), "s3cret"), "and 2.46.7 does not get LOCUST_WEB_AUTH to refuse");
	engine_env_free(e);
	config_free(&c);

	const char *h[] = {"LOCUST_WEB_AUTH=admin:s3cret", "LOCUST_OPTS=--headless",
			   "LOCUST_ECS_LOCUST_VERSION=2.46.7", NULL};
	prepared(&c, err, h, NULL);
	ok(!c.web_plugin, "headless: no web UI, no plugin");
	config_free(&c);

	const char *both[] = {"LOCUST_WEB_AUTH=admin:s3cret", "LOCUST_WEB_LOGIN=true", pp,
			      "LOCUST_ECS_LOCUST_VERSION=2.46.7", NULL};
	prepared(&c, err, both, NULL);
	ok(engine_check(&c, (char *const *)both, err, sizeof err) == 78 && strstr(err, "--web-login"),
	   "LOCUST_WEB_AUTH with --web-login: %s", err);
	config_free(&c);

	const char *none[] = {"LOCUST_WEB_AUTH=admin:s3cret", "LOCUST_ECS_WEB_AUTH_PLUGIN=/nonexistent/p.py",
			      "LOCUST_ECS_LOCUST_VERSION=2.46.7", NULL};
	prepared(&c, err, none, NULL);
	ok(engine_check(&c, (char *const *)none, err, sizeof err) == 78 &&
	   strstr(err, "LOCUST_ECS_WEB_AUTH_PLUGIN") && !strstr(err, "s3cret"),
	   "no plugin installed: %s", err);
	config_free(&c);

	const char *dir24[] = {"LOCUST_WEB_AUTH=admin:s3cret", pp, lf,
			       "LOCUST_ECS_LOCUST_VERSION=2.24.0", NULL};
	prepared(&c, err, dir24, NULL);
	ok(engine_check(&c, (char *const *)dir24, err, sizeof err) == 78 && strstr(err, "2.27"),
	   "a directory and the plugin before 2.27: %s", err);
	config_free(&c);
	const char *dir27[] = {"LOCUST_WEB_AUTH=admin:s3cret", pp, lf,
			       "LOCUST_ECS_LOCUST_VERSION=2.27.0", NULL};
	prepared(&c, err, dir27, NULL);
	is_int(engine_check(&c, (char *const *)dir27, err, sizeof err), 0,
	       "a directory and the plugin from 2.27");
	config_free(&c);

	ok(parse(&c, err, E("LOCUST_ECS_WEB_AUTH_PLUGIN=rel/p.py"), NULL) == 78,
	   "a relative plugin path");
	config_free(&c);
	ok(parse(&c, err, E("LOCUST_ECS_WEB_AUTH_PLUGIN=/a,b.py"), NULL) == 78,
	   "a plugin path with a comma");
	config_free(&c);
	ok(parse(&c, err, E("LOCUST_ECS_LOCUST_VERSION=latest"), NULL) == 78 &&
	   strstr(err, "LOCUST_ECS_LOCUST_VERSION"), "a version that is not one: %s", err);
	config_free(&c);
	unlink(plugin);
	rmdir(lfdir);
}

/* -f as each version takes it (config_check_files with the version set). */
static void test_locustfile(void)
{
	char dir[] = "/tmp/le-test-lf-XXXXXX", py[96], bare[96], txt[96];
	ok(mkdtemp(dir) != NULL, "temp dir");
	snprintf(py, sizeof py, "%s/lf.py", dir);
	snprintf(bare, sizeof bare, "%s/lf", dir);
	snprintf(txt, sizeof txt, "%s/lf.txt", dir);
	touch(py);
	touch(txt);
	static const struct { const char *version; int worker; const char *lf; int rc; } cases[] = {
		{"2.46.7", 0, "PY", 0},
		{"2.46.7", 0, "BARE", 78},   /* no .py added from 2.27 */
		{"2.26.0", 0, "BARE", 0},    /* before: added */
		{NULL, 0, "BARE", 0},        /* unknown: any 2.x might */
		{"2.46.7", 0, "TXT", 78},    /* .py files, directories, URLs only */
		{"2.24.0", 0, "TXT", 0},
		{"2.46.7", 0, "DIR", 0},
		{"2.46.7", 0, "https://example.com/lf.py", 0},
		{"2.22.0", 0, "https://example.com/lf.py", 78},
		{NULL, 0, "http://example.com/lf.py", 0},
		{"2.46.7", 1, "-", 0},       /* a worker takes it from the master */
		{"2.46.7", 0, "-", 78},      /* but only a worker */
		{"2.22.0", 1, "-", 78},      /* and from 2.23 */
		{"2.46.7", 0, "PY,DIR, https://example.com/x.py", 0},
		{"2.46.7", 0, "PY,,PY", 78}, /* an empty element */
		{"2.46.7", 0, "PY,-", 78},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char lfv[512] = "LOCUSTFILE_PATH=", ver[64], err[CONFIG_ERR_MAX];
		const char *p = cases[i].lf;
		while (*p) { /* PY, BARE, TXT, DIR stand for the paths */
			const char *sub = !strncmp(p, "PY", 2) ? py : !strncmp(p, "BARE", 4) ? bare
					  : !strncmp(p, "TXT", 3) ? txt : !strncmp(p, "DIR", 3) ? dir : NULL;
			size_t skip = !strncmp(p, "BARE", 4) ? 4 : !strncmp(p, "PY", 2) ? 2 : 3;
			if (sub && (p == cases[i].lf || p[-1] == ',')) {
				strncat(lfv, sub, sizeof lfv - strlen(lfv) - 1);
				p += skip;
			} else {
				strncat(lfv, (char[]){*p, 0}, sizeof lfv - strlen(lfv) - 1);
				p++;
			}
		}
		snprintf(ver, sizeof ver, "LOCUST_ECS_LOCUST_VERSION=%s",
			 cases[i].version ? cases[i].version : "");
		const char *env[] = {lfv, ver, "LOCUST_ECS_ENGINE=/bin/true",
				     cases[i].worker ? "LOCUST_MODE=worker" : "LOCUST_MODE=standalone",
				     "LOCUST_MASTER_HOST=m", NULL};
		struct config c;
		is_int(parse(&c, err, env, NULL), 0, "case %zu parses", i);
		int rc = config_check_files(&c, (char *const *)env, err, sizeof err);
		is_int(rc, cases[i].rc, "%s -f %s%s: %s", cases[i].version ? cases[i].version : "?",
		       cases[i].lf, cases[i].worker ? " (worker)" : "", rc ? err : "accepted");
		config_free(&c);
	}
	unlink(py);
	unlink(txt);
	rmdir(dir);
}

int main(void)
{
	test_parse();
	test_find();
	test_removed();
	test_processes();
	test_web_auth();
	test_locustfile();
	return done_testing();
}
