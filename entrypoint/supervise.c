/* supervise: the PID-1 core: spawn, forward, reap, kill what is left. */
#include "supervise.h"
#include "clock.h"
#include "config.h"
#include "log.h"
#include "procfs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define FD_SCAN_MAX 65536 /* the close fallback goes no higher, whatever RLIMIT_NOFILE says */

int sup_std_fds(void)
{
	for (int fd = 0; fd < 3; fd++) {
		if (fcntl(fd, F_GETFD) >= 0 || errno != EBADF)
			continue;
		/* the lowest free fd is this one: nothing of ours can take it later */
		int nfd = open("/dev/null", fd == 0 ? O_RDONLY : O_WRONLY);
		if (nfd < 0)
			return -1;
		if (nfd != fd) { /* cannot happen while fd is the lowest free; be sure */
			close(nfd);
			errno = EBADF;
			return -1;
		}
	}
	return 0;
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

/* The supervisor blocks these and reads them from its signalfd: sigpending() sees them
 * without taking them away. */
int sup_stop_pending(void)
{
	sigset_t pend;
	return sigpending(&pend) == 0 &&
	       (sigismember(&pend, SIGTERM) == 1 || sigismember(&pend, SIGINT) == 1);
}

int sup_code(int wstatus)
{
	if (WIFEXITED(wstatus))
		return WEXITSTATUS(wstatus);
	if (WIFSIGNALED(wstatus))
		return 128 + WTERMSIG(wstatus);
	return EXIT_SOFTWARE;
}

/* Closes fds from..to (inclusive): close_range, else one by one up to fd_max (close_range
 * fails with ENOSYS before Linux 5.9 and with EPERM under some seccomp profiles). */
static void close_fds(unsigned from, unsigned to, unsigned fd_max)
{
	if (from > to || syscall(SYS_close_range, from, to, 0) == 0)
		return;
	for (unsigned fd = from; fd <= to && fd < fd_max; fd++)
		close((int)fd);
}

/* In the child, between fork and exec: only async-signal-safe calls. */
static void child_exec(char *const argv[], int errfd, int take_tty, unsigned fd_max)
{
	sigset_t none;
	int e;

	setpgid(0, 0);
	/* give the terminal to the engine's group, as tini does, so that a Locust reading
	 * keys on a terminal is not stopped by SIGTTIN (SIGTTOU is still blocked here);
	 * one engine only: the terminal has one foreground group */
	if (take_tty && isatty(STDIN_FILENO))
		(void)tcsetpgrp(STDIN_FILENO, getpid());
	for (int s = 1; s < NSIG; s++)
		if (s != SIGKILL && s != SIGSTOP)
			signal(s, SIG_DFL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	close_fds(3, (unsigned)errfd - 1, fd_max);
	close_fds((unsigned)errfd + 1, ~0U, fd_max);
	execvp(argv[0], argv);
	e = errno;
	ssize_t w = write(errfd, &e, sizeof e);
	(void)w;
	_exit(e == ENOENT || e == ENOTDIR ? EXIT_NOTFOUND : EXIT_NOEXEC);
}

static unsigned fd_limit(void)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur == RLIM_INFINITY ||
	    rl.rlim_cur > FD_SCAN_MAX)
		return FD_SCAN_MAX;
	return (unsigned)rl.rlim_cur;
}

static int lacking(int e)
{
	return e == EAGAIN || e == ENOMEM;
}

int sup_spawn(struct engine *e, char *const argv[], int take_tty, char *err, size_t errlen)
{
	int pfd[2], child_errno = 0, fe;
	unsigned fd_max = fd_limit();
	pid_t pid;

	if (pipe2(pfd, O_CLOEXEC) < 0) {
		fe = errno;
		snprintf(err, errlen, "unable to create a pipe: %s", strerror(fe));
		return lacking(fe) ? SUP_AGAIN : EXIT_SOFTWARE;
	}
	pid = fork();
	if (pid < 0) {
		fe = errno;
		snprintf(err, errlen, "unable to fork: %s", strerror(fe));
		close(pfd[0]);
		close(pfd[1]);
		return lacking(fe) ? SUP_AGAIN : EXIT_SOFTWARE;
	}
	if (pid == 0) {
		close(pfd[0]);
		child_exec(argv, pfd[1], take_tty, fd_max);
	}
	close(pfd[1]);
	setpgid(pid, pid); /* also here: no race with a signal sent right after */
	/* the pipe closes on a successful exec; a failed one sends errno first */
	ssize_t n;
	do
		n = read(pfd[0], &child_errno, sizeof child_errno);
	while (n < 0 && errno == EINTR);
	close(pfd[0]);
	e->pid = e->pgid = e->last_pid = pid;
	e->started_ms = clock_mono_ms();
	e->started_wall = clock_wall_ms();
	e->exited = 0;
	e->stop_sent = 0;
	if (n == (ssize_t)sizeof child_errno) {
		snprintf(err, errlen, "unable to execute %s: %s", argv[0], strerror(child_errno));
		/* the child exits at once; sup_reap collects it */
		return child_errno == ENOENT || child_errno == ENOTDIR ? EXIT_NOTFOUND
								       : EXIT_NOEXEC;
	}
	e->start_ticks = proc_start_ticks(pid);
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

void sup_signal_leftovers(const struct engine *es, int n, int sig)
{
	for (int i = 0; i < n; i++)
		if (!es[i].pid && es[i].pgid > 0)
			kill(-es[i].pgid, sig); /* ESRCH: nothing is left in that group */
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

/* Calls fn for every child of ours that is not an engine: orphans re-parented to us
 * (as PID 1 or subreaper), which no engine's process group reaches any more. */
static void each_orphan(const struct engine *es, int n, void (*fn)(pid_t, void *), void *arg)
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
		if (!engine && proc_stat((pid_t)pid, NULL, &ppid, NULL) == 0 && ppid == self)
			fn((pid_t)pid, arg);
	}
	closedir(d);
}

static void send_sig(pid_t pid, void *arg)
{
	kill(pid, *(int *)arg);
}

void sup_signal_orphans(const struct engine *es, int n, int sig)
{
	each_orphan(es, n, send_sig, &sig);
}

struct victims {
	int count;
	char *what;
	size_t len, used;
};

static void name_victim(pid_t pid, struct victims *v)
{
	char comm[32];
	v->count++;
	if (!v->len || v->used >= v->len - 1)
		return;
	proc_comm(pid, comm, sizeof comm);
	int k = snprintf(v->what + v->used, v->len - v->used, "%spid %d (%s)",
			 v->used ? ", " : "", (int)pid, comm);
	if (k > 0)
		v->used += (size_t)k < v->len - v->used ? (size_t)k : v->len - v->used - 1;
}

static void note_victim(pid_t pid, void *arg)
{
	name_victim(pid, arg);
}

int sup_kill_rest(struct engine *es, int n, char *what, size_t whatlen)
{
	struct victims v = {0, what, whatlen, 0};
	if (whatlen)
		what[0] = '\0';
	for (int i = 0; i < n; i++)
		if (es[i].pid)
			name_victim(es[i].pid, &v);
	each_orphan(es, n, note_victim, &v);
	if (getpid() == 1) {
		/* in our own PID namespace everything else is below us */
		kill(-1, SIGKILL);
		return v.count;
	}
	sup_signal_all(es, n, SIGKILL);
	sup_signal_leftovers(es, n, SIGKILL);
	sup_signal_orphans(es, 0, SIGKILL);
	return v.count;
}
