/* fuzz_cgroup: the cgroup CPU quota readers (v2 cpu.max, v1 cfs quota and period) behind
 * LOCUST_ECS_ENGINES=auto, on arbitrary file contents in a scratch directory. */
#include "metadata.h"

#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char root[64];

static void path_of(char *out, size_t len, const char *name)
{
	snprintf(out, len, "%s/%s", root, name);
}

static void cleanup(void)
{
	static const char *const files[] = {"cpu.max", "cpu.cfs_quota_us", "cpu.cfs_period_us",
					    "cpu/cpu.cfs_quota_us", "cpu/cpu.cfs_period_us",
					    "self-cgroup"};
	char p[128];
	for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
		path_of(p, sizeof p, files[i]);
		unlink(p);
	}
	path_of(p, sizeof p, "cpu");
	rmdir(p);
	rmdir(root);
}

static void setup(void)
{
	char p[128];
	const char *tmp = getenv("TMPDIR");
	snprintf(root, sizeof root, "%s/le-fuzz-cgroup-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(root))
		abort();
	path_of(p, sizeof p, "cpu");
	if (mkdir(p, 0700) < 0)
		abort();
	if (atexit(cleanup) != 0)
		abort();
}

/* Writes the bytes as the file's whole content, or removes the file when absent. */
static void put(const char *name, const uint8_t *p, size_t n, int present)
{
	char path[128];
	path_of(path, sizeof path, name);
	unlink(path);
	if (!present)
		return;
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		abort();
	if (n && write(fd, p, n) != (ssize_t)n)
		abort();
	close(fd);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *part[4] = {NULL, NULL, NULL, NULL};
	size_t len[4] = {0, 0, 0, 0};
	if (!root[0])
		setup();
	if (size == 0)
		return 0;
	/* byte 0: which files exist (bits 0-2, 4) and where the v1 files live (bit 3); then
	 * cpu.max, the v1 quota, the v1 period and /proc/self/cgroup, split at NUL bytes */
	unsigned flags = data[0];
	size_t off = 1;
	for (int i = 0; i < 4 && off <= size; i++) {
		const uint8_t *nul = memchr(data + off, '\0', size - off);
		part[i] = data + off;
		len[i] = nul ? (size_t)(nul - part[i]) : size - off;
		off += len[i] + 1;
	}
	const char *dir = flags & 8 ? "" : "cpu/";
	char q[64], per[64];
	snprintf(q, sizeof q, "%scpu.cfs_quota_us", dir);
	snprintf(per, sizeof per, "%scpu.cfs_period_us", dir);
	put("cpu.max", part[0], len[0], (flags & 1) && part[0]);
	put("cpu/cpu.cfs_quota_us", NULL, 0, 0);
	put("cpu/cpu.cfs_period_us", NULL, 0, 0);
	put("cpu.cfs_quota_us", NULL, 0, 0);
	put("cpu.cfs_period_us", NULL, 0, 0);
	put(q, part[1], len[1], (flags & 2) && part[1]);
	put(per, part[2], len[2], (flags & 4) && part[2]);
	put("self-cgroup", part[3], len[3], (flags & 16) && part[3]);
	char self[128];
	path_of(self, sizeof self, "self-cgroup");

	struct ecs_meta m;
	memset(&m, 0, sizeof m);
	int n = metadata_engines_auto(&m, root, self, NULL);
	if (n < 1 || n > 1024)
		__builtin_trap();
	n = metadata_engines_auto(NULL, root, NULL, NULL);
	if (n < 1 || n > 1024)
		__builtin_trap();
	return 0;
}
