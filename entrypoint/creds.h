/* creds: AWS credentials in the order the SDKs look for them: the environment's keys, then
 * the ECS (or EKS) container credentials endpoint, fetched through the loop and refreshed
 * before they expire. Secrets are never logged. */
#ifndef LE_CREDS_H
#define LE_CREDS_H

#include "httploop.h"

#include <stddef.h>

#define CREDS_ECS_HOST "169.254.170.2"     /* AWS_CONTAINER_CREDENTIALS_RELATIVE_URI's */
#define CREDS_REFRESH_MS (15LL * 60 * 1000) /* refresh when less than this remains */

struct creds {
	char akid[128];
	char secret[128];
	char token[4096];         /* "" for long-term keys */
	long long expires;        /* wall-clock ms; 0: never */
};

enum creds_kind { CREDS_NONE, CREDS_ENV, CREDS_ENDPOINT };

struct creds_source {
	enum creds_kind kind;
	const char *from;         /* the variable that chose it, for messages */
	char url[2048];           /* CREDS_ENDPOINT */
	const char *token_file;   /* AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE, read at each fetch */
	const char *token;        /* AWS_CONTAINER_AUTHORIZATION_TOKEN: a secret */
	struct creds env;         /* CREDS_ENV */
};

/* Picks the source from envp as the SDKs do: AWS_ACCESS_KEY_ID and
 * AWS_SECRET_ACCESS_KEY (AWS_SESSION_TOKEN), else AWS_CONTAINER_CREDENTIALS_RELATIVE_URI
 * (on http://169.254.170.2), else AWS_CONTAINER_CREDENTIALS_FULL_URI: https, or http to
 * a loopback address, 169.254.170.2, 169.254.170.23 or fd00:ec2::23 (host names are not
 * resolved here: "localhost" is the one name taken). CREDS_NONE when nothing is set.
 * 0, or -1 with the variable, the value (never a secret) and what is accepted in err.
 * Pure. */
int creds_source(char *const envp[], struct creds_source *src, char *err, size_t errlen);

/* The endpoint's answer: {"AccessKeyId", "SecretAccessKey", "Token", "Expiration"} (or
 * an error {"code", "message"}). 0, or -1 with why in err. Pure. */
int creds_parse(const char *buf, size_t len, struct creds *c, char *err, size_t errlen);

/* ISO 8601 as the endpoint writes it ("2024-05-01T12:00:00Z", fractions and +HH:MM
 * taken) -> ms since the epoch. 0 or -1. Pure. */
int creds_parse_time(const char *s, long long *ms);

/* True when c must be fetched again at now (wall ms): none yet, or expiring within
 * CREDS_REFRESH_MS. Pure. */
int creds_stale(const struct creds *c, int have, long long now_wall);

struct creds_provider;

struct creds_provider *creds_new(const struct creds_source *src);
void creds_free(struct creds_provider *p, struct httploop *hl);

enum creds_state {
	CREDS_READY,   /* *out holds fresh credentials */
	CREDS_WAIT,    /* a fetch runs or waits to be tried again: ask again later */
	CREDS_FAILED,  /* the last round of attempts failed (creds_error says why); so it
			* stays, for every caller, until creds_retry */
};
/* Fresh credentials, starting a fetch through hl when needed. now: monotonic ms. */
enum creds_state creds_get(struct creds_provider *p, struct httploop *hl, long long now,
			   const struct creds **out);
/* The earlier of t and the provider's next retry (core_min_timeout's rules). */
long creds_timeout(const struct creds_provider *p, long t, long long now);
/* A new round of attempts at the next creds_get, after CREDS_FAILED. */
void creds_retry(struct creds_provider *p);
/* S3 said the credentials expired: the next creds_get fetches new ones. */
void creds_expired(struct creds_provider *p);
const char *creds_error(const struct creds_provider *p);
/* Where they come from, for the log ("the environment's AWS_ACCESS_KEY_ID", ...). */
const char *creds_describe(const struct creds_provider *p);

#endif
