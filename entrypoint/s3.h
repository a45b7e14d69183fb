/* s3: single-request S3 object transfers signed by libcurl (SigV4): object locations, the
 * key's URI form, the request's options, S3's XML errors and what to do after each. */
#ifndef LE_S3_H
#define LE_S3_H

#include <curl/curl.h>
#include <stddef.h>

#define S3_BUCKET_MAX 63
#define S3_KEY_MAX 1024          /* bytes of UTF-8, S3's own limit */
#define S3_URL_MAX 4096
#define S3_SHA256_HEX 65         /* 64 hex digits and the NUL */
#define S3_PUT_MAX ((curl_off_t)5 << 30) /* one PUT: up to 5 GiB, no multipart */

struct s3_loc {
	char bucket[S3_BUCKET_MAX + 1];
	char key[S3_KEY_MAX + 1];    /* without a leading '/'; "" for the bucket's top */
};

/* "s3://BUCKET[/KEY]" -> loc. Bucket names as S3 takes them (3 to 63 of a-z 0-9 . -,
 * a letter or digit at both ends); the key without control characters, without "." or
 * ".." segments (libcurl would rewrite them) and at most S3_KEY_MAX bytes (UTF-8 is the
 * caller's check, as for every setting); one trailing '/' of a prefix is dropped. 0, or
 * -1 with the reason in why. Pure. */
int s3_parse_url(const char *url, struct s3_loc *loc, char *why, size_t whylen);

/* A key's URI form: every byte but A-Z a-z 0-9 - . _ ~ and '/' as %XX, uppercase: the
 * form SigV4 signs for S3 (libcurl before 8.14 would escape in lowercase). 0, or -1 when
 * out is too small. Pure. */
int s3_encode_key(const char *key, char *out, size_t outlen);

/* An endpoint override: http(s)://HOST[:PORT] and nothing more. 0 or -1. Pure. */
int s3_check_endpoint(const char *url, char *why, size_t whylen);
/* A region name: 1 to 32 of a-z 0-9 -. 1 when valid. Pure. */
int s3_valid_region(const char *region);

/* The URL of an object: with an endpoint override ENDPOINT/BUCKET/KEY (path style);
 * else https://BUCKET.s3.REGION.amazonaws.com/KEY (amazonaws.com.cn for cn- regions),
 * path style on s3.REGION... for a bucket with a '.' (TLS names have no dots in a label).
 * 0, or -1 when out is too small. Pure. */
int s3_object_url(const char *endpoint, const char *region, const char *bucket,
		  const char *key, char *out, size_t outlen);

/* S3's error document: <Error><Code/><Message/><Region/></Error>. */
struct s3_error {
	char code[64];
	char message[256];
	char region[64];         /* the bucket's region (AuthorizationHeaderMalformed) */
};
/* Fills e from an XML error body (entities decoded, cut to fit); fields absent stay "".
 * 0 when a Code was found, else -1. Pure. */
int s3_parse_error(const char *body, size_t len, struct s3_error *e);

enum s3_next {
	S3_DONE,      /* 2xx */
	S3_RETRY,     /* 5xx, 429, SlowDown, RequestTimeout, a dropped connection: back off */
	S3_REFRESH,   /* ExpiredToken and the like: new credentials, then once more */
	S3_FAIL,      /* anything else: tell and give up */
};
/* What to do after a transfer ended with rc, HTTP status and S3 error code (may be ""). */
enum s3_next s3_classify(CURLcode rc, long status, const char *code);

/* SHA-256 as 64 lowercase hex digits. */
struct s3_hash;
struct s3_hash *s3_hash_new(void);
void s3_hash_update(struct s3_hash *h, const void *buf, size_t len);
/* Writes the digest to hex and frees h. */
void s3_hash_final(struct s3_hash *h, char hex[S3_SHA256_HEX]);
void s3_sha256_hex(const void *buf, size_t len, char hex[S3_SHA256_HEX]);

struct s3_request {
	const char *region;
	const char *akid, *secret; /* secret: never logged */
	const char *token;         /* session token or NULL; never sent empty */
	const char *payload_sha256;/* the body's hex digest (a GET's is that of "") */
	int put;                   /* 1: PUT of size bytes, 0: GET */
	curl_off_t size;
	const char *content_type;  /* PUT: the object's Content-Type */
};
/* Adds to h (set up by http_setup with the URL of s3_object_url) the method, SigV4
 * ("aws:amz:REGION:s3") with the keys, x-amz-content-sha256 (libcurl before 8.0 adds
 * none), X-Amz-Security-Token, the size of a PUT (S3 refuses chunked bodies), the path
 * sent as given where libcurl allows it.
 * *headers is the list the caller frees after the transfer (curl_slist_free_all). The
 * body (READFUNCTION) and the sinks are the caller's. 0, or the failing CURLcode. */
CURLcode s3_setup(CURL *h, const struct s3_request *r, struct curl_slist **headers);

#endif
