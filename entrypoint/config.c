/* config: the configuration contract of DESIGN.md, from environment and argv. */
#include "config.h"
#include "errmsg.h"
#include "bundle.h"
#include "creds.h"
#include "s3.h"
#include "summary.h"
#include "words.h"
#include "duration.h"
#include "bounds.h"
#include "webstats.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#define DEFAULT_LOCUSTFILE "/locustfile.py" /* the guide's convention */
#define DEFAULT_MASTER_PORT 5557            /* Locust's default --master-port */
#define DEFAULT_WEB_PORT 8089               /* Locust's default --web-port */
#define DEFAULT_BUNDLE_MAX (16ULL << 20)    /* a bundle of test code: 16 MiB */
#ifndef LE_DATADIR
#define LE_DATADIR "/usr/local/share/locust-ecs" /* make install: $(PREFIX)/share/locust-ecs */
#endif

const char *config_getenv(char *const envp[], const char *name)
{
	size_t n = strlen(name);
	if (!envp)
		return NULL;
	for (char *const *e = envp; *e; e++)
		if (strncmp(*e, name, n) == 0 && (*e)[n] == '=')
			return *e + n + 1;
	return NULL;
}

/* An empty variable counts as unset, as ECS task overrides often leave "" behind. */
static const char *env(char *const envp[], const char *name)
{
	const char *v = config_getenv(envp, name);
	return v && *v ? v : NULL;
}

const char *config_role_name(enum role r)
{
	switch (r) {
	case ROLE_MASTER: return "master";
	case ROLE_WORKER: return "worker";
	default: return "standalone";
	}
}

/* Printable form of a value for error messages: control and non-ASCII bytes escaped,
 * long values cut, so that one error stays one line. */
static const char *show_raw(const char *v, char *buf, size_t len)
{
	size_t o = 0;
	for (const unsigned char *p = (const unsigned char *)v; *p && o + 8 < len; p++) {
		if (*p >= 0x20 && *p < 0x7f && *p != '"' && *p != '\\')
			buf[o++] = (char)*p;
		else
			o += (size_t)snprintf(buf + o, len - o, "\\x%02x", *p);
		if (o > 80 && p[1]) {
			snprintf(buf + o, len - o, "...");
			return buf;
		}
	}
	buf[o] = '\0';
	return buf;
}

/* show() of a word whose secret, if any, is replaced by "***" (config_redact): error
 * messages end up in the task's logs. */
static const char *show_safe(const char *v, const char *prev, char *buf, size_t len)
{
	char *r = config_redact(v, prev);
	show_raw(r ? r : "***", buf, len);
	free(r);
	return buf;
}

/* Every value shown in a message goes through the redaction: any of them may be a URL
 * with a password in it. */
static const char *show(const char *v, char *buf, size_t len)
{
	return show_safe(v, NULL, buf, len);
}

static int knob_duration(char *const envp[], const char *name, long def, long min, long max,
			 long *out, char *err, size_t errlen)
{
	const char *v = env(envp, name);
	char sb[128];
	*out = def;
	if (!v)
		return 0;
	if (duration_parse(v, out) < 0 || *out < min || *out > max)
		return errmsg(err, errlen, EXIT_CONFIG,
			    "%s=\"%s\" is not a valid duration: accepted are whole numbers of "
			    "seconds (\"30\", \"30s\"), milliseconds (\"500ms\") or minutes "
			    "(\"2m\"), from %ldms to %lds",
			    name, show(v, sb, sizeof sb), min, max / 1000);
	return 0;
}

static int parse_long(const char *s, long min, long max, long *out)
{
	char *end;
	errno = 0;
	if (!s || !(isdigit((unsigned char)*s) || (*s == '-' && isdigit((unsigned char)s[1]))))
		return -1;
	long v = strtol(s, &end, 10);
	if (errno || *end || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

/* One of a fixed list of words; returns its index or -1. */
static int pick(const char *v, const char *const *words)
{
	for (int i = 0; words[i]; i++)
		if (strcasecmp(v, words[i]) == 0)
			return i;
	return -1;
}

static int knob_choice(char *const envp[], const char *name, const char *const *words,
		       const char *accepted, int def, int *out, char *err, size_t errlen)
{
	const char *v = env(envp, name);
	char sb[128];
	*out = def;
	if (!v)
		return 0;
	*out = pick(v, words);
	if (*out < 0)
		return errmsg(err, errlen, EXIT_CONFIG, "%s=\"%s\" is not accepted: use %s", name,
			    show(v, sb, sizeof sb), accepted);
	return 0;
}

/* Locust's (ConfigArgParse's) booleans: true/false, yes/no, 1/0. -1 when unset. */
static int env_bool(char *const envp[], const char *name, int *out, char *err, size_t errlen)
{
	static const char *const words[] = {"false", "no", "0", "true", "yes", "1", NULL};
	const char *v = env(envp, name);
	char sb[128];
	*out = -1;
	if (!v)
		return 0;
	int i = pick(v, words);
	if (i < 0)
		return errmsg(err, errlen, EXIT_CONFIG,
			    "%s=\"%s\" is not a boolean: use true or false (also yes/no, 1/0)",
			    name, show(v, sb, sizeof sb));
	*out = i >= 3;
	return 0;
}

/* Port: "5557" or Kubernetes' "tcp://10.0.0.1:5557". */
static int parse_port(const char *v, int *out)
{
	long p;
	if (strncmp(v, "tcp://", 6) == 0) {
		const char *colon = strrchr(v + 6, ':');
		if (!colon || colon == v + 6)
			return -1;
		v = colon + 1;
	}
	if (parse_long(v, 1, 65535, &p) < 0)
		return -1;
	*out = (int)p;
	return 0;
}

static int valid_host(const char *h)
{
	unsigned char a[16];
	size_t n = strlen(h);
	if (n == 0 || n > 253)
		return 0;
	if (inet_pton(AF_INET, h, a) == 1 || inet_pton(AF_INET6, h, a) == 1)
		return 1;
	for (const char *p = h; *p; p++)
		if (!isalnum((unsigned char)*p) && *p != '-' && *p != '.' && *p != '_')
			return 0;
	return h[0] != '.' && h[0] != '-' && strstr(h, "..") == NULL;
}

/* "ip[:port],..." with IPv6 as "[addr]:port" or a bare address. */
static int valid_dns_servers(const char *v)
{
	char tmp[512], *save = NULL;
	int count = 0;
	size_t len = strlen(v);
	if (len >= sizeof tmp || v[0] == ',' || strstr(v, ",,")) /* empty elements */
		return 0;
	memcpy(tmp, v, len + 1);
	for (char *tok = strtok_r(tmp, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		unsigned char a[16];
		char *port = NULL;
		int p;
		if (++count > CONFIG_MAX_DNS)
			return 0;
		if (tok[0] == '[') {
			char *close = strchr(tok, ']');
			if (!close)
				return 0;
			*close = '\0';
			if (close[1] == ':')
				port = close + 2;
			else if (close[1])
				return 0;
			if (inet_pton(AF_INET6, tok + 1, a) != 1)
				return 0;
		} else if (inet_pton(AF_INET6, tok, a) == 1) {
			continue;
		} else {
			port = strchr(tok, ':');
			if (port)
				*port++ = '\0';
			if (inet_pton(AF_INET, tok, a) != 1)
				return 0;
		}
		if (port && parse_port(port, &p) < 0)
			return 0;
	}
	return count > 0 && v[len - 1] != ',';
}

/* Hands s to cfg (freed by config_free); NULL, and s freed, when there is no slot. */
static char *own(struct config *cfg, char *s)
{
	if (s && cfg->nowned < (int)(sizeof cfg->owned / sizeof cfg->owned[0])) {
		cfg->owned[cfg->nowned++] = s;
		return s;
	}
	free(s);
	return NULL;
}

/* Options of the engine that the supervisor takes over or needs to know. */
enum opt_id {
	OPT_NONE, OPT_FILE, OPT_HOST, OPT_MASTER, OPT_WORKER, OPT_MASTER_HOST, OPT_MASTER_PORT,
	OPT_HEADLESS, OPT_AUTOSTART, OPT_WEB_PORT, OPT_WEB_AUTH, OPT_TLS_CERT, OPT_WEB_HOST,
	OPT_BIND_PORT, OPT_BIND_HOST, OPT_CSV, OPT_HTML, OPT_JSON_FILE, OPT_WEB_LOGIN,
	OPT_PROCESSES,
};
struct opt_spec {
	const char *shortname, *longname;
	enum opt_id id;
	int takes_value;
	int consumed; /* removed from the engine's argv and re-emitted by the supervisor */
};
static const struct opt_spec opt_specs[] = {
	{"-f", "--locustfile", OPT_FILE, 1, 1},
	{"-H", "--host", OPT_HOST, 1, 1},
	{NULL, "--master", OPT_MASTER, 0, 1},
	{NULL, "--worker", OPT_WORKER, 0, 1},
	{NULL, "--slave", OPT_WORKER, 0, 1}, /* Locust before 1.0 */
	{NULL, "--master-host", OPT_MASTER_HOST, 1, 1},
	{NULL, "--master-port", OPT_MASTER_PORT, 1, 1},
	{NULL, "--headless", OPT_HEADLESS, 0, 0},
	{NULL, "--autostart", OPT_AUTOSTART, 0, 0},
	{"-P", "--web-port", OPT_WEB_PORT, 1, 0},
	{NULL, "--web-auth", OPT_WEB_AUTH, 1, 0},
	{NULL, "--tls-cert", OPT_TLS_CERT, 1, 0},
	{NULL, "--web-host", OPT_WEB_HOST, 1, 0},
	{NULL, "--master-bind-port", OPT_BIND_PORT, 1, 0},
	{NULL, "--master-bind-host", OPT_BIND_HOST, 1, 0},
	{NULL, "--csv", OPT_CSV, 1, 0},
	{NULL, "--html", OPT_HTML, 1, 0},
	{NULL, "--json-file", OPT_JSON_FILE, 1, 0},
	{NULL, "--web-login", OPT_WEB_LOGIN, 0, 0},
	{NULL, "--processes", OPT_PROCESSES, 1, 1}, /* re-emitted with -1 resolved */
};

/* Matches args[i] against the specs; sets *val and *used (args eaten: 1 or 2). */
static const struct opt_spec *match_opt(char **args, int n, int i, const char **val, int *used)
{
	const char *a = args[i];
	*val = NULL;
	*used = 1;
	for (size_t k = 0; k < sizeof opt_specs / sizeof opt_specs[0]; k++) {
		const struct opt_spec *s = &opt_specs[k];
		size_t ll = strlen(s->longname);
		if (strcmp(a, s->longname) == 0 ||
		    (s->shortname && strcmp(a, s->shortname) == 0)) {
			if (s->takes_value) {
				*val = i + 1 < n ? args[i + 1] : "";
				*used = i + 1 < n ? 2 : 1;
			}
			return s;
		}
		if (s->takes_value && strncmp(a, s->longname, ll) == 0 && a[ll] == '=') {
			*val = a + ll + 1;
			return s;
		}
		if (s->takes_value && s->shortname && strncmp(a, s->shortname, 2) == 0 && a[2]) {
			*val = a + 2 + (a[2] == '=');
			return s;
		}
	}
	return NULL;
}

struct argfacts {
	const char *file, *host, *master_host, *master_port, *web_port, *web_auth, *web_host;
	const char *bind_port, *bind_host, *csv, *html, *json_file, *processes;
	int master, worker, headless, autostart, tls, web_login;
};

/* Scans one list of engine args, records facts, drops the consumed options in place. */
static int scan_args(struct config *cfg, char **args, int *n, struct argfacts *f,
		     const char *src, char *err, size_t errlen)
{
	int out = 0, i = 0, rc = 0;
	while (i < *n) {
		const char *val;
		int used;
		if (strcmp(args[i], "--") == 0)
			break;
		const struct opt_spec *s = match_opt(args, *n, i, &val, &used);
		if (!s) {
			args[out++] = args[i++];
			continue;
		}
		if (s->takes_value && (!val || !*val)) {
			rc = errmsg(err, errlen, EXIT_USAGE, "%s: option %s%s%s needs a value",
				  src, s->shortname ? s->shortname : "", s->shortname ? "/" : "",
				  s->longname);
			break;
		}
		switch (s->id) {
		case OPT_FILE: f->file = val; break;
		case OPT_HOST: f->host = val; break;
		case OPT_MASTER: f->master = 1; break;
		case OPT_WORKER: f->worker = 1; break;
		case OPT_MASTER_HOST: f->master_host = val; break;
		case OPT_MASTER_PORT: f->master_port = val; break;
		case OPT_HEADLESS: f->headless = 1; break;
		case OPT_AUTOSTART: f->autostart = 1; break;
		case OPT_WEB_PORT: f->web_port = val; break;
		case OPT_WEB_AUTH: f->web_auth = val; break;
		case OPT_TLS_CERT: f->tls = 1; break;
		case OPT_WEB_HOST: f->web_host = val; break;
		case OPT_BIND_PORT: f->bind_port = val; break;
		case OPT_BIND_HOST: f->bind_host = val; break;
		case OPT_CSV: f->csv = val; break;
		case OPT_HTML: f->html = val; break;
		case OPT_JSON_FILE: f->json_file = val; break;
		case OPT_WEB_LOGIN: f->web_login = 1; break;
		case OPT_PROCESSES: f->processes = val; break;
		default: break;
		}
		if (s->consumed) {
			/* kept until config_free: the facts point into these strings */
			for (int k = 0; k < used; k++)
				cfg->spent[cfg->nspent++] = args[i + k];
		} else {
			for (int k = 0; k < used; k++)
				args[out++] = args[i + k];
		}
		i += used;
	}
	/* the rest (after "--", or after an error) stays in place, so that every string is
	 * held once, by args or by cfg->spent, and config_free frees each once */
	while (i < *n)
		args[out++] = args[i++];
	*n = out;
	args[out] = NULL;
	return rc;
}

/* Two sources of one setting must agree when both are given. */
static int pick_one(const char *na, const char *a, const char *nb, const char *b,
		    const char **out, char *err, size_t errlen)
{
	char s1[128], s2[128];
	if (a && b && strcmp(a, b) != 0)
		return errmsg(err, errlen, EXIT_CONFIG,
			    "%s=\"%s\" contradicts %s=\"%s\": set one of them, or both alike", na,
			    show_safe(a, NULL, s1, sizeof s1), nb, show_safe(b, NULL, s2, sizeof s2));
	*out = a ? a : b;
	return 0;
}

static int parse_role(struct config *cfg, char *const envp[], const struct argfacts *f,
		      char *err, size_t errlen)
{
	static const char *const modes[] = {"standalone", "master", "worker", "slave", NULL};
	const char *mode = env(envp, "LOCUST_MODE");
	int want = -1, bm, bw;
	char sb[128];
	const char *src = NULL;

	if (mode) {
		int i = pick(mode, modes);
		if (i < 0)
			return errmsg(err, errlen, EXIT_CONFIG,
				    "LOCUST_MODE=\"%s\" is not a mode: use standalone, master, "
				    "worker (or slave, the name before Locust 1.0)",
				    show(mode, sb, sizeof sb));
		want = i == 3 ? ROLE_WORKER : i;
		cfg->legacy_slave = i == 3;
		src = "LOCUST_MODE";
	}
	int rc = env_bool(envp, "LOCUST_MODE_MASTER", &bm, err, errlen);
	if (!rc)
		rc = env_bool(envp, "LOCUST_MODE_WORKER", &bw, err, errlen);
	if (rc)
		return rc;
	struct { int on; enum role r; const char *name; } srcs[] = {
		{bm == 1, ROLE_MASTER, "LOCUST_MODE_MASTER=true"},
		{bw == 1, ROLE_WORKER, "LOCUST_MODE_WORKER=true"},
		{f->master, ROLE_MASTER, "the engine option --master"},
		{f->worker, ROLE_WORKER, "the engine option --worker"},
	};
	for (size_t i = 0; i < sizeof srcs / sizeof srcs[0]; i++) {
		if (!srcs[i].on)
			continue;
		if (want >= 0 && (enum role)want != srcs[i].r)
			return errmsg(err, errlen, EXIT_CONFIG,
				    "%s contradicts %s (%s): choose one role", srcs[i].name,
				    src, config_role_name((enum role)want));
		want = (int)srcs[i].r;
		if (!src)
			src = srcs[i].name;
	}
	cfg->role = want < 0 ? ROLE_STANDALONE : (enum role)want;
	cfg->role_source = src ? src : "default";
	return 0;
}

static int parse_master(struct config *cfg, char *const envp[], const struct argfacts *f,
			char *err, size_t errlen)
{
	const char *host = NULL, *port = NULL, *h2 = NULL, *p2 = NULL;
	char sb[128];
	int rc = pick_one("LOCUST_MASTER_HOST", env(envp, "LOCUST_MASTER_HOST"),
			  "LOCUST_MASTER_NODE_HOST", env(envp, "LOCUST_MASTER_NODE_HOST"), &h2,
			  err, errlen);
	if (!rc)
		rc = pick_one("the engine option --master-host", f->master_host,
			      "LOCUST_MASTER_HOST", h2, &host, err, errlen);
	if (!rc)
		rc = pick_one("LOCUST_MASTER_PORT", env(envp, "LOCUST_MASTER_PORT"),
			      "LOCUST_MASTER_NODE_PORT", env(envp, "LOCUST_MASTER_NODE_PORT"),
			      &p2, err, errlen);
	if (!rc)
		rc = pick_one("the engine option --master-port", f->master_port,
			      "LOCUST_MASTER_PORT", p2, &port, err, errlen);
	if (rc)
		return rc;

	cfg->master_port = DEFAULT_MASTER_PORT;
	if (port && parse_port(port, &cfg->master_port) < 0)
		return errmsg(err, errlen, EXIT_CONFIG,
			    "%s=\"%s\" is not a port: use a number from 1 to 65535 (or "
			    "tcp://ADDRESS:PORT as Kubernetes sets it)",
			    f->master_port ? "--master-port" : env(envp, "LOCUST_MASTER_PORT")
					? "LOCUST_MASTER_PORT" : "LOCUST_MASTER_NODE_PORT",
			    show(port, sb, sizeof sb));
	if (cfg->role != ROLE_WORKER)
		return 0;
	if (!host)
		return errmsg(err, errlen, EXIT_CONFIG,
			    "the worker role needs the master's address: set LOCUST_MASTER_HOST "
			    "(or LOCUST_MASTER_NODE_HOST) to a DNS name such as "
			    "master.locust, an SRV name or an IP address");
	/* "[::1]" is accepted as an IPv6 literal in brackets */
	if (host[0] == '[' && host[strlen(host) - 1] == ']') {
		host = own(cfg, strndup(host + 1, strlen(host) - 2));
		if (!host)
			return errmsg(err, errlen, EXIT_SOFTWARE, "out of memory");
	}
	if (!valid_host(host))
		return errmsg(err, errlen, EXIT_CONFIG,
			    "%s=\"%s\" is not a host: use a DNS name (letters, digits, '-', '.', "
			    "'_'; at most 253 characters) or an IP address",
			    f->master_host ? "--master-host" : env(envp, "LOCUST_MASTER_HOST")
					? "LOCUST_MASTER_HOST" : "LOCUST_MASTER_NODE_HOST",
			    show(host, sb, sizeof sb));
	cfg->master_host = host;
	cfg->master_is_srv = host[0] == '_';
	return 0;
}

/* The setting the target came from, for messages: -H, the guide's TARGET_URL, or
 * Locust's own LOCUST_HOST. */
static const char *target_source(const struct argfacts *f, char *const envp[])
{
	return f->host ? "-H/--host" : env(envp, "TARGET_URL") ? "TARGET_URL" : "LOCUST_HOST";
}

static int parse_target(struct config *cfg, char *const envp[], const struct argfacts *f,
			char *err, size_t errlen)
{
	const char *t, *e = NULL;
	char sb[128];
	const char *tu = env(envp, "TARGET_URL");
	int rc = pick_one("TARGET_URL", tu, "LOCUST_HOST", env(envp, "LOCUST_HOST"), &e, err,
			  errlen);
	if (!rc)
		rc = pick_one("the engine option -H/--host", f->host,
			      tu ? "TARGET_URL" : "LOCUST_HOST", e, &t, err, errlen);
	if (rc)
		return rc;
	const char *name = target_source(f, envp);
	if (t && strncasecmp(t, "http://", 7) != 0 && strncasecmp(t, "https://", 8) != 0)
		return errmsg(err, errlen, EXIT_CONFIG,
			    "%s=\"%s\" is not a URL: use http://HOST[:PORT] or "
			    "https://HOST[:PORT], as in https://example.com",
			    name, show_safe(t, NULL, sb, sizeof sb));
	for (const char *p = t; p && *p; p++)
		if ((unsigned char)*p <= 0x20 || *p == 0x7f)
			return errmsg(err, errlen, EXIT_CONFIG,
				    "%s=\"%s\" holds blanks or control characters: a URL has none",
				    name, show_safe(t, NULL, sb, sizeof sb));
	cfg->target_url = t;
	return 0;
}

static int parse_engine_facts(struct config *cfg, char *const envp[], const struct argfacts *f,
			      char *err, size_t errlen)
{
	const char *wp, *file = NULL;
	char sb[128];
	long v;
	int b, rc;

	const char *lp = env(envp, "LOCUSTFILE_PATH"), *fe = NULL;
	rc = pick_one("LOCUSTFILE_PATH", lp, "LOCUST_LOCUSTFILE", env(envp, "LOCUST_LOCUSTFILE"),
		      &fe, err, errlen);
	if (!rc)
		rc = pick_one("the engine option -f/--locustfile", f->file,
			      lp ? "LOCUSTFILE_PATH" : "LOCUST_LOCUSTFILE", fe, &file, err, errlen);
	if (rc)
		return rc;
	cfg->locustfile = file ? file : DEFAULT_LOCUSTFILE;

	wp = f->web_port ? f->web_port : env(envp, "LOCUST_WEB_PORT");
	cfg->web_port = DEFAULT_WEB_PORT;
	if (wp) {
		if (parse_long(wp, 1, 65535, &v) < 0)
			return errmsg(err, errlen, EXIT_CONFIG,
				    "%s=\"%s\" is not a port: use a number from 1 to 65535",
				    f->web_port ? "--web-port" : "LOCUST_WEB_PORT",
				    show(wp, sb, sizeof sb));
		cfg->web_port = (int)v;
	}
	const char *bp = f->bind_port ? f->bind_port : env(envp, "LOCUST_MASTER_BIND_PORT");
	cfg->master_bind_port = DEFAULT_MASTER_PORT;
	if (bp) {
		if (parse_long(bp, 1, 65535, &v) < 0)
			return errmsg(err, errlen, EXIT_CONFIG,
				    "%s=\"%s\" is not a port: use a number from 1 to 65535",
				    f->bind_port ? "--master-bind-port" : "LOCUST_MASTER_BIND_PORT",
				    show(bp, sb, sizeof sb));
		cfg->master_bind_port = (int)v;
	}
	if ((rc = env_bool(envp, "LOCUST_HEADLESS", &b, err, errlen)))
		return rc;
	int headless = f->headless || b == 1;
	if ((rc = env_bool(envp, "LOCUST_AUTOSTART", &b, err, errlen)))
		return rc;
	int autostart = f->autostart || b == 1;
	cfg->headless = headless && !autostart;
	cfg->web_tls = f->tls || env(envp, "LOCUST_TLS_CERT") != NULL;
	cfg->web_auth = f->web_auth ? f->web_auth : env(envp, "LOCUST_WEB_AUTH");
	cfg->web_auth_arg = f->web_auth != NULL;
	if ((rc = env_bool(envp, "LOCUST_WEB_LOGIN", &b, err, errlen)))
		return rc;
	cfg->web_login = f->web_login || b == 1;
	cfg->web_host = f->web_host ? f->web_host : env(envp, "LOCUST_WEB_HOST");
	cfg->master_bind_host =
		f->bind_host ? f->bind_host : env(envp, "LOCUST_MASTER_BIND_HOST");
	return 0;
}

/* --processes N (Locust 2.19+): the engine forks N workers itself, so a worker task runs
 * one engine. Refused with the master role (Locust refuses --master with it: the engine
 * becomes the master of its own local workers) and with LOCUST_ECS_ENGINES above 1. */
static int parse_processes(struct config *cfg, char *const envp[], const struct argfacts *f,
			   char *err, size_t errlen)
{
	const char *v = NULL;
	char sb[128];
	long n;
	int rc = pick_one("the engine option --processes", f->processes, "LOCUST_PROCESSES",
			  env(envp, "LOCUST_PROCESSES"), &v, err, errlen);
	if (rc || !v)
		return rc;
	cfg->processes_src = f->processes ? "--processes" : "LOCUST_PROCESSES";
	if (parse_long(v, -1, LE_ENGINES_MAX, &n) < 0)
		return errmsg(err, errlen, EXIT_CONFIG,
			    "%s=\"%s\" is not accepted: use a number of worker processes from 1 "
			    "to %d, or -1 (one per vCPU of the task)",
			    cfg->processes_src, show(v, sb, sizeof sb), LE_ENGINES_MAX);
	cfg->processes = (int)n; /* 0 is Locust's "not set" */
	if (n && cfg->role == ROLE_MASTER)
		return errmsg(err, errlen, EXIT_CONFIG,
			    "%s=%ld with the master role: Locust refuses --master with "
			    "--processes, which makes the engine the master of its own local "
			    "workers: leave the role standalone for that, or use --processes "
			    "with LOCUST_MODE=worker", cfg->processes_src, n);
	if (n && cfg->role == ROLE_WORKER && cfg->engines > 1)
		return errmsg(err, errlen, EXIT_CONFIG,
			    "LOCUST_ECS_ENGINES=%d and %s=%ld both set how many Locust workers "
			    "this task runs: set one of them (LOCUST_ECS_ENGINES runs engines "
			    "supervised one by one; --processes lets one engine fork them)",
			    cfg->engines, cfg->processes_src, n);
	return 0;
}

/* The engine's Locust version when it cannot be found beside the engine, and the login
 * plugin's path (it joins a comma-separated -f list: absolute, no comma). */
static int parse_engine_knobs(struct config *cfg, char *const envp[], char *err,
			      size_t errlen)
{
	char sb[128];
	const char *s = env(envp, "LOCUST_ECS_LOCUST_VERSION");
	if (s && engine_version_parse(s, &cfg->lv) < 0)
		return errmsg(err, errlen, EXIT_CONFIG,
			    "LOCUST_ECS_LOCUST_VERSION=\"%s\" is not a version: use the version "
			    "of the engine's Locust, as in 2.46.7", show(s, sb, sizeof sb));
	if (s)
		snprintf(cfg->lv.from, sizeof cfg->lv.from, "LOCUST_ECS_LOCUST_VERSION");
	s = env(envp, "LOCUST_ECS_WEB_AUTH_PLUGIN");
	cfg->web_plugin_path = s ? s : LE_DATADIR "/" ENGINE_PLUGIN_FILE;
	if (cfg->web_plugin_path[0] != '/' || strchr(cfg->web_plugin_path, ','))
		return errmsg(err, errlen, EXIT_CONFIG,
			    "LOCUST_ECS_WEB_AUTH_PLUGIN=\"%s\" is not accepted: use the absolute "
			    "path of %s (no comma)", show(cfg->web_plugin_path, sb, sizeof sb),
			    ENGINE_PLUGIN_FILE);
	return 0;
}

/* A decimal from 0 to 1 ("0.05"); -1 in *out when unset. */
static int knob_ratio(char *const envp[], const char *name, double *out, char *err,
		      size_t errlen)
{
	const char *s = env(envp, name);
	char sb[128], *end;
	*out = -1;
	if (!s)
		return 0;
	errno = 0;
	double d = strtod(s, &end);
	if (errno || *end || end == s || !(d >= 0.0 && d <= 1.0) ||
	    !(isdigit((unsigned char)*s) || *s == '.'))
		return errmsg(err, errlen, EXIT_CONFIG,
			    "%s=\"%s\" is not accepted: use a decimal from 0 to 1, as in 0.05",
			    name, show(s, sb, sizeof sb));
	*out = d;
	return 0;
}

static int parse_knobs(struct config *cfg, char *const envp[], char *err, size_t errlen)
{
	static const char *const fmts[] = {"auto", "json", "text", NULL};
	static const char *const lvls[] = {"debug", "info", "warn", "error", NULL};
	static const char *const probes[] = {"zmtp", "tcp", NULL};
	static const char *const onoff[] = {"off", "on", NULL};
	const long day = 24L * 3600 * 1000;
	int v, rc;
	char sb[128];
	const char *s;

	if ((rc = knob_duration(envp, "LOCUST_ECS_STOP_GRACE", 25000, 0, 3600000,
				&cfg->stop_grace_ms, err, errlen)) ||
	    (rc = knob_duration(envp, "LOCUST_ECS_RESTART_GRACE", 5000, 0, 3600000,
				&cfg->restart_grace_ms, err, errlen)) ||
	    (rc = knob_duration(envp, "LOCUST_ECS_MASTER_WAIT", 600000, 0, 7 * day,
				&cfg->master_wait_ms, err, errlen)) ||
	    (rc = knob_duration(envp, "LOCUST_ECS_PROBE_TIMEOUT", 1000, 10, 60000,
				&cfg->probe_timeout_ms, err, errlen)) ||
	    (rc = knob_duration(envp, "LOCUST_ECS_RECHECK_INTERVAL", 2000, 100, 3600000,
				&cfg->recheck_ms, err, errlen)) ||
	    (rc = knob_duration(envp, "LOCUST_ECS_REJOIN_WINDOW", 60000, 0, day,
				&cfg->rejoin_window_ms, err, errlen)) ||
	    (rc = knob_duration(envp, "LOCUST_ECS_HEALTH_TIMEOUT", 4000, 100, 60000,
				&cfg->health_timeout_ms, err, errlen)) ||
	    (rc = knob_duration(envp, "LOCUST_ECS_HEALTH_GRACE", 10000, 0, 3600000,
				&cfg->health_grace_ms, err, errlen)))
		return rc;
	if ((rc = env_bool(envp, "LOCUST_ECS_CLEAN_STOP", &v, err, errlen)))
		return rc;
	cfg->clean_stop = v == 1;
	if ((rc = knob_choice(envp, "LOCUST_ECS_LOG_FORMAT", fmts, "auto, json or text",
			      LOGFMT_AUTO, &v, err, errlen)))
		return rc;
	cfg->log_format = (enum log_format)v;
	if ((rc = knob_choice(envp, "LOCUST_ECS_LOG_LEVEL", lvls, "debug, info, warn or error",
			      LOGLVL_INFO, &v, err, errlen)))
		return rc;
	cfg->log_level = (enum log_level)v;
	if ((rc = knob_choice(envp, "LOCUST_ECS_PROBE", probes,
			      "zmtp (a ZMQ handshake) or tcp (a plain connect)", PROBE_ZMTP, &v,
			      err, errlen)))
		return rc;
	cfg->probe = (enum probe_kind)v;
	if ((rc = knob_choice(envp, "LOCUST_ECS_METADATA", onoff, "on or off", 1, &cfg->metadata,
			      err, errlen)))
		return rc;

	s = env(envp, "LOCUST_ECS_ENGINES");
	cfg->engines = 0;
	if (s && strcasecmp(s, "auto") != 0) {
		long n;
		if (parse_long(s, 1, LE_ENGINES_MAX, &n) < 0)
			return errmsg(err, errlen, EXIT_CONFIG,
				    "LOCUST_ECS_ENGINES=\"%s\" is not accepted: use auto (one per "
				    "vCPU of the task) or a number from 1 to %d",
				    show(s, sb, sizeof sb), LE_ENGINES_MAX);
		cfg->engines = (int)n;
	}
	s = env(envp, "LOCUST_ECS_DNS_SERVERS");
	if (s && !valid_dns_servers(s))
		return errmsg(err, errlen, EXIT_CONFIG,
			    "LOCUST_ECS_DNS_SERVERS=\"%s\" is not accepted: use a comma-separated "
			    "list of up to %d IP[:PORT] (IPv6 as [ADDR]:PORT), as in "
			    "127.0.0.1:5353,10.0.0.2",
			    show(s, sb, sizeof sb), CONFIG_MAX_DNS);
	cfg->dns_servers = s;

	s = env(envp, "LOCUST_ECS_STATE_DIR");
	cfg->state_dir = s ? s : "/tmp/locust-ecs";
	if (cfg->state_dir[0] != '/' || strlen(cfg->state_dir) > 200)
		return errmsg(err, errlen, EXIT_CONFIG,
			    "LOCUST_ECS_STATE_DIR=\"%s\" is not accepted: use an absolute "
			    "directory path of at most 200 characters",
			    show(cfg->state_dir, sb, sizeof sb));

	s = env(envp, "LOCUST_ECS_HEALTH_MIN_WORKERS");
	cfg->health_min_workers = -1;
	if (s) {
		long n;
		if (parse_long(s, 0, 100000, &n) < 0)
			return errmsg(err, errlen, EXIT_CONFIG,
				    "LOCUST_ECS_HEALTH_MIN_WORKERS=\"%s\" is not accepted: use a "
				    "number from 0 to 100000", show(s, sb, sizeof sb));
		cfg->health_min_workers = (int)n;
	}
	return knob_ratio(envp, "LOCUST_ECS_HEALTH_MAX_FAIL_RATIO", &cfg->health_max_fail_ratio,
			  err, errlen);
}

/* A CloudWatch namespace (its PutMetricData rules): 1-255 of letters, digits and
 * . - _ / # : and blanks, not starting with "AWS/" (AWS's own). */
static int valid_namespace(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > 255 || strncmp(s, "AWS/", 4) == 0)
		return 0;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && !strchr(".-_/#: ", *s))
			return 0;
	return 1;
}

static int utf8_ok(const char *s);

/* A CloudWatch dimension value of ours: 1-255 bytes of UTF-8, something besides blanks,
 * no control characters, quotes or backslashes (kept plain in logs and queries). */
static int valid_test_name(const char *s)
{
	int seen = 0;
	if (strlen(s) > 255 || !utf8_ok(s))
		return 0;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p < 0x20 || *p == 0x7f || *p == '"' || *p == '\\')
			return 0;
		seen |= *p != ' ';
	}
	return seen;
}

/* Live metrics (CloudWatch EMF) and the guardrail. */
static int parse_metric_knobs(struct config *cfg, char *const envp[], char *err, size_t errlen)
{
	static const char *const onoff[] = {"off", "on", NULL};
	char sb[128];
	int rc;
	if ((rc = knob_choice(envp, "LOCUST_ECS_METRICS", onoff, "on or off", 0, &cfg->metrics,
			      err, errlen)) ||
	    (rc = knob_duration(envp, "LOCUST_ECS_METRICS_INTERVAL", 60000, 1000, 3600000,
				&cfg->metrics_interval_ms, err, errlen)) ||
	    (rc = knob_duration(envp, "LOCUST_ECS_GUARD_P95", 0, 0, 3600000, &cfg->guard_p95_ms,
				err, errlen)) ||
	    (rc = knob_duration(envp, "LOCUST_ECS_GUARD_FOR", 30000, 0, 86400000,
				&cfg->guard_for_ms, err, errlen)) ||
	    (rc = knob_ratio(envp, "LOCUST_ECS_GUARD_FAIL_RATIO", &cfg->guard_fail_ratio, err,
			     errlen)))
		return rc;
	const char *per = env(envp, "LOCUST_ECS_METRICS_PER_REQUEST");
	long n = 0;
	if (per && parse_long(per, 0, WEBSTATS_TOP, &n) < 0)
		return errmsg(err, errlen, EXIT_CONFIG,
			    "LOCUST_ECS_METRICS_PER_REQUEST=\"%s\" is not accepted: use a number "
			    "from 0 to %d (the busiest request names, each a billed metric set)",
			    show(per, sb, sizeof sb), WEBSTATS_TOP);
	cfg->metrics_per_request = (int)n;
	const char *ns = env(envp, "LOCUST_ECS_METRICS_NAMESPACE");
	cfg->metrics_namespace = ns ? ns : "Locust";
	if (!valid_namespace(cfg->metrics_namespace))
		return errmsg(err, errlen, EXIT_CONFIG,
			    "LOCUST_ECS_METRICS_NAMESPACE=\"%s\" is not accepted: use 1-255 "
			    "letters, digits, blanks and . - _ / # :, not starting with AWS/",
			    show(cfg->metrics_namespace, sb, sizeof sb));
	cfg->test_name = env(envp, "LOCUST_ECS_TEST_NAME");
	if (cfg->test_name && !valid_test_name(cfg->test_name))
		return errmsg(err, errlen, EXIT_CONFIG,
			    "LOCUST_ECS_TEST_NAME=\"%s\" is not accepted: use 1-255 characters "
			    "of UTF-8 text, not only blanks, without quotes, backslashes or "
			    "control characters", show(cfg->test_name, sb, sizeof sb));
	return 0;
}

/* 1 when s is UTF-8 as JSON takes it: no stray or overlong bytes, no surrogates. */
static int utf8_ok(const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p;) {
		unsigned c = *p++;
		int n = c < 0x80 ? 0 : c >= 0xc2 && c <= 0xdf ? 1 : (c & 0xf0) == 0xe0 ? 2
			: c >= 0xf0 && c <= 0xf4 ? 3 : -1;
		if (n <= 0) {
			if (n < 0)
				return 0;
			continue;
		}
		unsigned cp = c & (0x7fu >> (n + 1));
		for (int i = 0; i < n; i++, p++) {
			if ((*p & 0xc0) != 0x80)
				return 0;
			cp = cp << 6 | (*p & 0x3fu);
		}
		if ((n == 2 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
		    (n == 3 && (cp < 0x10000 || cp > 0x10ffff)))
			return 0;
	}
	return 1;
}

/* The setting the locustfile came from, for messages. */
static const char *locustfile_source(const struct config *cfg, char *const envp[])
{
	const char *v = env(envp, "LOCUSTFILE_PATH");
	if (v && strcmp(v, cfg->locustfile) == 0)
		return "LOCUSTFILE_PATH";
	v = env(envp, "LOCUST_LOCUSTFILE");
	if (v && strcmp(v, cfg->locustfile) == 0)
		return "LOCUST_LOCUSTFILE";
	return strcmp(cfg->locustfile, DEFAULT_LOCUSTFILE) == 0 ? "LOCUSTFILE_PATH"
								 : "-f/--locustfile";
}

/* Sizes: bytes, or a number with k, m or g (1024-based). 0 or -1. */
static int parse_size(const char *v, unsigned long long *out)
{
	char *end;
	int shift = 0;
	if (!isdigit((unsigned char)*v))
		return -1;
	errno = 0;
	unsigned long long n = strtoull(v, &end, 10);
	if (*end && !end[1] && strchr("kKmMgG", *end)) {
		shift = *end == 'k' || *end == 'K' ? 10 : *end == 'm' || *end == 'M' ? 20 : 30;
		end++;
	}
	if (errno || *end || n > (ULLONG_MAX >> shift))
		return -1;
	*out = n << shift;
	return 0;
}

/* An s3:// setting: a prefix (object 0) or an object (1). */
static int s3_value(const char *name, const char *v, int object, char *err, size_t errlen)
{
	struct s3_loc loc;
	char why[160], sb[128];
	if (s3_parse_url(v, &loc, why, sizeof why) < 0)
		return errmsg(err, errlen, EXIT_CONFIG, "%s=\"%s\" is not accepted: %s; use "
			    "s3://BUCKET/%s", name, show(v, sb, sizeof sb), why,
			    object ? "KEY" : "PREFIX");
	if (object && (!loc.key[0] || v[strlen(v) - 1] == '/'))
		return errmsg(err, errlen, EXIT_CONFIG, "%s=\"%s\" names no object: use "
			    "s3://BUCKET/KEY, the key of a .py, .tar.gz or .zip file", name,
			    show(v, sb, sizeof sb));
	return 0;
}

/* SCHEME://... for a scheme the supervisor does not fetch (http and https are Locust's
 * own since 2.27). */
static int other_scheme(const char *v)
{
	const char *p = v;
	if (!isalpha((unsigned char)*p))
		return 0;
	while (isalnum((unsigned char)*p) || *p == '+' || *p == '-' || *p == '.')
		p++;
	return !strncmp(p, "://", 3) && strncmp(v, "s3://", 5) != 0 &&
	       strncasecmp(v, "http://", 7) != 0 && strncasecmp(v, "https://", 8) != 0;
}

static int parse_s3_code(struct config *cfg, char *const envp[], char *err, size_t errlen)
{
	char sb[128];
	const char *lf = cfg->locustfile, *s;
	int rc;
	if (!strncmp(lf, "s3://", 5)) {
		if ((rc = s3_value(locustfile_source(cfg, envp), lf, 1, err, errlen)))
			return rc;
		cfg->code_url = lf;
	} else if (other_scheme(lf)) {
		return errmsg(err, errlen, EXIT_CONFIG, "%s=\"%s\": the supervisor fetches test "
			    "code from s3://BUCKET/KEY only; use that or a path in the image",
			    locustfile_source(cfg, envp), show(lf, sb, sizeof sb));
	}
	cfg->bundle_max = DEFAULT_BUNDLE_MAX;
	s = env(envp, "LOCUST_ECS_BUNDLE_MAX");
	if (s && (parse_size(s, &cfg->bundle_max) < 0 || cfg->bundle_max < 1024 ||
		  cfg->bundle_max > (1ULL << 30)))
		return errmsg(err, errlen, EXIT_CONFIG, "LOCUST_ECS_BUNDLE_MAX=\"%s\" is not "
			    "accepted: use a size from 1k to 1g, in bytes or with k, m or g "
			    "(1024-based), as in 16m", show(s, sb, sizeof sb));
	s = env(envp, "LOCUST_ECS_BUNDLE_LOCUSTFILE");
	if (s && !bundle_safe_relpath(s))
		return errmsg(err, errlen, EXIT_CONFIG, "LOCUST_ECS_BUNDLE_LOCUSTFILE=\"%s\" is not "
			    "accepted: use a relative path inside the bundle, without \"..\", "
			    "as in tests/locustfile.py", show(s, sb, sizeof sb));
	cfg->bundle_locustfile = s;
	return 0;
}

/* S3 for results (LOCUST_ECS_RESULTS) and test code (an s3:// locustfile), and what
 * both need: the region, an endpoint override, credentials that can be used. */
static int parse_s3(struct config *cfg, char *const envp[], const struct argfacts *f,
		    char *err, size_t errlen)
{
	static const char *const regions[] = {"LOCUST_ECS_S3_REGION", "AWS_REGION",
					      "AWS_DEFAULT_REGION"};
	char sb[128], why[160];
	const char *s;
	int rc, b;
	if ((rc = parse_s3_code(cfg, envp, err, errlen)))
		return rc;
	s = env(envp, "LOCUST_ECS_RESULTS");
	if (s && (rc = s3_value("LOCUST_ECS_RESULTS", s, 0, err, errlen)))
		return rc;
	cfg->results_url = s;
	s = env(envp, "LOCUST_ECS_TEST_ID");
	if (s && !summary_valid_test_id(s))
		return errmsg(err, errlen, EXIT_CONFIG, "LOCUST_ECS_TEST_ID=\"%s\" is not accepted: "
			    "use 1 to 128 letters, digits, '.', '_' or '-' (not \".\" or \"..\")",
			    show(s, sb, sizeof sb));
	cfg->test_id = s;
	if ((rc = env_bool(envp, "LOCUST_ECS_RESULTS_REQUIRED", &b, err, errlen)))
		return rc;
	cfg->results_required = b == 1;
	s = env(envp, "LOCUST_ECS_S3_ENDPOINT");
	if (s && s3_check_endpoint(s, why, sizeof why) < 0)
		return errmsg(err, errlen, EXIT_CONFIG, "LOCUST_ECS_S3_ENDPOINT=\"%s\" is not "
			    "accepted: %s", show(s, sb, sizeof sb), why);
	cfg->s3_endpoint = s;
	for (size_t i = 0; i < sizeof regions / sizeof regions[0] && !cfg->s3_region; i++) {
		if (!(s = env(envp, regions[i])))
			continue;
		if (!s3_valid_region(s))
			return errmsg(err, errlen, EXIT_CONFIG, "%s=\"%s\" is not a region: use a "
				    "name such as eu-west-1", regions[i], show(s, sb, sizeof sb));
		cfg->s3_region = s;
		cfg->s3_region_from = regions[i];
	}
	cfg->user_csv = f->csv ? f->csv : env(envp, "LOCUST_CSV");
	cfg->user_html = f->html ? f->html : env(envp, "LOCUST_HTML");
	cfg->user_json_file = f->json_file;
	if (cfg->results_url || cfg->code_url) {
		static struct creds_source src; /* large: not on the stack */
		rc = creds_source(envp, &src, err, errlen) < 0 ? EXIT_CONFIG : 0;
		explicit_bzero(&src, sizeof src);
		return rc;
	}
	return 0;
}

/* Values that go into JSON (--print-config, the state document) must be UTF-8, as every
 * value of an ECS task definition is: JSON encoders refuse anything else. */
static int check_utf8(const struct config *cfg, char *const envp[], const struct argfacts *f,
		      char *err, size_t errlen)
{
	const struct { const char *name, *v; } vals[] = {
		{target_source(f, envp), cfg->target_url},
		{locustfile_source(cfg, envp), cfg->locustfile},
		{"LOCUST_ECS_ENGINE", cfg->engine},
		{"LOCUST_ECS_STATE_DIR", cfg->state_dir},
		{"LOCUST_ECS_RESULTS", cfg->results_url},
		{"LOCUST_ECS_BUNDLE_LOCUSTFILE", cfg->bundle_locustfile},
		{"LOCUST_ECS_WEB_AUTH_PLUGIN", cfg->web_plugin_path},
		{f->web_host ? "--web-host" : "LOCUST_WEB_HOST", cfg->web_host},
		{f->bind_host ? "--master-bind-host" : "LOCUST_MASTER_BIND_HOST",
		 cfg->master_bind_host},
	};
	char sb[128];
	for (size_t i = 0; i < sizeof vals / sizeof vals[0]; i++)
		if (vals[i].v && !utf8_ok(vals[i].v))
			return errmsg(err, errlen, EXIT_CONFIG,
				    "%s=\"%s\" is not valid UTF-8: use UTF-8 text", vals[i].name,
				    show_safe(vals[i].v, NULL, sb, sizeof sb));
	/* the engine's words: LOCUST_OPTS (a setting, 78) and the command (usage, 64) */
	const struct { char **w; int n, code; const char *before, *after; } lists[] = {
		{cfg->opts, cfg->nopts, EXIT_CONFIG, "LOCUST_OPTS holds the word ",
		 ", which is not valid UTF-8"},
		{cfg->extra, cfg->nextra, EXIT_USAGE, "the command's argument ",
		 " is not valid UTF-8"},
	};
	for (size_t l = 0; l < sizeof lists / sizeof lists[0]; l++)
		for (int i = 0; i < lists[l].n; i++)
			if (!utf8_ok(lists[l].w[i]))
				return errmsg(err, errlen, lists[l].code, "%s\"%s\"%s",
					    lists[l].before,
					    show_safe(lists[l].w[i], i ? lists[l].w[i - 1] : NULL,
						      sb, sizeof sb),
					    lists[l].after);
	return 0;
}

/* Leading options of the supervisor itself; the rest belongs to the engine. */
static void parse_argv(struct config *cfg, int argc, char *const argv[], int *first)
{
	int i = 1;
	cfg->action = ACT_RUN;
	for (; i < argc; i++) {
		if (strcmp(argv[i], "--help") == 0)
			cfg->action = ACT_HELP;
		else if (strcmp(argv[i], "--version") == 0)
			cfg->action = ACT_VERSION;
		else if (strcmp(argv[i], "--print-config") == 0)
			cfg->action = ACT_PRINT_CONFIG;
		else if (strcmp(argv[i], "--") == 0) {
			i++;
			break;
		} else
			break;
	}
	/* "locust -f x.py" as the command, a habit from images whose entrypoint was locust */
	if (i < argc) {
		const char *slash = strrchr(argv[i], '/');
		if (strcmp(slash ? slash + 1 : argv[i], "locust") == 0)
			i++;
	}
	*first = i;
}

static char **dup_args(char *const *src, int n)
{
	char **a = calloc((size_t)n + 1, sizeof *a);
	if (!a)
		return NULL;
	for (int i = 0; i < n; i++)
		if (!(a[i] = strdup(src[i]))) {
			words_free(a);
			return NULL;
		}
	return a;
}

int config_parse(struct config *cfg, char *const envp[], int argc, char *const argv[],
		 char *err, size_t errlen)
{
	struct argfacts f = {0};
	const char *s;
	int first, rc;
	char why[128];

	memset(cfg, 0, sizeof *cfg);
	err[0] = '\0';
	parse_argv(cfg, argc, argv, &first);
	if (cfg->action == ACT_HELP || cfg->action == ACT_VERSION)
		return 0;
	cfg->nextra = argc - first;
	if (!(cfg->extra = dup_args(argv + first, cfg->nextra)))
		return errmsg(err, errlen, EXIT_SOFTWARE, "out of memory");
	s = config_getenv(envp, "LOCUST_OPTS");
	if (words_split(s ? s : "", &cfg->opts, &cfg->nopts, why, sizeof why) < 0)
		return errmsg(err, errlen, EXIT_CONFIG,
			    "LOCUST_OPTS %s: quote words with '...' or \"...\" in pairs, escape "
			    "a single quote character as \\'", why);
	if (!(cfg->spent = calloc((size_t)(cfg->nopts + cfg->nextra) + 1, sizeof *cfg->spent)))
		return errmsg(err, errlen, EXIT_SOFTWARE, "out of memory");
	if ((rc = scan_args(cfg, cfg->opts, &cfg->nopts, &f, "LOCUST_OPTS", err, errlen)) ||
	    (rc = scan_args(cfg, cfg->extra, &cfg->nextra, &f, "the command", err, errlen)))
		return rc;
	if ((rc = parse_role(cfg, envp, &f, err, errlen)) ||
	    (rc = parse_master(cfg, envp, &f, err, errlen)) ||
	    (rc = parse_target(cfg, envp, &f, err, errlen)) ||
	    (rc = parse_engine_facts(cfg, envp, &f, err, errlen)) ||
	    (rc = parse_knobs(cfg, envp, err, errlen)) ||
	    (rc = parse_metric_knobs(cfg, envp, err, errlen)) ||
	    (rc = parse_processes(cfg, envp, &f, err, errlen)) ||
	    (rc = parse_engine_knobs(cfg, envp, err, errlen)) ||
	    (rc = parse_s3(cfg, envp, &f, err, errlen)))
		return rc;
	s = env(envp, "LOCUST_ECS_ENGINE");
	cfg->engine = s ? s : "locust";
	if (cfg->role != ROLE_WORKER || cfg->processes)
		cfg->engines = 1;
	return check_utf8(cfg, envp, &f, err, errlen);
}

int config_find_program(const char *name, const char *path, char *out, size_t outlen,
			char *err, size_t errlen)
{
	int saw_noexec = 0;
	if (strchr(name, '/')) {
		snprintf(out, outlen, "%s", name);
		if (access(name, X_OK) == 0) {
			struct stat st;
			if (stat(name, &st) == 0 && S_ISDIR(st.st_mode))
				return errmsg(err, errlen, EXIT_NOEXEC, "is a directory");
			return 0;
		}
		return errmsg(err, errlen, errno == ENOENT || errno == ENOTDIR ? EXIT_NOTFOUND
									  : EXIT_NOEXEC,
			    "%s", strerror(errno));
	}
	if (!path || !*path)
		path = "/usr/local/bin:/usr/bin:/bin";
	for (const char *p = path; p;) {
		const char *colon = strchr(p, ':');
		size_t dl = colon ? (size_t)(colon - p) : strlen(p);
		struct stat st;
		snprintf(out, outlen, "%.*s%s%s", (int)dl, p, dl ? "/" : "", name);
		if (stat(out, &st) == 0 && S_ISREG(st.st_mode)) {
			if (access(out, X_OK) == 0)
				return 0;
			saw_noexec = 1;
		}
		p = colon ? colon + 1 : NULL;
	}
	return errmsg(err, errlen, saw_noexec ? EXIT_NOEXEC : EXIT_NOTFOUND, "%s",
		    saw_noexec ? "found but not executable" : "not found in PATH");
}

static int is_url(const char *p, size_t n)
{
	return (n > 7 && strncasecmp(p, "http://", 7) == 0) ||
	       (n > 8 && strncasecmp(p, "https://", 8) == 0);
}

/* A name without '/' that Locust before 2.27 looks for in the working directory and each
 * of its parents, as given or with .py added. */
static int found_upwards(const char *name, size_t n)
{
	char dir[4096], path[4096 + 256];
	struct stat st;
	if (n > 200 || !getcwd(dir, sizeof dir))
		return 0;
	for (;;) {
		for (int py = 0; py < 2; py++) {
			snprintf(path, sizeof path, "%s/%.*s%s", strcmp(dir, "/") ? dir : "",
				 (int)n, name, py ? ".py" : "");
			if (stat(path, &st) == 0)
				return 1;
		}
		char *slash = strrchr(dir, '/');
		if (!slash || !strcmp(dir, "/"))
			return 0;
		slash[slash == dir] = '\0'; /* "/a" -> "/" */
	}
}

/* One element of the -f list as the engine's Locust takes it: 0, or a reason in why. */
static int check_element(const struct config *cfg, const char *p, size_t n, int single,
			 char *why, size_t whylen)
{
	char path[4096];
	struct stat st;
	int modern = engine_version_at_least(&cfg->lv, 2, 27, 0) == 1;
	int urls = engine_version_at_least(&cfg->lv, 2, 23, 0) != 0; /* unknown: maybe */
	if (is_url(p, n)) {
		if (urls)
			return 0;
		snprintf(why, whylen, "a URL as locustfile needs Locust 2.23 or later (this "
			 "engine is %s)", cfg->lv.text);
		return -1;
	}
	snprintf(path, sizeof path, "%.*s", (int)n, p);
	if (stat(path, &st) == 0) {
		if (!modern || S_ISDIR(st.st_mode) || (n > 3 && !strcmp(path + n - 3, ".py")))
			return 0;
		snprintf(why, whylen, "Locust %s takes .py files, directories and URLs only",
			 cfg->lv.text);
		return -1;
	}
	snprintf(path, sizeof path, "%.*s.py", (int)n, p);
	int with_py = stat(path, &st) == 0;
	if (!modern && (with_py || (single && !memchr(p, '/', n) && found_upwards(p, n))))
		return 0; /* before 2.27: "locustfile" means locustfile.py, parents searched */
	snprintf(why, whylen, "it does not exist%s", with_py ? ": Locust 2.27 and later add "
		 "no .py, write the file's whole name" : "");
	return -1;
}

/* The locustfile as the engine's version takes it (cfg->lv; unknown: as any 2.x would):
 * a comma-separated list of files, directories, URLs (2.23+), or "-" for a worker that
 * takes it from the master (2.23+); before 2.27 also a name to which .py is added. */
static int check_locustfile(const struct config *cfg, char *const envp[], char *err,
			    size_t errlen)
{
	char why[200], sb[128], sb2[128], path[4096];
	const char *lf = cfg->locustfile;
	if (strcmp(lf, "-") == 0) {
		if (cfg->role == ROLE_WORKER && engine_version_at_least(&cfg->lv, 2, 23, 0) != 0)
			return 0;
		return errmsg(err, errlen, EXIT_CONFIG,
			    "%s=\"-\" (the locustfile from the master) is %s", locustfile_source(cfg, envp),
			    cfg->role != ROLE_WORKER ? "for the worker role only"
			    : "for Locust 2.23 and later: this engine is older");
	}
	int single = strchr(lf, ',') == NULL;
	for (const char *p = lf; p;) {
		const char *comma = strchr(p, ',');
		size_t n = comma ? (size_t)(comma - p) : strlen(p);
		while (n && (*p == ' ' || *p == '\t')) { /* Locust strips each element */
			p++;
			n--;
		}
		while (n && (p[n - 1] == ' ' || p[n - 1] == '\t'))
			n--;
		if (!n || check_element(cfg, p, n, single, why, sizeof why) < 0) {
			snprintf(path, sizeof path, "%.*s", (int)n, p);
			return errmsg(err, errlen, EXIT_CONFIG,
				    "%s=\"%s\": the locustfile \"%s\" cannot be used: %s; set "
				    "LOCUSTFILE_PATH (or -f) to files, directories or URLs the "
				    "engine can read, default %s",
				    locustfile_source(cfg, envp), show(lf, sb, sizeof sb),
				    show(path, sb2, sizeof sb2), n ? why : "an empty name",
				    DEFAULT_LOCUSTFILE);
		}
		p = comma ? comma + 1 : NULL;
	}
	return 0;
}

int config_check_files(const struct config *cfg, char *const envp[], char *err, size_t errlen)
{
	char path[4096], why[256], sb[128];
	int rc = config_find_program(cfg->engine, config_getenv(envp, "PATH"), path, sizeof path,
				     why, sizeof why);
	if (rc)
		return errmsg(err, errlen, rc,
			    "the engine \"%s\" (LOCUST_ECS_ENGINE, default locust) cannot be "
			    "run: %s; install Locust or set LOCUST_ECS_ENGINE to its path",
			    show(cfg->engine, sb, sizeof sb), why);
	/* a locustfile in S3 is fetched at start: nothing to check here */
	return cfg->code_url ? 0 : check_locustfile(cfg, envp, err, errlen);
}

char **config_engine_argv(const struct config *cfg, const char *master_addr, int master_port)
{
	int nrep = 0;
	while (cfg->report_args && cfg->report_args[nrep])
		nrep++;
	int max = cfg->nopts + cfg->nextra + nrep + 16, n = 0;
	char **a = calloc((size_t)max, sizeof *a);
	char port[16];
	if (!a)
		return NULL;
#define ADD(s) do { if (!(a[n++] = strdup(s))) goto nomem; } while (0)
	ADD(cfg->engine);
	ADD("-f");
	if (cfg->web_plugin) {
		/* the plugin joins the user's list; the locustfile itself is left as it is */
		size_t len = strlen(cfg->locustfile) + strlen(cfg->web_plugin_path) + 2;
		if (!(a[n] = malloc(len)))
			goto nomem;
		snprintf(a[n++], len, "%s,%s", cfg->locustfile, cfg->web_plugin_path);
		ADD("--web-login");
	} else {
		ADD(cfg->locustfile);
	}
	if (cfg->target_url) {
		ADD("-H");
		ADD(cfg->target_url);
	}
	if (cfg->processes) {
		snprintf(port, sizeof port, "%d", cfg->processes);
		ADD("--processes");
		ADD(port);
	}
	if (cfg->role == ROLE_MASTER)
		ADD("--master");
	if (cfg->role == ROLE_WORKER) {
		ADD("--worker");
		if (master_addr) {
			snprintf(port, sizeof port, "%d", master_port);
			ADD("--master-host");
			ADD(master_addr);
			ADD("--master-port");
			ADD(port);
		}
	}
	for (int i = 0; i < nrep; i++)
		ADD(cfg->report_args[i]);
	for (int i = 0; i < cfg->nopts; i++)
		ADD(cfg->opts[i]);
	for (int i = 0; i < cfg->nextra; i++)
		ADD(cfg->extra[i]);
#undef ADD
	return a;
nomem:
	words_free(a);
	return NULL;
}

void config_free_argv(char **argv)
{
	words_free(argv);
}

void config_free(struct config *cfg)
{
	words_free(cfg->opts);
	words_free(cfg->extra);
	words_free(cfg->spent);
	for (int i = 0; i < cfg->nowned; i++)
		free(cfg->owned[i]);
	memset(cfg, 0, sizeof *cfg);
}

char *config_redact(const char *word, const char *prev)
{
	if (prev && strcmp(prev, "--web-auth") == 0)
		return strdup("***");
	if (strncmp(word, "--web-auth=", 11) == 0)
		return strdup("--web-auth=***");
	/* the user information ends at the authority's last '@' (a password may hold one);
	 * the authority ends at the first '/', '?' or '#' */
	const char *scheme = strstr(word, "://"), *at = NULL;
	if (scheme) {
		size_t auth = strcspn(scheme + 3, "/?#");
		for (size_t i = 0; i < auth; i++)
			if (scheme[3 + i] == '@')
				at = scheme + 3 + i;
	}
	if (!at)
		return strdup(word);
	size_t head = (size_t)(scheme + 3 - word), len = head + 3 + strlen(at) + 1;
	char *out = head <= INT_MAX ? malloc(len) : NULL;
	if (out)
		snprintf(out, len, "%.*s***%s", (int)head, word, at);
	return out;
}
