/* probe: is the master's port up, and is it ZMQ? (ZMTP handshake via libzmq, or TCP) */
#ifndef LE_PROBE_H
#define LE_PROBE_H

#include <poll.h>
#include <stddef.h>

enum probe_kind { PROBE_ZMTP, PROBE_TCP };
enum probe_state { PROBE_PENDING, PROBE_UP, PROBE_DOWN };

struct probe;

/* Starts probing addr:port and keeps at it: a refused connect is retried every 50 ms.
 * zmtp: a libzmq DEALER connects and stays connected (heartbeats on), so a master that
 * goes away or is replaced at the same address shows as DOWN then UP again; it sends no
 * message, so Locust never sees a worker. tcp: connect and close until one succeeds. */
struct probe *probe_new(void *zctx, enum probe_kind kind, const char *addr, int port,
			long timeout_ms, char *err, size_t errlen);
void probe_free(struct probe *p);

int probe_pollfd(struct probe *p, struct pollfd *pfd); /* 1 when pfd was filled */
long probe_timeout_ms(const struct probe *p, long long now);
void probe_process(struct probe *p, long long now);

enum probe_state probe_state(const struct probe *p);
unsigned probe_ups(const struct probe *p);      /* handshakes (or connects) so far */
unsigned probe_failures(const struct probe *p); /* failed attempts so far */
const char *probe_addr(const struct probe *p);
int probe_port(const struct probe *p);
const char *probe_error(const struct probe *p); /* the last failure, "" if none */

/* One libzmq context for all probes, made so that it never blocks at exit. */
void *probe_context(void);

#endif
