/* results: test code in from S3 and reports out to S3, through the supervisor's loop:
 * credentials (creds.c), signed requests (s3.c), unpacking (bundle.c), the engine's
 * version (engver.c) and the summary (summary.c) put together. */
#include "results.h"

#include "bundle.h"
#include "clock.h"
#include "core.h"
#include "creds.h"
#include "engver.h"
#include "fileio.h"
#include "http.h"
#include "log.h"
#include "s3.h"
#include "state.h"
#include "summary.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef LE_VERSION
#define LE_VERSION "0.0.0"
#endif

#define RES_CONNECT_MS 5000L
#define RES_REQUEST_MS 300000L      /* one transfer without a deadline of its own */
#define RES_PUT_ATTEMPTS 5
#define RES_BACKOFF_MS 250L         /* doubled after each retry, with jitter */
#define RES_BACKOFF_MAX_MS 8000L
#define RES_HASH_SLICE ((size_t)4 << 20)   /* bytes hashed per turn of the loop */
#define RES_UNPACK_SLICE ((size_t)2 << 20) /* bytes unpacked per turn */
#define RES_VERSION_MS 20000L       /* `locust --version` imports gevent: slow on 0.25 vCPU */
#define RES_BUNDLE_RATIO 8ULL       /* unpacked at most this many times the download */
#define RES_BUNDLE_ENTRIES 10000UL
#define RES_FILES_MAX 24
#define RES_ERRBODY_MAX ((size_t)64 * 1024)

enum job_state { J_NONE, J_HASHING, J_WAIT, J_SENDING, J_DONE, J_FAILED };

struct job {
	struct results *r;
	int put;                    /* 1: upload, 0: download */
	char key[S3_KEY_MAX + 1];
	char path[4096];            /* the local file */
	char name[256];             /* what the log calls it */
	enum job_state st;
	int attempts, refreshed;
	long long next_at;          /* monotonic ms: a retry waits for it */
	long long deadline;         /* monotonic ms the job must end by; 0: none */
	int fd;                     /* hashing */
	struct s3_hash *hash;
	long long size, hashed;
	char sha[S3_SHA256_HEX];
	CURL *easy;
	struct curl_slist *hdrs;
	FILE *f;
	struct http_body err;       /* S3's error document */
	char errbuf[CURL_ERROR_SIZE];
	char bucket_region[64];     /* x-amz-bucket-region of a refusal */
	unsigned long long got, max;/* a download's bytes, and its cap */
	int too_big;
	char why[700];
};

struct results {
	struct sup *s;
	int want_reports, want_code, begun;
	struct s3_loc out, code;
	char region[64];
	struct creds_provider *creds;
	char test_id[SUMMARY_TEST_ID_MAX + 1];
	char dir[4096];             /* the reports, as the engine writes them */
	char codedir[4096];         /* the downloaded code */
	struct engver ver;
	int asking_version;
	char *args[8];              /* the report options added to the engine's argv */
	char argv_buf[3][4200];
	int sigint_sent, sigint_told;
	/* before the engines */
	int preparing;
	long long prep_deadline;    /* 0: none (LOCUST_ECS_MASTER_WAIT=0) */
	struct job code_job;
	struct bundle *bundle;
	char locustfile[4096];
	/* after the engines */
	int up_started, up_over, failed;
	struct job up[RES_FILES_MAX];
	int nup;
	long long ended_wall;
	int workers_seen;
};

/* ---------- small helpers ---------- */

/* snprintf for messages, which may be cut to fit. */
static void say(char *out, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void say(char *out, size_t len, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(out, len, fmt, ap);
	va_end(ap);
}

/* snprintf for names, which may not: 0, or -1 when it did not fit. */
static int fits(int n, size_t len)
{
	return n >= 0 && (size_t)n < len ? 0 : -1;
}

static int ending(const struct sup *s)
{
	return s->phase == PH_STOPPING || s->phase == PH_DRAINING;
}

static long backoff(int attempts)
{
	long d = RES_BACKOFF_MS << (attempts > 5 ? 5 : attempts);
	if (d > RES_BACKOFF_MAX_MS)
		d = RES_BACKOFF_MAX_MS;
	/* jitter spreads many tasks' retries; it protects nothing, rand() is enough */
	return d / 2 + rand() % (d / 2 + 1); /* NOLINT(cert-msc30-c,cert-msc50-cpp) */
}

static void url_of(const struct job *j, char *out, size_t outlen)
{
	snprintf(out, outlen, "s3://%s/%s", j->put ? j->r->out.bucket : j->r->code.bucket, j->key);
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	(void)remove(path);
	return 0;
}

static void remove_tree(const char *dir)
{
	if (dir[0])
		nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* A private directory under the state directory: dir/NAME.XXXXXX. */
static int private_dir(const struct sup *s, const char *name, char *out, size_t outlen,
		       char *err, size_t errlen)
{
	if (state_prepare_dir(s->cfg.state_dir, err, errlen) < 0)
		return -1;
	if (snprintf(out, outlen, "%s/%s.XXXXXX", s->cfg.state_dir, name) >= (int)outlen ||
	    !mkdtemp(out)) {
		say(err, errlen, "unable to make a directory in %s: %s", s->cfg.state_dir,
		    strerror(errno));
		out[0] = '\0';
		return -1;
	}
	return 0;
}

/* ---------- one transfer ---------- */

static size_t on_header(char *data, size_t size, size_t n, void *arg)
{
	struct job *j = arg;
	size_t k = size * n;
	static const char name[] = "x-amz-bucket-region:";
	if (k > sizeof name && !strncasecmp(data, name, sizeof name - 1)) {
		const char *v = data + sizeof name - 1;
		size_t vl = k - (sizeof name - 1);
		while (vl && (*v == ' ' || *v == '\t'))
			v++, vl--;
		while (vl && (v[vl - 1] == '\r' || v[vl - 1] == '\n' || v[vl - 1] == ' '))
			vl--;
		snprintf(j->bucket_region, sizeof j->bucket_region, "%.*s", (int)vl, v);
	}
	return k;
}

/* A download goes to its file when S3 answers 200, else to the error body. */
static size_t on_data(char *data, size_t size, size_t n, void *arg)
{
	struct job *j = arg;
	long status = 0;
	size_t k = size * n;
	curl_easy_getinfo(j->easy, CURLINFO_RESPONSE_CODE, &status);
	if (status != 200)
		return http_body_sink(data, size, n, &j->err);
	if (k > j->max - j->got) {
		j->too_big = 1;
		return 0;
	}
	if (fwrite(data, 1, k, j->f) != k)
		return 0;
	j->got += k;
	return k;
}

static void end_transfer(struct job *j, struct httploop *hl)
{
	httploop_discard(hl, &j->easy);
	curl_slist_free_all(j->hdrs);
	j->hdrs = NULL;
	if (j->f)
		fclose(j->f);
	j->f = NULL;
}

/* What to tell the user besides S3's own words. */
static const char *hint(const struct job *j, const char *code, char *buf, size_t len)
{
	static const struct { const char *code, *hint; } hints[] = {
		{"NoSuchKey", "there is no such object"},
		{"InvalidAccessKeyId", "S3 does not know the access key"},
		{"SignatureDoesNotMatch", "the secret key is not the access key's"},
		{"InvalidToken", "the session token is not valid for these keys"},
		{"ExpiredToken", "the credentials have expired"},
		{"RequestTimeTooSkewed", "this machine's clock is more than 15 minutes off"},
		{"XAmzContentSHA256Mismatch", "the body S3 got is not the one signed"},
	};
	const struct results *r = j->r;
	const char *bucket = j->put ? r->out.bucket : r->code.bucket;
	buf[0] = '\0';
	if (j->bucket_region[0] && strcmp(j->bucket_region, r->region) != 0) {
		say(buf, len, "; the bucket is in %s: set LOCUST_ECS_S3_REGION=%s",
		    j->bucket_region, j->bucket_region);
	} else if (!strcmp(code, "AccessDenied")) {
		say(buf, len, "; the task role needs s3:%s on arn:aws:s3:::%s/%s",
		    j->put ? "PutObject" : "GetObject", bucket, j->key);
	} else if (!strcmp(code, "NoSuchBucket")) {
		say(buf, len, "; the bucket %s does not exist", bucket);
	} else {
		for (size_t i = 0; i < sizeof hints / sizeof hints[0]; i++)
			if (!strcmp(code, hints[i].code))
				say(buf, len, "; %s", hints[i].hint);
	}
	return buf;
}

static void job_failed(struct job *j, long status, const struct s3_error *e, CURLcode rc)
{
	char h[300], where[S3_KEY_MAX + 80];
	url_of(j, where, sizeof where);
	j->st = J_FAILED;
	if (j->too_big || rc == CURLE_FILESIZE_EXCEEDED)
		say(j->why, sizeof j->why, "%s is larger than LOCUST_ECS_BUNDLE_MAX (%llu bytes)",
		    where, j->max);
	else if (rc == CURLE_OPERATION_TIMEDOUT && j->deadline &&
		 clock_mono_ms() + 100 >= j->deadline)
		say(j->why, sizeof j->why, "%s: %s ran out (%s)", where,
		    j->put ? "the stop grace (LOCUST_ECS_STOP_GRACE)" : "LOCUST_ECS_MASTER_WAIT",
		    j->errbuf[0] ? j->errbuf : curl_easy_strerror(rc));
	else if (rc != CURLE_OK)
		say(j->why, sizeof j->why, "%s: %s", where,
		    j->errbuf[0] ? j->errbuf : curl_easy_strerror(rc));
	else if (e->code[0])
		say(j->why, sizeof j->why, "%s: S3 answered %ld %s: %s%s", where, status,
		    e->code, e->message[0] ? e->message : "(no message)",
		    hint(j, e->code, h, sizeof h));
	else
		say(j->why, sizeof j->why, "%s: S3 answered HTTP status %ld%s", where, status,
		    hint(j, "", h, sizeof h));
}

static void on_done(CURL *easy, CURLcode rc, void *arg)
{
	struct job *j = arg;
	struct results *r = j->r;
	long status = 0;
	struct s3_error e;
	long long now = clock_mono_ms();
	curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
	s3_parse_error(j->err.buf, j->err.len, &e);
	enum s3_next next = j->too_big ? S3_FAIL : s3_classify(rc, status, e.code);
	end_transfer(j, NULL);
	http_body_free(&j->err);
	if (next == S3_DONE) {
		j->st = J_DONE;
		return;
	}
	if (next == S3_REFRESH && !j->refreshed) {
		j->refreshed = 1;
		creds_expired(r->creds);
		j->st = J_WAIT;
		j->next_at = now;
		return;
	}
	job_failed(j, status, &e, rc);
	/* downloads retry until their deadline; uploads a few times within the grace */
	long d = backoff(j->attempts);
	if (next == S3_RETRY && (!j->put || j->attempts + 1 < RES_PUT_ATTEMPTS) &&
	    (!j->deadline || now + d < j->deadline)) {
		j->attempts++;
		log_warnx(j->put ? "s3.upload" : "s3.code", "%s; trying again in %ld ms", j->why,
			  d);
		j->st = J_WAIT;
		j->next_at = now + d;
	}
}

static void start_transfer(struct job *j, const struct creds *c, long long deadline,
			   long long now)
{
	struct results *r = j->r;
	struct sup *s = r->s;
	char url[S3_URL_MAX];
	const struct s3_loc *loc = j->put ? &r->out : &r->code;
	long timeout = deadline ? (long)(deadline - now) : RES_REQUEST_MS;
	struct s3_request req = {
		.region = r->region, .akid = c->akid, .secret = c->secret, .token = c->token,
		.payload_sha256 = j->sha, .put = j->put, .size = j->size,
		.content_type = summary_content_type(j->name),
	};
	j->errbuf[0] = j->bucket_region[0] = '\0';
	j->err = (struct http_body){.max = RES_ERRBODY_MAX};
	j->got = 0;
	j->too_big = 0;
	j->deadline = deadline;
	if (!j->put)
		s3_sha256_hex("", 0, j->sha);
	j->f = fopen(j->path, j->put ? "rb" : "wb");
	j->easy = curl_easy_init();
	if (!j->f || !j->easy ||
	    s3_object_url(s->cfg.s3_endpoint, r->region, loc->bucket, j->key, url,
			  sizeof url) < 0 ||
	    http_setup(j->easy, url, &j->err, j->errbuf, RES_CONNECT_MS,
		       timeout < 1000 ? 1000 : timeout, "locust-ecs/" LE_VERSION) != CURLE_OK ||
	    s3_setup(j->easy, &req, &j->hdrs) != CURLE_OK ||
	    curl_easy_setopt(j->easy, CURLOPT_HEADERFUNCTION, on_header) != CURLE_OK ||
	    curl_easy_setopt(j->easy, CURLOPT_HEADERDATA, j) != CURLE_OK ||
	    (j->put ? curl_easy_setopt(j->easy, CURLOPT_READDATA, j->f)
		    : curl_easy_setopt(j->easy, CURLOPT_WRITEFUNCTION, on_data) ||
			      curl_easy_setopt(j->easy, CURLOPT_WRITEDATA, j) ||
			      curl_easy_setopt(j->easy, CURLOPT_MAXFILESIZE_LARGE,
					       (curl_off_t)j->max)) != CURLE_OK ||
	    httploop_add(s->http, j->easy, on_done, j) < 0) {
		say(j->why, sizeof j->why, "unable to set up the request for %s: %s", j->name,
		    !j->f ? strerror(errno) : "libcurl refused it");
		end_transfer(j, NULL);
		j->st = J_FAILED;
		return;
	}
	j->st = J_SENDING;
}

/* Hashes an upload's file a slice at a time: the signature covers the body. */
static void hash_some(struct job *j, size_t *budget)
{
	char buf[65536];
	if (!j->hash) {
		struct stat st;
		j->fd = open(j->path, O_RDONLY | O_CLOEXEC);
		if (j->fd < 0 || fstat(j->fd, &st) < 0 || !S_ISREG(st.st_mode) ||
		    st.st_size > S3_PUT_MAX || !(j->hash = s3_hash_new())) {
			say(j->why, sizeof j->why, "unable to read %s: %s", j->path,
			    j->fd < 0 ? strerror(errno) : "not a regular file of at most 5 GiB");
			if (j->fd >= 0)
				close(j->fd);
			j->st = J_FAILED;
			return;
		}
		j->size = st.st_size;
	}
	while (*budget > 0 && j->hashed < j->size) {
		ssize_t n = read(j->fd, buf, sizeof buf);
		if (n <= 0) {
			say(j->why, sizeof j->why, "unable to read %s: %s", j->path,
			    n < 0 ? strerror(errno) : "it got shorter while being read");
			break;
		}
		s3_hash_update(j->hash, buf, (size_t)n);
		j->hashed += n;
		*budget = (size_t)n > *budget ? 0 : *budget - (size_t)n;
	}
	if (j->hashed < j->size && !j->why[0])
		return;
	close(j->fd);
	s3_hash_final(j->hash, j->sha);
	j->hash = NULL;
	j->st = j->why[0] ? J_FAILED : J_WAIT;
}

/* Moves a job on: hashing, waiting for credentials or a retry, sending. */
static void job_step(struct job *j, long long deadline, long long now, size_t *budget)
{
	const struct creds *c;
	if (j->st == J_HASHING)
		hash_some(j, budget);
	if (j->st != J_WAIT || now < j->next_at)
		return;
	switch (creds_get(j->r->creds, j->r->s->http, now, &c)) {
	case CREDS_READY:
		start_transfer(j, c, deadline, now);
		break;
	case CREDS_FAILED:
		say(j->why, sizeof j->why, "no credentials for %s: %s", j->name,
		    creds_error(j->r->creds));
		if (j->put) {
			j->st = J_FAILED;
		} else { /* the endpoint may come up yet: ask again after a while */
			long d = backoff(j->attempts++);
			log_warnx("s3.code", "%s; trying again in %ld ms", j->why, d);
			creds_retry(j->r->creds);
			j->next_at = now + d;
		}
		break;
	case CREDS_WAIT:
		break;
	}
}

static void job_abort(struct job *j, struct httploop *hl, const char *why)
{
	if (j->st == J_NONE || j->st == J_DONE || j->st == J_FAILED)
		return;
	end_transfer(j, hl);
	http_body_free(&j->err);
	if (j->hash) {
		close(j->fd);
		s3_hash_final(j->hash, j->sha);
		j->hash = NULL;
	}
	say(j->why, sizeof j->why, "%s: %s", j->name, why);
	j->st = J_FAILED;
}

/* A due job waiting only for credentials is woken by their fetch, not by a timer. */
static long job_timeout(const struct job *j, long t, long long now)
{
	if (j->st == J_HASHING)
		return 0;
	if (j->st == J_WAIT && j->next_at > now)
		return core_min_timeout(t, j->next_at, now);
	return t;
}

/* ---------- before the engines: the test code and the engine's version ---------- */

static void prepare_failed(struct results *r, int status, const char *what, const char *why,
			   long long now)
{
	log_error("s3.code", "%s: %s", what, why);
	r->preparing = 0;
	engver_stop(&r->ver);
	job_abort(&r->code_job, r->s->http, "not needed any more");
	core_finish(r->s, status, now);
}

/* The download is in: a .py becomes the locustfile, an archive is opened. */
static void code_downloaded(struct results *r, long long now)
{
	unsigned char head[4] = {0};
	char err[1200], tree[4200];
	int fd = open(r->code_job.path, O_RDONLY | O_CLOEXEC);
	ssize_t n = fd >= 0 ? read(fd, head, sizeof head) : -1;
	if (fd >= 0)
		close(fd);
	const char *slash = strrchr(r->code.key, '/');
	const char *base = slash ? slash + 1 : r->code.key;
	switch (bundle_kind_of(head, n > 0 ? (size_t)n : 0, r->code.key)) {
	case BUNDLE_PY:
		if (fits(snprintf(r->locustfile, sizeof r->locustfile, "%s/%s", r->codedir, base),
			 sizeof r->locustfile) < 0 || rename(r->code_job.path, r->locustfile) < 0)
			prepare_failed(r, EXIT_SOFTWARE, r->code_job.name, strerror(errno), now);
		return;
	case BUNDLE_TARGZ:
	case BUNDLE_ZIP: {
		struct bundle_limits lim = {r->s->cfg.bundle_max * RES_BUNDLE_RATIO,
					    RES_BUNDLE_ENTRIES};
		snprintf(tree, sizeof tree, "%s/tree", r->codedir);
		if (mkdir(tree, 0700) < 0 ||
		    !(r->bundle = bundle_open(r->code_job.path, tree, &lim, err, sizeof err)))
			prepare_failed(r, EXIT_CONFIG, r->code_job.name,
				       r->bundle ? strerror(errno) : err, now);
		return;
	}
	default:
		prepare_failed(r, EXIT_CONFIG, r->code_job.name, "it is neither a locustfile "
			       "(a key ending in .py) nor a .tar.gz or .zip bundle (by its first "
			       "bytes)", now);
	}
}

static void unpack_some(struct results *r, long long now)
{
	char err[1400], tree[4200];
	unsigned long entries;
	unsigned long long bytes;
	int rc = bundle_step(r->bundle, RES_UNPACK_SLICE, err, sizeof err);
	if (rc > 0)
		return;
	bundle_counts(r->bundle, &entries, &bytes);
	bundle_close(r->bundle);
	r->bundle = NULL;
	unlink(r->code_job.path);
	if (rc < 0) {
		prepare_failed(r, EXIT_CONFIG, r->code_job.name, err, now);
		return;
	}
	snprintf(tree, sizeof tree, "%s/tree", r->codedir);
	if (entries == 0) {
		prepare_failed(r, EXIT_CONFIG, r->code_job.name, "the bundle is empty", now);
		return;
	}
	if (bundle_find_locustfile(tree, r->s->cfg.bundle_locustfile, r->locustfile,
				   sizeof r->locustfile, err, sizeof err) < 0) {
		prepare_failed(r, EXIT_CONFIG, r->code_job.name, err, now);
		return;
	}
	log_info("s3.code", "unpacked %lu entries (%llu bytes) of %s", entries, bytes,
		 r->code_job.name);
}

/* The report options: the user's own are kept (and their files uploaded); the ones
 * missing are the supervisor's, in its reports directory. */
static void report_args(struct results *r)
{
	const struct config *c = &r->s->cfg;
	int n = 0, k = 0;
	if (!c->user_csv) {
		r->args[n++] = (char *)"--csv";
		snprintf(r->argv_buf[k], sizeof r->argv_buf[k], "%s/locust", r->dir);
		r->args[n++] = r->argv_buf[k++];
	}
	if (!c->user_html) {
		r->args[n++] = (char *)"--html";
		snprintf(r->argv_buf[k], sizeof r->argv_buf[k], "%s/report.html", r->dir);
		r->args[n++] = r->argv_buf[k++];
	}
	if (!c->user_json_file && engver_has_json_file(r->ver.version)) {
		r->args[n++] = (char *)"--json-file";
		snprintf(r->argv_buf[k], sizeof r->argv_buf[k], "%s/locust", r->dir);
		r->args[n++] = r->argv_buf[k++];
	}
	r->args[n] = NULL;
	r->s->cfg.report_args = r->args;
}

static void prepare_step(struct results *r, long long now)
{
	struct sup *s = r->s;
	size_t budget = RES_HASH_SLICE;
	if (ending(s)) { /* stopped before the engines started */
		r->preparing = 0;
		engver_stop(&r->ver);
		job_abort(&r->code_job, s->http, "stopped before the engines started");
		return;
	}
	if (r->asking_version && engver_step(&r->ver, now)) {
		r->asking_version = 0;
		log_info("results", "the engine is Locust %s%s", r->ver.version[0] ? r->ver.version
			 : "of unknown version", engver_has_json_file(r->ver.version)
			 ? ": it writes --json-file too" : "");
	}
	if (r->want_code && !r->locustfile[0]) {
		if (r->bundle) {
			unpack_some(r, now);
		} else if (r->code_job.st == J_DONE) {
			code_downloaded(r, now);
		} else if (r->code_job.st == J_FAILED) {
			prepare_failed(r, EXIT_CONFIG, "unable to fetch the test code",
				       r->code_job.why, now);
		} else if (r->prep_deadline && now >= r->prep_deadline) {
			prepare_failed(r, EXIT_UNAVAILABLE, "unable to fetch the test code",
				       "LOCUST_ECS_MASTER_WAIT ran out; the last error is above",
				       now);
		} else {
			job_step(&r->code_job, r->prep_deadline, now, &budget);
		}
	}
	if (!r->preparing || r->asking_version || (r->want_code && !r->locustfile[0]))
		return;
	r->preparing = 0;
	if (r->want_code) {
		s->cfg.locustfile = r->locustfile;
		log_info("s3.code", "the locustfile is %s (from %s)", r->locustfile,
			 s->cfg.code_url);
	}
	if (r->want_reports)
		report_args(r);
	r->begun = 1;
	core_begin(s, now);
}

/* The region: the setting, else the task's own (from its ARN), else us-east-1 for an
 * endpoint override (S3-compatible stores take any). */
static int pick_region(struct results *r, char *err, size_t errlen)
{
	const struct sup *s = r->s;
	const char *arn = s->meta.task_arn;
	if (s->cfg.s3_region) {
		snprintf(r->region, sizeof r->region, "%s", s->cfg.s3_region);
		return 0;
	}
	/* arn:PARTITION:ecs:REGION:ACCOUNT:task/... */
	const char *p = arn;
	for (int i = 0; i < 3 && p; i++)
		p = strchr(p, ':') ? strchr(p, ':') + 1 : NULL;
	if (p && strchr(p, ':') && strchr(p, ':') - p < (long)sizeof r->region) {
		snprintf(r->region, sizeof r->region, "%.*s", (int)(strchr(p, ':') - p), p);
		if (s3_valid_region(r->region))
			return 0;
	}
	if (s->cfg.s3_endpoint) {
		snprintf(r->region, sizeof r->region, "us-east-1");
		return 0;
	}
	say(err, errlen, "S3 needs a region: set AWS_REGION (ECS sets it in its tasks) or "
	    "LOCUST_ECS_S3_REGION");
	return -1;
}

static int setup_reports(struct results *r, long long now, char *err, size_t errlen)
{
	struct sup *s = r->s;
	char why[300];
	unsigned rnd = 0;
	if (private_dir(s, "reports", r->dir, sizeof r->dir, err, errlen) < 0)
		return -1;
	if (s->cfg.test_id) {
		snprintf(r->test_id, sizeof r->test_id, "%s", s->cfg.test_id);
	} else {
		if (getrandom(&rnd, sizeof rnd, GRND_NONBLOCK) != (ssize_t)sizeof rnd)
			rnd = (unsigned)rand(); /* NOLINT(cert-msc30-c,cert-msc50-cpp): a name */
		summary_make_test_id(clock_wall_ms(), s->meta.task_id, rnd, r->test_id,
				     sizeof r->test_id);
	}
	log_info("results", "test id %s: the reports go to s3://%s/%s%s%s/ when the engine ends",
		 r->test_id, r->out.bucket, r->out.key, r->out.key[0] ? "/" : "", r->test_id);
	if (s->cfg.lv.major) {
		/* known from the package beside the engine (engine.c): nothing to run */
		snprintf(r->ver.version, sizeof r->ver.version, "%s", s->cfg.lv.text);
		return 0;
	}
	if (engver_start(&r->ver, s->cfg.engine, RES_VERSION_MS, now, why, sizeof why) == 0)
		r->asking_version = 1;
	else
		log_warnx("results", "%s; going on without --json-file", why);
	return 0;
}

static int setup_code(struct results *r, char *err, size_t errlen)
{
	struct sup *s = r->s;
	struct job *j = &r->code_job;
	if (private_dir(s, "code", r->codedir, sizeof r->codedir, err, errlen) < 0)
		return -1;
	j->r = r;
	j->st = J_WAIT;
	j->max = s->cfg.bundle_max;
	snprintf(j->key, sizeof j->key, "%s", r->code.key);
	if (fits(snprintf(j->path, sizeof j->path, "%s/download", r->codedir),
		 sizeof j->path) < 0) {
		say(err, errlen, "the state directory's path is too long");
		return -1;
	}
	snprintf(j->name, sizeof j->name, "%s", s->cfg.code_url);
	log_info("s3.code", "fetching the test code from %s (region %s)", s->cfg.code_url,
		 r->region);
	return 0;
}

int results_prepare(struct sup *s, long long now)
{
	char err[600] = "", why[200];
	static struct creds_source src; /* large: not on the stack */
	const struct config *c = &s->cfg;
	struct results *r;
	if (!c->results_url && !c->code_url)
		return 0;
	if (!(r = s->results = calloc(1, sizeof *r))) {
		log_error("results", "out of memory");
		core_finish(s, EXIT_SOFTWARE, now);
		return 1;
	}
	r->s = s;
	r->ver.fd = -1; /* no `--version` asked yet: nothing for engver_stop to close */
	r->workers_seen = -1;
	r->want_code = c->code_url != NULL;
	r->want_reports = c->results_url && c->role != ROLE_WORKER;
	if (c->results_url && c->role == ROLE_WORKER)
		log_info("results", "LOCUST_ECS_RESULTS is for the master or a standalone task: a "
			 "worker has no reports");
	if (!r->want_code && !r->want_reports)
		return 0;
	if (r->want_code)
		s3_parse_url(c->code_url, &r->code, why, sizeof why);
	if (r->want_reports)
		s3_parse_url(c->results_url, &r->out, why, sizeof why);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	if (!s->http)
		s->http = httploop_new();
	int rc = creds_source(s->envp, &src, err, sizeof err) < 0 ? EXIT_CONFIG : 0;
	if (!rc && src.kind == CREDS_NONE) {
		/* test code cannot come without them; reports are told at the end, per file */
		say(err, sizeof err, "no AWS credentials: give the task an IAM role (taskRoleArn), "
		    "or set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY%s", r->want_code ?
		    "; the test code in S3 cannot be fetched without them" : "");
		if (r->want_code)
			rc = EXIT_CONFIG;
		else
			log_warnx("s3", "%s; the reports will not be uploaded", err);
	}
	if (!rc && !(r->creds = creds_new(&src)))
		rc = EXIT_SOFTWARE;
	explicit_bzero(&src, sizeof src);
	if (!rc && !s->http)
		rc = EXIT_SOFTWARE;
	if (!rc && pick_region(r, err, sizeof err) < 0)
		rc = EXIT_CONFIG;
	if (!rc)
		log_info("s3", "S3 region %s%s%s, credentials from %s", r->region,
			 c->s3_endpoint ? ", endpoint " : "", c->s3_endpoint ? c->s3_endpoint : "",
			 creds_describe(r->creds));
	/* the reports and the code are kept under LOCUST_ECS_STATE_DIR: a setting */
	if (!rc && r->want_reports && setup_reports(r, now, err, sizeof err) < 0)
		rc = EXIT_CONFIG;
	if (!rc && r->want_code && setup_code(r, err, sizeof err) < 0)
		rc = EXIT_CONFIG;
	if (rc) {
		log_error("s3", "%s", err[0] ? err : "out of memory");
		core_finish(s, rc, now);
		return 1;
	}
	r->preparing = 1;
	r->prep_deadline = c->master_wait_ms ? now + c->master_wait_ms : 0;
	core_set_phase(s, PH_STARTING);
	prepare_step(r, now);
	return 1;
}

/* ---------- after the engines: the uploads ---------- */

static void add_upload(struct results *r, const char *path)
{
	struct stat st;
	const char *slash = strrchr(path, '/');
	const char *base = slash ? slash + 1 : path;
	if (r->nup >= RES_FILES_MAX || stat(path, &st) < 0 || !S_ISREG(st.st_mode))
		return;
	for (int i = 0; i < r->nup; i++)
		if (!strcmp(r->up[i].name, base))
			return; /* one object per name */
	struct job *j = &r->up[r->nup++];
	memset(j, 0, sizeof *j);
	j->r = r;
	j->put = 1;
	j->st = J_HASHING;
	j->fd = -1;
	snprintf(j->path, sizeof j->path, "%s", path);
	snprintf(j->name, sizeof j->name, "%s", base);
	if (fits(snprintf(j->key, sizeof j->key, "%s%s%s/%s", r->out.key, r->out.key[0] ? "/" : "",
			  r->test_id, base), sizeof j->key) < 0) {
		log_error("s3.upload", "not uploading %s: its key would be longer than %d bytes",
			  path, S3_KEY_MAX);
		r->nup--;
		r->failed++;
	}
}

/* The files a test left: the reports directory's, and those of the user's own options. */
static void collect(struct results *r)
{
	static const char *const csv[] = {"_stats.csv", "_stats_history.csv", "_failures.csv",
					  "_exceptions.csv"};
	const struct config *c = &r->s->cfg;
	char p[4300];
	struct dirent **names = NULL;
	int n = scandir(r->dir, &names, NULL, alphasort);
	for (int i = 0; i < n; i++) {
		if (names[i]->d_name[0] != '.') {
			int w = snprintf(p, sizeof p, "%s/%s", r->dir, names[i]->d_name);
			if (fits(w, sizeof p) == 0)
				add_upload(r, p);
		}
		free(names[i]);
	}
	free(names);
	for (size_t i = 0; c->user_csv && i < sizeof csv / sizeof csv[0]; i++) {
		snprintf(p, sizeof p, "%s%s", c->user_csv, csv[i]);
		add_upload(r, p);
	}
	if (c->user_html)
		add_upload(r, c->user_html);
	if (c->user_json_file) {
		snprintf(p, sizeof p, "%s.json", c->user_json_file);
		add_upload(r, p);
	}
}

/* The stats CSV the totals come from: ours, or the user's --csv. */
static int read_totals(const struct results *r, struct totals *t, char *from, size_t fromlen)
{
	char p[4300], *buf = NULL;
	size_t len = 0;
	const char *prefix = r->s->cfg.user_csv;
	if (prefix)
		snprintf(p, sizeof p, "%s_stats.csv", prefix);
	else
		snprintf(p, sizeof p, "%s/locust_stats.csv", r->dir);
	if (file_read(p, (size_t)16 << 20, &buf, &len) < 0)
		return -1;
	int rc = summary_csv_totals(buf, len, t);
	free(buf);
	const char *slash = strrchr(p, '/');
	say(from, fromlen, "%s", slash ? slash + 1 : p);
	return rc;
}

static json_t *num_or_null(double v)
{
	return v < 0 ? json_null() : json_real(v);
}

static json_t *totals_json(const struct results *r)
{
	struct totals t;
	char from[256];
	if (read_totals(r, &t, from, sizeof from) < 0)
		return json_null();
	return json_pack("{s:s, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o}", "from", from,
			 "requests", t.requests < 0 ? json_null() : json_integer(t.requests),
			 "failures", t.failures < 0 ? json_null() : json_integer(t.failures),
			 "requests_per_s", num_or_null(t.rps),
			 "failures_per_s", num_or_null(t.failures_per_s),
			 "avg_ms", num_or_null(t.avg_ms), "min_ms", num_or_null(t.min_ms),
			 "max_ms", num_or_null(t.max_ms), "median_ms", num_or_null(t.median_ms),
			 "p95_ms", num_or_null(t.p95_ms), "p99_ms", num_or_null(t.p99_ms));
}

static json_t *str_or_null(const char *v)
{
	return v && *v ? json_string(v) : json_null();
}

static json_t *task_json(const struct ecs_meta *m)
{
	if (!m->present)
		return json_null();
	return json_pack("{s:o, s:o, s:o, s:o, s:o, s:o, s:o}", "cluster", str_or_null(m->cluster),
			 "task_arn", str_or_null(m->task_arn), "task_id", str_or_null(m->task_id),
			 "family", str_or_null(m->family), "revision", str_or_null(m->revision),
			 "availability_zone", str_or_null(m->az),
			 "launch_type", str_or_null(m->launch_type));
}

/* summary.json, in the reports directory, listing the files beside it. */
static int write_summary(struct results *r, char *err, size_t errlen)
{
	struct sup *s = r->s;
	char started[40], ended[40], path[4200];
	long long t0 = s->eng[0].started_wall ? s->eng[0].started_wall : s->started_wall;
	summary_iso_time(t0, started, sizeof started);
	summary_iso_time(r->ended_wall, ended, sizeof ended);
	json_t *files = json_array();
	for (int i = 0; i < r->nup; i++) {
		struct stat st;
		if (stat(r->up[i].path, &st) == 0)
			json_array_append_new(files, json_pack("{s:s, s:I}", "name", r->up[i].name,
							       "bytes", (json_int_t)st.st_size));
	}
	char by[32];
	if (s->stats.tripped)
		snprintf(by, sizeof by, "guardrail");
	else if (s->stop_sig)
		snprintf(by, sizeof by, "SIG%s", sigabbrev_np(s->stop_sig));
	else
		snprintf(by, sizeof by, "%s", s->forced >= 0 ? "supervisor" : "engine");
	json_t *doc = json_pack(
		"{s:i, s:s, s:s, s:s, s:s, s:f, s:i, s:s, s:o, s:s, s:s, s:o, s:o, s:o, s:o}",
		"version", 1, "test_id", r->test_id, "role", config_role_name(s->cfg.role),
		"started", started, "ended", ended,
		"duration_s", (double)(r->ended_wall - t0) / 1000.0,
		"exit_status", core_exit_status(s), "stopped_by", by,
		"locust_version", str_or_null(r->ver.version), "supervisor_version", LE_VERSION,
		"engine", s->cfg.engine, "task", task_json(&s->meta),
		"workers_seen", r->workers_seen < 0 ? json_null() : json_integer(r->workers_seen),
		"totals", totals_json(r), "files", files);
	if (doc && s->stats.tripped)
		json_object_set_new(doc, "guardrail", json_string(s->stats.guard_reason));
	snprintf(path, sizeof path, "%s/summary.json", r->dir);
	int rc = doc && json_dump_file(doc, path, JSON_INDENT(2) | JSON_REAL_PRECISION(10)) == 0
		 ? 0 : -1;
	if (rc)
		say(err, errlen, "unable to write %s", path);
	json_decref(doc);
	return rc;
}

static void begin_uploads(struct results *r, long long now)
{
	char err[300], where[S3_KEY_MAX + 80];
	(void)now;
	r->up_started = 1;
	r->ended_wall = clock_wall_ms();
	collect(r);
	if (write_summary(r, err, sizeof err) < 0)
		log_warnx("results", "%s", err);
	if (fits(snprintf(where, sizeof where, "%s/summary.json", r->dir), sizeof where) == 0)
		add_upload(r, where);
	say(where, sizeof where, "s3://%s/%s%s%s/", r->out.bucket, r->out.key,
	    r->out.key[0] ? "/" : "", r->test_id);
	log_info("s3.upload", "uploading %d file%s to %s", r->nup, r->nup == 1 ? "" : "s", where);
}

static void uploads_over(struct results *r)
{
	int ok = 0;
	char where[S3_KEY_MAX + 80];
	r->up_over = 1;
	for (int i = 0; i < r->nup; i++) {
		struct job *j = &r->up[i];
		if (j->st == J_DONE) {
			ok++;
			url_of(j, where, sizeof where);
			log_info("s3.upload", "uploaded %s (%lld bytes) to %s", j->name, j->size,
				 where);
		} else {
			r->failed++;
			log_error("s3.upload", "unable to upload %s: %s", j->name, j->why);
		}
	}
	if (r->failed)
		log_error("s3.upload", "%d of %d files were not uploaded%s; they stay in %s",
			  r->failed, r->nup, r->s->cfg.results_required
			  ? " (LOCUST_ECS_RESULTS_REQUIRED: exit status 74)" : "", r->dir);
	else
		log_info("s3.upload", "all %d files uploaded", ok);
}

int results_settled(struct sup *s, long long now)
{
	struct results *r = s->results;
	if (!r || !r->want_reports || !r->begun || r->up_over)
		return 1;
	if (!r->up_started)
		begin_uploads(r, now);
	results_step(s, now);
	int busy = 0;
	for (int i = 0; i < r->nup; i++)
		busy += r->up[i].st != J_DONE && r->up[i].st != J_FAILED;
	if (busy && s->stop_deadline && now >= s->stop_deadline)
		for (int i = 0; i < r->nup; i++)
			job_abort(&r->up[i], s->http,
				  "the stop grace (LOCUST_ECS_STOP_GRACE) ran out");
	else if (busy)
		return 0;
	uploads_over(r);
	return 1;
}

/* ---------- the loop's hooks ---------- */

void results_step(struct sup *s, long long now)
{
	struct results *r = s->results;
	size_t budget = RES_HASH_SLICE;
	if (!r)
		return;
	if (r->sigint_sent && !r->sigint_told) {
		r->sigint_told = 1;
		log_info("results", "the engine was sent SIGINT rather than SIGTERM: Locust writes "
			 "its HTML report then");
	}
	if (r->preparing)
		prepare_step(r, now);
	if (r->up_started && !r->up_over)
		for (int i = 0; i < r->nup; i++)
			job_step(&r->up[i], s->stop_deadline, now, &budget);
}

long results_timeout(const struct sup *s, long t, long long now)
{
	const struct results *r = s->results;
	if (!r)
		return t;
	t = creds_timeout(r->creds, t, now);
	if (r->preparing) {
		t = engver_timeout(&r->ver, t, now);
		t = r->bundle ? 0 : job_timeout(&r->code_job, t, now);
		t = core_min_timeout(t, r->prep_deadline, now);
	}
	if (r->up_started && !r->up_over)
		for (int i = 0; i < r->nup; i++)
			t = job_timeout(&r->up[i], t, now);
	return t;
}

int results_engine_signal(struct sup *s, int sig)
{
	struct results *r = s->results;
	if (!r || !r->want_reports || !r->begun || sig != SIGTERM || s->cfg.role == ROLE_WORKER)
		return sig;
	r->sigint_sent = core_running(s) > 0;
	return SIGINT;
}

int results_status(const struct sup *s, int status)
{
	const struct results *r = s->results;
	if (r && r->failed && s->cfg.results_required && s->forced < 0)
		return EXIT_IOERR;
	return status;
}

void results_note_workers(struct sup *s, int n)
{
	if (s->results && n > s->results->workers_seen)
		s->results->workers_seen = n;
}

json_t *results_print_config(const struct sup *s)
{
	const struct config *c = &s->cfg;
	static struct creds_source src; /* large: not on the stack */
	char err[600];
	if (!c->results_url && !c->code_url)
		return json_null();
	const char *creds = creds_source(s->envp, &src, err, sizeof err) < 0 ? "invalid"
			    : src.kind == CREDS_ENV ? "environment" : src.kind == CREDS_ENDPOINT
			    ? src.from : "none";
	explicit_bzero(&src, sizeof src);
	json_t *o = json_pack("{s:o, s:o, s:b, s:o, s:o, s:o, s:s, s:o, s:I, s:o}",
			      "results",
			      str_or_null(c->role == ROLE_WORKER ? NULL : c->results_url),
			      "test_id", c->test_id ? json_string(c->test_id)
						    : json_string("(made at start)"),
			      "required", c->results_required,
			      "region", str_or_null(c->s3_region),
			      "region_from", str_or_null(c->s3_region_from),
			      "endpoint", str_or_null(c->s3_endpoint), "credentials", creds,
			      "code", str_or_null(c->code_url),
			      "bundle_max", (json_int_t)c->bundle_max,
			      "bundle_locustfile", str_or_null(c->bundle_locustfile));
	return o ? o : json_null();
}

void results_close(struct sup *s)
{
	struct results *r = s->results;
	if (!r)
		return;
	engver_stop(&r->ver);
	job_abort(&r->code_job, s->http, "exiting");
	for (int i = 0; i < r->nup; i++)
		job_abort(&r->up[i], s->http, "exiting");
	bundle_close(r->bundle);
	creds_free(r->creds, s->http);
	remove_tree(r->codedir);
	if (r->dir[0] && !r->failed && (r->up_over || !r->begun))
		remove_tree(r->dir);
	if (s->cfg.report_args == r->args)
		s->cfg.report_args = NULL;
	if (s->cfg.locustfile == r->locustfile)
		s->cfg.locustfile = s->cfg.code_url;
	free(r);
	s->results = NULL;
	curl_global_cleanup();
}
