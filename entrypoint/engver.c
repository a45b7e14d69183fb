/* engver: `ENGINE --version`, read without waiting on it. */
#include "engver.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

extern char **environ;

int engver_start(struct engver *v, const char *engine, long timeout_ms, long long now,
		 char *err, size_t errlen)
{
	int p[2], rc;
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	sigset_t none, all;
	char *argv[] = {(char *)engine, (char *)"--version", NULL};

	memset(v, 0, sizeof *v);
	v->fd = -1;
	if (pipe2(p, O_CLOEXEC) < 0) {
		snprintf(err, errlen, "unable to make a pipe: %s", strerror(errno));
		return -1;
	}
	sigemptyset(&none);
	sigfillset(&all);
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, p[1], 1);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
	posix_spawnattr_init(&at);
	posix_spawnattr_setsigmask(&at, &none);
	posix_spawnattr_setsigdefault(&at, &all);
	posix_spawnattr_setpgroup(&at, 0);
	posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF |
				      POSIX_SPAWN_SETPGROUP);
	rc = posix_spawnp(&v->pid, engine, &fa, &at, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&at);
	close(p[1]);
	if (rc) {
		close(p[0]);
		snprintf(err, errlen, "unable to run %s --version: %s", engine, strerror(rc));
		return -1;
	}
	fcntl(p[0], F_SETFL, O_NONBLOCK);
	v->fd = p[0];
	v->deadline = now + timeout_ms;
	return 0;
}

void engver_stop(struct engver *v)
{
	if (v->fd < 0)
		return;
	close(v->fd);
	v->fd = -1;
	if (v->pid > 0)
		kill(-v->pid, SIGKILL); /* reaped by the loop's reaper */
	v->out[v->len] = '\0';
	engver_parse(v->out, v->version, sizeof v->version);
}

int engver_step(struct engver *v, long long now)
{
	if (v->fd < 0)
		return 1;
	for (;;) {
		ssize_t n = read(v->fd, v->out + v->len, sizeof v->out - 1 - v->len);
		if (n > 0) {
			v->len += (size_t)n;
			if (v->len < sizeof v->out - 1)
				continue;
		} else if (n < 0 && errno == EINTR) {
			continue;
		} else if (n < 0 && errno == EAGAIN) {
			break;
		} else if (n == 0) {
			v->pid = 0; /* its output ended: it is ending by itself */
		}
		engver_stop(v); /* the end, an error, or all we read */
		return 1;
	}
	if (now >= v->deadline) {
		engver_stop(v);
		return 1;
	}
	return 0;
}

long engver_timeout(const struct engver *v, long t, long long now)
{
	if (v->fd < 0)
		return t;
	long d = v->deadline <= now ? 0 : (long)(v->deadline - now);
	return t < 0 || d < t ? d : t;
}

void engver_parse(const char *out, char *version, size_t len)
{
	/* "locust VERSION from PATH (Python X.Y.Z)": the word after the program's name, and
	 * only when it is a version (Debian's packages leave it empty: "locust  from ...") */
	const char *p = out;
	version[0] = '\0';
	while (isspace((unsigned char)*p))
		p++;
	while (*p && !isspace((unsigned char)*p))
		p++;
	if (*p != ' ' || !isdigit((unsigned char)p[1]))
		return;
	p++;
	size_t n = 0;
	while (p[n] && (isalnum((unsigned char)p[n]) || strchr(".+-", p[n])))
		n++;
	if (n < len) {
		memcpy(version, p, n);
		version[n] = '\0';
	}
}

int engver_has_json_file(const char *version)
{
	long v[3] = {0, 0, 0};
	const char *p = version;
	for (int i = 0; i < 3; i++) {
		char *end;
		if (!isdigit((unsigned char)*p))
			return 0;
		v[i] = strtol(p, &end, 10);
		p = *end == '.' && i < 2 ? end + 1 : end;
		if (i < 2 && *end != '.')
			return 0;
	}
	if (v[0] != 2)
		return v[0] > 2;
	if (v[1] != 37)
		return v[1] > 37;
	return v[2] == 0 || v[2] >= 10;
}
