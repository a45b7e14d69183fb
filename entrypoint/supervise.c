/* supervise: the PID-1 core: spawn, forward, reap, kill what is left. */
#include "supervise.h"
#include "config.h"
#include "log.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

long long sup_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Signals that are about the supervisor's own fault stay unblocked; SIGPIPE is ignored
 * (our sockets use MSG_NOSIGNAL too) so that it is never forwarded by mistake. */
static int is_synchronous(int sig)
{
	return sig == SIGSEGV || sig == SIGBUS || sig == SIGFPE || sig == SIGILL ||
	       sig == SIGTRAP || sig == SIGSYS || sig == SIGABRT || sig == SIGPIPE ||
	       sig == SIGKILL || sig == SIGSTOP;
}

int sup_init(void)
{
	sigset_t set;
	sigfillset(&set);
	for (int s = 1; s < NSIG; s++)
		if (is_synchronous(s))
			sigdelset(&set, s);
	signal(SIGPIPE, SIG_IGN);
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
		return -1;
	if (getpid() != 1 && prctl(PR_SET_CHILD_SUBREAPER, 1) < 0)
		log_warnx("subreaper", "unable to become a child subreaper: %s; orphans of the "
			  "engine go to the init above us", strerror(errno));
	return signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
}

int sup_code(int wstatus)
{
	if (WIFEXITED(wstatus))
		return WEXITSTATUS(wstatus);
	if (WIFSIGNALED(wstatus))
		return 128 + WTERMSIG(wstatus);
	return EXIT_SOFTWARE;
}

int sup_proc_stat(pid_t pid, char *state, int *ppid, unsigned long long *start_ticks)
{
	char path[64], buf[1024];
	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	/* the command name may hold spaces and parens: count fields after the last ')' */
	char *p = strrchr(buf, ')');
	if (!p || p[1] != ' ' || !p[2] || p[3] != ' ')
		return -1; /* ") S ppid ...": state letter and a field after it */
	if (state)
		*state = p[2];
	if (ppid)
		*ppid = (int)strtol(p + 4, NULL, 10);
	if (start_ticks) {
		*start_ticks = 0;
		p++;
		for (int field = 3; field < 22 && p; field++)
			p = strchr(p + 1, ' ');
		if (p)
			*start_ticks = strtoull(p + 1, NULL, 10);
	}
	return 0;
}

unsigned long long sup_start_ticks(pid_t pid)
{
	unsigned long long t = 0;
	return sup_proc_stat(pid, NULL, NULL, &t) == 0 ? t : 0;
}

/* In the child, between fork and exec: only async-signal-safe calls. */
static void child_exec(char *const argv[], int errfd)
{
	sigset_t none;
	int e;

	setpgid(0, 0);
	/* give the terminal to the engine's group, as tini does, so that a Locust reading
	 * keys on a terminal is not stopped by SIGTTIN (SIGTTOU is still blocked here) */
	if (isatty(STDIN_FILENO))
		(void)tcsetpgrp(STDIN_FILENO, getpid());
	for (int s = 1; s < NSIG; s++)
		if (s != SIGKILL && s != SIGSTOP)
			signal(s, SIG_DFL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	if (errfd > 3)
		syscall(SYS_close_range, 3, errfd - 1, 0);
	syscall(SYS_close_range, errfd + 1, ~0U, 0);
	execvp(argv[0], argv);
	e = errno;
	ssize_t w = write(errfd, &e, sizeof e);
	(void)w;
	_exit(e == ENOENT || e == ENOTDIR ? EXIT_NOTFOUND : EXIT_NOEXEC);
}

int sup_spawn(struct engine *e, char *const argv[], char *err, size_t errlen)
{
	int pfd[2], child_errno = 0;
	pid_t pid;

	if (pipe2(pfd, O_CLOEXEC) < 0) {
		snprintf(err, errlen, "unable to create a pipe: %s", strerror(errno));
		return EXIT_SOFTWARE;
	}
	pid = fork();
	if (pid < 0) {
		snprintf(err, errlen, "unable to fork: %s", strerror(errno));
		close(pfd[0]);
		close(pfd[1]);
		return EXIT_SOFTWARE;
	}
	if (pid == 0) {
		close(pfd[0]);
		child_exec(argv, pfd[1]);
	}
	close(pfd[1]);
	setpgid(pid, pid); /* also here: no race with a signal sent right after */
	/* the pipe closes on a successful exec; a failed one sends errno first */
	ssize_t n;
	do
		n = read(pfd[0], &child_errno, sizeof child_errno);
	while (n < 0 && errno == EINTR);
	close(pfd[0]);
	e->pid = pid;
	e->started_ms = sup_now_ms();
	{
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		e->started_wall = (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
	}
	e->exited = 0;
	e->stop_sent = 0;
	if (n == (ssize_t)sizeof child_errno) {
		snprintf(err, errlen, "unable to execute %s: %s", argv[0], strerror(child_errno));
		/* the child exits at once; sup_reap collects it */
		return child_errno == ENOENT || child_errno == ENOTDIR ? EXIT_NOTFOUND
								       : EXIT_NOEXEC;
	}
	e->start_ticks = sup_start_ticks(pid);
	return 0;
}

void sup_signal_all(struct engine *es, int n, int sig)
{
	for (int i = 0; i < n; i++) {
		if (!es[i].pid)
			continue;
		if (kill(-es[i].pid, sig) < 0 && errno == ESRCH)
			kill(es[i].pid, sig); /* it left its group (setsid): reach it directly */
	}
}

int sup_reap(struct engine *es, int n, int *children_left)
{
	int exits = 0, st;
	pid_t pid;

	*children_left = 1;
	for (;;) {
		pid = waitpid(-1, &st, WNOHANG);
		if (pid == 0)
			return exits;
		if (pid < 0) {
			if (errno == EINTR)
				continue;
			*children_left = 0; /* ECHILD: nothing below us any more */
			return exits;
		}
		int found = 0;
		for (int i = 0; i < n; i++) {
			if (es[i].pid != pid)
				continue;
			es[i].pid = 0;
			es[i].exited = 1;
			es[i].status = sup_code(st);
			exits++;
			found = 1;
		}
		if (!found)
			log_debug("reap", "reaped pid %d (status %d)", (int)pid, sup_code(st));
	}
}

/* sig to every child of ours that is not an engine: orphans re-parented to us (as PID 1
 * or subreaper), which no engine's process group reaches any more. */
void sup_signal_orphans(const struct engine *es, int n, int sig)
{
	DIR *d = opendir("/proc");
	struct dirent *de;
	pid_t self = getpid();
	if (!d)
		return;
	while ((de = readdir(d))) {
		char *end;
		int ppid, engine = 0;
		long pid = strtol(de->d_name, &end, 10);
		if (*end || pid <= 0)
			continue;
		for (int i = 0; i < n; i++)
			engine |= es[i].pid == (pid_t)pid;
		if (!engine && sup_proc_stat((pid_t)pid, NULL, &ppid, NULL) == 0 && ppid == self)
			kill((pid_t)pid, sig);
	}
	closedir(d);
}

void sup_kill_rest(struct engine *es, int n)
{
	if (getpid() == 1) {
		/* in our own PID namespace everything else is below us */
		kill(-1, SIGKILL);
		return;
	}
	sup_signal_all(es, n, SIGKILL);
	sup_signal_orphans(es, 0, SIGKILL);
}
