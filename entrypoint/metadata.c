/* metadata: ECS task metadata v4 (v3 fallback): a bounded libcurl fetch, a lenient parse. */
#include "metadata.h"

#include "log.h"
#include "clock.h"
#include "fileio.h"
#include "http.h"
#include "bounds.h"
#include "supervise.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#ifndef LE_VERSION
#define LE_VERSION "0.0.0"
#endif

/* The endpoint is local to the task (169.254.170.2) and answers in milliseconds; these
 * bounds only matter when it is not there yet or misbehaves. */
#define META_CONNECT_MS 500L
#define META_REQUEST_MS 2000L
#define META_BUDGET_MS 4000L    /* the whole fetch, every retry included */
#define META_ATTEMPTS 4         /* per document */
#define META_BACKOFF_MS 100L    /* doubled after each failed attempt */
#define META_BODY_MAX ((size_t)1024 * 1024)
#define META_SLICE_MS 50        /* longest wait without looking for SIGTERM/SIGINT */
#define META_URL_MAX 2048

/* ---------- parsing: pure, every field optional ---------- */

/* Copies a non-empty string that fits; anything else leaves dst as it was. */
static void copy_str(json_t *v, char *dst, size_t dstlen)
{
	if (!json_is_string(v))
		return;
	const char *s = json_string_value(v);
	size_t n = json_string_length(v);
	/* a truncated ARN or address would be wrong, not short: skip it instead */
	if (n == 0 || n >= dstlen || memchr(s, '\0', n))
		return;
	memcpy(dst, s, n + 1);
}

static void take_str(json_t *obj, const char *key, char *dst, size_t dstlen)
{
	copy_str(json_object_get(obj, key), dst, dstlen);
}

/* Revision is a string in every example; a number is accepted too. */
static void take_revision(json_t *obj, const char *key, char *dst, size_t dstlen)
{
	json_t *v = json_object_get(obj, key);
	if (json_is_integer(v) && json_integer_value(v) >= 0)
		snprintf(dst, dstlen, "%lld", (long long)json_integer_value(v));
	else
		take_str(obj, key, dst, dstlen);
}

/* A finite number member within [lo, hi]; 0, or -1 when absent or unusable. */
static int take_num(json_t *obj, const char *key, double lo, double hi, double *out)
{
	json_t *v = json_object_get(obj, key);
	if (!json_is_number(v))
		return -1;
	double d = json_number_value(v);
	if (!isfinite(d) || d < lo || d > hi)
		return -1;
	*out = d;
	return 0;
}

/* The first element of an array member, when it is a string. */
static void take_first(json_t *obj, const char *key, char *dst, size_t dstlen)
{
	copy_str(json_array_get(json_object_get(obj, key), 0), dst, dstlen);
}

static void set_task_id(struct ecs_meta *m)
{
	const char *slash = strrchr(m->task_arn, '/');
	const char *id = slash ? slash + 1 : m->task_arn;
	if (*id && strlen(id) < sizeof m->task_id)
		memcpy(m->task_id, id, strlen(id) + 1);
}

/* Networks[0]: the task's ENI in awsvpc mode. Fills only what is still unknown. */
static void take_networks(json_t *container, struct ecs_meta *m)
{
	json_t *net = json_array_get(json_object_get(container, "Networks"), 0);
	if (!json_is_object(net))
		return;
	if (!m->ipv4[0])
		take_first(net, "IPv4Addresses", m->ipv4, sizeof m->ipv4);
	if (!m->ipv6[0])
		take_first(net, "IPv6Addresses", m->ipv6, sizeof m->ipv6);
}

/* Container Limits.CPU is in CPU units (1024 = 1 vCPU); the task's is in vCPUs. */
static void take_container_cpu(json_t *container, struct ecs_meta *m)
{
	double d;
	if (take_num(json_object_get(container, "Limits"), "CPU", 0, 1e9, &d) == 0)
		m->container_cpu_units = (long)d;
}

static json_t *load_object(const char *buf, size_t len, char *err, size_t errlen)
{
	json_error_t je;
	json_t *doc = buf ? json_loadb(buf, len, 0, &je) : NULL;
	if (!buf && err)
		snprintf(err, errlen, "no body");
	else if (!doc && err)
		snprintf(err, errlen, "not JSON: %s (line %d, column %d)", je.text, je.line,
			 je.column);
	if (doc && !json_is_object(doc)) {
		json_decref(doc);
		doc = NULL;
		if (err)
			snprintf(err, errlen, "not a JSON object");
	}
	return doc;
}

static int parse_task(const char *buf, size_t len, struct ecs_meta *m, char *err,
		      size_t errlen)
{
	json_t *doc = load_object(buf, len, err, errlen);
	double d;
	if (!doc)
		return -1;
	take_str(doc, "Cluster", m->cluster, sizeof m->cluster);
	take_str(doc, "TaskARN", m->task_arn, sizeof m->task_arn);
	set_task_id(m);
	take_str(doc, "Family", m->family, sizeof m->family);
	take_revision(doc, "Revision", m->revision, sizeof m->revision);
	take_str(doc, "AvailabilityZone", m->az, sizeof m->az);
	take_str(doc, "LaunchType", m->launch_type, sizeof m->launch_type);
	json_t *lim = json_object_get(doc, "Limits");
	/* a Fargate task has 0.25 to 16 vCPUs; anything absurd is ignored, not trusted */
	if (take_num(lim, "CPU", 0, 4096, &d) == 0 && d > 0)
		m->task_vcpu = d;
	if (take_num(lim, "Memory", 1, 1e12, &d) == 0)
		m->task_memory_mib = (long)d;
	/* this container's entry may carry what its own document lacks (IPv6 on Fargate) */
	if (m->container_name[0]) {
		size_t i;
		json_t *c;
		json_array_foreach(json_object_get(doc, "Containers"), i, c) {
			json_t *name = json_object_get(c, "Name");
			if (json_is_string(name) &&
			    strcmp(json_string_value(name), m->container_name) == 0) {
				take_networks(c, m);
				break;
			}
		}
	}
	m->present = 1;
	json_decref(doc);
	return 0;
}

static int parse_container(const char *buf, size_t len, struct ecs_meta *m, char *err,
			   size_t errlen)
{
	json_t *doc = load_object(buf, len, err, errlen);
	if (!doc)
		return -1;
	take_str(doc, "Name", m->container_name, sizeof m->container_name);
	take_networks(doc, m);
	take_container_cpu(doc, m);
	/* the Docker labels name the task too: enough context when /task cannot be read */
	json_t *lab = json_object_get(doc, "Labels");
	if (!m->cluster[0])
		take_str(lab, "com.amazonaws.ecs.cluster", m->cluster, sizeof m->cluster);
	if (!m->task_arn[0]) {
		take_str(lab, "com.amazonaws.ecs.task-arn", m->task_arn, sizeof m->task_arn);
		set_task_id(m);
	}
	if (!m->family[0])
		take_str(lab, "com.amazonaws.ecs.task-definition-family", m->family,
			 sizeof m->family);
	if (!m->revision[0])
		take_str(lab, "com.amazonaws.ecs.task-definition-version", m->revision,
			 sizeof m->revision);
	m->present = 1;
	json_decref(doc);
	return 0;
}

int metadata_parse_task(const char *buf, size_t len, struct ecs_meta *m)
{
	return parse_task(buf, len, m, NULL, 0);
}

int metadata_parse_container(const char *buf, size_t len, struct ecs_meta *m)
{
	return parse_container(buf, len, m, NULL, 0);
}

/* ---------- fetching: bounded, and SIGTERM/SIGINT end it at once ---------- */

enum outcome {
	GOT,      /* the document was read */
	FAILED,   /* this document cannot be read; the next one may */
	RETRY,    /* the endpoint may not be ready yet */
	GIVE_UP,  /* no point asking the endpoint anything more */
};

/* Wakes a wait as soon as a signal arrives. A signal we do not act on (SIGHUP, ...) stays
 * pending and keeps the signalfd readable: stop polling it then, the slices remain. */
struct waker {
	int sfd;
	int noisy;
};

static int waker_fd(const struct waker *w)
{
	return w->sfd >= 0 && !w->noisy ? w->sfd : -1;
}

static void waker_woke(struct waker *w, int readable)
{
	if (readable && !sup_stop_pending())
		w->noisy = 1;
}

/* Sleeps ms unless SIGTERM/SIGINT comes first: 0, or -1 when one is pending. */
static int nap(struct waker *w, long ms)
{
	long long end = clock_mono_ms() + ms;
	for (;;) {
		if (sup_stop_pending())
			return -1;
		long long left = end - clock_mono_ms();
		if (left <= 0)
			return 0;
		struct pollfd pfd = {.fd = waker_fd(w), .events = POLLIN};
		int n = poll(&pfd, 1, left < META_SLICE_MS ? (int)left : META_SLICE_MS);
		waker_woke(w, n > 0 && (pfd.revents & POLLIN));
	}
}

static int on_progress(void *ud, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
		       curl_off_t ulnow)
{
	(void)ud; (void)dltotal; (void)dlnow; (void)ultotal; (void)ulnow;
	return sup_stop_pending(); /* non-zero: CURLE_ABORTED_BY_CALLBACK */
}

static int setup(CURL *h, const char *url, struct http_body *b, char *errbuf, long timeout_ms)
{
	long connect_ms = timeout_ms < META_CONNECT_MS ? timeout_ms : META_CONNECT_MS;
	/* the endpoint is link-local: never through a proxy, never to another host */
	return http_setup(h, url, b, errbuf, connect_ms, timeout_ms, "locust-ecs/" LE_VERSION) ||
	       curl_easy_setopt(h, CURLOPT_FAILONERROR, 1L) ||
	       curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)META_BODY_MAX) ||
	       curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L) ||
	       curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);
}

/* Runs the transfer with the multi interface so that the wait is ours: short slices,
 * woken by the signalfd, ended when SIGTERM/SIGINT is pending. */
static CURLcode perform(CURL *h, struct waker *w, int *interrupted)
{
	CURLM *mh = curl_multi_init();
	CURLcode rc = CURLE_FAILED_INIT;
	int running = 1;
	*interrupted = 0;
	if (!mh)
		return rc;
	if (curl_multi_add_handle(mh, h) != CURLM_OK)
		goto out;
	while (running) {
		if (curl_multi_perform(mh, &running) != CURLM_OK)
			break;
		if (!running)
			break;
		if (sup_stop_pending()) {
			*interrupted = 1;
			rc = CURLE_ABORTED_BY_CALLBACK;
			goto out_remove;
		}
		struct curl_waitfd wfd = {.fd = waker_fd(w), .events = CURL_WAIT_POLLIN};
		int nextra = wfd.fd >= 0;
		if (curl_multi_poll(mh, nextra ? &wfd : NULL, (unsigned)nextra, META_SLICE_MS,
				    NULL) != CURLM_OK)
			break;
		waker_woke(w, nextra && (wfd.revents & CURL_WAIT_POLLIN));
	}
	int left;
	CURLMsg *msg;
	while ((msg = curl_multi_info_read(mh, &left)))
		if (msg->msg == CURLMSG_DONE && msg->easy_handle == h)
			rc = msg->data.result;
	if (rc == CURLE_ABORTED_BY_CALLBACK)
		*interrupted = 1;
out_remove:
	curl_multi_remove_handle(mh, h);
out:
	curl_multi_cleanup(mh);
	return rc;
}

static int transient(CURLcode rc, long status)
{
	switch (rc) {
	case CURLE_HTTP_RETURNED_ERROR:
		return status >= 500 || status == 429;
	case CURLE_COULDNT_CONNECT: /* the agent's endpoint is not listening yet */
	case CURLE_GOT_NOTHING:
	case CURLE_RECV_ERROR:
	case CURLE_SEND_ERROR:
	case CURLE_PARTIAL_FILE:
		return 1;
	default:
		return 0;
	}
}

/* One attempt at url; the body is left in b. *answered: an HTTP status came back. */
static enum outcome attempt(const char *url, struct http_body *b, long timeout_ms, struct waker *w,
			    int *answered, char *why, size_t whylen)
{
	char errbuf[CURL_ERROR_SIZE] = "";
	long status = 0;
	int interrupted;
	enum outcome o;
	CURL *h = curl_easy_init();

	b->len = 0;
	b->too_big = 0;
	if (!h || setup(h, url, b, errbuf, timeout_ms)) {
		snprintf(why, whylen, "unable to set up libcurl");
		curl_easy_cleanup(h);
		return GIVE_UP;
	}
	CURLcode rc = perform(h, w, &interrupted);
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
	*answered = status > 0;
	const char *text = errbuf[0] ? errbuf : curl_easy_strerror(rc);
	if (interrupted) {
		snprintf(why, whylen, "interrupted by a signal to stop");
		o = GIVE_UP;
	} else if (b->too_big || rc == CURLE_FILESIZE_EXCEEDED) {
		snprintf(why, whylen, "the body is larger than %zu bytes", META_BODY_MAX);
		o = FAILED;
	} else if (rc == CURLE_OK && (status < 200 || status > 299)) {
		snprintf(why, whylen, "HTTP status %ld (redirects are not followed)", status);
		o = FAILED;
	} else if (rc == CURLE_OK) {
		o = GOT;
	} else {
		snprintf(why, whylen, "%s", text);
		o = transient(rc, status) ? RETRY
		    : rc == CURLE_HTTP_RETURNED_ERROR ? FAILED : GIVE_UP;
	}
	curl_easy_cleanup(h);
	return o;
}

/* Reads url with retries within the deadline. */
static enum outcome get_doc(const char *url, struct http_body *b, long long deadline,
			    struct waker *w, char *why, size_t whylen)
{
	long backoff = META_BACKOFF_MS;
	int answered = 0;
	for (int i = 1; i <= META_ATTEMPTS; i++) {
		long long left = deadline - clock_mono_ms();
		if (left <= 0) {
			if (i == 1)
				snprintf(why, whylen, "no time left");
			return GIVE_UP;
		}
		enum outcome o = attempt(url, b,
					 left < META_REQUEST_MS ? (long)left : META_REQUEST_MS, w,
					 &answered, why, whylen);
		if (o != RETRY)
			return o;
		if (i == META_ATTEMPTS || clock_mono_ms() + backoff >= deadline)
			break;
		if (nap(w, backoff) < 0) {
			snprintf(why, whylen, "interrupted by a signal to stop");
			return GIVE_UP;
		}
		backoff *= 2;
	}
	size_t n = strlen(why);
	snprintf(why + n, whylen - n, " (gave up after retrying)");
	/* an endpoint that answers (5xx) may still serve the other document; one that does
	 * not accept connections would fail the same way again */
	return answered ? FAILED : GIVE_UP;
}

static void warn_once(struct ecs_meta *m, const char *url, const char *why)
{
	size_t n = sizeof m->warning;
	/* a long URL may cut the text short here; the log line below has it whole */
	if (!m->warning[0] && snprintf(m->warning, n, "%s: %s", url, why) >= (int)n)
		memcpy(m->warning + n - 4, "...", 4);
	log_warnx("metadata", "unable to read the ECS task metadata %s: %s; going on without it",
		  url, why);
}

void metadata_fetch(char *const envp[], struct ecs_meta *m, int sfd)
{
	static const char *const suffix[] = {"", "/task"};
	char base[META_URL_MAX], url[META_URL_MAX + 8], why[CURL_ERROR_SIZE + 128];
	struct http_body b = {.max = META_BODY_MAX};
	struct waker w = {.sfd = sfd, .noisy = 0};
	const char *v4 = config_getenv(envp, "ECS_CONTAINER_METADATA_URI_V4");
	const char *v3 = config_getenv(envp, "ECS_CONTAINER_METADATA_URI");
	const char *uri = v4 && *v4 ? v4 : v3;

	memset(m, 0, sizeof *m);
	if (!uri || !*uri)
		return; /* not on ECS (a local docker run): nothing to say */
	m->version = uri == v4 ? 4 : 3;
	size_t n = strlen(uri);
	while (n > 0 && uri[n - 1] == '/')
		n--;
	if (n == 0 || n >= sizeof base) {
		warn_once(m, m->version == 4 ? "ECS_CONTAINER_METADATA_URI_V4"
					     : "ECS_CONTAINER_METADATA_URI",
			  "the value is empty or too long to be the endpoint's URL");
		return;
	}
	memcpy(base, uri, n);
	base[n] = '\0';
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		warn_once(m, base, "unable to initialise libcurl");
		return;
	}
	long long deadline = clock_mono_ms() + META_BUDGET_MS;
	/* the container first: its name picks this container's entry in the task's list */
	for (int i = 0; i < 2; i++) {
		int rc;
		snprintf(url, sizeof url, "%s%s", base, suffix[i]);
		why[0] = '\0';
		enum outcome o = get_doc(url, &b, deadline, &w, why, sizeof why);
		if (o == GOT) {
			const char *body = b.buf ? b.buf : "";
			rc = i == 0 ? parse_container(body, b.len, m, why, sizeof why)
				    : parse_task(body, b.len, m, why, sizeof why);
			if (rc < 0)
				warn_once(m, url, why);
			continue;
		}
		warn_once(m, url, why);
		if (o == GIVE_UP)
			break;
	}
	if (m->present)
		log_debug("metadata", "ECS task metadata v%d: task %s, family %s:%s, az %s, "
			  "%g vCPU", m->version, m->task_id, m->family, m->revision, m->az,
			  m->task_vcpu);
	http_body_free(&b);
	curl_global_cleanup();
}

/* ---------- engines per worker task ---------- */


/* file_read_into of dir/name. */
static int read_small(const char *dir, const char *name, char *out, size_t outlen)
{
	char path[4096];
	if (snprintf(path, sizeof path, "%s/%s", dir, name) >= (int)sizeof path)
		return -1;
	return file_read_into(path, out, outlen);
}

/* A whole integer field; *end is left after it. 0, or -1. */
static int parse_ll(const char *s, const char **end, long long *out)
{
	char *e;
	errno = 0;
	long long v = strtoll(s, &e, 10);
	if (e == s || errno == ERANGE)
		return -1;
	*out = v;
	*end = e;
	return 0;
}

static int only_space(const char *s)
{
	while (*s == ' ' || *s == '\n' || *s == '\t')
		s++;
	return *s == '\0';
}

static int cpus_of_quota(long long quota, long long period)
{
	long long n = quota / period;
	return n < 1 ? 1 : n > LE_ENGINES_MAX ? LE_ENGINES_MAX : (int)n;
}

/* cgroup v2 cpu.max: "max 100000" (no quota) or "200000 100000". 0 no quota, -1 no
 * readable file, else the count. */
static int cgroup_v2(const char *root)
{
	char buf[128];
	const char *p;
	long long quota, period;
	if (read_small(root, "cpu.max", buf, sizeof buf) < 0)
		return -1;
	if (strncmp(buf, "max", 3) == 0 && (buf[3] == ' ' || buf[3] == '\n' || !buf[3]))
		return 0;
	if (parse_ll(buf, &p, &quota) < 0 || *p != ' ' || parse_ll(p, &p, &period) < 0 ||
	    !only_space(p) || quota <= 0 || period <= 0)
		return -1;
	return cpus_of_quota(quota, period);
}

/* cgroup v1 cpu.cfs_quota_us (-1: no quota) and cpu.cfs_period_us, in dir. */
static int cgroup_v1(const char *dir)
{
	char q[64], per[64];
	const char *p;
	long long quota, period;
	if (read_small(dir, "cpu.cfs_quota_us", q, sizeof q) < 0 ||
	    read_small(dir, "cpu.cfs_period_us", per, sizeof per) < 0)
		return -1;
	if (parse_ll(q, &p, &quota) < 0 || !only_space(p))
		return -1;
	if (quota < 0)
		return 0;
	if (parse_ll(per, &p, &period) < 0 || !only_space(p) || quota == 0 || period <= 0)
		return -1;
	return cpus_of_quota(quota, period);
}

/* The quota at a cgroup mount root: v2 cpu.max (v1 0), or v1's files below the usual
 * controller mount points (v1 1). Returns as cgroup_v2. */
static int quota_at(const char *dir, int v1)
{
	static const char *const v1dirs[] = {"cpu", "cpu,cpuacct", "cpuacct,cpu", "."};
	char sub[4096];
	int n = -1;
	if (!v1)
		return cgroup_v2(dir);
	for (size_t i = 0; i < sizeof v1dirs / sizeof v1dirs[0] && n < 0; i++) {
		snprintf(sub, sizeof sub, "%s/%s", dir, v1dirs[i]);
		n = cgroup_v1(sub);
	}
	return n;
}

static void keep_smallest(int *best, int n)
{
	if (n > 0 && (*best <= 0 || n < *best))
		*best = n;
}

/* From root/rel up to (not including) root: the smallest quota of v2 cgroups (v1 0) or of
 * v1 cgroups (v1 1, dir being the controller's mount). rel starts with '/'. */
static void walk_up(const char *dir, const char *rel, int v1, int *best)
{
	char path[4096];
	size_t n = strlen(rel);
	while (n > 1 && rel[n - 1] == '/')
		n--;
	while (n > 1) {
		if (snprintf(path, sizeof path, "%s%.*s", dir, (int)n, rel) < (int)sizeof path)
			keep_smallest(best, v1 ? cgroup_v1(path) : cgroup_v2(path));
		while (n > 0 && rel[n - 1] != '/')
			n--;
		while (n > 1 && rel[n - 1] == '/')
			n--;
	}
}

/* A v1 controller list ("cpu,cpuacct") that holds "cpu". */
static int has_cpu(const char *ctl, size_t len)
{
	for (size_t i = 0; i < len;) {
		size_t j = i;
		while (j < len && ctl[j] != ',')
			j++;
		if (j - i == 3 && memcmp(ctl + i, "cpu", 3) == 0)
			return 1;
		i = j + 1;
	}
	return 0;
}

/* Each line of /proc/self/cgroup: "id:controllers:/path" (v2: "0::/path"). */
static void own_cgroups(const char *root, const char *text, int *best)
{
	char dir[4096];
	for (const char *line = text; *line;) {
		const char *eol = strchr(line, '\n');
		size_t len = eol ? (size_t)(eol - line) : strlen(line);
		const char *c1 = memchr(line, ':', len);
		const char *c2 = c1 ? memchr(c1 + 1, ':', len - (size_t)(c1 + 1 - line)) : NULL;
		if (c2 && c2[1] == '/' && !memmem(c2 + 1, len - (size_t)(c2 + 1 - line), "..", 2)) {
			char rel[4096];
			size_t rl = len - (size_t)(c2 + 1 - line);
			if (rl < sizeof rel) {
				memcpy(rel, c2 + 1, rl);
				rel[rl] = '\0';
				if (c2 == c1 + 1) { /* v2 */
					walk_up(root, rel, 0, best);
				} else if (has_cpu(c1 + 1, (size_t)(c2 - c1 - 1)) &&
					   snprintf(dir, sizeof dir, "%s/%.*s", root,
						    (int)(c2 - c1 - 1), c1 + 1) < (int)sizeof dir) {
					walk_up(dir, rel, 1, best);
				}
			}
		}
		line += len + (eol != NULL);
	}
}

static int cgroup_cpus(const char *root, const char *self_cgroup)
{
	int best = 0;
	if (!root || !*root)
		return 0;
	int n = quota_at(root, 0);
	keep_smallest(&best, n < 0 ? quota_at(root, 1) : n);
	char text[8192];
	if (self_cgroup && file_read_into(self_cgroup, text, sizeof text) == 0)
		own_cgroups(root, text, &best);
	return best;
}

static int clamp_engines(long long n)
{
	return n < 1 ? 1 : n > LE_ENGINES_MAX ? LE_ENGINES_MAX : (int)n;
}

int metadata_engines_auto(const struct ecs_meta *m, const char *cgroup_root,
			  const char *self_cgroup, const char **why)
{
	const char *unused;
	if (!why)
		why = &unused;
	if (m && m->task_vcpu > 0) {
		*why = "the task's vCPUs (ECS task metadata)";
		/* 1.9999999 from a float printer is still 2; (long long) floors, once the
		 * value is known to fit */
		double v = m->task_vcpu + 1e-6;
		return clamp_engines(v > LE_ENGINES_MAX ? LE_ENGINES_MAX : (long long)v);
	}
	int n = cgroup_cpus(cgroup_root, self_cgroup);
	if (n > 0) {
		*why = "the cgroup's CPU quota";
		return n;
	}
	if (m && m->container_cpu_units > 0) {
		*why = "the container's CPU units (ECS container metadata)";
		return clamp_engines(m->container_cpu_units / 1024);
	}
	*why = "the online CPUs";
	return clamp_engines(sysconf(_SC_NPROCESSORS_ONLN));
}

/* ---------- --print-config ---------- */

static json_t *str_or_null(const char *s)
{
	return s[0] ? json_string(s) : json_null();
}

json_t *metadata_to_json(const struct ecs_meta *m)
{
	if (!m || (!m->present && !m->warning[0]))
		return json_null();
	json_t *o = json_object();
	if (!o)
		return json_null();
	json_object_set_new(o, "read", json_boolean(m->present));
	json_object_set_new(o, "version", m->version ? json_integer(m->version) : json_null());
	json_object_set_new(o, "cluster", str_or_null(m->cluster));
	json_object_set_new(o, "task_arn", str_or_null(m->task_arn));
	json_object_set_new(o, "task_id", str_or_null(m->task_id));
	json_object_set_new(o, "family", str_or_null(m->family));
	json_object_set_new(o, "revision", str_or_null(m->revision));
	json_object_set_new(o, "availability_zone", str_or_null(m->az));
	json_object_set_new(o, "launch_type", str_or_null(m->launch_type));
	json_object_set_new(o, "container_name", str_or_null(m->container_name));
	json_object_set_new(o, "ipv4", str_or_null(m->ipv4));
	json_object_set_new(o, "ipv6", str_or_null(m->ipv6));
	json_object_set_new(o, "task_vcpu", m->task_vcpu > 0 ? json_real(m->task_vcpu)
							       : json_null());
	json_object_set_new(o, "task_memory_mib",
			    m->task_memory_mib > 0 ? json_integer(m->task_memory_mib)
						   : json_null());
	json_object_set_new(o, "container_cpu_units",
			    m->container_cpu_units > 0 ? json_integer(m->container_cpu_units)
						       : json_null());
	json_object_set_new(o, "warning", str_or_null(m->warning));
	return o;
}
