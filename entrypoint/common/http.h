/* http: what both programs' libcurl transfers share: a bounded body and safe options. */
#ifndef LE_HTTP_H
#define LE_HTTP_H

#include <curl/curl.h>
#include <stddef.h>

struct http_body {
	char *buf;      /* NUL-terminated once anything came; NULL before */
	size_t len, cap;
	size_t max;     /* more than this ends the transfer (CURLE_WRITE_ERROR) */
	int too_big;
};

/* CURLOPT_WRITEFUNCTION for a struct http_body. */
size_t http_body_sink(char *data, size_t size, size_t nmemb, void *arg);
void http_body_free(struct http_body *b);

/* The options every transfer of ours takes: url, error buffer, no signals, never a proxy,
 * no redirects, http and https only, the body into b, our user agent, both timeouts.
 * 0, or the first failing option's CURLcode. */
CURLcode http_setup(CURL *h, const char *url, struct http_body *b, char *errbuf,
		    long connect_ms, long timeout_ms, const char *agent);

#endif
