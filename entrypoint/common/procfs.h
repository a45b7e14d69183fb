/* procfs: what both programs read of a process in /proc. */
#ifndef LE_PROCFS_H
#define LE_PROCFS_H

#include <sys/types.h>

/* Fields of /proc/<pid>/stat (any pointer may be NULL): state letter, parent pid, start
 * time in clock ticks (field 22, which tells a reused pid). 0, or -1 when pid is gone. */
int proc_stat(pid_t pid, char *state, int *ppid, unsigned long long *start_ticks);

/* Field 22 (starttime) of /proc/<pid>/stat; 0 when unknown. */
unsigned long long proc_start_ticks(pid_t pid);

/* The command name of pid (/proc/<pid>/comm) into out, "?" when unknown. */
void proc_comm(pid_t pid, char *out, size_t outlen);

#endif
