/* http: one body sink and one set of transfer options for libcurl. */
#include "http.h"

#include <stdlib.h>
#include <string.h>

size_t http_body_sink(char *data, size_t size, size_t nmemb, void *arg)
{
	struct http_body *b = arg;
	size_t k = size * nmemb;
	if (k > b->max - b->len) {
		b->too_big = 1;
		return 0; /* curl stops with CURLE_WRITE_ERROR */
	}
	if (b->len + k + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 16384;
		while (cap < b->len + k + 1)
			cap *= 2;
		char *nb = realloc(b->buf, cap);
		if (!nb)
			return 0;
		b->buf = nb;
		b->cap = cap;
	}
	memcpy(b->buf + b->len, data, k);
	b->len += k;
	b->buf[b->len] = '\0';
	return k;
}

void http_body_free(struct http_body *b)
{
	free(b->buf);
	b->buf = NULL;
	b->len = b->cap = 0;
}

CURLcode http_setup(CURL *h, const char *url, struct http_body *b, char *errbuf,
		    long connect_ms, long timeout_ms, const char *agent)
{
	CURLcode rc;
	if ((rc = curl_easy_setopt(h, CURLOPT_URL, url)) ||
	    (rc = curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf)) ||
	    (rc = curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L)) ||
	    (rc = curl_easy_setopt(h, CURLOPT_NOPROXY, "*")) ||
	    (rc = curl_easy_setopt(h, CURLOPT_PROXY, "")) ||
	    (rc = curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L)) ||
#if CURL_AT_LEAST_VERSION(7, 85, 0)
	    (rc = curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https")) ||
#else
	    (rc = curl_easy_setopt(h, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS))) ||
#endif
	    (rc = curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, connect_ms)) ||
	    (rc = curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, timeout_ms)) ||
	    (rc = curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, http_body_sink)) ||
	    (rc = curl_easy_setopt(h, CURLOPT_WRITEDATA, b)) ||
	    (rc = curl_easy_setopt(h, CURLOPT_USERAGENT, agent)))
		return rc;
	return CURLE_OK;
}
