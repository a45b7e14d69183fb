/* s3: S3 requests for libcurl's SigV4 signer, and the reading of S3's answers. */
#include "s3.h"

#include <ctype.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---------- locations ---------- */

static int fail(char *why, size_t whylen, const char *msg)
{
	snprintf(why, whylen, "%s", msg);
	return -1;
}

static int valid_bucket(const char *b, size_t n, char *why, size_t whylen)
{
	int dots = 0, digits_dots = 1;
	if (n < 3 || n > S3_BUCKET_MAX)
		return fail(why, whylen, "a bucket name has 3 to 63 characters");
	for (size_t i = 0; i < n; i++) {
		char c = b[i];
		if (!islower((unsigned char)c) && !isdigit((unsigned char)c) && c != '.' &&
		    c != '-')
			return fail(why, whylen, "a bucket name has only lowercase letters, "
				    "digits, '.' and '-'");
		dots += c == '.';
		if (!isdigit((unsigned char)c) && c != '.')
			digits_dots = 0;
	}
	if (!isalnum((unsigned char)b[0]) || !isalnum((unsigned char)b[n - 1]) ||
	    memmem(b, n, "..", 2))
		return fail(why, whylen, "a bucket name begins and ends with a letter or digit "
			    "and has no \"..\"");
	if (digits_dots && dots == 3)
		return fail(why, whylen, "a bucket name is not an IP address");
	return 0;
}

/* No "." or ".." segment: libcurl's URL parser would remove them (and 8.14 and later
 * refuse CURLOPT_PATH_AS_IS with SigV4), so the object written would not be the one named. */
static int valid_key(const char *k, size_t n, char *why, size_t whylen)
{
	if (n > S3_KEY_MAX)
		return fail(why, whylen, "an S3 key has at most 1024 bytes");
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)k[i] < 0x20 || k[i] == 0x7f)
			return fail(why, whylen, "the key holds a control character");
	for (size_t i = 0; i < n;) {
		size_t j = i;
		while (j < n && k[j] != '/')
			j++;
		if ((j - i == 1 && k[i] == '.') || (j - i == 2 && k[i] == '.' && k[i + 1] == '.'))
			return fail(why, whylen, "the key has a \".\" or \"..\" segment");
		i = j + 1;
	}
	return 0;
}

int s3_parse_url(const char *url, struct s3_loc *loc, char *why, size_t whylen)
{
	memset(loc, 0, sizeof *loc);
	if (strncmp(url, "s3://", 5) != 0)
		return fail(why, whylen, "an S3 location starts with s3://");
	const char *b = url + 5, *slash = strchr(b, '/');
	size_t bn = slash ? (size_t)(slash - b) : strlen(b);
	if (bn == 0)
		return fail(why, whylen, "there is no bucket after s3://");
	if (valid_bucket(b, bn, why, whylen) < 0)
		return -1;
	const char *k = slash ? slash + 1 : "";
	size_t kn = strlen(k);
	if (kn > 0 && k[kn - 1] == '/')
		kn--;
	if (valid_key(k, kn, why, whylen) < 0)
		return -1;
	memcpy(loc->bucket, b, bn);
	memcpy(loc->key, k, kn);
	return 0;
}

int s3_encode_key(const char *key, char *out, size_t outlen)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t o = 0;
	for (const unsigned char *p = (const unsigned char *)key; *p; p++) {
		if (isalnum(*p) || *p == '-' || *p == '.' || *p == '_' || *p == '~' || *p == '/') {
			if (o + 1 >= outlen)
				return -1;
			out[o++] = (char)*p;
		} else {
			if (o + 3 >= outlen)
				return -1;
			out[o++] = '%';
			out[o++] = hex[*p >> 4];
			out[o++] = hex[*p & 15];
		}
	}
	if (o >= outlen)
		return -1;
	out[o] = '\0';
	return 0;
}

int s3_check_endpoint(const char *url, char *why, size_t whylen)
{
	const char *h = !strncmp(url, "http://", 7) ? url + 7
			: !strncmp(url, "https://", 8) ? url + 8 : NULL;
	if (!h)
		return fail(why, whylen, "an endpoint is http://HOST[:PORT] or "
			    "https://HOST[:PORT]");
	const char *p = h;
	if (*p == '[') {
		p = strchr(p, ']');
		if (!p || p == h + 1)
			return fail(why, whylen, "an IPv6 address is written [ADDRESS]");
		for (const char *q = h + 1; q < p; q++)
			if (!isxdigit((unsigned char)*q) && *q != ':' && *q != '.')
				return fail(why, whylen, "an IPv6 address is written [ADDRESS]");
		p++;
	} else {
		while (isalnum((unsigned char)*p) || *p == '.' || *p == '-')
			p++;
		if (p == h)
			return fail(why, whylen, "the endpoint has no host");
	}
	if (*p == ':') {
		char *end;
		long port = strtol(p + 1, &end, 10);
		if (end == p + 1 || port < 1 || port > 65535 || !isdigit((unsigned char)p[1]))
			return fail(why, whylen, "the port is a number from 1 to 65535");
		p = end;
	}
	if (*p == '/')
		p++;
	if (*p)
		return fail(why, whylen, "the endpoint has no path, user, query or fragment");
	return 0;
}

int s3_valid_region(const char *r)
{
	size_t n = strlen(r);
	if (n == 0 || n > 32)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!islower((unsigned char)r[i]) && !isdigit((unsigned char)r[i]) && r[i] != '-')
			return 0;
	return 1;
}

int s3_object_url(const char *endpoint, const char *region, const char *bucket,
		  const char *key, char *out, size_t outlen)
{
	char enc[S3_KEY_MAX * 3 + 1];
	int n;
	if (s3_encode_key(key, enc, sizeof enc) < 0)
		return -1;
	if (endpoint) {
		size_t el = strlen(endpoint);
		while (el > 0 && endpoint[el - 1] == '/')
			el--;
		n = snprintf(out, outlen, "%.*s/%s/%s", (int)el, endpoint, bucket, enc);
	} else {
		const char *dom = strncmp(region, "cn-", 3) == 0 ? "amazonaws.com.cn"
								  : "amazonaws.com";
		if (strchr(bucket, '.'))
			n = snprintf(out, outlen, "https://s3.%s.%s/%s/%s", region, dom, bucket,
				     enc);
		else
			n = snprintf(out, outlen, "https://%s.s3.%s.%s/%s", bucket, region, dom,
				     enc);
	}
	return n < 0 || (size_t)n >= outlen ? -1 : 0;
}

/* ---------- S3's answers ---------- */

/* The text of <tag>...</tag> within [p, end), entities decoded, blanks for controls. */
static void take_tag(const char *p, const char *end, const char *tag, char *out, size_t outlen)
{
	char open[32], close[32];
	snprintf(open, sizeof open, "<%s>", tag);
	snprintf(close, sizeof close, "</%s>", tag);
	const char *a = memmem(p, (size_t)(end - p), open, strlen(open));
	if (!a)
		return;
	a += strlen(open);
	const char *b = memmem(a, (size_t)(end - a), close, strlen(close));
	if (!b)
		return;
	static const struct { const char *ent; char c; } ents[] = {
		{"&lt;", '<'}, {"&gt;", '>'}, {"&amp;", '&'}, {"&quot;", '"'}, {"&apos;", '\''},
	};
	size_t o = 0;
	while (a < b && o + 1 < outlen) {
		char c = *a++;
		if (c == '&') {
			for (size_t i = 0; i < sizeof ents / sizeof ents[0]; i++) {
				size_t el = strlen(ents[i].ent);
				if ((size_t)(b - (a - 1)) >= el &&
				    !memcmp(a - 1, ents[i].ent, el)) {
					c = ents[i].c;
					a += el - 1;
					break;
				}
			}
		}
		if ((unsigned char)c < 0x20 || c == 0x7f)
			c = ' ';
		out[o++] = c;
	}
	out[o] = '\0';
}

int s3_parse_error(const char *body, size_t len, struct s3_error *e)
{
	memset(e, 0, sizeof *e);
	if (!body)
		return -1;
	const char *end = body + len, *p = memmem(body, len, "<Error>", 7);
	if (!p)
		return -1;
	const char *q = memmem(p, (size_t)(end - p), "</Error>", 8);
	if (q)
		end = q;
	take_tag(p, end, "Code", e->code, sizeof e->code);
	take_tag(p, end, "Message", e->message, sizeof e->message);
	take_tag(p, end, "Region", e->region, sizeof e->region);
	return e->code[0] ? 0 : -1;
}

static int code_in(const char *code, const char *const *list)
{
	for (; *list; list++)
		if (!strcmp(code, *list))
			return 1;
	return 0;
}

enum s3_next s3_classify(CURLcode rc, long status, const char *code)
{
	static const char *const refresh[] = {"ExpiredToken", "TokenRefreshRequired", NULL};
	static const char *const retry[] = {"SlowDown", "RequestTimeout", "InternalError",
					    "ServiceUnavailable", "Throttling", NULL};
	switch (rc) {
	case CURLE_OK:
		break;
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_CONNECT:
	case CURLE_OPERATION_TIMEDOUT:
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_GOT_NOTHING:
	case CURLE_PARTIAL_FILE:
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM:
		return S3_RETRY;
	default:
		return S3_FAIL;
	}
	if (status >= 200 && status <= 299)
		return S3_DONE;
	if (!code)
		code = "";
	if (code_in(code, refresh))
		return S3_REFRESH;
	if (status >= 500 || status == 429 || code_in(code, retry))
		return S3_RETRY;
	return S3_FAIL;
}

/* ---------- hashing ---------- */

struct s3_hash {
	EVP_MD_CTX *ctx;
};

struct s3_hash *s3_hash_new(void)
{
	struct s3_hash *h = calloc(1, sizeof *h);
	if (h && (!(h->ctx = EVP_MD_CTX_new()) ||
		  EVP_DigestInit_ex(h->ctx, EVP_sha256(), NULL) != 1)) {
		EVP_MD_CTX_free(h->ctx);
		free(h);
		return NULL;
	}
	return h;
}

void s3_hash_update(struct s3_hash *h, const void *buf, size_t len)
{
	EVP_DigestUpdate(h->ctx, buf, len);
}

void s3_hash_final(struct s3_hash *h, char hex[S3_SHA256_HEX])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;
	hex[0] = '\0';
	if (EVP_DigestFinal_ex(h->ctx, md, &n) == 1)
		for (unsigned int i = 0; i < n && i < 32; i++)
			snprintf(hex + 2 * (size_t)i, 3, "%02x", md[i]);
	EVP_MD_CTX_free(h->ctx);
	free(h);
}

void s3_sha256_hex(const void *buf, size_t len, char hex[S3_SHA256_HEX])
{
	struct s3_hash *h = s3_hash_new();
	hex[0] = '\0';
	if (!h)
		return;
	s3_hash_update(h, buf, len);
	s3_hash_final(h, hex);
}

/* ---------- the request ---------- */

static CURLcode add_header(struct curl_slist **l, const char *name, const char *value)
{
	char line[4200];
	if (snprintf(line, sizeof line, "%s: %s", name, value) >= (int)sizeof line)
		return CURLE_BAD_FUNCTION_ARGUMENT;
	struct curl_slist *n = curl_slist_append(*l, line);
	if (!n)
		return CURLE_OUT_OF_MEMORY;
	*l = n;
	return CURLE_OK;
}

/* libcurl 8.14 and later refuse CURLOPT_PATH_AS_IS with SigV4; before, it keeps the path
 * from being rewritten. Asked of the library that runs, not of the headers we built on. */
static int path_as_is_allowed(void)
{
	return curl_version_info(CURLVERSION_NOW)->version_num < 0x080e00;
}

CURLcode s3_setup(CURL *h, const struct s3_request *r, struct curl_slist **headers)
{
	char sig[128];
	CURLcode rc;
	*headers = NULL;
	if (snprintf(sig, sizeof sig, "aws:amz:%s:s3", r->region) >= (int)sizeof sig)
		return CURLE_BAD_FUNCTION_ARGUMENT;
	/* the payload's hash is ours to give: libcurl before 8.0 sends none, and later ones
	 * would sign an upload as UNSIGNED-PAYLOAD */
	if ((rc = add_header(headers, "x-amz-content-sha256", r->payload_sha256)))
		return rc;
	if (r->token && *r->token && (rc = add_header(headers, "x-amz-security-token", r->token)))
		return rc;
	if (r->put && r->content_type &&
	    (rc = add_header(headers, "Content-Type", r->content_type)))
		return rc;
	if ((rc = curl_easy_setopt(h, CURLOPT_AWS_SIGV4, sig)) ||
	    (rc = curl_easy_setopt(h, CURLOPT_USERNAME, r->akid)) ||
	    (rc = curl_easy_setopt(h, CURLOPT_PASSWORD, r->secret)) ||
	    (rc = curl_easy_setopt(h, CURLOPT_HTTPHEADER, *headers)))
		return rc;
	if (path_as_is_allowed() && (rc = curl_easy_setopt(h, CURLOPT_PATH_AS_IS, 1L)))
		return rc;
	if (r->put)
		return (rc = curl_easy_setopt(h, CURLOPT_UPLOAD, 1L)) ? rc
		       : curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, r->size);
	return curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
}
