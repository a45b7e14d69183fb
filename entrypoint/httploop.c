/* httploop: a curl multi handle whose sockets and timer live in the supervisor's poll. */
#include "httploop.h"
#include "clock.h"

#include <stdlib.h>
#include <string.h>

#define HL_MAX_SOCKS 64
#define HL_MAX_XFERS 32

struct xfer {
	CURL *easy;
	httploop_done *done;
	void *arg;
};

struct httploop {
	CURLM *multi;
	struct { curl_socket_t fd; short events; } socks[HL_MAX_SOCKS];
	int nsocks;
	long long due;            /* monotonic ms libcurl wants to be called at; 0 none */
	struct xfer x[HL_MAX_XFERS];
	int nx;
};

static int sock_index(const struct httploop *hl, curl_socket_t fd)
{
	for (int i = 0; i < hl->nsocks; i++)
		if (hl->socks[i].fd == fd)
			return i;
	return -1;
}

/* CURLMOPT_SOCKETFUNCTION: libcurl says which events a socket waits for. */
static int on_socket(CURL *easy, curl_socket_t fd, int what, void *userp, void *sockp)
{
	struct httploop *hl = userp;
	int i = sock_index(hl, fd);
	(void)easy;
	(void)sockp;
	if (what == CURL_POLL_REMOVE) {
		if (i >= 0)
			hl->socks[i] = hl->socks[--hl->nsocks];
		return 0;
	}
	if (i < 0) {
		if (hl->nsocks >= HL_MAX_SOCKS)
			return -1; /* libcurl fails that transfer */
		i = hl->nsocks++;
		hl->socks[i].fd = fd;
	}
	hl->socks[i].events = (short)(((what & CURL_POLL_IN) ? POLLIN : 0) |
				      ((what & CURL_POLL_OUT) ? POLLOUT : 0));
	return 0;
}

/* CURLMOPT_TIMERFUNCTION: -1 removes the timer, 0 means at once. */
static int on_timer(CURLM *multi, long timeout_ms, void *userp)
{
	struct httploop *hl = userp;
	(void)multi;
	hl->due = timeout_ms < 0 ? 0 : clock_mono_ms() + timeout_ms;
	return 0;
}

struct httploop *httploop_new(void)
{
	struct httploop *hl = calloc(1, sizeof *hl);
	if (!hl || !(hl->multi = curl_multi_init())) {
		free(hl);
		return NULL;
	}
	curl_multi_setopt(hl->multi, CURLMOPT_SOCKETFUNCTION, on_socket);
	curl_multi_setopt(hl->multi, CURLMOPT_SOCKETDATA, hl);
	curl_multi_setopt(hl->multi, CURLMOPT_TIMERFUNCTION, on_timer);
	curl_multi_setopt(hl->multi, CURLMOPT_TIMERDATA, hl);
	return hl;
}

static int xfer_index(const struct httploop *hl, const CURL *easy)
{
	for (int i = 0; i < hl->nx; i++)
		if (hl->x[i].easy == easy)
			return i;
	return -1;
}

static void drop(struct httploop *hl, int i)
{
	curl_multi_remove_handle(hl->multi, hl->x[i].easy);
	hl->x[i] = hl->x[--hl->nx];
}

void httploop_free(struct httploop *hl)
{
	if (!hl)
		return;
	while (hl->nx)
		drop(hl, hl->nx - 1);
	curl_multi_cleanup(hl->multi);
	free(hl);
}

int httploop_add(struct httploop *hl, CURL *easy, httploop_done *done, void *arg)
{
	if (hl->nx >= HL_MAX_XFERS || curl_multi_add_handle(hl->multi, easy) != CURLM_OK)
		return -1;
	hl->x[hl->nx++] = (struct xfer){easy, done, arg};
	return 0;
}

void httploop_cancel(struct httploop *hl, CURL *easy)
{
	int i = xfer_index(hl, easy);
	if (i >= 0)
		drop(hl, i);
}

void httploop_discard(struct httploop *hl, CURL **easy)
{
	if (!*easy)
		return;
	if (hl)
		httploop_cancel(hl, *easy);
	curl_easy_cleanup(*easy);
	*easy = NULL;
}

int httploop_pollfds(struct httploop *hl, struct pollfd *pfd, int max)
{
	int n = 0;
	for (int i = 0; i < hl->nsocks && n < max; i++)
		if (hl->socks[i].events)
			pfd[n++] = (struct pollfd){.fd = hl->socks[i].fd,
						   .events = hl->socks[i].events};
	return n;
}

long httploop_timeout(const struct httploop *hl)
{
	if (!hl->due)
		return -1;
	long long left = hl->due - clock_mono_ms();
	return left < 0 ? 0 : (long)left;
}

static void finish_done(struct httploop *hl)
{
	CURLMsg *m;
	int left;
	while ((m = curl_multi_info_read(hl->multi, &left))) {
		if (m->msg != CURLMSG_DONE)
			continue;
		CURL *easy = m->easy_handle;
		CURLcode rc = m->data.result;
		int i = xfer_index(hl, easy);
		if (i < 0)
			continue;
		struct xfer x = hl->x[i];
		drop(hl, i);
		x.done(easy, rc, x.arg); /* may add a new transfer */
	}
}

void httploop_process(struct httploop *hl, struct pollfd *pfd, int n)
{
	int running;
	for (int i = 0; i < n; i++) {
		int ev = ((pfd[i].revents & POLLIN) ? CURL_CSELECT_IN : 0) |
			 ((pfd[i].revents & POLLOUT) ? CURL_CSELECT_OUT : 0) |
			 ((pfd[i].revents & (POLLERR | POLLHUP | POLLNVAL)) ? CURL_CSELECT_ERR : 0);
		if (ev)
			curl_multi_socket_action(hl->multi, pfd[i].fd, ev, &running);
	}
	if (hl->due && clock_mono_ms() >= hl->due) {
		hl->due = 0;
		curl_multi_socket_action(hl->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	}
	finish_done(hl);
}

int httploop_busy(const struct httploop *hl)
{
	return hl->nx;
}
