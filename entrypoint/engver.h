/* engver: which Locust the engine is, from `ENGINE --version` run beside the loop, when the
 * package's metadata beside the engine did not say (engine.c): for the options it has
 * (--json-file) and the results' summary. */
#ifndef LE_ENGVER_H
#define LE_ENGVER_H

#include <stddef.h>
#include <sys/types.h>

struct engver {
	pid_t pid;
	int fd;                /* the read end of its stdout; -1 once done */
	char out[512];
	size_t len;
	long long deadline;    /* monotonic ms */
	char version[64];      /* "" when unknown: Debian's 2.12.1 prints none */
};

/* Starts ENGINE --version in a process group of its own, stdin and stderr on /dev/null,
 * the default signal mask and dispositions. Its exit is reaped by the loop's reaper and
 * wakes the loop (SIGCHLD). 0, or -1 with why in err. */
int engver_start(struct engver *v, const char *engine, long timeout_ms, long long now,
		 char *err, size_t errlen);
/* Reads what came: 1 when done (its output ended, or the deadline came: then the group
 * gets SIGKILL), else 0. */
int engver_step(struct engver *v, long long now);
/* The earlier of t and the deadline (core_min_timeout's rules), while it runs. */
long engver_timeout(const struct engver *v, long t, long long now);
void engver_stop(struct engver *v);

/* The version in --version's output ("locust 2.46.0 from ..."): the word after the
 * program's name when it starts with a digit, else "" (Debian's "locust  from ..."). */
void engver_parse(const char *out, char *version, size_t len);
/* Locust has --json-file from 2.37.0, except 2.37.1 to 2.37.9 (removed, then restored).
 * 0 for an unknown version. Pure. */
int engver_has_json_file(const char *version);

#endif
