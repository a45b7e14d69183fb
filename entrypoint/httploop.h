/* httploop: libcurl transfers driven by the supervisor's poll loop, never blocking it. */
#ifndef LE_HTTPLOOP_H
#define LE_HTTPLOOP_H

#include <curl/curl.h>
#include <poll.h>

struct httploop;

/* Called once per transfer when it ends (rc from libcurl); the easy handle is the
 * caller's again, removed from the loop. */
typedef void httploop_done(CURL *easy, CURLcode rc, void *arg);

struct httploop *httploop_new(void);
/* Ends every transfer still running (without calling done) and frees the loop. */
void httploop_free(struct httploop *hl);

/* Starts easy (set up by the caller). 0, or -1 when libcurl refused it. */
int httploop_add(struct httploop *hl, CURL *easy, httploop_done *done, void *arg);
/* Stops easy before its end; done is not called. */
void httploop_cancel(struct httploop *hl, CURL *easy);
/* Ends a transfer of the caller's for good: stopped in hl (which may be NULL) if it is
 * there, cleaned up, *easy set to NULL. Nothing when *easy is NULL. */
void httploop_discard(struct httploop *hl, CURL **easy);

/* The sockets libcurl waits on, as pollfds (at most max); returns how many. */
int httploop_pollfds(struct httploop *hl, struct pollfd *pfd, int max);
/* ms until libcurl wants to be called without an event, -1 for none. */
long httploop_timeout(const struct httploop *hl);
/* Hands the poll results (the pfd filled by httploop_pollfds) and any due timeout to
 * libcurl, and calls done for each transfer that ended. */
void httploop_process(struct httploop *hl, struct pollfd *pfd, int n);
/* Transfers still running. */
int httploop_busy(const struct httploop *hl);

#endif
