/* state: the JSON document the supervisor keeps for locust-healthcheck. */
#ifndef LE_STATE_H
#define LE_STATE_H

#include "config.h"
#include "bounds.h"
#include "supervise.h"

#include <stddef.h>
#include <sys/types.h>

#define STATE_FILE "state.json"
#define STATE_MAX_BYTES ((size_t)256 * 1024)

/* What the supervisor reports; times are wall-clock milliseconds since the epoch. */
struct state_info {
	const struct config *cfg; /* the settings the health check needs, not the role */
	const char *role;
	const char *phase;        /* starting resolving waiting running restarting rejoining
				     draining stopping */
	long long phase_since;
	long long started;
	const char *master_addr;  /* current master address (worker), or NULL */
	int master_port;
	long long wait_deadline;  /* when waiting for the master: give up at; 0 = never */
	const struct engine *engines;
	int nengines;
	int restarts;
	const char *last_reason;
};

/* Creates dir (0700) if missing and checks that no one else can write it. */
int state_prepare_dir(const char *dir, char *err, size_t errlen);
/* Writes dir/state.json atomically (temp file, fsync-free rename), mode 0644. On failure
 * the old document, no longer true, is removed. */
int state_write(const char *dir, const struct state_info *si, char *err, size_t errlen);
/* Removes the document (at exit). */
void state_remove(const char *dir);

/* The document as read back (by the health check). */
struct state_engine_view {
	int pid;
	unsigned long long start_ticks;
	long long started;
	int restarts;
	int last_status;          /* -1 when the engine has not ended yet */
};
struct state_view {
	int version;
	int pid;
	unsigned long long pid_start_ticks;
	char role[16];
	char phase[16];
	long long phase_since;
	char master_host[256];
	char master_addr[64];
	int master_port;
	long long wait_deadline;
	int nengines;
	struct state_engine_view engines[LE_ENGINES_MAX];
	int restarts;
	char last_reason[200];
	int web_port;
	char web_host[256];       /* --web-host / LOCUST_WEB_HOST, "" when unset */
	int web_tls;
	int headless;
	int master_bind_port;
	char master_bind_host[256]; /* --master-bind-host / LOCUST_MASTER_BIND_HOST, "" unset */
	int min_workers;
	double max_fail_ratio;
	long long grace_ms;
	long long timeout_ms;
};

/* Parses a state document (lenient about extra keys, strict about types it needs).
 * 0, or -1 with the reason in err. */
int state_parse(const char *buf, size_t len, struct state_view *out, char *err, size_t errlen);

#endif
