/* procfs: /proc/<pid>/stat and comm, parsed where the command name cannot fool us. */
#include "procfs.h"
#include "fileio.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int proc_stat(pid_t pid, char *state, int *ppid, unsigned long long *start_ticks)
{
	char path[64], buf[1024];
	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	if (file_read_into(path, buf, sizeof buf) < 0)
		return -1;
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

unsigned long long proc_start_ticks(pid_t pid)
{
	unsigned long long t = 0;
	return proc_stat(pid, NULL, NULL, &t) == 0 ? t : 0;
}

void proc_comm(pid_t pid, char *out, size_t outlen)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/comm", (int)pid);
	if (file_read_into(path, out, outlen) < 0) {
		snprintf(out, outlen, "?");
		return;
	}
	out[strcspn(out, "\n")] = '\0';
}
