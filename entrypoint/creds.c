/* creds: the SDKs' credential chain for a container (environment keys, ECS endpoint). */
#include "creds.h"
#include "errmsg.h"

#include "clock.h"
#include "config.h"
#include "fileio.h"
#include "http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <curl/curl.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#ifndef LE_VERSION
#define LE_VERSION "0.0.0"
#endif

#define CREDS_CONNECT_MS 1000L
#define CREDS_REQUEST_MS 2000L
#define CREDS_ATTEMPTS 4          /* per round: then CREDS_FAILED until creds_retry */
#define CREDS_BACKOFF_MS 200L     /* doubled after each failed attempt */
#define CREDS_BODY_MAX ((size_t)64 * 1024)
#define CREDS_TOKEN_MAX 16384
#define CREDS_REUSE_MS 60000LL    /* fresh ones that still expire soon serve this long */

/* ---------- the source: pure ---------- */

static const char *var(char *const envp[], const char *name)
{
	const char *v = config_getenv(envp, name);
	return v && *v ? v : NULL; /* empty counts as unset, as in config */
}

static int printable(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s <= 0x20 || *s == 0x7f)
			return 0;
	return 1;
}

/* http is for the hosts the SDKs allow: loopback, the ECS and EKS agents' addresses. */
static int allowed_http_host(const char *host)
{
	static const char *const v4[] = {"169.254.170.2", "169.254.170.23"};
	unsigned char a[16], b[16];
	if (!strcmp(host, "localhost"))
		return 1;
	if (inet_pton(AF_INET, host, a) == 1) {
		if (a[0] == 127)
			return 1;
		for (size_t i = 0; i < sizeof v4 / sizeof v4[0]; i++)
			if (inet_pton(AF_INET, v4[i], b) == 1 && !memcmp(a, b, 4))
				return 1;
		return 0;
	}
	size_t n = strlen(host);
	char h6[64];
	if (n < 3 || n - 2 >= sizeof h6 || host[0] != '[' || host[n - 1] != ']')
		return 0;
	memcpy(h6, host + 1, n - 2);
	h6[n - 2] = '\0';
	if (inet_pton(AF_INET6, h6, a) != 1)
		return 0;
	if (inet_pton(AF_INET6, "::1", b) == 1 && !memcmp(a, b, 16))
		return 1;
	return inet_pton(AF_INET6, "fd00:ec2::23", b) == 1 && !memcmp(a, b, 16);
}

static int ip_literal(const char *host)
{
	unsigned char a[16];
	return inet_pton(AF_INET, host, a) == 1 || host[0] == '[';
}

static int check_full_uri(const char *v, char *err, size_t errlen)
{
	char *scheme = NULL, *host = NULL;
	int rc = -1;
	CURLU *u = curl_url();
	if (!u || !printable(v) || curl_url_set(u, CURLUPART_URL, v, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK) {
		errmsg(err, errlen, -1, "AWS_CONTAINER_CREDENTIALS_FULL_URI=\"%s\" is not a URL",
			printable(v) ? v : "(unprintable)");
		goto out;
	}
	if (!strcmp(scheme, "https") || (!strcmp(scheme, "http") && allowed_http_host(host)))
		rc = 0;
	else
		errmsg(err, errlen, -1, "AWS_CONTAINER_CREDENTIALS_FULL_URI=\"%s\" is not accepted: "
			"as in the AWS SDKs, use https, or http to a loopback address, "
			"169.254.170.2, 169.254.170.23 or [fd00:ec2::23]%s", v,
			strcmp(scheme, "http") != 0 || ip_literal(host) ? ""
			: " (host names other than localhost are not resolved to check them)");
out:
	curl_free(scheme);
	curl_free(host);
	curl_url_cleanup(u);
	return rc;
}

static int copy_to(char *dst, size_t dstlen, const char *v)
{
	size_t n = strlen(v);
	if (n >= dstlen)
		return -1;
	memcpy(dst, v, n + 1);
	return 0;
}

static int env_keys(char *const envp[], struct creds_source *src, char *err, size_t errlen)
{
	const char *ak = var(envp, "AWS_ACCESS_KEY_ID"), *sk = var(envp, "AWS_SECRET_ACCESS_KEY");
	const char *st = var(envp, "AWS_SESSION_TOKEN");
	if (!ak || !sk)
		return errmsg(err, errlen, -1, "%s is set without %s: the AWS SDKs take both or "
			       "neither", ak ? "AWS_ACCESS_KEY_ID" : "AWS_SECRET_ACCESS_KEY",
			       ak ? "AWS_SECRET_ACCESS_KEY" : "AWS_ACCESS_KEY_ID");
	if (!printable(ak) || copy_to(src->env.akid, sizeof src->env.akid, ak) < 0 ||
	    !printable(sk) || copy_to(src->env.secret, sizeof src->env.secret, sk) < 0 ||
	    (st && (!printable(st) || copy_to(src->env.token, sizeof src->env.token, st) < 0)))
		return errmsg(err, errlen, -1, "AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY or "
			       "AWS_SESSION_TOKEN is too long or holds blanks or control "
			       "characters");
	src->kind = CREDS_ENV;
	src->from = "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY";
	return 0;
}

int creds_source(char *const envp[], struct creds_source *src, char *err, size_t errlen)
{
	memset(src, 0, sizeof *src);
	if (var(envp, "AWS_ACCESS_KEY_ID") || var(envp, "AWS_SECRET_ACCESS_KEY"))
		return env_keys(envp, src, err, errlen);
	const char *rel = var(envp, "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI");
	const char *full = var(envp, "AWS_CONTAINER_CREDENTIALS_FULL_URI");
	if (rel) {
		if (rel[0] != '/' || !printable(rel) ||
		    snprintf(src->url, sizeof src->url, "http://%s%s", CREDS_ECS_HOST, rel) >=
			    (int)sizeof src->url)
			return errmsg(err, errlen, -1, "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI is not "
				       "accepted: it is a path starting with '/'");
		src->from = "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI";
	} else if (full) {
		if (check_full_uri(full, err, errlen) < 0)
			return -1;
		if (copy_to(src->url, sizeof src->url, full) < 0)
			return errmsg(err, errlen, -1, "AWS_CONTAINER_CREDENTIALS_FULL_URI is too "
				       "long");
		src->from = "AWS_CONTAINER_CREDENTIALS_FULL_URI";
	} else {
		return 0;
	}
	src->kind = CREDS_ENDPOINT;
	src->token_file = var(envp, "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE");
	src->token = src->token_file ? NULL : var(envp, "AWS_CONTAINER_AUTHORIZATION_TOKEN");
	return 0;
}

/* ---------- the endpoint's answer: pure ---------- */

/* digits of s[0..n) as a number, or -1 */
static int num(const char *s, int n)
{
	int v = 0;
	for (int i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

int creds_parse_time(const char *s, long long *ms)
{
	struct tm tm = {0};
	if (strlen(s) < 19 || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != ' ') ||
	    s[13] != ':' || s[16] != ':')
		return -1;
	int y = num(s, 4), mo = num(s + 5, 2), d = num(s + 8, 2), h = num(s + 11, 2);
	int mi = num(s + 14, 2), se = num(s + 17, 2);
	if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 60)
		return -1;
	const char *p = s + 19;
	if (*p == '.')
		for (p++; *p >= '0' && *p <= '9'; p++)
			;
	long off = 0;
	if ((*p == '+' || *p == '-') && strlen(p) == 6 && p[3] == ':' && num(p + 1, 2) >= 0 &&
	    num(p + 4, 2) >= 0) {
		off = (num(p + 1, 2) * 60L + num(p + 4, 2)) * 60 * (*p == '+' ? 1 : -1);
		p += 6;
	} else if (*p == 'Z') {
		p++;
	}
	if (*p)
		return -1;
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = se;
	time_t t = timegm(&tm);
	if (t == (time_t)-1)
		return -1;
	*ms = ((long long)t - off) * 1000;
	return 0;
}

static const char *str_member(json_t *o, const char *k)
{
	json_t *v = json_object_get(o, k);
	return json_is_string(v) ? json_string_value(v) : NULL;
}

int creds_parse(const char *buf, size_t len, struct creds *c, char *err, size_t errlen)
{
	json_error_t je;
	json_t *o = buf ? json_loadb(buf, len, 0, &je) : NULL;
	int rc = -1;
	memset(c, 0, sizeof *c);
	if (!json_is_object(o)) {
		snprintf(err, errlen, "the answer is not a JSON object");
		goto out;
	}
	const char *ak = str_member(o, "AccessKeyId"), *sk = str_member(o, "SecretAccessKey");
	const char *tok = str_member(o, "Token"), *exp = str_member(o, "Expiration");
	if (!ak || !sk) {
		const char *code = str_member(o, "code"), *msg = str_member(o, "message");
		snprintf(err, errlen, "the answer has no AccessKeyId and SecretAccessKey%s%s%s%s",
			 code || msg ? ": " : "", code ? code : "", code && msg ? ": " : "",
			 msg ? msg : "");
		goto out;
	}
	if (!*ak || !*sk || !printable(ak) || !printable(sk) || (tok && !printable(tok)) ||
	    copy_to(c->akid, sizeof c->akid, ak) < 0 ||
	    copy_to(c->secret, sizeof c->secret, sk) < 0 ||
	    (tok && copy_to(c->token, sizeof c->token, tok) < 0)) {
		snprintf(err, errlen, "the answer's key, secret or token is empty, too long or "
			 "holds blanks");
		goto out;
	}
	if (exp && creds_parse_time(exp, &c->expires) < 0) {
		snprintf(err, errlen, "the answer's Expiration is not an ISO 8601 time");
		goto out;
	}
	rc = 0;
out:
	if (rc)
		memset(c, 0, sizeof *c);
	json_decref(o);
	return rc;
}

int creds_stale(const struct creds *c, int have, long long now_wall)
{
	return !have || (c->expires && c->expires - now_wall < CREDS_REFRESH_MS);
}

/* ---------- the provider: fetches through the loop ---------- */

enum pstate { P_IDLE, P_FETCHING, P_BACKOFF, P_FAILED };

struct creds_provider {
	struct creds_source src;
	struct creds cur;
	int have, forced;
	int born_stale;           /* they came already expiring within CREDS_REFRESH_MS */
	long long fetched_at;     /* monotonic ms of the last good answer */
	enum pstate st;
	int attempts;
	long long retry_at;
	CURL *easy;
	struct curl_slist *hdrs;
	struct http_body body;
	char errbuf[CURL_ERROR_SIZE];
	char err[600];
	char desc[200];
};

struct creds_provider *creds_new(const struct creds_source *src)
{
	struct creds_provider *p = calloc(1, sizeof *p);
	if (!p)
		return NULL;
	p->src = *src;
	p->body.max = CREDS_BODY_MAX;
	if (src->kind == CREDS_ENV) {
		snprintf(p->desc, sizeof p->desc, "the environment (%s)", src->from);
	} else if (src->kind == CREDS_ENDPOINT) {
		/* the path is a credential's locator: only the scheme and authority are shown */
		const char *a = strstr(src->url, "://");
		size_t n = a ? strcspn(a + 3, "/?#") + (size_t)(a + 3 - src->url) : 0;
		snprintf(p->desc, sizeof p->desc, "the container credentials endpoint %.*s (%s%s)",
			 (int)n, src->url, src->from, src->token_file ? ", token file" :
			 src->token ? ", token" : "");
	} else {
		snprintf(p->desc, sizeof p->desc, "nowhere: no AWS credentials are set");
	}
	return p;
}

static void end_fetch(struct creds_provider *p, struct httploop *hl)
{
	httploop_discard(hl, &p->easy);
	curl_slist_free_all(p->hdrs);
	p->hdrs = NULL;
	http_body_free(&p->body);
}

void creds_free(struct creds_provider *p, struct httploop *hl)
{
	if (!p)
		return;
	end_fetch(p, hl);
	explicit_bzero(p, sizeof *p);
	free(p);
}

static void failed(struct creds_provider *p, int retry, long long now, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void failed(struct creds_provider *p, int retry, long long now, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(p->err, sizeof p->err, fmt, ap);
	va_end(ap);
	p->attempts++;
	if (retry && p->attempts < CREDS_ATTEMPTS) {
		p->st = P_BACKOFF;
		p->retry_at = now + (CREDS_BACKOFF_MS << (p->attempts - 1));
	} else {
		p->st = P_FAILED;
	}
}

static void on_done(CURL *easy, CURLcode rc, void *arg)
{
	struct creds_provider *p = arg;
	long status = 0;
	long long now = clock_mono_ms();
	char why[300];
	struct creds c;
	curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
	if (rc != CURLE_OK) {
		failed(p, rc != CURLE_WRITE_ERROR, now, "unable to reach %s: %s", p->desc,
		       p->errbuf[0] ? p->errbuf : curl_easy_strerror(rc));
	} else if (status != 200) {
		snprintf(why, sizeof why, "HTTP status %ld", status);
		if (creds_parse(p->body.buf, p->body.len, &c, why + strlen(why),
				sizeof why - strlen(why)) == 0)
			why[0] = '\0';
		failed(p, status >= 500 || status == 429, now, "%s answered %s", p->desc, why);
	} else if (creds_parse(p->body.buf, p->body.len, &c, why, sizeof why) < 0) {
		failed(p, 0, now, "%s answered: %s", p->desc, why);
	} else {
		p->cur = c;
		p->have = 1;
		p->born_stale = creds_stale(&c, 1, clock_wall_ms());
		p->forced = 0;
		p->fetched_at = now;
		p->attempts = 0;
		p->st = P_IDLE;
		p->err[0] = '\0';
	}
	explicit_bzero(&c, sizeof c);
	if (p->body.buf)
		explicit_bzero(p->body.buf, p->body.cap);
	end_fetch(p, NULL);
}

/* The authorization token, from its file (read at each fetch: EKS rotates it) or the
 * variable. 0 (tok "" when there is none) or -1. */
static int auth_token(struct creds_provider *p, char *tok, size_t toklen)
{
	char *buf = NULL;
	size_t len = 0;
	tok[0] = '\0';
	if (p->src.token_file) {
		if (file_read(p->src.token_file, CREDS_TOKEN_MAX, &buf, &len) < 0) {
			snprintf(p->err, sizeof p->err, "unable to read "
				 "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE %s: %s", p->src.token_file,
				 strerror(errno));
			return -1;
		}
		while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r' ||
				   buf[len - 1] == ' ' || buf[len - 1] == '\t'))
			buf[--len] = '\0';
	}
	const char *t = buf ? buf : p->src.token ? p->src.token : "";
	int bad = strlen(t) >= toklen;
	for (const char *q = t; *q && !bad; q++)
		bad = (unsigned char)*q < 0x20 || *q == 0x7f;
	if (!bad)
		memcpy(tok, t, strlen(t) + 1);
	if (buf)
		explicit_bzero(buf, len);
	free(buf);
	if (bad)
		snprintf(p->err, sizeof p->err, "the container authorization token is too long or "
			 "holds a line break or control character");
	return bad ? -1 : 0;
}

static void start_fetch(struct creds_provider *p, struct httploop *hl, long long now)
{
	char tok[CREDS_TOKEN_MAX + 32], hdr[CREDS_TOKEN_MAX + 64];
	struct curl_slist *l;
	p->errbuf[0] = '\0';
	p->body.len = 0;
	p->body.too_big = 0;
	if (auth_token(p, tok, sizeof tok) < 0) {
		p->st = P_FAILED;
		return;
	}
	p->easy = curl_easy_init();
	l = curl_slist_append(NULL, "Accept: application/json");
	if (l)
		p->hdrs = l;
	if (tok[0]) {
		snprintf(hdr, sizeof hdr, "Authorization: %s", tok);
		if ((l = curl_slist_append(p->hdrs, hdr)))
			p->hdrs = l;
		explicit_bzero(hdr, sizeof hdr);
	}
	explicit_bzero(tok, sizeof tok);
	if (!p->easy || !p->hdrs ||
	    http_setup(p->easy, p->src.url, &p->body, p->errbuf, CREDS_CONNECT_MS,
		       CREDS_REQUEST_MS, "locust-ecs/" LE_VERSION) != CURLE_OK ||
	    curl_easy_setopt(p->easy, CURLOPT_HTTPHEADER, p->hdrs) != CURLE_OK ||
	    httploop_add(hl, p->easy, on_done, p) < 0) {
		end_fetch(p, NULL);
		failed(p, 0, now, "unable to set up the request to %s", p->desc);
		return;
	}
	p->st = P_FETCHING;
}

enum creds_state creds_get(struct creds_provider *p, struct httploop *hl, long long now,
			   const struct creds **out)
{
	if (p->src.kind == CREDS_ENV) {
		*out = &p->src.env;
		return CREDS_READY;
	}
	if (p->src.kind == CREDS_NONE) {
		snprintf(p->err, sizeof p->err, "no AWS credentials: give the task an IAM role "
			 "(taskRoleArn), or set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY");
		return CREDS_FAILED;
	}
	long long wall = clock_wall_ms();
	int need = p->forced || creds_stale(&p->cur, p->have, wall);
	/* the endpoint may hand out credentials that expire within the window: those are
	 * used a while (until they expire) rather than asked for again at every request */
	if (need && p->have && !p->forced && p->born_stale && p->cur.expires > wall &&
	    now - p->fetched_at < CREDS_REUSE_MS)
		need = 0;
	if (!need) {
		*out = &p->cur;
		return CREDS_READY;
	}
	if (p->st == P_FAILED)
		return CREDS_FAILED;
	if (p->st == P_FETCHING || (p->st == P_BACKOFF && now < p->retry_at))
		return CREDS_WAIT;
	start_fetch(p, hl, now);
	return p->st == P_FAILED ? CREDS_FAILED : CREDS_WAIT;
}

long creds_timeout(const struct creds_provider *p, long t, long long now)
{
	if (!p || p->st != P_BACKOFF)
		return t;
	long d = p->retry_at <= now ? 0 : (long)(p->retry_at - now);
	return t < 0 || d < t ? d : t;
}

void creds_expired(struct creds_provider *p)
{
	p->forced = 1;
	if (p->st == P_FAILED || p->st == P_BACKOFF) {
		p->st = P_IDLE;
		p->attempts = 0;
	}
}

void creds_retry(struct creds_provider *p)
{
	if (p->st == P_FAILED) {
		p->st = P_IDLE;
		p->attempts = 0;
	}
}

const char *creds_error(const struct creds_provider *p)
{
	return p->err[0] ? p->err : "unknown";
}

const char *creds_describe(const struct creds_provider *p)
{
	return p->desc;
}
