/* supervise: fork/exec engines in their own process groups, forward signals, reap. */
#ifndef LE_SUPERVISE_H
#define LE_SUPERVISE_H

#include <signal.h>
#include <sys/types.h>

struct engine {
	pid_t pid;                     /* 0 when not running */
	long long started_ms;          /* monotonic clock */
	long long started_wall;        /* wall clock, for the state document */
	unsigned long long start_ticks;/* /proc/<pid>/stat field 22, against pid reuse */
	int exited;                    /* set by sup_reap: exit not yet handled */
	int status;                    /* shell-like: code, or 128+signal; -1 before any */
	int stop_sent;                 /* we asked it to stop */
	int restarts;
	long long restart_at_ms;       /* crash back-off: start again at this time */
};

/* Blocks the signals the supervisor handles and returns a signalfd for them (-1 on error).
 * Becomes a child subreaper when not PID 1. */
int sup_init(void);

/* Starts argv[0] (looked up in PATH) in a new process group with the default signal
 * mask and dispositions and no fd of ours. Returns 0, or EXIT_NOTFOUND / EXIT_NOEXEC /
 * EXIT_SOFTWARE with the reason in err when exec failed. */
int sup_spawn(struct engine *e, char *const argv[], char *err, size_t errlen);

/* Sends sig to each running engine's process group. */
void sup_signal_all(struct engine *es, int n, int sig);

/* Reaps every exited child; engines get exited/status set. Returns the number of engine
 * exits seen; *children_left says whether any child of ours remains. */
int sup_reap(struct engine *es, int n, int *children_left);

/* Sends sig to every child of ours that is not one of the engines es[0..n-1]. */
void sup_signal_orphans(const struct engine *es, int n, int sig);

/* SIGKILL to everything left below us: the whole namespace as PID 1, else our engines'
 * groups and every remaining child. */
void sup_kill_rest(struct engine *es, int n);

/* Converts a wait status to a shell-like code (code, or 128+signal). */
int sup_code(int wstatus);

/* Fields of /proc/<pid>/stat (any pointer may be NULL): state letter, parent pid, start
 * time in clock ticks (field 22, which tells a reused pid). 0, or -1 when pid is gone. */
int sup_proc_stat(pid_t pid, char *state, int *ppid, unsigned long long *start_ticks);

/* Reads field 22 (starttime) of /proc/<pid>/stat; 0 when unknown. */
unsigned long long sup_start_ticks(pid_t pid);

long long sup_now_ms(void);

#endif
