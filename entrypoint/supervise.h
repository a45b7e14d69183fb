/* supervise: fork/exec engines in their own process groups, forward signals, reap. */
#ifndef LE_SUPERVISE_H
#define LE_SUPERVISE_H

#include <signal.h>
#include <stddef.h>
#include <sys/types.h>

/* sup_spawn's answer for a fork or pipe that failed for want of resources (EAGAIN,
 * ENOMEM): try again later; never an exit status (EX_TEMPFAIL) */
#define SUP_AGAIN 75

struct engine {
	pid_t pid;                     /* 0 when not running */
	pid_t pgid;                    /* its process group, kept after it ended (leftovers) */
	pid_t last_pid;                /* the pid of its last life, for the logs */
	long long started_ms;          /* monotonic clock */
	long long started_wall;        /* wall clock, for the state document */
	unsigned long long start_ticks;/* /proc/<pid>/stat field 22, against pid reuse */
	int exited;                    /* set by sup_reap: exit not yet handled */
	int status;                    /* shell-like: code, or 128+signal; -1 before any */
	int stop_sent;                 /* we asked it to stop */
	int restarts;
	long long restart_at_ms;       /* crash back-off: start again at this time */
};

/* Makes fds 0, 1 and 2 open (on /dev/null when closed), so that no fd of ours takes
 * their place. 0, or -1 with errno. */
int sup_std_fds(void);

/* Blocks the signals the supervisor handles and returns a signalfd for them (-1 on error).
 * Becomes a child subreaper when not PID 1. */
int sup_init(void);

/* Is SIGTERM or SIGINT pending (blocked, not read from the signalfd yet)? */
int sup_stop_pending(void);

/* Starts argv[0] (looked up in PATH) in a new process group with the default signal
 * mask and dispositions and no fd of ours; it takes the terminal's foreground when
 * take_tty and stdin is a terminal. Returns 0; EXIT_NOTFOUND / EXIT_NOEXEC when exec
 * failed (the child is left to reap); SUP_AGAIN when fork or pipe2 lacked resources;
 * EXIT_SOFTWARE otherwise; with the reason in err. */
int sup_spawn(struct engine *e, char *const argv[], int take_tty, char *err, size_t errlen);

/* Sends sig to each running engine's process group. */
void sup_signal_all(struct engine *es, int n, int sig);

/* Sends sig to the process groups of engines that have ended (helpers they left). */
void sup_signal_leftovers(const struct engine *es, int n, int sig);

/* Reaps every exited child; engines get exited/status set. Returns the number of engine
 * exits seen; *children_left says whether any child of ours remains. */
int sup_reap(struct engine *es, int n, int *children_left);

/* Sends sig to every child of ours that is not one of the engines es[0..n-1]. */
void sup_signal_orphans(const struct engine *es, int n, int sig);

/* SIGKILL to everything left below us: the whole namespace as PID 1, else our engines'
 * groups and every remaining child. Returns how many processes it found to kill, and
 * names some of them ("pid 12 (sleep), ...") in what. */
int sup_kill_rest(struct engine *es, int n, char *what, size_t whatlen);

/* Converts a wait status to a shell-like code (code, or 128+signal). */
int sup_code(int wstatus);

#endif
