/* test_s3: S3 locations and errors, the credential chain, bundles (real archives made
 * with libarchive, hostile ones included), the results' summary and the engine version. */
#include "tap.h"
#include "bundle.h"
#include "creds.h"
#include "engver.h"
#include "s3.h"
#include "summary.h"

#include <archive.h>
#include <archive_entry.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static void test_locations(void)
{
	struct s3_loc l;
	char why[200], out[S3_URL_MAX];
	is_int(s3_parse_url("s3://my-bucket/results/run 1/", &l, why, sizeof why), 0, "a prefix");
	is_str(l.bucket, "my-bucket", "its bucket");
	is_str(l.key, "results/run 1", "its key, without the trailing slash");
	is_int(s3_parse_url("s3://my-bucket", &l, why, sizeof why), 0, "a bucket alone");
	is_str(l.key, "", "an empty key");
	const char *bad[] = {"s3:///key", "s3://", "S3://bucket/k", "https://bucket/k",
			     "s3://ab/k", "s3://Bucket/k", "s3://-bucket/k", "s3://bu..cket/k",
			     "s3://192.168.1.10/k", "s3://b_cket/k", "s3://bucket/a/../b",
			     "s3://bucket/./a", "s3://bucket/a/..", "s3://bucket/a\tb"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		is_int(s3_parse_url(bad[i], &l, why, sizeof why), -1, "refused: %s", bad[i]);
	s3_parse_url("s3:///key", &l, why, sizeof why);
	is_str(why, "there is no bucket after s3://", "the reason says what is missing");
	char longkey[1100] = "s3://bucket/";
	memset(longkey + 12, 'k', 1025);
	is_int(s3_parse_url(longkey, &l, why, sizeof why), -1, "a key over 1024 bytes");
	ok(s3_parse_url("s3://a.b-c.d/x..y/.z/..w", &l, why, sizeof why) == 0,
	   "dots inside segments are fine");

	is_int(s3_encode_key("a b+c/\xc3\xa9~.-_$%", out, sizeof out), 0, "a key encoded");
	is_str(out, "a%20b%2Bc/%C3%A9~.-_%24%25", "uppercase escapes, '/' and unreserved kept");
	is_int(s3_encode_key("abc", out, 3), -1, "a buffer too small is refused");

	is_int(s3_object_url("http://127.0.0.1:9000/", "eu-west-1", "bkt", "a b", out, sizeof out),
	       0, "an endpoint override");
	is_str(out, "http://127.0.0.1:9000/bkt/a%20b", "path style");
	s3_object_url(NULL, "eu-west-1", "bkt", "k/x.csv", out, sizeof out);
	is_str(out, "https://bkt.s3.eu-west-1.amazonaws.com/k/x.csv", "virtual-hosted style");
	s3_object_url(NULL, "us-east-1", "my.bkt", "k", out, sizeof out);
	is_str(out, "https://s3.us-east-1.amazonaws.com/my.bkt/k", "a dotted bucket: path style");
	s3_object_url(NULL, "cn-north-1", "bkt", "k", out, sizeof out);
	is_str(out, "https://bkt.s3.cn-north-1.amazonaws.com.cn/k", "China's domain");

	const char *eps[] = {"http://127.0.0.1:9000", "https://minio.example:443/",
			     "http://[::1]:80"};
	for (size_t i = 0; i < sizeof eps / sizeof eps[0]; i++)
		is_int(s3_check_endpoint(eps[i], why, sizeof why), 0, "endpoint %s", eps[i]);
	const char *beps[] = {"ftp://x", "http://", "http://h:0", "http://h:70000", "http://h/path",
			      "http://u@h", "http://h?x", "http://[zz]:1"};
	for (size_t i = 0; i < sizeof beps / sizeof beps[0]; i++)
		is_int(s3_check_endpoint(beps[i], why, sizeof why), -1, "endpoint refused: %s",
		       beps[i]);
	ok(s3_valid_region("eu-west-1") && !s3_valid_region("EU") && !s3_valid_region(""),
	   "region names");
}

static void test_errors(void)
{
	struct s3_error e;
	const char *doc = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>"
			  "AuthorizationHeaderMalformed</Code><Message>the region &apos;us-east-1"
			  "&apos; is wrong;\nexpecting &apos;eu-west-1&apos; &amp; &lt;x&gt;"
			  "</Message><Region>eu-west-1</Region><RequestId>1</RequestId></Error>";
	is_int(s3_parse_error(doc, strlen(doc), &e), 0, "an S3 error document");
	is_str(e.code, "AuthorizationHeaderMalformed", "its code");
	is_str(e.message, "the region 'us-east-1' is wrong; expecting 'eu-west-1' & <x>",
	       "its message, entities decoded, a line break made a blank");
	is_str(e.region, "eu-west-1", "the bucket's region");
	is_int(s3_parse_error("<html>no</html>", 15, &e), -1, "not an error document");
	is_int(s3_parse_error(NULL, 0, &e), -1, "no body");
	const char *cut = "<Error><Code>SlowDo";
	is_int(s3_parse_error(cut, strlen(cut), &e), -1, "a cut document has no code");
	char big[600] = "<Error><Code>";
	memset(big + 13, 'C', 300);
	strcpy(big + 313, "</Code></Error>");
	is_int(s3_parse_error(big, strlen(big), &e), 0, "a long code");
	is_int((long long)strlen(e.code), (long long)sizeof e.code - 1, "is cut to fit");

	is_int(s3_classify(CURLE_OK, 200, ""), S3_DONE, "200: done");
	is_int(s3_classify(CURLE_OK, 503, "SlowDown"), S3_RETRY, "503 SlowDown: retry");
	is_int(s3_classify(CURLE_OK, 500, "InternalError"), S3_RETRY, "500: retry");
	is_int(s3_classify(CURLE_OK, 400, "RequestTimeout"), S3_RETRY, "RequestTimeout: retry");
	is_int(s3_classify(CURLE_OK, 400, "ExpiredToken"), S3_REFRESH, "ExpiredToken: refresh");
	is_int(s3_classify(CURLE_OK, 403, "AccessDenied"), S3_FAIL, "AccessDenied: fail");
	is_int(s3_classify(CURLE_OK, 403, "RequestTimeTooSkewed"), S3_FAIL, "skew: fail");
	is_int(s3_classify(CURLE_OK, 301, "PermanentRedirect"), S3_FAIL, "a redirect: fail");
	is_int(s3_classify(CURLE_COULDNT_CONNECT, 0, ""), S3_RETRY, "no connection: retry");
	is_int(s3_classify(CURLE_OPERATION_TIMEDOUT, 0, ""), S3_RETRY, "a timeout: retry");
	is_int(s3_classify(CURLE_PEER_FAILED_VERIFICATION, 0, ""), S3_FAIL, "TLS: fail");

	char hex[S3_SHA256_HEX];
	s3_sha256_hex("", 0, hex);
	is_str(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
	       "SHA-256 of nothing");
	struct s3_hash *h = s3_hash_new();
	s3_hash_update(h, "Welcome to ", 11);
	s3_hash_update(h, "Amazon S3.", 10);
	s3_hash_final(h, hex);
	is_str(hex, "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072",
	       "SHA-256 in pieces (AWS's PUT example payload)");
}

/* creds_source of an environment written as literals */
static int source(const char *const *env, struct creds_source *s, char *err, size_t errlen)
{
	return creds_source((char *const *)env, s, err, errlen);
}

static void test_creds_source(void)
{
	struct creds_source s;
	char err[600];
	const char *const env1[] = {"AWS_ACCESS_KEY_ID=AKID", "AWS_SECRET_ACCESS_KEY=sec/ret",
			"AWS_SESSION_TOKEN=tok", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI=/v2/x",
			NULL};
	is_int(source(env1, &s, err, sizeof err), 0, "environment keys");
	is_int(s.kind, CREDS_ENV, "come first, as in the SDKs");
	is_str(s.env.token, "tok", "with the session token");
	const char *const env2[] = {"AWS_ACCESS_KEY_ID=AKID", NULL};
	is_int(source(env2, &s, err, sizeof err), -1, "a key without its secret");
	ok(strstr(err, "AWS_SECRET_ACCESS_KEY") != NULL, "names the missing one");
	const char *const env3[] = {"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI=/v2/credentials/abc",
			"AWS_CONTAINER_CREDENTIALS_FULL_URI=https://x/y", NULL};
	is_int(source(env3, &s, err, sizeof err), 0, "a relative URI");
	is_str(s.url, "http://169.254.170.2/v2/credentials/abc", "on the ECS agent's address");
	is_int(s.kind, CREDS_ENDPOINT, "an endpoint");
	const char *okfull[] = {"https://creds.example/x", "http://127.0.0.1:8080/c",
				"http://127.9.9.9/c", "http://localhost/c", "http://[::1]:80/c",
				"http://169.254.170.2/c", "http://169.254.170.23/v1/credentials",
				"http://[fd00:ec2::23]/v1/credentials"};
	for (size_t i = 0; i < sizeof okfull / sizeof okfull[0]; i++) {
		char var[200];
		snprintf(var, sizeof var, "AWS_CONTAINER_CREDENTIALS_FULL_URI=%s", okfull[i]);
		char *const e[] = {var, NULL};
		is_int(creds_source(e, &s, err, sizeof err), 0, "full URI %s", okfull[i]);
	}
	const char *badfull[] = {"http://10.0.0.1/c", "http://169.254.169.254/latest",
				 "http://creds.example/x", "ftp://127.0.0.1/x", "not a url",
				 "http://[fd00:ec2::24]/x"};
	for (size_t i = 0; i < sizeof badfull / sizeof badfull[0]; i++) {
		char var[200];
		snprintf(var, sizeof var, "AWS_CONTAINER_CREDENTIALS_FULL_URI=%s", badfull[i]);
		char *const e[] = {var, NULL};
		is_int(creds_source(e, &s, err, sizeof err), -1, "full URI refused: %s",
		       badfull[i]);
	}
	const char *const env4[] = {"AWS_CONTAINER_CREDENTIALS_FULL_URI=http://127.0.0.1/c",
			"AWS_CONTAINER_AUTHORIZATION_TOKEN=t1",
			"AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE=/run/token", NULL};
	is_int(source(env4, &s, err, sizeof err), 0, "a token and a token file");
	ok(s.token_file && !strcmp(s.token_file, "/run/token") && !s.token,
	   "the file wins, as in the SDKs");
	const char *const env5[] = {"AWS_ACCESS_KEY_ID=", "HOME=/", NULL};
	is_int(source(env5, &s, err, sizeof err), 0, "nothing set (empty is unset)");
	is_int(s.kind, CREDS_NONE, "no source");
	const char *const env6[] = {"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI=v2/x", NULL};
	is_int(source(env6, &s, err, sizeof err), -1, "a relative URI without '/'");
}

static void test_creds_parse(void)
{
	struct creds c;
	char err[300];
	long long ms;
	const char *doc = "{\"RoleArn\":\"arn:aws:iam::1:role/r\",\"AccessKeyId\":\"ASIA1\","
			  "\"SecretAccessKey\":\"s/k+\",\"Token\":\"T==\",\"Expiration\":"
			  "\"2024-05-01T12:00:00Z\"}";
	is_int(creds_parse(doc, strlen(doc), &c, err, sizeof err), 0, "the endpoint's answer");
	is_str(c.akid, "ASIA1", "key");
	is_str(c.secret, "s/k+", "secret");
	is_str(c.token, "T==", "token");
	is_int(c.expires, 1714564800000LL, "expiration in ms");
	const char *edoc = "{\"code\":\"AccessDenied\",\"message\":\"bad token\"}";
	is_int(creds_parse(edoc, strlen(edoc), &c, err, sizeof err), -1, "an error document");
	ok(strstr(err, "AccessDenied: bad token") != NULL, "with its code and message");
	const char *nodoc[] = {"[]", "{\"AccessKeyId\":\"a\"}", "{\"AccessKeyId\":\"a\","
			       "\"SecretAccessKey\":\"b\",\"Expiration\":\"tomorrow\"}", "nope",
			       "{\"AccessKeyId\":\"\",\"SecretAccessKey\":\"b\"}"};
	for (size_t i = 0; i < sizeof nodoc / sizeof nodoc[0]; i++)
		is_int(creds_parse(nodoc[i], strlen(nodoc[i]), &c, err, sizeof err), -1,
		       "refused: %s", nodoc[i]);
	is_int(creds_parse_time("2024-05-01T12:00:00.123Z", &ms), 0, "fractions");
	is_int(ms, 1714564800000LL, "are dropped");
	is_int(creds_parse_time("2024-05-01T14:00:00+02:00", &ms), 0, "an offset");
	is_int(ms, 1714564800000LL, "is applied");
	is_int(creds_parse_time("2024-13-01T00:00:00Z", &ms), -1, "month 13");
	is_int(creds_parse_time("2024-05-01", &ms), -1, "a date alone");
	struct creds k = {.expires = 1000000};
	ok(creds_stale(&k, 0, 0), "none yet: stale");
	ok(!creds_stale(&k, 1, 1000000 - CREDS_REFRESH_MS - 1), "more than 15 min left: fresh");
	ok(creds_stale(&k, 1, 1000000 - CREDS_REFRESH_MS + 1), "less than 15 min left: stale");
	k.expires = 0;
	ok(!creds_stale(&k, 1, 1LL << 50), "no expiration: never stale");
}

/* ---------- bundles ---------- */

struct member {
	const char *name;
	int type;             /* AE_IFREG, AE_IFDIR, AE_IFLNK, AE_IFCHR, AE_IFIFO, or 'h' */
	const char *data;     /* a file's content, a link's target */
};

static int make_archive(const char *path, int zip, const struct member *m, int n)
{
	struct archive *a = archive_write_new();
	struct archive_entry *e = archive_entry_new();
	if (zip) {
		archive_write_set_format_zip(a);
	} else {
		archive_write_set_format_pax_restricted(a);
		archive_write_add_filter_gzip(a);
	}
	if (archive_write_open_filename(a, path) != ARCHIVE_OK)
		return -1;
	for (int i = 0; i < n; i++) {
		archive_entry_clear(e);
		archive_entry_set_pathname(e, m[i].name);
		archive_entry_set_perm(e, 0644);
		if (m[i].type == 'h') {
			archive_entry_set_filetype(e, AE_IFREG);
			archive_entry_set_hardlink(e, m[i].data);
		} else {
			archive_entry_set_filetype(e, (unsigned)m[i].type);
		}
		if (m[i].type == AE_IFLNK)
			archive_entry_set_symlink(e, m[i].data);
		size_t len = m[i].type == AE_IFREG && m[i].data ? strlen(m[i].data) : 0;
		archive_entry_set_size(e, (la_int64_t)len);
		archive_write_header(a, e);
		if (len)
			archive_write_data(a, m[i].data, len);
	}
	archive_entry_free(e);
	archive_write_close(a);
	archive_write_free(a);
	return 0;
}

/* Unpacks into a fresh directory: 0, or -1 with err. */
static int unpack(const char *arch, char *dir, size_t dirlen, unsigned long long max_bytes,
		  char *err, size_t errlen)
{
	struct bundle_limits lim = {max_bytes, 50};
	snprintf(dir, dirlen, "/tmp/le-bundle-XXXXXX");
	if (!mkdtemp(dir))
		return -2;
	struct bundle *b = bundle_open(arch, dir, &lim, err, errlen);
	int rc = b ? 1 : -1;
	while (rc > 0)
		rc = bundle_step(b, 100, err, errlen);
	bundle_close(b);
	return rc;
}

static void rm_rf(const char *dir)
{
	char *argv_dir = strdup(dir);
	pid_t pid = fork();
	if (pid == 0) {
		execlp("rm", "rm", "-rf", argv_dir, (char *)NULL);
		_exit(127);
	}
	int st;
	waitpid(pid, &st, 0);
	free(argv_dir);
}

static void test_bundle_good(void)
{
	char arch[] = "/tmp/le-arch-XXXXXX", dir[64], err[600], lf[4096], p[4200];
	int fd = mkstemp(arch);
	close(fd);
	const struct member tree[] = {
		{"./", AE_IFDIR, NULL},
		{"./proj/", AE_IFDIR, NULL},
		{"./proj/locustfile.py", AE_IFREG, "from lib import x\n"},
		{"./proj/lib/__init__.py", AE_IFREG, "x = 1\n"},
		{"./proj/data/users.csv", AE_IFREG, "u1\nu2\n"},
		{"./proj/current", AE_IFLNK, "data/users.csv"},
	};
	for (int zip = 0; zip < 2; zip++) {
		ok(make_archive(arch, zip, tree, 6) == 0, "a %s bundle", zip ? "zip" : "tar.gz");
		is_int(unpack(arch, dir, sizeof dir, 1 << 20, err, sizeof err), 0,
		       "is unpacked%s%s", err[0] ? ": " : "", err);
		is_int(bundle_find_locustfile(dir, NULL, lf, sizeof lf, err, sizeof err), 0,
		       "the locustfile in the single top-level directory");
		snprintf(p, sizeof p, "%s/proj/locustfile.py", dir);
		is_str(lf, p, "its path");
		snprintf(p, sizeof p, "%s/proj/current", dir);
		struct stat st;
		ok(lstat(p, &st) == 0 && S_ISLNK(st.st_mode),
		   "a link down into the bundle is kept");
		is_int(bundle_find_locustfile(dir, "proj/lib/__init__.py", lf, sizeof lf, err,
					      sizeof err), 0, "a named locustfile");
		is_int(bundle_find_locustfile(dir, "proj/none.py", lf, sizeof lf, err, sizeof err),
		       -1, "a named one that is missing");
		is_int(bundle_find_locustfile(dir, "../x.py", lf, sizeof lf, err, sizeof err), -1,
		       "a named one outside");
		rm_rf(dir);
	}
	const struct member two[] = {{"a/locustfile.py", AE_IFREG, "x"}, {"b/y", AE_IFREG, "y"}};
	make_archive(arch, 0, two, 2);
	unpack(arch, dir, sizeof dir, 1 << 20, err, sizeof err);
	is_int(bundle_find_locustfile(dir, NULL, lf, sizeof lf, err, sizeof err), -1,
	       "two top-level directories: no locustfile found");
	ok(strstr(err, "LOCUST_ECS_BUNDLE_LOCUSTFILE") != NULL, "the message says how to name it");
	rm_rf(dir);
	unlink(arch);
}

static void test_bundle_hostile(void)
{
	char arch[] = "/tmp/le-arch-XXXXXX", dir[64], err[600], p[200];
	int fd = mkstemp(arch);
	close(fd);
	static const struct {
		struct member m[2];
		const char *what, *says;
	} cases[] = {
		{{{"locustfile.py", AE_IFREG, "x"}, {"../evil.py", AE_IFREG, "x"}}, "a ../ entry",
		 "\"../evil.py\" is refused"},
		{{{"a/../../evil.py", AE_IFREG, "x"}, {"b", AE_IFREG, "x"}}, "a .. inside",
		 "\"a/../../evil.py\""},
		{{{"/etc/evil", AE_IFREG, "x"}, {"b", AE_IFREG, "x"}}, "an absolute path",
		 "absolute"},
		{{{"etc", AE_IFLNK, "/etc"}, {"etc/passwd", AE_IFREG, "x"}}, "a link to /etc",
		 "\"etc\" is refused: a symbolic link"},
		{{{"up", AE_IFLNK, "../.."}, {"b", AE_IFREG, "x"}}, "a link up", "\"up\""},
		{{{"a", AE_IFREG, "x"}, {"b", 'h', "a"}}, "a hard link", "hard links"},
		{{{"d", AE_IFLNK, "sub"}, {"d/x", AE_IFREG, "x"}}, "a file written through a link",
		 "\"d/x\" is refused"},
		{{{"tty", AE_IFCHR, NULL}, {"b", AE_IFREG, "x"}}, "a device", "devices"},
		{{{"fifo", AE_IFIFO, NULL}, {"b", AE_IFREG, "x"}}, "a FIFO", "FIFOs"},
		{{{"big", AE_IFREG, "0123456789abcdefghij"}, {"b", AE_IFREG, "x"}},
		 "more bytes than the limit", "larger than 16 bytes"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		make_archive(arch, 0, cases[i].m, 2);
		is_int(unpack(arch, dir, sizeof dir, 16, err, sizeof err), -1, "refused: %s",
		       cases[i].what);
		ok(strstr(err, cases[i].says) != NULL, "  saying so: %s", err);
		snprintf(p, sizeof p, "%s/../evil.py", dir);
		ok(access("/tmp/evil.py", F_OK) != 0 && access(p, F_OK) != 0,
		   "  nothing was written outside");
		rm_rf(dir);
	}
	struct member many[60];
	char names[60][16];
	for (int i = 0; i < 60; i++) {
		snprintf(names[i], sizeof names[i], "f%d", i);
		many[i] = (struct member){names[i], AE_IFREG, NULL};
	}
	make_archive(arch, 1, many, 60);
	is_int(unpack(arch, dir, sizeof dir, 1 << 20, err, sizeof err), -1, "too many entries");
	ok(strstr(err, "more than 50 entries") != NULL, "  saying so: %s", err);
	rm_rf(dir);
	make_archive(arch, 0, many, 0);
	is_int(unpack(arch, dir, sizeof dir, 1 << 20, err, sizeof err), 0, "an empty archive");
	FILE *f = fopen(arch, "w");
	fputs("\x1f\x8bnot really gzip", f);
	fclose(f);
	is_int(unpack(arch, dir, sizeof dir, 1 << 20, err, sizeof err), -1, "a broken archive");
	ok(err[0] != '\0', "  with libarchive's reason: %s", err);
	rm_rf(dir);
	unlink(arch);

	const unsigned char gz[] = {0x1f, 0x8b, 8, 0}, zip[] = {'P', 'K', 3, 4};
	const unsigned char ez[] = {'P', 'K', 5, 6};
	is_int(bundle_kind_of(gz, 4, "x.py"), BUNDLE_TARGZ, "gzip by its bytes, whatever the name");
	is_int(bundle_kind_of(zip, 4, "code"), BUNDLE_ZIP, "zip");
	is_int(bundle_kind_of(ez, 4, "code"), BUNDLE_ZIP, "an empty zip");
	is_int(bundle_kind_of((const unsigned char *)"impo", 4, "t/locustfile.py"), BUNDLE_PY,
	       "a .py by its name");
	is_int(bundle_kind_of((const unsigned char *)"impo", 4, "t/locustfile"), BUNDLE_UNKNOWN,
	       "anything else");
	ok(bundle_safe_relpath("a/b.py") && !bundle_safe_relpath("a/../b") &&
	   !bundle_safe_relpath("/a") && !bundle_safe_relpath("") && !bundle_safe_relpath("a/./b"),
	   "relative paths");
}

static void test_summary(void)
{
	struct totals t;
	const char *csv = "Type,Name,Request Count,Failure Count,Median Response Time,"
			  "Average Response Time,Min Response Time,Max Response Time,"
			  "Average Content Size,Requests/s,Failures/s,50%,95%,99%\r\n"
			  "GET,\"/a, \"\"b\"\"\",10,1,5,6.5,1,20,3,2.5,0.25,5,15,19\r\n"
			  ",Aggregated,10,1,5,6.5,1,20,3,2.5,0.25,5,15,N/A\r\n";
	is_int(summary_csv_totals(csv, strlen(csv), &t), 0, "the Aggregated row");
	is_int(t.requests, 10, "requests");
	is_int(t.failures, 1, "failures");
	ok(t.rps == 2.5 && t.avg_ms == 6.5 && t.p95_ms == 15 && t.median_ms == 5, "figures");
	ok(t.p99_ms < 0, "N/A is absent");
	const char *none = "Type,Name,Request Count\nGET,/,3\n";
	is_int(summary_csv_totals(none, strlen(none), &t), -1, "no Aggregated row");
	is_int(summary_csv_totals("", 0, &t), -1, "an empty file");
	ok(summary_valid_test_id("run-42_a.b") && !summary_valid_test_id("..") &&
	   !summary_valid_test_id("a/b") && !summary_valid_test_id(""), "test ids");
	char id[64], ts[40];
	summary_make_test_id(1714564800123LL, "a1b2c3d4e5f6", 7, id, sizeof id);
	is_str(id, "20240501T120000Z-a1b2c3d4", "a test id from the task id");
	summary_make_test_id(1714564800123LL, NULL, 0xbeef, id, sizeof id);
	is_str(id, "20240501T120000Z-0000beef", "or a random tag");
	ok(summary_valid_test_id(id), "is valid");
	summary_iso_time(1714564800123LL, ts, sizeof ts);
	is_str(ts, "2024-05-01T12:00:00.123Z", "ISO time");
	is_str(summary_content_type("report.html"), "text/html; charset=utf-8", "html");
	is_str(summary_content_type("x.bin"), "application/octet-stream", "other");
}

static void test_engver(void)
{
	char v[64];
	engver_parse("locust 2.46.0 from /opt/venv/lib/python3.13/site-packages/locust "
		     "(Python 3.13.5)\n", v, sizeof v);
	is_str(v, "2.46.0", "a version");
	engver_parse("locust \n", v, sizeof v);
	is_str(v, "", "Debian's empty one (2.12.1)");
	engver_parse("locust  from /usr/lib/python3/dist-packages/locust (python 3.13.5)\n", v,
		     sizeof v);
	is_str(v, "", "Debian's empty one with its path (2.24.0): not Python's version");
	engver_parse("locust 2.37.10.dev3\n", v, sizeof v);
	is_str(v, "2.37.10.dev3", "a development one");
	ok(engver_has_json_file("2.37.0") && !engver_has_json_file("2.37.1") &&
	   !engver_has_json_file("2.37.9") && engver_has_json_file("2.37.10") &&
	   engver_has_json_file("2.46.0") && !engver_has_json_file("2.12.1") &&
	   !engver_has_json_file("") && engver_has_json_file("3.0.0") &&
	   engver_has_json_file("2.37.10.dev3"), "--json-file: 2.37.0, and 2.37.10 on");
}

int main(void)
{
	test_locations();
	test_errors();
	test_creds_source();
	test_creds_parse();
	test_bundle_good();
	test_bundle_hostile();
	test_summary();
	test_engver();
	return done_testing();
}
