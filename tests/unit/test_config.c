/* test_config: the configuration contract, every variable and every bad value. */
#include "config.h"
#include "tap.h"
#include "words.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAXENV 32

/* Parses with the given "K=V" strings (NULL-terminated) and extra argv words. */
static int parse(struct config *c, char *err, const char *const *envs, const char *const *args)
{
	char *envp[MAXENV + 1] = {0};
	char *argv[MAXENV + 2] = {(char *)"locust-entrypoint"};
	int n = 0, argc = 1;
	for (; envs && envs[n] && n < MAXENV; n++)
		envp[n] = (char *)envs[n];
	for (int i = 0; args && args[i] && argc < MAXENV; i++)
		argv[argc++] = (char *)args[i];
	return config_parse(c, envp, argc, argv, err, CONFIG_ERR_MAX);
}

static int bad(const char *var_in_msg, int want, const char *const *envs, const char *const *args)
{
	struct config c;
	char err[CONFIG_ERR_MAX];
	int rc = parse(&c, err, envs, args);
	int good = rc == want && strstr(err, var_in_msg) != NULL && !strchr(err, '\n');
	if (!good)
		printf("#   rc %d (want %d), message: %s\n", rc, want, err);
	config_free(&c);
	return good;
}

/* A bad value whose message must name it without the secret it holds. */
static int bad_secret(const char *var_in_msg, int want, const char *const *envs,
		      const char *const *args)
{
	struct config c;
	char err[CONFIG_ERR_MAX];
	int rc = parse(&c, err, envs, args);
	int good = rc == want && strstr(err, var_in_msg) && !strstr(err, "s3cret") &&
		   strstr(err, "***");
	if (!good)
		printf("#   rc %d (want %d), message: %s\n", rc, want, err);
	config_free(&c);
	return good;
}

static char *argv_line(char **a)
{
	static char buf[2048];
	size_t o = 0;
	buf[0] = '\0';
	for (int i = 0; a && a[i] && o < sizeof buf; i++)
		o += (size_t)snprintf(buf + o, sizeof buf - o, "%s%s", i ? "|" : "", a[i]);
	return buf;
}

static void test_defaults(void)
{
	struct config c;
	char err[CONFIG_ERR_MAX];
	is_int(parse(&c, err, NULL, NULL), 0, "empty environment parses");
	is_int(c.role, ROLE_STANDALONE, "standalone by default");
	is_str(c.locustfile, "/locustfile.py", "the guide's locustfile path by default");
	is_str(c.engine, "locust", "engine defaults to locust");
	is_int(c.master_port, 5557, "master port 5557");
	is_int(c.web_port, 8089, "web port 8089");
	is_int(c.stop_grace_ms, 25000, "stop grace fits ECS's 30 s stopTimeout");
	is_int(c.engines, 1, "standalone runs one engine");
	char **a = config_engine_argv(&c, NULL, 0);
	is_str(argv_line(a), "locust|-f|/locustfile.py", "plain engine argv");
	config_free_argv(a);
	config_free(&c);
}

static void test_roles(void)
{
	struct config c;
	char err[CONFIG_ERR_MAX];
	const char *m[] = {"LOCUST_MODE=master", "TARGET_URL=http://t.example", NULL};
	is_int(parse(&c, err, m, NULL), 0, "master parses");
	char **a = config_engine_argv(&c, NULL, 0);
	is_str(argv_line(a), "locust|-f|/locustfile.py|-H|http://t.example|--master", "master argv");
	config_free_argv(a);
	config_free(&c);

	const char *lh[] = {"LOCUST_HOST=https://t.example", NULL};
	is_int(parse(&c, err, lh, NULL), 0, "Locust's own LOCUST_HOST parses");
	is_str(c.target_url, "https://t.example", "LOCUST_HOST is the target");
	config_free(&c);

	const char *w[] = {"LOCUST_MODE=slave", "LOCUST_MASTER_HOST=master.locust", NULL};
	is_int(parse(&c, err, w, NULL), 0, "slave parses");
	is_int(c.role, ROLE_WORKER, "slave means worker");
	ok(c.legacy_slave, "slave is noted as the legacy name");
	is_int(c.engines, 0, "worker engines default to auto");
	a = config_engine_argv(&c, "10.0.0.5", 5557);
	is_str(argv_line(a),
	       "locust|-f|/locustfile.py|--worker|--master-host|10.0.0.5|--master-port|5557",
	       "worker argv uses the resolved address");
	config_free_argv(a);
	config_free(&c);

	const char *w2[] = {"LOCUST_MODE_WORKER=true", "LOCUST_MASTER_NODE_HOST=10.1.2.3",
			    "LOCUST_MASTER_NODE_PORT=6000", NULL};
	is_int(parse(&c, err, w2, NULL), 0, "Locust 2.x variables parse");
	is_int(c.role, ROLE_WORKER, "LOCUST_MODE_WORKER=true gives worker");
	is_str(c.master_host, "10.1.2.3", "LOCUST_MASTER_NODE_HOST");
	is_int(c.master_port, 6000, "LOCUST_MASTER_NODE_PORT");
	config_free(&c);

	const char *k8s[] = {"LOCUST_MODE=worker", "LOCUST_MASTER_HOST=locust-master",
			     "LOCUST_MASTER_PORT=tcp://10.0.0.1:5557", NULL};
	is_int(parse(&c, err, k8s, NULL), 0, "Kubernetes' tcp:// port form parses");
	is_int(c.master_port, 5557, "port taken from tcp://IP:PORT");
	config_free(&c);

	const char *srv[] = {"LOCUST_MODE=worker", "LOCUST_MASTER_HOST=_locust._tcp.m.locust", NULL};
	is_int(parse(&c, err, srv, NULL), 0, "SRV owner parses");
	ok(c.master_is_srv, "a name starting with _ is an SRV owner");
	config_free(&c);

	const char *v6[] = {"LOCUST_MODE=worker", "LOCUST_MASTER_HOST=[::1]", NULL};
	is_int(parse(&c, err, v6, NULL), 0, "bracketed IPv6 literal parses");
	is_str(c.master_host, "::1", "brackets removed");
	config_free(&c);

	const char *args[] = {"--master", "--headless", "-u", "10", NULL};
	is_int(parse(&c, err, NULL, args), 0, "role from the command's --master");
	is_int(c.role, ROLE_MASTER, "--master in the command sets the role");
	ok(c.headless, "--headless seen");
	a = config_engine_argv(&c, NULL, 0);
	is_str(argv_line(a), "locust|-f|/locustfile.py|--master|--headless|-u|10",
	       "--master not given twice");
	config_free_argv(a);
	config_free(&c);
}

static void test_opts(void)
{
	struct config c;
	char err[CONFIG_ERR_MAX];
	const char *e[] = {"LOCUST_OPTS=--headless -u 10 --tags 'a b' \"c\\\"d\" $HOME `x` *",
			   "LOCUSTFILE_PATH=/x/lf.py", NULL};
	const char *args[] = {"--csv", "out", NULL};
	is_int(parse(&c, err, e, args), 0, "LOCUST_OPTS parses");
	char **a = config_engine_argv(&c, NULL, 0);
	is_str(argv_line(a),
	       "locust|-f|/x/lf.py|--headless|-u|10|--tags|a b|c\"d|$HOME|`x`|*|--csv|out",
	       "quotes honoured, nothing expanded, extra args last");
	config_free_argv(a);
	config_free(&c);

	const char *f[] = {"LOCUST_OPTS=-f /y.py -P 9000 --web-auth=u:p --tls-cert c.pem", NULL};
	is_int(parse(&c, err, f, NULL), 0, "engine facts from LOCUST_OPTS");
	is_str(c.locustfile, "/y.py", "-f in LOCUST_OPTS is the locustfile");
	is_int(c.web_port, 9000, "-P gives the web port");
	is_str(c.web_auth, "u:p", "--web-auth seen");
	ok(c.web_tls, "--tls-cert seen");
	config_free(&c);

	const char *b[] = {"LOCUST_MODE=master", "LOCUST_MASTER_BIND_HOST=10.0.0.1",
			   "LOCUST_OPTS=--master-bind-host=10.0.1.2 --master-bind-port 6000", NULL};
	is_int(parse(&c, err, b, NULL), 0, "master bind facts parse");
	is_str(c.master_bind_host, "10.0.1.2", "--master-bind-host beats the variable");
	is_int(c.master_bind_port, 6000, "--master-bind-port seen");
	a = config_engine_argv(&c, NULL, 0);
	is_str(argv_line(a), "locust|-f|/locustfile.py|--master|--master-bind-host=10.0.1.2|"
			     "--master-bind-port|6000", "bind options go to the engine unchanged");
	config_free_argv(a);
	config_free(&c);
	const char *bv[] = {"LOCUST_MODE=master", "LOCUST_MASTER_BIND_HOST=10.0.0.1", NULL};
	is_int(parse(&c, err, bv, NULL), 0, "LOCUST_MASTER_BIND_HOST parses");
	is_str(c.master_bind_host, "10.0.0.1", "LOCUST_MASTER_BIND_HOST read");
	config_free(&c);
	is_int(parse(&c, err, NULL, NULL), 0, "no bind host");
	ok(c.master_bind_host == NULL, "no bind host: NULL (every interface)");
	config_free(&c);

	const char *h[] = {"LOCUST_HEADLESS=true", "LOCUST_AUTOSTART=true", NULL};
	is_int(parse(&c, err, h, NULL), 0, "headless + autostart parses");
	ok(!c.headless, "--autostart keeps the web UI");
	config_free(&c);

	const char *l[] = {NULL};
	const char *la[] = {"locust", "-f", "/z.py", NULL};
	is_int(parse(&c, err, l, la), 0, "a leading 'locust' in the command is dropped");
	is_str(c.locustfile, "/z.py", "and its -f is used");
	config_free(&c);

	char **w;
	int n;
	char why[128];
	is_int(words_split("a 'b c' d\\ e \"\" ''", &w, &n, why, sizeof why), 0, "split");
	is_int(n, 5, "five words, empty quotes are words");
	is_str(w[2], "d e", "backslash escapes a blank");
	is_str(w[3], "", "\"\" is an empty word");
	words_free(w);
	is_int(words_split("   ", &w, &n, why, sizeof why), 0, "blank string");
	is_int(n, 0, "no words");
	words_free(w);
}

static void test_knobs(void)
{
	struct config c;
	char err[CONFIG_ERR_MAX];
	const char *k[] = {"LOCUST_ECS_STOP_GRACE=500ms", "LOCUST_ECS_MASTER_WAIT=0",
			   "LOCUST_ECS_PROBE=tcp", "LOCUST_ECS_DNS_SERVERS=127.0.0.1:5353,[::1]:53,::1",
			   "LOCUST_ECS_ENGINES=4", "LOCUST_MODE=worker", "LOCUST_MASTER_HOST=m",
			   "LOCUST_ECS_CLEAN_STOP=yes", "LOCUST_ECS_LOG_LEVEL=DEBUG",
			   "LOCUST_ECS_RECHECK_INTERVAL=2m", "LOCUST_ECS_HEALTH_MIN_WORKERS=3",
			   "LOCUST_ECS_HEALTH_MAX_FAIL_RATIO=0.05", NULL};
	is_int(parse(&c, err, k, NULL), 0, "knobs parse");
	is_int(c.stop_grace_ms, 500, "500ms");
	is_int(c.master_wait_ms, 0, "0 = wait forever");
	is_int(c.probe, PROBE_TCP, "tcp probe");
	is_int(c.engines, 4, "explicit engine count");
	ok(c.clean_stop, "clean stop on");
	is_int(c.log_level, LOGLVL_DEBUG, "level is case-insensitive");
	is_int(c.recheck_ms, 120000, "2m");
	is_int(c.health_min_workers, 3, "min workers");
	ok(c.health_max_fail_ratio > 0.049 && c.health_max_fail_ratio < 0.051, "fail ratio");
	config_free(&c);

	const char *empty[] = {"LOCUST_MODE=", "TARGET_URL=", NULL};
	is_int(parse(&c, err, empty, NULL), 0, "empty values count as unset");
	is_int(c.role, ROLE_STANDALONE, "empty LOCUST_MODE is the default");
	config_free(&c);

	const char *help[] = {"--help", NULL};
	is_int(parse(&c, err, NULL, help), 0, "--help");
	is_int(c.action, ACT_HELP, "help action");
	config_free(&c);
	const char *pc[] = {"--print-config", "--", "--help", NULL};
	is_int(parse(&c, err, NULL, pc), 0, "--print-config then engine args after --");
	is_int(c.action, ACT_PRINT_CONFIG, "print-config action");
	is_int(c.nextra, 1, "--help after -- goes to the engine");
	config_free(&c);
}

static void test_bad(void)
{
#define E(...) ((const char *const[]){__VA_ARGS__, NULL})
	ok(bad("LOCUST_MODE", 78, E("LOCUST_MODE=boss"), NULL), "unknown mode");
	ok(bad("LOCUST_MASTER_HOST", 78, E("LOCUST_MODE=worker"), NULL), "worker without master");
	ok(bad("LOCUST_MASTER_PORT", 78, E("LOCUST_MASTER_PORT=70000"), NULL), "port too big");
	ok(bad("LOCUST_MASTER_PORT", 78, E("LOCUST_MASTER_PORT=0"), NULL), "port zero");
	ok(bad("LOCUST_MASTER_PORT", 78, E("LOCUST_MASTER_PORT=abc"), NULL), "port not a number");
	ok(bad("LOCUST_MASTER_PORT", 78, E("LOCUST_MASTER_PORT=-1"), NULL), "negative port");
	ok(bad("LOCUST_MASTER_PORT", 78, E("LOCUST_MASTER_PORT=99999999999999999999999"), NULL),
	   "port overflow");
	ok(bad("LOCUST_MASTER_PORT", 78, E("LOCUST_MASTER_PORT=55 7"), NULL), "port with a blank");
	ok(bad("LOCUST_MODE_WORKER", 78, E("LOCUST_MODE=master", "LOCUST_MODE_WORKER=true"), NULL),
	   "contradicting roles");
	ok(bad("LOCUST_MODE_MASTER", 78, E("LOCUST_MODE_MASTER=maybe"), NULL), "bad boolean");
	ok(bad("--worker", 78, E("LOCUST_MODE=master"), E("--worker")), "role vs command");
	ok(bad("LOCUST_MASTER_NODE_HOST", 78,
	       E("LOCUST_MODE=worker", "LOCUST_MASTER_HOST=a", "LOCUST_MASTER_NODE_HOST=b"), NULL),
	   "contradicting master hosts");
	ok(bad("LOCUST_MASTER_HOST", 78, E("LOCUST_MODE=worker", "LOCUST_MASTER_HOST=a b"), NULL),
	   "host with a blank");
	ok(bad("LOCUST_MASTER_HOST", 78, E("LOCUST_MODE=worker", "LOCUST_MASTER_HOST=a\nb"), NULL),
	   "host with a newline, message stays one line");
	ok(bad("LOCUST_OPTS", 78, E("LOCUST_OPTS=--tags 'a b"), NULL), "unbalanced single quote");
	ok(bad("LOCUST_OPTS", 78, E("LOCUST_OPTS=--tags \"a b"), NULL), "unbalanced double quote");
	ok(bad("LOCUST_OPTS", 78, E("LOCUST_OPTS=--tags a\\"), NULL), "trailing backslash");
	ok(bad("TARGET_URL", 78, E("TARGET_URL=example.com"), NULL), "target without scheme");
	ok(bad("LOCUST_HOST", 78, E("LOCUST_HOST=example.com"), NULL), "LOCUST_HOST checked too");
	ok(bad_secret("TARGET_URL", 78, E("TARGET_URL=http://u:s3cret@a b/"), NULL),
	   "a bad URL's password is not in the message");
	ok(bad_secret("TARGET_URL", 78, E("TARGET_URL=http://u:s3cret@h/\xff"), NULL),
	   "nor when the URL is not UTF-8");
	ok(bad_secret("LOCUST_OPTS", 78, E("LOCUST_OPTS=--web-auth adm:s3cret\xff"), NULL),
	   "a --web-auth value that is not UTF-8 is not shown");
	ok(bad_secret("argument", 64, NULL, E("--web-auth=adm:s3cret\xff")),
	   "nor a --web-auth= argument");
	ok(bad("LOCUST_HOST", 78, E("TARGET_URL=http://a", "LOCUST_HOST=http://b"), NULL),
	   "TARGET_URL and LOCUST_HOST disagree");
	ok(bad_secret("LOCUST_HOST", 78, E("TARGET_URL=http://u:s3cret@a",
					    "LOCUST_HOST=http://u:s3cret2@b"), NULL),
	   "two URLs that disagree: neither password is in the message");
	ok(bad_secret("-H", 78, E("TARGET_URL=http://u:s3cret@a",
				  "LOCUST_OPTS=-H http://v:s3cret9@b"), NULL),
	   "nor with -H in LOCUST_OPTS");
	ok(bad("LOCUST_ECS_STOP_GRACE", 78, E("LOCUST_ECS_STOP_GRACE=soon"), NULL), "bad duration");
	ok(bad("LOCUST_ECS_STOP_GRACE", 78, E("LOCUST_ECS_STOP_GRACE=-5"), NULL), "negative grace");
	ok(bad("LOCUST_ECS_STOP_GRACE", 78, E("LOCUST_ECS_STOP_GRACE=9223372036854775808"), NULL),
	   "grace overflow (2^63)");
	ok(bad("LOCUST_ECS_PROBE", 78, E("LOCUST_ECS_PROBE=http"), NULL), "unknown probe");
	ok(bad("LOCUST_ECS_ENGINES", 78, E("LOCUST_ECS_ENGINES=0"), NULL), "zero engines");
	ok(bad("LOCUST_ECS_ENGINES", 78, E("LOCUST_ECS_ENGINES=many"), NULL), "engines word");
	ok(bad("LOCUST_ECS_DNS_SERVERS", 78, E("LOCUST_ECS_DNS_SERVERS=dns.example"), NULL),
	   "DNS server by name");
	ok(bad("LOCUST_ECS_DNS_SERVERS", 78, E("LOCUST_ECS_DNS_SERVERS=1.2.3.4:99999"), NULL),
	   "DNS server port out of range");
	ok(bad("LOCUST_ECS_LOG_FORMAT", 78, E("LOCUST_ECS_LOG_FORMAT=xml"), NULL), "log format");
	ok(bad("LOCUST_ECS_STATE_DIR", 78, E("LOCUST_ECS_STATE_DIR=relative/dir"), NULL),
	   "relative state dir");
	ok(bad("LOCUST_ECS_HEALTH_MAX_FAIL_RATIO", 78, E("LOCUST_ECS_HEALTH_MAX_FAIL_RATIO=2"),
	       NULL), "fail ratio above 1");
	ok(bad("LOCUST_WEB_PORT", 78, E("LOCUST_WEB_PORT=http"), NULL), "web port");
	ok(bad("--master-port", 78, E("LOCUST_MODE=worker", "LOCUST_MASTER_HOST=m"),
	       E("--master-port", "x")), "--master-port in the command");
	ok(bad("-f/--locustfile", 64, NULL, E("-f")), "option without its value");
#undef E
}

static void test_files(void)
{
	struct config c;
	char err[CONFIG_ERR_MAX], path[256];
	/* an engine that exists everywhere: the test must not need Locust installed */
	const char *e[] = {"LOCUSTFILE_PATH=/nonexistent/lf.py", "LOCUST_ECS_ENGINE=/bin/sh",
			   "PATH=/usr/bin:/bin", NULL};
	is_int(parse(&c, err, e, NULL), 0, "parses");
	is_int(config_check_files(&c, (char *const *)e, err, sizeof err), 78,
	       "missing locustfile is a configuration error");
	ok(strstr(err, "LOCUSTFILE_PATH") != NULL, "message names LOCUSTFILE_PATH");
	config_free(&c);

	const char *g[] = {"LOCUSTFILE_PATH=/etc/hostname", "LOCUST_ECS_ENGINE=no-such-engine-x",
			   "PATH=/usr/bin:/bin", NULL};
	is_int(parse(&c, err, g, NULL), 0, "parses");
	is_int(config_check_files(&c, (char *const *)g, err, sizeof err), 127,
	       "missing engine is 127");
	ok(strstr(err, "LOCUST_ECS_ENGINE") != NULL, "message names LOCUST_ECS_ENGINE");
	config_free(&c);

	char tmpl[] = "/tmp/le-test-noexec-XXXXXX", eng[64];
	int fd = mkstemp(tmpl);
	ok(fd >= 0, "temp file");
	close(fd);
	chmod(tmpl, 0644);
	snprintf(eng, sizeof eng, "LOCUST_ECS_ENGINE=%s", tmpl);
	const char *h[] = {"LOCUSTFILE_PATH=/etc/hostname", eng, NULL};
	is_int(parse(&c, err, h, NULL), 0, "parses");
	is_int(config_check_files(&c, (char *const *)h, err, sizeof err), 126,
	       "non-executable engine is 126");
	config_free(&c);
	unlink(tmpl);

	is_int(config_find_program("sh", "/nonexistent:/bin", path, sizeof path, err, sizeof err),
	       0, "PATH lookup");
	is_str(path, "/bin/sh", "found in the second PATH entry");
}

static void test_redact(void)
{
	static const struct { const char *word, *prev, *want; } cases[] = {
		{"http://user:pw@example.com/x", NULL, "http://***@example.com/x"},
		{"--host=https://u:p@h:8443", NULL, "--host=https://***@h:8443"},
		{"https://example.com/a@b", NULL, "https://example.com/a@b"},
		{"http://h", NULL, "http://h"},
		{"http://@h", NULL, "http://***@h"},
		{"http://u:p@ss@host/x@y", NULL, "http://***@host/x@y"},
		{"http://h?q=a@b", NULL, "http://h?q=a@b"},
		{"http://h#a@b", NULL, "http://h#a@b"},
		{"admin:s3cret", "--web-auth", "***"},
		{"--web-auth=admin:s3cret", NULL, "--web-auth=***"},
		{"--web-auth", NULL, "--web-auth"},
		{"plain", "-u", "plain"},
		{"", NULL, ""},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char *r = config_redact(cases[i].word, cases[i].prev);
		is_str(r, cases[i].want, "redact \"%s\"", cases[i].word);
		free(r);
	}
	/* no fixed buffer: a long URL keeps its whole host and path */
	char *big = malloc(70000), *want = malloc(70000);
	memset(big, 'a', 69999);
	big[69999] = '\0';
	memcpy(big, "http://u:p@", 11);
	snprintf(want, 70000, "http://***@%s", big + 11);
	char *r = config_redact(big, NULL);
	is_str(r, want, "a 64 KiB URL is redacted whole");
	free(r);
	free(big);
	free(want);
}

int main(void)
{
	test_defaults();
	test_roles();
	test_opts();
	test_knobs();
	test_bad();
	test_files();
	test_redact();
	return done_testing();
}
