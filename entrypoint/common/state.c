/* state: build, write atomically and parse the supervisor's state document. */
#include "state.h"
#include "procfs.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define STATE_VERSION 1

int state_prepare_dir(const char *dir, char *err, size_t errlen)
{
	struct stat st;
	if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
		snprintf(err, errlen, "unable to create the state directory %s: %s", dir,
			 strerror(errno));
		return -1;
	}
	if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "the state directory %s is not a directory", dir);
		return -1;
	}
	if (st.st_uid != geteuid() || (st.st_mode & 0022)) {
		snprintf(err, errlen,
			 "the state directory %s is writable by others (owner uid %u, mode %03o): "
			 "use a directory only this user can write",
			 dir, (unsigned)st.st_uid, (unsigned)(st.st_mode & 0777));
		return -1;
	}
	if (access(dir, W_OK) < 0) {
		snprintf(err, errlen, "the state directory %s is not writable: %s", dir,
			 strerror(errno));
		return -1;
	}
	return 0;
}

static json_t *build(const struct state_info *si)
{
	const struct config *c = si->cfg;
	json_t *engines = json_array();
	for (int i = 0; i < si->nengines; i++) {
		const struct engine *e = &si->engines[i];
		json_t *o = json_pack("{s:i, s:I, s:I, s:i}", "pid", (int)e->pid, "start_ticks",
				      (json_int_t)e->start_ticks, "started",
				      (json_int_t)e->started_wall, "restarts", e->restarts);
		if (e->status >= 0)
			json_object_set_new(o, "last_status", json_integer(e->status));
		json_array_append_new(engines, o);
	}
	json_t *doc = json_pack(
		"{s:i, s:i, s:I, s:s, s:s, s:I, s:I, s:o, s:i, s:s?,"
		" s:{s:i, s:b, s:b, s:s?}, s:i, s:s?,"
		" s:{s:i, s:f, s:I, s:I}}",
		"version", STATE_VERSION, "pid", (int)getpid(), "pid_start_ticks",
		(json_int_t)proc_start_ticks(getpid()), "role", si->role, "phase",
		si->phase, "phase_since", (json_int_t)si->phase_since, "started",
		(json_int_t)si->started, "engines", engines, "restarts", si->restarts,
		"last_restart_reason", si->last_reason,
		"web", "port", c->web_port, "tls", c->web_tls, "headless", c->headless, "host",
		c->web_host,
		"master_bind_port", c->master_bind_port, "master_bind_host", c->master_bind_host,
		"health", "min_workers", c->health_min_workers, "max_fail_ratio",
		c->health_max_fail_ratio, "grace_ms", (json_int_t)c->health_grace_ms,
		"timeout_ms", (json_int_t)c->health_timeout_ms);
	if (doc && strcmp(si->role, "worker") == 0)
		json_object_set_new(doc, "master",
				    json_pack("{s:s, s:s?, s:i, s:I}", "host", c->master_host,
					      "address", si->master_addr, "port",
					      si->master_port, "wait_deadline",
					      (json_int_t)si->wait_deadline));
	return doc;
}

int state_write(const char *dir, const struct state_info *si, char *err, size_t errlen)
{
	char tmp[512], path[512];
	json_t *doc = build(si);
	char *text = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
	int fd = -1, rc = -1;

	json_decref(doc);
	snprintf(path, sizeof path, "%s/%s", dir, STATE_FILE);
	if (!text) {
		snprintf(err, errlen, "unable to encode the state document");
		goto out;
	}
	snprintf(tmp, sizeof tmp, "%s/.%s.%d", dir, STATE_FILE, (int)getpid());
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0) {
		snprintf(err, errlen, "unable to create %s: %s", tmp, strerror(errno));
		goto out;
	}
	size_t len = strlen(text), off = 0;
	while (off < len) {
		ssize_t w = write(fd, text + off, len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			snprintf(err, errlen, "unable to write %s: %s", tmp,
				 w < 0 ? strerror(errno) : "short write");
			unlink(tmp);
			goto out;
		}
		off += (size_t)w;
	}
	if (close(fd) < 0) {
		fd = -1;
		snprintf(err, errlen, "unable to write %s: %s", tmp, strerror(errno));
		unlink(tmp);
		goto out;
	}
	fd = -1;
	if (rename(tmp, path) < 0) {
		snprintf(err, errlen, "unable to rename %s to %s: %s", tmp, path,
			 strerror(errno));
		unlink(tmp);
		goto out;
	}
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	if (rc < 0)
		unlink(path); /* what it says is no longer true: let the check see no document */
	free(text);
	return rc;
}

void state_remove(const char *dir)
{
	char path[512];
	snprintf(path, sizeof path, "%s/%s", dir, STATE_FILE);
	unlink(path);
}

static void copy_str(json_t *o, const char *key, char *dst, size_t len)
{
	const char *s = json_string_value(json_object_get(o, key));
	snprintf(dst, len, "%s", s ? s : "");
}

static long long get_int(json_t *o, const char *key, long long def)
{
	json_t *v = json_object_get(o, key);
	return json_is_integer(v) ? (long long)json_integer_value(v) : def;
}

int state_parse(const char *buf, size_t len, struct state_view *out, char *err, size_t errlen)
{
	json_error_t je;
	json_t *doc = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &je);
	int rc = -1;

	memset(out, 0, sizeof *out);
	if (!doc) {
		snprintf(err, errlen, "the state document is not JSON: %s (line %d)", je.text,
			 je.line);
		return -1;
	}
	if (!json_is_object(doc)) {
		snprintf(err, errlen, "the state document is not a JSON object");
		goto out;
	}
	out->version = (int)get_int(doc, "version", 0);
	out->pid = (int)get_int(doc, "pid", 0);
	out->pid_start_ticks = (unsigned long long)get_int(doc, "pid_start_ticks", 0);
	copy_str(doc, "role", out->role, sizeof out->role);
	copy_str(doc, "phase", out->phase, sizeof out->phase);
	if (out->version != STATE_VERSION || out->pid <= 0 || !out->role[0] || !out->phase[0]) {
		snprintf(err, errlen, "the state document lacks version %d, pid, role or phase",
			 STATE_VERSION);
		goto out;
	}
	out->phase_since = get_int(doc, "phase_since", 0);
	out->restarts = (int)get_int(doc, "restarts", 0);
	copy_str(doc, "last_restart_reason", out->last_reason, sizeof out->last_reason);
	json_t *m = json_object_get(doc, "master");
	copy_str(m, "host", out->master_host, sizeof out->master_host);
	copy_str(m, "address", out->master_addr, sizeof out->master_addr);
	out->master_port = (int)get_int(m, "port", 0);
	out->wait_deadline = get_int(m, "wait_deadline", 0);
	json_t *w = json_object_get(doc, "web");
	out->web_port = (int)get_int(w, "port", 8089);
	copy_str(w, "host", out->web_host, sizeof out->web_host);
	out->web_tls = json_is_true(json_object_get(w, "tls"));
	out->headless = json_is_true(json_object_get(w, "headless"));
	out->master_bind_port = (int)get_int(doc, "master_bind_port", 5557);
	copy_str(doc, "master_bind_host", out->master_bind_host, sizeof out->master_bind_host);
	json_t *h = json_object_get(doc, "health");
	out->min_workers = (int)get_int(h, "min_workers", -1);
	json_t *fr = json_object_get(h, "max_fail_ratio");
	out->max_fail_ratio = json_is_number(fr) ? json_number_value(fr) : -1;
	out->grace_ms = get_int(h, "grace_ms", 10000);
	out->timeout_ms = get_int(h, "timeout_ms", 4000);
	json_t *es = json_object_get(doc, "engines");
	if (!json_is_array(es)) {
		snprintf(err, errlen, "the state document has no engines array");
		goto out;
	}
	size_t i;
	json_t *e;
	json_array_foreach(es, i, e) {
		if (out->nengines >= LE_ENGINES_MAX)
			break;
		struct state_engine_view *v = &out->engines[out->nengines++];
		v->pid = (int)get_int(e, "pid", 0);
		v->start_ticks = (unsigned long long)get_int(e, "start_ticks", 0);
		v->started = get_int(e, "started", 0);
		v->restarts = (int)get_int(e, "restarts", 0);
		v->last_status = (int)get_int(e, "last_status", -1);
	}
	rc = 0;
out:
	json_decref(doc);
	return rc;
}
