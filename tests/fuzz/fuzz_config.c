/* fuzz_config: the environment/argv parser, LOCUST_OPTS word splitting, the JSON log
 * escaper and the resolver-options reader, on arbitrary bytes. */
#include "config.h"
#include "log.h"
#include "resolve.h"
#include "words.h"

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_STRINGS 64

/* A string whose first byte is 1..(number of names) stands for NAME=rest (byte 1: the first): the
 * fuzzer reaches every variable without having to guess its name. "K=V" spelled out
 * works too (the seed corpus does both). */
static const char *const names[] = {
	"LOCUST_MODE", "LOCUST_MODE_MASTER", "LOCUST_MODE_WORKER", "LOCUST_MASTER_HOST",
	"LOCUST_MASTER_NODE_HOST", "LOCUST_MASTER_PORT", "LOCUST_MASTER_NODE_PORT",
	"TARGET_URL", "LOCUSTFILE_PATH", "LOCUST_LOCUSTFILE", "LOCUST_OPTS",
	"LOCUST_WEB_PORT", "LOCUST_WEB_AUTH", "LOCUST_TLS_CERT", "LOCUST_HEADLESS",
	"LOCUST_AUTOSTART", "LOCUST_MASTER_BIND_PORT", "LOCUST_WEB_HOST",
	"LOCUST_ECS_ENGINE", "LOCUST_ECS_ENGINES", "LOCUST_ECS_STOP_GRACE",
	"LOCUST_ECS_RESTART_GRACE", "LOCUST_ECS_CLEAN_STOP", "LOCUST_ECS_MASTER_WAIT",
	"LOCUST_ECS_PROBE", "LOCUST_ECS_PROBE_TIMEOUT", "LOCUST_ECS_DNS_SERVERS",
	"LOCUST_ECS_RECHECK_INTERVAL", "LOCUST_ECS_REJOIN_WINDOW", "LOCUST_ECS_STATE_DIR",
	"LOCUST_ECS_METADATA", "LOCUST_ECS_LOG_FORMAT", "LOCUST_ECS_LOG_LEVEL",
	"LOCUST_ECS_HEALTH_TIMEOUT", "LOCUST_ECS_HEALTH_GRACE",
	"LOCUST_ECS_HEALTH_MIN_WORKERS", "LOCUST_ECS_HEALTH_MAX_FAIL_RATIO",
	"LOCUST_MASTER_BIND_HOST", /* later names at the end: the corpus keeps its meaning */
	"LOCUST_HOST",
};
#define NNAMES (sizeof names / sizeof names[0])

/* A NUL-terminated copy (the parsers take C strings). */
static char *cstr(const uint8_t *p, size_t n)
{
	char *s = malloc(n + 1);
	if (!s)
		abort();
	memcpy(s, p, n);
	s[n] = '\0';
	return s;
}

/* Single-quotes a word so that words_split gives it back unchanged: 'a'\''b'. */
static char *quote(const char *w)
{
	size_t n = 2;
	for (const char *p = w; *p; p++)
		n += *p == '\'' ? 4 : 1;
	char *q = malloc(n + 1), *o = q;
	if (!q)
		abort();
	*o++ = '\'';
	for (const char *p = w; *p; p++) {
		if (*p == '\'') {
			memcpy(o, "'\\''", 4);
			o += 4;
		} else {
			*o++ = *p;
		}
	}
	*o++ = '\'';
	*o = '\0';
	return q;
}

/* Splitting, quoting every word and splitting again gives the same words. */
static void check_words(const char *s)
{
	char **w, **w2, why[128];
	int n, n2;
	if (words_split(s, &w, &n, why, sizeof why) < 0) {
		if (!why[0] || w || n)
			__builtin_trap();
		return;
	}
	size_t len = 1;
	for (int i = 0; i < n; i++) {
		if (!w[i])
			__builtin_trap();
		len += 4 * strlen(w[i]) + 3;
	}
	if (w[n])
		__builtin_trap();
	char *joined = malloc(len);
	if (!joined)
		abort();
	size_t o = 0;
	for (int i = 0; i < n; i++) {
		char *q = quote(w[i]);
		size_t ql = strlen(q);
		if (i)
			joined[o++] = ' ';
		memcpy(joined + o, q, ql);
		o += ql;
		free(q);
	}
	joined[o] = '\0';
	if (words_split(joined, &w2, &n2, why, sizeof why) < 0 || n2 != n)
		__builtin_trap();
	for (int i = 0; i < n; i++)
		if (strcmp(w[i], w2[i]) != 0)
			__builtin_trap();
	words_free(w2);
	words_free(w);
	free(joined);
}

/* The escaped text is the inside of a valid JSON string, cut to fit, always terminated. */
static void check_escape(const char *s, size_t outlen)
{
	char *out = malloc(outlen + 2), *doc;
	if (!out)
		abort();
	out[0] = 'x';
	log_json_escape(s, out + 1, outlen);
	if (outlen == 0) {
		free(out);
		return;
	}
	size_t n = strlen(out + 1);
	if (n >= outlen)
		__builtin_trap();
	doc = malloc(n + 3);
	if (!doc)
		abort();
	doc[0] = '"';
	memcpy(doc + 1, out + 1, n);
	doc[n + 1] = '"';
	doc[n + 2] = '\0';
	json_error_t je;
	json_t *j = json_loads(doc, JSON_DECODE_ANY, &je);
	if (!json_is_string(j))
		__builtin_trap();
	/* nothing cut: the escape decodes back to the input (NUL-free, so strcmp) */
	if (strlen(s) * 6 + 8 <= outlen && strcmp(json_string_value(j), s) != 0) {
		/* bytes above 0x7f come back as U+0080..U+00FF: compare only ASCII inputs */
		int ascii = 1;
		for (const unsigned char *p = (const unsigned char *)s; *p; p++)
			ascii &= *p < 0x80;
		if (ascii)
			__builtin_trap();
	}
	json_decref(j);
	free(doc);
	free(out);
}

static void check_resolver_options(const uint8_t *data, size_t size)
{
	const uint8_t *nul = memchr(data, '\0', size);
	size_t a = nul ? (size_t)(nul - data) : size;
	char *conf = cstr(data, a);
	char *opts = nul ? cstr(nul + 1, size - a - 1) : NULL;
	int timeout_ms = -1, tries = -1;
	resolve_options(conf, opts, &timeout_ms, &tries);
	if (timeout_ms < 1000 || timeout_ms > 30000 || tries < 1 || tries > 5)
		__builtin_trap();
	free(conf);
	free(opts);
}

/* Redaction keeps everything but the secret: the text after the authority's last '@' is
 * kept whole, and whatever stood before it (past "://") is gone. */
static void check_redact(const char *w, const char *prev)
{
	char *r = config_redact(w, prev);
	if (!r)
		__builtin_trap();
	if (prev && strcmp(prev, "--web-auth") == 0) {
		if (strcmp(r, "***") != 0)
			__builtin_trap();
	} else if (strncmp(w, "--web-auth=", 11) == 0) {
		if (strcmp(r, "--web-auth=***") != 0)
			__builtin_trap();
	} else {
		const char *sch = strstr(w, "://");
		size_t auth = sch ? strcspn(sch + 3, "/?#") : 0;
		const char *at = NULL;
		for (size_t i = 0; i < auth; i++)
			if (sch[3 + i] == '@')
				at = sch + 3 + i;
		if (!at) {
			if (strcmp(r, w) != 0)
				__builtin_trap();
		} else {
			size_t head = (size_t)(sch + 3 - w);
			if (strncmp(r, w, head) != 0 || strncmp(r + head, "***", 3) != 0 ||
			    strcmp(r + head + 3, at) != 0)
				__builtin_trap();
		}
	}
	free(r);
}

static void check_config(const uint8_t *data, size_t size)
{
	char *strs[MAX_STRINGS];
	int nstr = 0;
	if (size == 0)
		return;
	int nargv = data[0] % 8; /* how many of the strings are argv words */
	size_t off = 1;
	while (off <= size && nstr < MAX_STRINGS) {
		const uint8_t *p = data + off;
		const uint8_t *nul = memchr(p, '\0', size - off);
		size_t n = nul ? (size_t)(nul - p) : size - off;
		if (nstr >= nargv && n > 0 && p[0] >= 1 && p[0] <= NNAMES) {
			const char *name = names[p[0] - 1];
			size_t ln = strlen(name);
			char *s = malloc(ln + n + 1);
			if (!s)
				abort();
			memcpy(s, name, ln);
			s[ln] = '=';
			memcpy(s + ln + 1, p + 1, n - 1);
			s[ln + n] = '\0';
			strs[nstr++] = s;
		} else {
			strs[nstr++] = cstr(p, n);
		}
		off += n + 1;
	}
	if (nargv > nstr)
		nargv = nstr;

	char *argv[MAX_STRINGS + 2], *envp[MAX_STRINGS + 1];
	int argc = 0, ne = 0;
	argv[argc++] = (char *)"locust-entrypoint";
	for (int i = 0; i < nargv; i++)
		argv[argc++] = strs[i];
	argv[argc] = NULL;
	for (int i = nargv; i < nstr; i++)
		envp[ne++] = strs[i];
	envp[ne] = NULL;

	struct config cfg;
	char err[CONFIG_ERR_MAX];
	int rc = config_parse(&cfg, envp, argc, argv, err, sizeof err);
	if (rc != 0) {
		/* one line that says why, and a documented code */
		if (!err[0] || strchr(err, '\n') ||
		    (rc != EXIT_USAGE && rc != EXIT_CONFIG && rc != EXIT_SOFTWARE))
			__builtin_trap();
	} else if (cfg.action == ACT_RUN || cfg.action == ACT_PRINT_CONFIG) {
		if (!cfg.engine || !cfg.locustfile || !cfg.state_dir || cfg.master_port < 1 ||
		    cfg.master_port > 65535 || cfg.web_port < 1 || cfg.web_port > 65535 ||
		    (cfg.role == ROLE_WORKER && !cfg.master_host) || cfg.engines < 0 ||
		    cfg.engines > 256)
			__builtin_trap();
		for (int w = 0; w < 2; w++) {
			char **a = config_engine_argv(&cfg, w ? "10.0.0.5" : NULL, w ? 5557 : 0);
			if (!a || strcmp(a[0], cfg.engine) != 0)
				__builtin_trap();
			int k = 0;
			while (a[k])
				k++;
			if (k > cfg.nopts + cfg.nextra + 14)
				__builtin_trap();
			for (int i = 0; i < k; i++)
				check_redact(a[i], i ? a[i - 1] : NULL);
			config_free_argv(a);
		}
		char msg[CONFIG_ERR_MAX];
		/* stat and access only: a missing locustfile or engine is an error with text */
		rc = config_check_files(&cfg, envp, msg, sizeof msg);
		if (rc != 0 && (!msg[0] || strchr(msg, '\n')))
			__builtin_trap();
		/* what the engine's version decides: one line, 78 */
		engine_identify(&cfg, envp);
		rc = engine_check(&cfg, envp, msg, sizeof msg);
		if (rc != 0 && (rc != EXIT_CONFIG || !msg[0] || strchr(msg, '\n')))
			__builtin_trap();
		char **env = engine_env(&cfg, envp);
		if (!env)
			__builtin_trap();
		engine_env_free(env);
	}
	config_free(&cfg);
	for (int i = 0; i < nstr; i++)
		free(strs[i]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = cstr(data, size); /* up to the first NUL */
	check_words(s);
	check_escape(s, size ? data[0] : 0);
	check_escape(s, 4096);
	check_redact(s, NULL);
	free(s);
	check_resolver_options(data, size);
	check_config(data, size);
	return 0;
}
