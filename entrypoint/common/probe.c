/* probe: readiness of the master's ZMQ port, inside the supervisor's poll loop. */
#include "probe.h"
#include "clock.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <zmq.h>

#define RETRY_MS 50 /* a refused connect is cheap: try again soon */
#define HEARTBEAT_IVL_MS 1000
#define HEARTBEAT_TIMEOUT_MS 3000

struct probe {
	enum probe_kind kind;
	char addr[256];
	int port;
	long timeout_ms;
	enum probe_state state;
	unsigned ups, failures;
	char error[200];
	/* zmtp */
	void *sock, *mon;
	int tcp_connected;
	int handshake_failed;
	/* tcp */
	int fd;
	long long attempt_end, next_attempt;
};

void *probe_context(void)
{
	void *ctx = zmq_ctx_new();
	if (ctx) {
		zmq_ctx_set(ctx, ZMQ_BLOCKY, 0);
		zmq_ctx_set(ctx, ZMQ_IO_THREADS, 1);
	}
	return ctx;
}

static int is_v6(const char *a)
{
	return strchr(a, ':') != NULL;
}

static int zmtp_open(struct probe *p, void *zctx, char *err, size_t errlen)
{
	static unsigned seq;
	char ep[300], monep[64];
	int zero = 0, one = 1, ivl = RETRY_MS, tmo = (int)p->timeout_ms;
	int hb = HEARTBEAT_IVL_MS, hbt = HEARTBEAT_TIMEOUT_MS;

	snprintf(monep, sizeof monep, "inproc://probe-%u", ++seq);
	snprintf(ep, sizeof ep, is_v6(p->addr) ? "tcp://[%s]:%d" : "tcp://%s:%d", p->addr,
		 p->port);
	p->sock = zmq_socket(zctx, ZMQ_DEALER);
	p->mon = zmq_socket(zctx, ZMQ_PAIR);
	if (!p->sock || !p->mon ||
	    zmq_setsockopt(p->sock, ZMQ_LINGER, &zero, sizeof zero) < 0 ||
	    zmq_setsockopt(p->mon, ZMQ_LINGER, &zero, sizeof zero) < 0 ||
	    zmq_setsockopt(p->sock, ZMQ_RECONNECT_IVL, &ivl, sizeof ivl) < 0 ||
	    zmq_setsockopt(p->sock, ZMQ_CONNECT_TIMEOUT, &tmo, sizeof tmo) < 0 ||
	    zmq_setsockopt(p->sock, ZMQ_HANDSHAKE_IVL, &tmo, sizeof tmo) < 0 ||
	    zmq_setsockopt(p->sock, ZMQ_HEARTBEAT_IVL, &hb, sizeof hb) < 0 ||
	    zmq_setsockopt(p->sock, ZMQ_HEARTBEAT_TIMEOUT, &hbt, sizeof hbt) < 0 ||
	    zmq_setsockopt(p->sock, ZMQ_IPV6, is_v6(p->addr) ? &one : &zero, sizeof one) < 0 ||
	    zmq_socket_monitor(p->sock, monep,
			       ZMQ_EVENT_CONNECTED | ZMQ_EVENT_CONNECT_RETRIED |
				       ZMQ_EVENT_DISCONNECTED | ZMQ_EVENT_HANDSHAKE_SUCCEEDED |
				       ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL |
				       ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL |
				       ZMQ_EVENT_HANDSHAKE_FAILED_AUTH) < 0 ||
	    zmq_connect(p->mon, monep) < 0 || zmq_connect(p->sock, ep) < 0) {
		snprintf(err, errlen, "unable to set up the ZMQ probe of %s: %s", ep,
			 zmq_strerror(zmq_errno()));
		return -1;
	}
	return 0;
}

static void tcp_attempt(struct probe *p, long long now)
{
	struct sockaddr_storage ss;
	socklen_t len;
	memset(&ss, 0, sizeof ss);
	if (is_v6(p->addr)) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)p->port);
		inet_pton(AF_INET6, p->addr, &s6->sin6_addr);
		len = sizeof *s6;
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)p->port);
		inet_pton(AF_INET, p->addr, &s4->sin_addr);
		len = sizeof *s4;
	}
	p->fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (p->fd < 0) {
		snprintf(p->error, sizeof p->error, "socket: %s", strerror(errno));
		p->failures++;
		p->next_attempt = now + RETRY_MS;
		return;
	}
	p->attempt_end = now + p->timeout_ms;
	if (connect(p->fd, (struct sockaddr *)&ss, len) == 0 || errno == EINPROGRESS)
		return; /* the outcome shows as POLLOUT */
	snprintf(p->error, sizeof p->error, "%s", strerror(errno));
	p->failures++;
	close(p->fd);
	p->fd = -1;
	p->next_attempt = now + RETRY_MS;
}

struct probe *probe_new(void *zctx, enum probe_kind kind, const char *addr, int port,
			long timeout_ms, char *err, size_t errlen)
{
	struct probe *p = calloc(1, sizeof *p);
	if (!p) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	p->kind = kind;
	snprintf(p->addr, sizeof p->addr, "%s", addr);
	p->port = port;
	p->timeout_ms = timeout_ms;
	p->fd = -1;
	if (kind == PROBE_ZMTP) {
		if (zmtp_open(p, zctx, err, errlen) < 0) {
			probe_free(p);
			return NULL;
		}
	} else {
		tcp_attempt(p, clock_mono_ms());
	}
	return p;
}

void probe_free(struct probe *p)
{
	if (!p)
		return;
	if (p->sock) {
		zmq_socket_monitor(p->sock, NULL, 0);
		zmq_close(p->sock);
	}
	if (p->mon)
		zmq_close(p->mon);
	if (p->fd >= 0)
		close(p->fd);
	free(p);
}

int probe_pollfd(struct probe *p, struct pollfd *pfd)
{
	pfd->revents = 0;
	if (p->kind == PROBE_ZMTP) {
		size_t len = sizeof pfd->fd;
		if (zmq_getsockopt(p->mon, ZMQ_FD, &pfd->fd, &len) < 0)
			return 0;
		pfd->events = POLLIN; /* edge-like: probe_process drains it each time */
		return 1;
	}
	if (p->fd < 0)
		return 0;
	pfd->fd = p->fd;
	pfd->events = POLLOUT;
	return 1;
}

long probe_timeout_ms(const struct probe *p, long long now)
{
	long long t;
	if (p->kind == PROBE_ZMTP || p->state == PROBE_UP)
		return -1; /* libzmq keeps its own timers */
	t = p->fd >= 0 ? p->attempt_end : p->next_attempt;
	return t <= now ? 0 : (long)(t - now);
}

static void zmtp_event(struct probe *p, unsigned ev, uint32_t value)
{
	switch (ev) {
	case ZMQ_EVENT_CONNECTED:
		p->tcp_connected = 1; /* this round reached the port */
		break;
	case ZMQ_EVENT_CONNECT_RETRIED:
		if (!p->tcp_connected) {
			snprintf(p->error, sizeof p->error,
				 "connection refused, unreachable or timed out after %ld ms",
				 p->timeout_ms);
			p->failures++;
		}
		p->tcp_connected = 0;
		break;
	case ZMQ_EVENT_HANDSHAKE_SUCCEEDED:
		p->state = PROBE_UP;
		p->ups++;
		p->error[0] = '\0';
		break;
	case ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL:
	case ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL:
	case ZMQ_EVENT_HANDSHAKE_FAILED_AUTH:
		snprintf(p->error, sizeof p->error,
			 "the port accepts connections but no ZMTP handshake completed within "
			 "%ld ms (%s): not a Locust master's port?",
			 p->timeout_ms,
			 ev == ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL ? zmq_strerror((int)value)
								    : "protocol error");
		p->failures++;
		p->handshake_failed = 1;
		break;
	case ZMQ_EVENT_DISCONNECTED:
		if (p->state == PROBE_UP) {
			p->state = PROBE_DOWN;
			snprintf(p->error, sizeof p->error, "the master closed the connection");
		} else if (!p->handshake_failed) {
			snprintf(p->error, sizeof p->error,
				 "the port accepted and closed the connection before a ZMTP "
				 "handshake: not a ZMQ peer");
			p->failures++;
		}
		p->handshake_failed = 0;
		break;
	default:
		break;
	}
}

static void zmtp_drain(struct probe *p)
{
	for (;;) {
		zmq_msg_t m1, m2;
		uint16_t ev;
		uint32_t value;
		zmq_msg_init(&m1);
		if (zmq_msg_recv(&m1, p->mon, ZMQ_DONTWAIT) < 0) {
			zmq_msg_close(&m1);
			return;
		}
		if (zmq_msg_size(&m1) >= 6) {
			memcpy(&ev, zmq_msg_data(&m1), 2);
			memcpy(&value, (char *)zmq_msg_data(&m1) + 2, 4);
		} else {
			ev = 0;
			value = 0;
		}
		zmq_msg_close(&m1);
		zmq_msg_init(&m2); /* the endpoint frame */
		zmq_msg_recv(&m2, p->mon, ZMQ_DONTWAIT);
		zmq_msg_close(&m2);
		zmtp_event(p, ev, value);
	}
}

static void tcp_process(struct probe *p, long long now)
{
	if (p->state == PROBE_UP)
		return;
	if (p->fd < 0) {
		if (now >= p->next_attempt)
			tcp_attempt(p, now);
		return;
	}
	struct pollfd pfd = {.fd = p->fd, .events = POLLOUT};
	if (poll(&pfd, 1, 0) == 1) {
		int e = 0;
		socklen_t l = sizeof e;
		if (getsockopt(p->fd, SOL_SOCKET, SO_ERROR, &e, &l) < 0)
			e = errno;
		close(p->fd);
		p->fd = -1;
		if (!e) {
			p->state = PROBE_UP;
			p->ups++;
			p->error[0] = '\0';
			return;
		}
		snprintf(p->error, sizeof p->error, "%s", strerror(e));
	} else if (now >= p->attempt_end) {
		close(p->fd);
		p->fd = -1;
		snprintf(p->error, sizeof p->error, "connect timed out after %ld ms",
			 p->timeout_ms);
	} else {
		return;
	}
	p->failures++;
	p->next_attempt = now + RETRY_MS;
}

void probe_process(struct probe *p, long long now)
{
	if (p->kind == PROBE_ZMTP)
		zmtp_drain(p);
	else
		tcp_process(p, now);
}

enum probe_state probe_state(const struct probe *p) { return p->state; }
unsigned probe_ups(const struct probe *p) { return p->ups; }
unsigned probe_failures(const struct probe *p) { return p->failures; }
const char *probe_addr(const struct probe *p) { return p->addr; }
int probe_port(const struct probe *p) { return p->port; }
const char *probe_error(const struct probe *p) { return p->error; }
