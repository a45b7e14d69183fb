/* test_metadata: the ECS metadata parsers, engines-per-task sizing and the JSON report. */
#include "metadata.h"
#include "bounds.h"
#include "tap.h"

#include <errno.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#ifndef FIXTURES
#define FIXTURES "tests/fixtures/ecs-metadata"
#endif

static char *slurp(const char *name, size_t *len)
{
	char path[512];
	snprintf(path, sizeof path, "%s/%s", FIXTURES, name);
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	long n;
	*len = 0;
	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0 &&
	    (buf = malloc((size_t)n + 1)) && fread(buf, 1, (size_t)n, f) == (size_t)n) {
		buf[n] = '\0';
		*len = (size_t)n;
	} else {
		free(buf);
		buf = NULL;
	}
	fclose(f);
	return buf;
}

static int parse_file(int task, const char *name, struct ecs_meta *m)
{
	size_t len;
	char *buf = slurp(name, &len);
	int rc;
	if (!buf) {
		printf("# unable to read %s/%s\n", FIXTURES, name);
		return -2;
	}
	rc = task ? metadata_parse_task(buf, len, m) : metadata_parse_container(buf, len, m);
	free(buf);
	return rc;
}

static int parse_str(int task, const char *s, struct ecs_meta *m)
{
	return task ? metadata_parse_task(s, strlen(s), m)
		    : metadata_parse_container(s, strlen(s), m);
}

static void test_v4_fargate(void)
{
	struct ecs_meta m = {0};
	is_int(parse_file(0, "ecs-v4-fargate-container.json", &m), 0, "fargate container parses");
	is_str(m.container_name, "curl", "container name");
	is_str(m.ipv4, "192.0.2.3", "container IPv4");
	is_str(m.ipv6, "", "no IPv6 in the container document");
	is_int(m.container_cpu_units, 10, "container Limits.CPU in CPU units");
	is_str(m.family, "curltest", "family from the container's labels");
	is_str(m.revision, "2", "revision from the container's labels");
	is_str(m.task_id, "cd189a933e5849daa93386466019ab50", "task id from the labels' ARN");
	is_int(m.present, 1, "present");

	is_int(parse_file(1, "ecs-v4-fargate-task.json", &m), 0, "fargate task parses");
	is_str(m.cluster, "arn:aws:ecs:us-west-2:111122223333:cluster/default", "cluster");
	is_str(m.task_arn,
	       "arn:aws:ecs:us-west-2:111122223333:task/default/e9028f8d5d8e4f258373e7b93ce9a3c3",
	       "task ARN: the task document wins over the labels");
	is_str(m.task_id, "e9028f8d5d8e4f258373e7b93ce9a3c3", "task id: after the last '/'");
	is_str(m.family, "curltest", "family");
	is_str(m.revision, "3", "revision from the task document");
	is_str(m.az, "us-west-2a", "availability zone");
	is_str(m.launch_type, "FARGATE", "launch type");
	ok(m.task_vcpu == 0.25, "task Limits.CPU is 0.25 vCPU (got %g)", m.task_vcpu);
	is_int(m.task_memory_mib, 512, "task Limits.Memory in MiB");
	is_str(m.ipv4, "192.0.2.3", "IPv4 kept");
	is_str(m.ipv6, "2001:dB8:10b:1a00:32bf:a372:d80f:e958",
	       "IPv6 from this container's entry in the task document");
	is_int(metadata_engines_auto(&m, NULL, NULL, NULL), 1, "0.25 vCPU: one engine");
}

static void test_v4_task_alone(void)
{
	struct ecs_meta m = {0};
	is_int(parse_file(1, "ecs-v4-fargate-task.json", &m), 0, "task document alone parses");
	is_str(m.task_id, "e9028f8d5d8e4f258373e7b93ce9a3c3", "task id");
	is_str(m.container_name, "", "no container name from the task document");
	is_str(m.ipv6, "", "no IPv6 without knowing which container is ours");
}

static void test_v4_ec2(void)
{
	struct ecs_meta m = {0};
	is_int(parse_file(0, "ecs-v4-ec2-container.json", &m), 0, "EC2 container parses");
	is_str(m.container_name, "curl", "container name");
	is_str(m.ipv4, "10.0.2.100", "awsvpc IPv4");
	is_int(m.container_cpu_units, 10, "container CPU units");
	is_str(m.cluster, "default", "cluster from the labels");
	is_str(m.task_id, "8f03e41243824aea923aca126495f665", "task id from the labels");
	is_str(m.family, "curltest", "family");
	is_str(m.revision, "24", "revision");
	is_str(m.az, "", "no AZ in a container document");
	ok(m.task_vcpu == 0, "no task vCPUs from a container document");
}

static void test_v3(void)
{
	struct ecs_meta m = {0};
	is_int(parse_file(0, "ecs-v3-container.json", &m), 0, "v3 container parses");
	is_int(parse_file(1, "ecs-v3-task.json", &m), 0, "v3 task parses");
	is_str(m.cluster, "default", "v3 cluster");
	is_str(m.task_id, "9781c248-0edd-4cdb-9a93-f63cb662a5d3", "v3 task id (old ARN format)");
	is_str(m.family, "nginx", "v3 family");
	is_str(m.revision, "5", "v3 revision");
	is_str(m.az, "us-east-2b", "v3 AZ");
	is_str(m.container_name, "nginx-curl", "v3 container name");
	is_str(m.ipv4, "10.0.2.106", "v3 IPv4");
	is_int(m.container_cpu_units, 512, "v3 container CPU units");
	is_str(m.launch_type, "", "no launch type in v3");
	ok(m.task_vcpu == 0, "no task limits in the v3 example");
}

static void test_stats_doc(void)
{
	struct ecs_meta m = {0};
	is_int(parse_file(0, "ecs-v4-ec2-container-stats.json", &m), 0,
	       "a stats document is an object: parsed, nothing taken");
	is_str(m.container_name, "", "no name from stats");
	is_int(m.container_cpu_units, 0, "no CPU from stats");
}

static void test_missing(void)
{
	struct ecs_meta m = {0};
	is_int(parse_str(1, "{}", &m), 0, "empty object: task");
	is_int(parse_str(0, "{}", &m), 0, "empty object: container");
	is_int(m.present, 1, "present even with nothing in it");
	is_str(m.task_id, "", "nothing taken");
	ok(m.task_vcpu == 0, "no vCPU");

	/* early in a task's life: a container with only CPU 0, a task with no Limits */
	memset(&m, 0, sizeof m);
	is_int(parse_str(0, "{\"Name\":\"w\",\"Limits\":{\"CPU\":0},\"Networks\":[]}", &m), 0,
	       "early container document");
	is_str(m.container_name, "w", "name");
	is_int(m.container_cpu_units, 0, "CPU 0 is unknown");
	is_str(m.ipv4, "", "no networks yet");
	is_int(parse_str(1, "{\"TaskARN\":\"arn:aws:ecs:r:1:task/c/abc\",\"Limits\":{}}", &m), 0,
	       "task without limits");
	is_str(m.task_id, "abc", "task id");
	ok(m.task_vcpu == 0, "no vCPU");

	memset(&m, 0, sizeof m);
	is_int(parse_str(1, "{\"TaskARN\":\"no-slash-at-all\"}", &m), 0, "ARN without '/'");
	is_str(m.task_id, "no-slash-at-all", "task id is the whole value");
	memset(&m, 0, sizeof m);
	is_int(parse_str(1, "{\"TaskARN\":\"arn:aws:ecs:r:1:task/\"}", &m), 0, "ARN ending in '/'");
	is_str(m.task_id, "", "no task id");
}

static void test_wrong_types(void)
{
	struct ecs_meta m = {0};
	const char *task =
		"{\"Cluster\":5,\"TaskARN\":[\"arn:x/y\"],\"Family\":null,\"Revision\":7,"
		"\"AvailabilityZone\":{},\"LaunchType\":true,\"Limits\":{\"CPU\":\"2\","
		"\"Memory\":-5},\"Containers\":{\"Name\":\"x\"},\"Extra\":[1,{\"a\":[]}]}";
	is_int(parse_str(1, task, &m), 0, "task of wrong types parses");
	is_str(m.cluster, "", "number cluster skipped");
	is_str(m.task_arn, "", "array ARN skipped");
	is_str(m.task_id, "", "no task id");
	is_str(m.family, "", "null family skipped");
	is_str(m.revision, "7", "integer revision accepted");
	is_str(m.az, "", "object AZ skipped");
	is_str(m.launch_type, "", "boolean launch type skipped");
	ok(m.task_vcpu == 0, "string CPU skipped");
	is_int(m.task_memory_mib, 0, "negative memory skipped");

	memset(&m, 0, sizeof m);
	is_int(parse_str(1, "{\"Limits\":\"big\",\"Revision\":-1}", &m), 0, "Limits a string");
	ok(m.task_vcpu == 0, "nothing from it");
	is_str(m.revision, "", "negative revision skipped");
	memset(&m, 0, sizeof m);
	is_int(parse_str(1, "{\"Limits\":{\"CPU\":-2,\"Memory\":1e300}}", &m), 0,
	       "absurd numbers");
	ok(m.task_vcpu == 0, "negative vCPU skipped");
	is_int(m.task_memory_mib, 0, "huge memory skipped");
	memset(&m, 0, sizeof m);
	is_int(parse_str(1, "{\"Limits\":{\"CPU\":1e308}}", &m), 0, "huge vCPU");
	ok(m.task_vcpu == 0, "skipped, not trusted");
	memset(&m, 0, sizeof m);
	is_int(parse_str(1, "{\"Limits\":{\"CPU\":2,\"Memory\":4096.0}}", &m), 0,
	       "integer vCPU, real memory");
	ok(m.task_vcpu == 2, "CPU 2");
	is_int(m.task_memory_mib, 4096, "memory 4096");

	memset(&m, 0, sizeof m);
	const char *cont =
		"{\"Name\":42,\"Networks\":{\"IPv4Addresses\":[\"1.2.3.4\"]},\"Limits\":[512],"
		"\"Labels\":\"none\"}";
	is_int(parse_str(0, cont, &m), 0, "container of wrong types parses");
	is_str(m.container_name, "", "number name skipped");
	is_str(m.ipv4, "", "Networks an object: skipped");
	is_int(m.container_cpu_units, 0, "Limits an array: skipped");
	memset(&m, 0, sizeof m);
	is_int(parse_str(0, "{\"Networks\":[\"eth0\",{}]}", &m), 0, "Networks[0] a string");
	is_str(m.ipv4, "", "skipped");
	is_int(parse_str(0, "{\"Networks\":[{\"IPv4Addresses\":[1,\"1.2.3.4\"],"
			    "\"IPv6Addresses\":\"::1\"}]}", &m), 0, "addresses of wrong types");
	is_str(m.ipv4, "", "IPv4Addresses[0] a number: skipped");
	is_str(m.ipv6, "", "IPv6Addresses a string: skipped");
	is_int(parse_str(0, "{\"Networks\":[{\"IPv4Addresses\":[],\"IPv6Addresses\":[\"::1\"]}]}",
			 &m), 0, "IPv6 only");
	is_str(m.ipv6, "::1", "IPv6 taken");

	/* the task's Containers list with entries of every shape */
	memset(&m, 0, sizeof m);
	snprintf(m.container_name, sizeof m.container_name, "me");
	is_int(parse_str(1, "{\"Containers\":[1,null,{\"Name\":7},{\"Name\":\"other\",\"Networks\":"
			    "[{\"IPv4Addresses\":[\"9.9.9.9\"]}]},{\"Name\":\"me\",\"Networks\":"
			    "[{\"IPv4Addresses\":[\"10.1.1.1\"]}]}]}", &m), 0,
	       "task with odd Containers entries");
	is_str(m.ipv4, "10.1.1.1", "this container's entry is the one used");
}

static void test_sizes(void)
{
	struct ecs_meta m = {0};
	char doc[1200], arn[400];
	memset(arn, 'a', sizeof arn - 1);
	arn[sizeof arn - 1] = '\0';
	snprintf(doc, sizeof doc, "{\"TaskARN\":\"%s\",\"Family\":\"f\",\"AvailabilityZone\":\"%.100s\"}",
		 arn, arn);
	is_int(parse_str(1, doc, &m), 0, "long strings parse");
	is_str(m.task_arn, "", "an ARN too long for its field is skipped, not cut");
	is_str(m.az, "", "an AZ too long is skipped");
	is_str(m.family, "f", "the rest is taken");
	memset(&m, 0, sizeof m);
	is_int(parse_str(1, "{\"Family\":\"\"}", &m), 0, "empty string");
	is_str(m.family, "", "empty family is no family");
	is_int(parse_str(1, "{\"Family\":\"a\\u0000b\"}", &m), -1,
	       "a NUL inside a string: rejected by the JSON parser");
}

static void test_garbage(void)
{
	static const char *const bad[] = {
		"", " ", "hello", "null", "[]", "[{\"Cluster\":\"x\"}]", "\"Cluster\"", "42", "true",
		"{", "{\"Cluster\":", "{\"Cluster\":\"x\"", "{\"Cluster\":\"x\"}}", "{'a':1}",
		"{\"a\":1,}", "\xff\xfe{}", "{\"Family\":\"\xc3\x28\"}",
	};
	struct ecs_meta m = {0}, before;
	snprintf(m.family, sizeof m.family, "kept");
	before = m;
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		is_int(parse_str(1, bad[i], &m), -1, "task: garbage %zu rejected", i);
		is_int(parse_str(0, bad[i], &m), -1, "container: garbage %zu rejected", i);
	}
	ok(memcmp(&m, &before, sizeof m) == 0, "m untouched by rejected bodies");
	is_int(metadata_parse_task(NULL, 0, &m), -1, "NULL buffer");
	is_int(metadata_parse_container("{}", 0, &m), -1, "zero length");
	unsigned char bin[64];
	for (size_t i = 0; i < sizeof bin; i++)
		bin[i] = (unsigned char)(i * 37 + 11);
	is_int(metadata_parse_task((const char *)bin, sizeof bin, &m), -1, "binary");

	/* every truncation of a real document is rejected, and never crashes */
	size_t len;
	char *full = slurp("ecs-v4-fargate-task.json", &len);
	int rejected = 0, total = 0;
	for (size_t cut = 0; full && cut + 2 < len; cut += 7) {
		struct ecs_meta t = {0};
		total++;
		rejected += metadata_parse_task(full, cut, &t) == -1;
	}
	ok(full && total > 100 && rejected == total, "every truncated task document rejected "
	   "(%d of %d)", rejected, total);
	free(full);
	/* a body that is not NUL-terminated: the length rules */
	char nonul[3] = {'{', '}', 'x'};
	is_int(metadata_parse_task(nonul, 2, &m), 0, "length, not a terminator, ends the body");
}

static void test_engines_task(void)
{
	static const double vcpu[] = {0.25, 0.5, 1, 2, 4, 16, 1.9999999, 3.5, 8.0, 192};
	static const int want[] = {1, 1, 1, 2, 4, 16, 2, 3, 8, 192};
	for (size_t i = 0; i < sizeof vcpu / sizeof vcpu[0]; i++) {
		struct ecs_meta m = {0};
		m.task_vcpu = vcpu[i];
		is_int(metadata_engines_auto(&m, "/nonexistent", NULL, NULL), want[i], "task CPU %g -> %d",
		       vcpu[i], want[i]);
	}
	/* each source says so, for the log */
	const char *why = NULL;
	struct ecs_meta both = {0};
	both.task_vcpu = 4;
	both.container_cpu_units = 2048;
	is_int(metadata_engines_auto(&both, "/nonexistent", NULL, &why), 4,
	       "task vCPUs win over the container's units");
	ok(why && strstr(why, "task's vCPUs"), "from the task's vCPUs: %s", why ? why : "");
	static const struct { long units; int want; const char *from; } cu[] = {
		{2048, 2, "container's CPU units"}, {4096, 4, "container's CPU units"},
		{1536, 1, "container's CPU units"}, {10, 1, "container's CPU units"},
		{1024L * 5000, LE_ENGINES_MAX, "container's CPU units"}, {0, -1, "online CPUs"},
	};
	for (size_t i = 0; i < sizeof cu / sizeof cu[0]; i++) {
		struct ecs_meta m = {0};
		m.container_cpu_units = cu[i].units;
		int got = metadata_engines_auto(&m, "/nonexistent", NULL, &why);
		long on = sysconf(_SC_NPROCESSORS_ONLN);
		is_int(got, cu[i].want > 0 ? cu[i].want : (int)(on > 0 ? on : 1),
		       "EC2 without task CPU, container %ld units", cu[i].units);
		ok(why && strstr(why, cu[i].from), "from %s: %s", cu[i].from, why ? why : "");
	}
	/* through the parser, as the fetch does it */
	static const char *const docs[] = {"0.25", "1", "2", "4", "16"};
	static const int n[] = {1, 1, 2, 4, 16};
	for (size_t i = 0; i < 5; i++) {
		char doc[100];
		struct ecs_meta m = {0};
		snprintf(doc, sizeof doc, "{\"Limits\":{\"CPU\":%s,\"Memory\":2048}}", docs[i]);
		metadata_parse_task(doc, strlen(doc), &m);
		is_int(metadata_engines_auto(&m, "/nonexistent", NULL, NULL), n[i],
		       "task document with Limits.CPU %s -> %d engines", docs[i], n[i]);
	}
}

static int write_file(const char *dir, const char *name, const char *text)
{
	char path[512];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	FILE *f = fopen(path, "w");
	if (!f)
		return -1;
	fputs(text, f);
	return fclose(f);
}

static int online(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	return n > 0 ? (int)n : 1;
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

/* Removes a temporary tree, deepest first. */
static void rm_tree(const char *dir)
{
	nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static void test_engines_cgroup(void)
{
	char tmpl[] = "/tmp/le-cgroup-XXXXXX";
	char *root = mkdtemp(tmpl), sub[512];
	struct ecs_meta none = {0}, four = {0};
	four.task_vcpu = 4;
	if (!root) {
		ok(0, "mkdtemp: %s", strerror(errno));
		return;
	}
	is_int(metadata_engines_auto(&none, root, NULL, NULL), online(), "no cgroup files: online CPUs (%d)",
	       online());
	is_int(metadata_engines_auto(NULL, NULL, NULL, NULL), online(), "no metadata, no root: online CPUs");

	static const struct { const char *text; int want; const char *what; } v2[] = {
		{"200000 100000\n", 2, "v2 200000 100000 -> 2"},
		{"400000 100000", 4, "v2 without newline -> 4"},
		{"150000 100000\n", 1, "v2 1.5 CPUs -> 1"},
		{"50000 100000\n", 1, "v2 half a CPU -> 1 (minimum)"},
		{"1600000 100000\n", 16, "v2 16 CPUs"},
		{"300000 50000\n", 6, "v2 other period -> 6"},
		{"max 100000\n", -1, "v2 max: no quota -> online CPUs"},
		{"max\n", -1, "v2 bare max -> online CPUs"},
	};
	for (size_t i = 0; i < sizeof v2 / sizeof v2[0]; i++) {
		write_file(root, "cpu.max", v2[i].text);
		is_int(metadata_engines_auto(&none, root, NULL, NULL), v2[i].want < 0 ? online() : v2[i].want,
		       "%s", v2[i].what);
	}
	write_file(root, "cpu.max", "200000 100000\n");
	is_int(metadata_engines_auto(&four, root, NULL, NULL), 4, "task vCPUs win over the cgroup");

	/* broken cpu.max: ignored, v1 (absent) then online CPUs */
	static const char *const broken[] = {"", "abc 100000", "200000", "200000 0",
					     "200000 -5", "-200000 100000", "200000 100000 7",
					     "99999999999999999999 100000", "200000x100000",
					     "0 100000"};
	for (size_t i = 0; i < sizeof broken / sizeof broken[0]; i++) {
		write_file(root, "cpu.max", broken[i]);
		is_int(metadata_engines_auto(&none, root, NULL, NULL), online(),
		       "broken cpu.max \"%s\" -> online CPUs", broken[i]);
	}
	snprintf(sub, sizeof sub, "%s/cpu.max", root);
	unlink(sub);

	/* cgroup v1 */
	snprintf(sub, sizeof sub, "%s/cpu", root);
	mkdir(sub, 0700);
	write_file(sub, "cpu.cfs_quota_us", "300000\n");
	write_file(sub, "cpu.cfs_period_us", "100000\n");
	is_int(metadata_engines_auto(&none, root, NULL, NULL), 3, "v1 cpu/ 300000/100000 -> 3");
	write_file(sub, "cpu.cfs_quota_us", "-1\n");
	is_int(metadata_engines_auto(&none, root, NULL, NULL), online(), "v1 quota -1 -> online CPUs");
	write_file(sub, "cpu.cfs_quota_us", "25000\n");
	is_int(metadata_engines_auto(&none, root, NULL, NULL), 1, "v1 quarter CPU -> 1");
	write_file(sub, "cpu.cfs_quota_us", "2x\n");
	is_int(metadata_engines_auto(&none, root, NULL, NULL), online(), "v1 garbage quota -> online CPUs");
	write_file(sub, "cpu.cfs_quota_us", "200000\n");
	write_file(sub, "cpu.cfs_period_us", "0\n");
	is_int(metadata_engines_auto(&none, root, NULL, NULL), online(), "v1 period 0 -> online CPUs");
	char p[600];
	snprintf(p, sizeof p, "%s/cpu.cfs_quota_us", sub);
	unlink(p);
	snprintf(p, sizeof p, "%s/cpu.cfs_period_us", sub);
	unlink(p);
	rmdir(sub);

	snprintf(sub, sizeof sub, "%s/cpu,cpuacct", root);
	mkdir(sub, 0700);
	write_file(sub, "cpu.cfs_quota_us", "800000");
	write_file(sub, "cpu.cfs_period_us", "100000");
	is_int(metadata_engines_auto(&none, root, NULL, NULL), 8, "v1 cpu,cpuacct/ -> 8");
	write_file(root, "cpu.max", "200000 100000\n");
	is_int(metadata_engines_auto(&none, root, NULL, NULL), 2, "v2 cpu.max comes before v1");
	rm_tree(root);
	struct stat st;
	ok(stat(root, &st) < 0, "temporary cgroup tree removed");
}

/* Makes root/rel (and its parents) and writes text to root/rel/name. */
static void put_at(const char *root, const char *rel, const char *name, const char *text)
{
	char dir[512];
	snprintf(dir, sizeof dir, "%s", root);
	for (const char *p = rel; *p;) {
		const char *e = strchr(p + 1, '/');
		size_t k = e ? (size_t)(e - p) : strlen(p);
		size_t o = strlen(dir);
		snprintf(dir + o, sizeof dir - o, "%.*s", (int)k, p);
		mkdir(dir, 0700);
		p += k;
	}
	if (name)
		write_file(dir, name, text);
}

/* A container sharing the host's cgroup namespace: its own cgroup is below the mount
 * root, named by /proc/self/cgroup, and the smallest quota on the way up counts. */
static void test_engines_own_cgroup(void)
{
	char tmpl[] = "/tmp/le-cgroup-XXXXXX";
	char *root = mkdtemp(tmpl), self[512];
	struct ecs_meta none = {0}, two = {0};
	two.task_vcpu = 2;
	if (!root) {
		ok(0, "mkdtemp: %s", strerror(errno));
		return;
	}
	snprintf(self, sizeof self, "%s/self-cgroup", root);

	/* cgroup v2, host namespace: 0::/system.slice/docker-1.scope */
	put_at(root, "/system.slice/docker-1.scope", "cpu.max", "300000 100000\n");
	put_at(root, "/system.slice", "cpu.max", "max 100000\n");
	write_file(root, "self-cgroup", "0::/system.slice/docker-1.scope\n");
	is_int(metadata_engines_auto(&none, root, NULL, NULL), online(),
	       "without /proc/self/cgroup the root alone is read");
	is_int(metadata_engines_auto(&none, root, self, NULL), 3, "v2 own cgroup 300000/100000 -> 3");
	is_int(metadata_engines_auto(&two, root, self, NULL), 2, "task vCPUs still win");
	put_at(root, "/system.slice", "cpu.max", "200000 100000\n");
	is_int(metadata_engines_auto(&none, root, self, NULL), 2, "a smaller quota of a parent -> 2");
	write_file(root, "cpu.max", "100000 100000\n");
	is_int(metadata_engines_auto(&none, root, self, NULL), 1, "and of the root -> 1");
	char p[512];
	snprintf(p, sizeof p, "%s/cpu.max", root);
	unlink(p);
	put_at(root, "/system.slice", "cpu.max", "max 100000\n");
	write_file(root, "self-cgroup", "0::/system.slice/docker-1.scope/\n");
	is_int(metadata_engines_auto(&none, root, self, NULL), 3, "a trailing slash is fine");
	write_file(root, "self-cgroup", "0::/system.slice/../system.slice/docker-1.scope\n");
	is_int(metadata_engines_auto(&none, root, self, NULL), online(), "\"..\" is never followed");
	write_file(root, "self-cgroup", "0::/no/such/cgroup\n");
	is_int(metadata_engines_auto(&none, root, self, NULL), online(), "a cgroup not mounted here");
	write_file(root, "self-cgroup", "garbage\n::\n0:\n0::\n0::relative\n");
	is_int(metadata_engines_auto(&none, root, self, NULL), online(), "garbage lines are skipped");
	snprintf(p, sizeof p, "%s/missing", root);
	is_int(metadata_engines_auto(&none, root, p, NULL), online(), "no /proc/self/cgroup file");

	/* cgroup v1: each controller its own mount, the path below it */
	put_at(root, "/cpu,cpuacct/docker/abc", "cpu.cfs_quota_us", "500000\n");
	put_at(root, "/cpu,cpuacct/docker/abc", "cpu.cfs_period_us", "100000\n");
	write_file(root, "self-cgroup",
		   "4:memory:/docker/abc\n3:cpu,cpuacct:/docker/abc\n1:name=systemd:/docker/abc\n");
	is_int(metadata_engines_auto(&none, root, self, NULL), 5, "v1 cpu,cpuacct:/docker/abc -> 5");
	write_file(root, "self-cgroup", "3:cpuacct:/docker/abc\n");
	is_int(metadata_engines_auto(&none, root, self, NULL), online(),
	       "a v1 line without the cpu controller is not read");

	rm_tree(root);
	struct stat st;
	ok(stat(root, &st) < 0, "temporary cgroup tree removed");
}

static void test_json(void)
{
	struct ecs_meta m = {0};
	json_t *j = metadata_to_json(&m);
	ok(json_is_null(j), "nothing read, no warning: null");
	json_decref(j);
	j = metadata_to_json(NULL);
	ok(json_is_null(j), "NULL: null");
	json_decref(j);

	parse_file(0, "ecs-v4-fargate-container.json", &m);
	parse_file(1, "ecs-v4-fargate-task.json", &m);
	m.version = 4;
	j = metadata_to_json(&m);
	ok(json_is_object(j), "object after a read");
	is_str(json_string_value(json_object_get(j, "task_id")),
	       "e9028f8d5d8e4f258373e7b93ce9a3c3", "task_id");
	is_str(json_string_value(json_object_get(j, "availability_zone")), "us-west-2a", "az");
	ok(json_real_value(json_object_get(j, "task_vcpu")) == 0.25, "task_vcpu");
	is_int(json_integer_value(json_object_get(j, "task_memory_mib")), 512, "memory");
	is_int(json_integer_value(json_object_get(j, "version")), 4, "version");
	ok(json_is_true(json_object_get(j, "read")), "read true");
	ok(json_is_null(json_object_get(j, "warning")), "no warning");
	json_decref(j);

	memset(&m, 0, sizeof m);
	m.version = 4;
	snprintf(m.warning, sizeof m.warning, "http://x/task: timeout");
	j = metadata_to_json(&m);
	ok(json_is_false(json_object_get(j, "read")), "failed read: read false");
	is_str(json_string_value(json_object_get(j, "warning")), "http://x/task: timeout",
	       "the warning is shown");
	ok(json_is_null(json_object_get(j, "task_id")), "unknown fields are null");
	json_decref(j);
}

static void test_fetch_quiet(void)
{
	static char path[] = "PATH=/usr/bin", empty[] = "ECS_CONTAINER_METADATA_URI_V4=";
	char *env0[] = {path, NULL};
	char *env1[] = {empty, NULL};
	struct ecs_meta m;
	memset(&m, 0x5a, sizeof m);
	metadata_fetch(env0, &m, -1);
	is_int(m.present, 0, "no endpoint variable: nothing read");
	is_int(m.version, 0, "no version");
	is_str(m.warning, "", "and nothing to warn about");
	metadata_fetch(env1, &m, -1);
	is_str(m.warning, "", "an empty variable is no endpoint");
}

/* With SIGTERM pending (blocked, as under the supervisor) the fetch gives up at once. */
static void test_fetch_interrupted(void)
{
	static char uri[] = "ECS_CONTAINER_METADATA_URI_V4=http://127.0.0.1:19099/v4/x";
	char *env[] = {uri, NULL};
	struct ecs_meta m;
	sigset_t set, old;
	struct timespec t0, t1, zero = {0, 0};
	fflush(stdout); /* the fetch logs a warning on stderr: keep the TAP lines in order */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigprocmask(SIG_BLOCK, &set, &old);
	raise(SIGTERM);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	metadata_fetch(env, &m, -1);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	double took = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	ok(took < 0.5, "fetch with SIGTERM pending returns at once (%.3f s)", took);
	ok(strstr(m.warning, "interrupted") != NULL, "warning says interrupted: %s", m.warning);
	is_int(m.version, 4, "v4 was tried");
	sigset_t pend;
	sigpending(&pend);
	ok(sigismember(&pend, SIGTERM) == 1, "SIGTERM still pending for the supervisor");
	is_int(sigtimedwait(&set, NULL, &zero), SIGTERM, "and it can be taken");
	sigprocmask(SIG_SETMASK, &old, NULL);
}

int main(void)
{
	test_v4_fargate();
	test_v4_task_alone();
	test_v4_ec2();
	test_v3();
	test_stats_doc();
	test_missing();
	test_wrong_types();
	test_sizes();
	test_garbage();
	test_engines_task();
	test_engines_cgroup();
	test_engines_own_cgroup();
	test_json();
	test_fetch_quiet();
	test_fetch_interrupted();
	return done_testing();
}
