/* metadata: ECS task metadata v4 (v3 fallback): fetch with libcurl, lenient parse. */
#ifndef LE_METADATA_H
#define LE_METADATA_H

#include <jansson.h>
#include <stddef.h>

struct ecs_meta {
	int present;            /* something was read */
	int version;            /* 4 or 3; 0 none */
	char cluster[256];
	char task_arn[256];
	char task_id[128];      /* last part of the task ARN */
	char family[256];
	char revision[32];
	char az[64];
	char launch_type[32];
	char container_name[256];
	char ipv4[64];          /* this container's private IPv4, first network */
	char ipv6[64];
	double task_vcpu;       /* task Limits.CPU in vCPUs; 0 unknown */
	long task_memory_mib;   /* task Limits.Memory; 0 unknown */
	long container_cpu_units; /* container Limits.CPU (1024 = 1 vCPU); 0 unknown */
	char warning[256];      /* why something could not be read, "" if all went well */
};

/* Parses the body of ${ECS_CONTAINER_METADATA_URI_V4}/task (or v3) into m. Unknown keys
 * are ignored, wrong types skipped, every field optional. 0, or -1 when the body is not a
 * JSON object (m keeps what it had). */
int metadata_parse_task(const char *buf, size_t len, struct ecs_meta *m);
/* The same for the container document ${ECS_CONTAINER_METADATA_URI_V4}. */
int metadata_parse_container(const char *buf, size_t len, struct ecs_meta *m);

/* Fetches both documents when ECS_CONTAINER_METADATA_URI_V4 (else _URI, v3) is set in
 * envp; does nothing without them. Bounded (500 ms connect, 2 s per request, a few
 * retries with backoff, 4 s in all, body capped at 1 MiB, no proxy, no redirect) and gives
 * up at once when SIGTERM or SIGINT is pending (sigpending(); the signal stays for the
 * signalfd, which is only polled to wake up, never read; sfd may be -1). Failures are
 * warnings, logged once per document, the first kept in m->warning. m is reset first. */
void metadata_fetch(char *const envp[], struct ecs_meta *m, int sfd);

/* Engines for a worker task with LOCUST_ECS_ENGINES=auto, the first of:
 * - floor of the task's vCPUs (ECS metadata; minimum 1);
 * - the cgroup CPU quota under cgroup_root (v2 cpu.max, v1 cpu.cfs_quota_us /
 *   cpu.cfs_period_us; floor, minimum 1). self_cgroup (/proc/self/cgroup; may be NULL)
 *   names this process's own cgroup below cgroup_root, as a container sharing the host's
 *   cgroup namespace sees it: the smallest quota on the way from there up counts;
 * - the container's CPU units (ECS metadata, EC2 without a task-level CPU: a reservation
 *   on a shared host), floor of units / 1024, minimum 1;
 * - the online CPUs.
 * *why (may be NULL) gets which one, for the log. */
int metadata_engines_auto(const struct ecs_meta *m, const char *cgroup_root,
			  const char *self_cgroup, const char **why);

/* What was read, for --print-config: null when no endpoint was configured, else an
 * object ("read": false and the "warning" when nothing could be read). */
json_t *metadata_to_json(const struct ecs_meta *m);

#endif
