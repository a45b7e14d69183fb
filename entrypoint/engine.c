/* engine: which Locust the supervisor runs, and what that version takes. Facts come from
 * Locust's own source at each release tag (README, "Locust versions"). */
#include "engine.h"
#include "errmsg.h"
#include "config.h"

#include <ctype.h>
#include <dirent.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---------- versions ---------- */

static int number(const char **p, int *out)
{
	long v = 0;
	if (!isdigit((unsigned char)**p))
		return -1;
	while (isdigit((unsigned char)**p)) {
		v = v * 10 + (**p - '0');
		if (v > 100000)
			return -1;
		(*p)++;
	}
	*out = (int)v;
	return 0;
}

int engine_version_parse(const char *s, struct locust_version *v)
{
	const char *p = s;
	memset(v, 0, sizeof *v);
	if (number(&p, &v->major) < 0 || *p++ != '.' || number(&p, &v->minor) < 0)
		goto bad;
	if (*p == '.' && isdigit((unsigned char)p[1])) {
		p++;
		number(&p, &v->patch);
	}
	if (v->major == 0 && v->minor == 0 && v->patch == 0)
		goto bad; /* a placeholder, not a release */
	snprintf(v->text, sizeof v->text, "%s", s);
	return 0;
bad:
	memset(v, 0, sizeof *v);
	return -1;
}

int engine_version_at_least(const struct locust_version *v, int major, int minor, int patch)
{
	if (v->major <= 0)
		return -1;
	if (v->major != major)
		return v->major > major;
	if (v->minor != minor)
		return v->minor > minor;
	return v->patch >= patch;
}

static int newer(const struct locust_version *a, const struct locust_version *b)
{
	return engine_version_at_least(a, b->major, b->minor, b->patch) == 1 &&
	       !(a->major == b->major && a->minor == b->minor && a->patch == b->patch);
}

/* locust-VERSION.dist-info or .egg-info in dir: the highest one into best. */
static void scan_site(const char *dir, struct locust_version *best)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	if (!d)
		return;
	while ((de = readdir(d))) {
		struct locust_version v;
		const char *n = de->d_name;
		size_t len = strlen(n);
		char ver[64];
		const char *end = len > 10 && !strcmp(n + len - 10, ".dist-info") ? n + len - 10
				  : len > 9 && !strcmp(n + len - 9, ".egg-info") ? n + len - 9
										: NULL;
		if (strncasecmp(n, "locust-", 7) != 0 || !end || end - (n + 7) >= (long)sizeof ver)
			continue;
		snprintf(ver, sizeof ver, "%.*s", (int)(end - (n + 7)), n + 7);
		if (engine_version_parse(ver, &v) == 0 && (best->major == 0 || newer(&v, best))) {
			*best = v;
			snprintf(best->from, sizeof best->from, "%s/%s", dir, n);
		}
	}
	closedir(d);
}

int engine_version_find(const char *path, struct locust_version *v)
{
	char real[PATH_MAX], site[PATH_MAX];
	memset(v, 0, sizeof *v);
	if (!realpath(path, real))
		return -1;
	/* PREFIX/bin/locust: PREFIX is two levels up */
	for (int up = 0; up < 2; up++) {
		char *slash = strrchr(real, '/');
		if (!slash || slash == real)
			return -1;
		*slash = '\0';
	}
	if (snprintf(site, sizeof site, "%s/lib/python3/dist-packages", real) < (int)sizeof site)
		scan_site(site, v); /* Debian's packages */
	if (snprintf(site, sizeof site, "%s/lib", real) >= (int)sizeof site)
		return -1;
	DIR *d = opendir(site);
	struct dirent *de;
	while (d && (de = readdir(d))) { /* python3.X: pip, venvs, the official image */
		static const char *const kinds[] = {"site-packages", "dist-packages"};
		if (strncmp(de->d_name, "python3.", 8) != 0)
			continue;
		for (size_t k = 0; k < 2; k++)
			if (snprintf(site, sizeof site, "%s/lib/%s/%s", real, de->d_name, kinds[k]) <
			    (int)sizeof site)
				scan_site(site, v);
	}
	if (d)
		closedir(d);
	return v->major > 0 ? 0 : -1;
}

/* ---------- what the configuration asks of the engine ---------- */

/* Is the web UI served (master or standalone, not headless)? */
static int has_web_ui(const struct config *cfg)
{
	return cfg->role != ROLE_WORKER && !cfg->headless;
}

void engine_identify(struct config *cfg, char *const envp[])
{
	char path[4096], why[128];
	if (cfg->lv.major == 0 &&
	    config_find_program(cfg->engine, config_getenv(envp, "PATH"), path, sizeof path, why,
				sizeof why) == 0)
		engine_version_find(path, &cfg->lv);
	/* Locust 2.21 took --web-auth away; its --web-login needs login code, which the
	 * plugin is. A password given as --web-auth is refused by engine_check there. */
	cfg->web_plugin = cfg->web_auth && !cfg->web_auth_arg && has_web_ui(cfg) &&
			  engine_version_at_least(&cfg->lv, 2, 21, 0) == 1;
}

/* Options Locust no longer takes. Since: the first release that refuses it (2.0.0: every
 * 2.x). From Locust's argument_parser.py and main.py at each tag. */
static const struct removed {
	const char *opt;
	int takes_value;
	int major, minor, patch;
	const char *instead;
} removed[] = {
	{"--hatch-rate", 1, 2, 28, 0, "use -r/--spawn-rate (renamed in Locust 1.0)"},
	{"--step-load", 0, 2, 0, 0, "use a LoadTestShape class in the locustfile "
	 "(https://docs.locust.io/en/stable/custom-load-shape.html)"},
	{"--step-users", 1, 2, 0, 0, "use a LoadTestShape class in the locustfile"},
	{"--step-clients", 0, 2, 0, 0, "use a LoadTestShape class in the locustfile"},
	{"--step-time", 1, 2, 0, 0, "use a LoadTestShape class in the locustfile"},
	{"--no-web", 0, 2, 0, 0, "use --headless (renamed in Locust 1.0)"},
	{"-c", 1, 2, 0, 0, "use -u/--users (renamed in Locust 1.0)"},
	{"--clients", 1, 2, 0, 0, "use -u/--users (renamed in Locust 1.0)"},
	{"-n", 1, 2, 0, 0, "use -t/--run-time"},
	{"--num-request", 1, 2, 0, 0, "use -t/--run-time"},
	{"--expect-slaves", 1, 2, 0, 0, "use --expect-workers"},
	{"--modern-ui", 0, 2, 22, 0, "remove it: the modern web UI is the only one since 2.22"},
	{"--legacy-ui", 0, 2, 28, 0, "remove it: the legacy web UI is gone since 2.28"},
	{"--web-auth", 1, 2, 21, 0, "set LOCUST_WEB_AUTH=user:password instead: locust-ecs then "
	 "protects the web UI with HTTP basic auth through its login plugin"},
};

/* Does word name option o ("--opt", "--opt=...", or "-cVALUE" for a short one)? */
static int names(const char *word, const struct removed *o)
{
	size_t n = strlen(o->opt);
	if (strncmp(word, o->opt, n) != 0)
		return 0;
	if (!word[n])
		return 1;
	if (o->opt[1] != '-') /* -c10 */
		return o->takes_value && isdigit((unsigned char)word[n]);
	return o->takes_value && word[n] == '=';
}

static int check_removed(const struct config *cfg, char *err, size_t errlen)
{
	const struct { char **w; int n; const char *src; } lists[] = {
		{cfg->opts, cfg->nopts, "LOCUST_OPTS"}, {cfg->extra, cfg->nextra, "the command"},
	};
	for (size_t l = 0; l < 2; l++)
		for (int i = 0; i < lists[l].n; i++) {
			if (!strcmp(lists[l].w[i], "--"))
				break;
			for (size_t k = 0; k < sizeof removed / sizeof removed[0]; k++) {
				const struct removed *o = &removed[k];
				int gone = engine_version_at_least(&cfg->lv, o->major, o->minor,
								   o->patch);
				if (!names(lists[l].w[i], o) ||
				    (gone != 1 && !(o->major == 2 && o->minor == 0)))
					continue; /* still taken, or the version is unknown */
				if (o->major == 2 && o->minor == 0)
					return errmsg(err, errlen, EXIT_CONFIG, "%s holds %s, which Locust 2.x no "
						    "longer takes: %s", lists[l].src, o->opt,
						    o->instead);
				return errmsg(err, errlen, EXIT_CONFIG, "%s holds %s, which Locust takes no "
					    "longer since %d.%d (this engine is %s): %s",
					    lists[l].src, o->opt, o->major, o->minor, cfg->lv.text,
					    o->instead);
			}
		}
	return 0;
}

/* The locustfile is a directory: with the plugin added, the list has two elements, which
 * Locust before 2.27 takes only as .py files. */
static int is_dir_list(const char *lf)
{
	DIR *d;
	if (strchr(lf, ',') || !(d = opendir(lf)))
		return 0;
	closedir(d);
	return 1;
}

int engine_check(const struct config *cfg, char *const envp[], char *err, size_t errlen)
{
	int rc = check_removed(cfg, err, errlen);
	(void)envp;
	if (rc)
		return rc;
	if (cfg->processes && engine_version_at_least(&cfg->lv, 2, 19, 0) == 0)
		return errmsg(err, errlen, EXIT_CONFIG, "%s needs Locust 2.19 or later (this engine is %s): run "
			    "several engines with LOCUST_ECS_ENGINES instead (worker role)",
			    cfg->processes_src, cfg->lv.text);
	if (!cfg->web_plugin)
		return 0;
	if (cfg->web_login)
		return errmsg(err, errlen, EXIT_CONFIG, "LOCUST_WEB_AUTH and --web-login (or LOCUST_WEB_LOGIN) "
			    "both protect the web UI: keep LOCUST_WEB_AUTH for HTTP basic auth, or "
			    "--web-login with your own login code in the locustfile");
	if (access(cfg->web_plugin_path, R_OK) < 0)
		return errmsg(err, errlen, EXIT_CONFIG, "LOCUST_WEB_AUTH needs locust-ecs's login plugin with "
			    "Locust %s, and %s cannot be read: install locust-ecs with make "
			    "install, or set LOCUST_ECS_WEB_AUTH_PLUGIN to where %s is",
			    cfg->lv.text, cfg->web_plugin_path, ENGINE_PLUGIN_FILE);
	if (engine_version_at_least(&cfg->lv, 2, 27, 0) == 0 && is_dir_list(cfg->locustfile))
		return errmsg(err, errlen, EXIT_CONFIG, "LOCUST_WEB_AUTH with a locustfile directory needs "
			    "Locust 2.27 or later (this engine is %s): name the directory's .py "
			    "files, comma-separated, in LOCUSTFILE_PATH", cfg->lv.text);
	return 0;
}

/* ---------- the engine's environment ---------- */

static int dropped(const struct config *cfg, const char *kv)
{
	/* Locust 2.21 and later refuse LOCUST_WEB_AUTH (exit 1, then an argument error) */
	if (!strncmp(kv, "LOCUST_WEB_AUTH=", 16))
		return engine_version_at_least(&cfg->lv, 2, 21, 0) == 1;
	if (!strncmp(kv, "LOCUST_PROCESSES=", 17))
		return cfg->processes != 0; /* given as --processes with -1 resolved */
	return !strncmp(kv, ENGINE_PLUGIN_SECRET "=", sizeof ENGINE_PLUGIN_SECRET);
}

char **engine_env(const struct config *cfg, char *const envp[])
{
	size_t n = 0, k = 0;
	while (envp && envp[n])
		n++;
	char **out = calloc(n + 2, sizeof *out);
	if (!out)
		return NULL;
	for (size_t i = 0; i < n; i++)
		if (!dropped(cfg, envp[i]) && !(out[k++] = strdup(envp[i])))
			goto nomem;
	if (cfg->web_plugin) {
		size_t len = sizeof ENGINE_PLUGIN_SECRET + 1 + strlen(cfg->web_auth);
		if (!(out[k] = malloc(len)))
			goto nomem;
		snprintf(out[k++], len, "%s=%s", ENGINE_PLUGIN_SECRET, cfg->web_auth);
	}
	return out;
nomem:
	engine_env_free(out);
	return NULL;
}

void engine_env_free(char **env)
{
	for (size_t i = 0; env && env[i]; i++) {
		if (!strncmp(env[i], ENGINE_PLUGIN_SECRET "=", sizeof ENGINE_PLUGIN_SECRET) ||
		    !strncmp(env[i], "LOCUST_WEB_AUTH=", 16))
			explicit_bzero(env[i], strlen(env[i]));
		free(env[i]);
	}
	free(env);
}
