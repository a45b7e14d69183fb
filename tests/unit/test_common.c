/* test_common: the pieces both programs share (entrypoint/common) and the log's escaping. */
#include "tap.h"
#include "clock.h"
#include "duration.h"
#include "fileio.h"
#include "http.h"
#include "log.h"
#include "procfs.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static void test_fileio(void)
{
	char dir[] = "/tmp/le-common-XXXXXX", path[256], small[8];
	char *buf = NULL;
	size_t len = 0;
	ok(mkdtemp(dir) != NULL, "a temporary directory");
	snprintf(path, sizeof path, "%s/f", dir);
	FILE *f = fopen(path, "w");
	ok(f && fputs("hello\n", f) >= 0 && fclose(f) == 0, "a file written");
	is_int(file_read(path, 100, &buf, &len), 0, "a regular file is read");
	is_int((long long)len, 6, "whole");
	is_str(buf, "hello\n", "with its bytes, NUL-terminated");
	free(buf);
	is_int(file_read(path, 5, &buf, &len), -1, "larger than max is refused");
	is_int(errno, EFBIG, "with EFBIG");
	ok(buf == NULL && len == 0, "and nothing handed out");
	is_int(file_read(dir, 100, &buf, &len), -1, "a directory is refused");
	is_int(errno, EISDIR, "with EISDIR");
	snprintf(path, sizeof path, "%s/fifo", dir);
	ok(mkfifo(path, 0600) == 0, "a FIFO with no writer");
	is_int(file_read(path, 100, &buf, &len), -1, "is refused at once, not waited on");
	is_int(errno, EINVAL, "with EINVAL");
	unlink(path);
	snprintf(path, sizeof path, "%s/missing", dir);
	is_int(file_read(path, 100, &buf, &len), -1, "a missing file");
	is_int(errno, ENOENT, "with ENOENT");
	snprintf(path, sizeof path, "%s/f", dir);
	is_int(file_read_into(path, small, sizeof small), 0, "into a buffer that holds it");
	is_str(small, "hello\n", "the same bytes");
	is_int(file_read_into(path, small, 4), -1, "into one too small: refused, not cut");
	unlink(path);
	rmdir(dir);
	is_int(file_read("/proc/self/status", 1 << 20, &buf, &len), 0,
	       "a /proc file (no size) is read whole");
	ok(buf && strstr(buf, "Pid:") != NULL, "its content");
	free(buf);
}

static void test_procfs(void)
{
	char st = 0, comm[32];
	int ppid = 0;
	unsigned long long t = 0;
	is_int(proc_stat(getpid(), &st, &ppid, &t), 0, "our own stat");
	is_int(ppid, getppid(), "the parent pid");
	ok(st == 'R' || st == 'S', "a running state letter (%c)", st);
	ok(t > 0 && t == proc_start_ticks(getpid()), "start ticks, the same twice");
	is_int(proc_stat(-3, NULL, NULL, NULL), -1, "no such pid");
	is_int((long long)proc_start_ticks(-3), 0, "no ticks for it");
	proc_comm(getpid(), comm, sizeof comm);
	is_str(comm, "test_common", "our command name, without its newline");
	proc_comm(-3, comm, sizeof comm);
	is_str(comm, "?", "unknown for a missing pid");
}

static void test_clock_and_duration(void)
{
	long v = 0;
	long long a = clock_mono_ms(), b = clock_mono_ms();
	ok(b >= a, "the monotonic clock does not go back");
	ok(clock_wall_ms() > 1700000000000LL, "the wall clock is in ms since the epoch");
	is_int(duration_parse("30", &v), 0, "30");
	is_int(v, 30000, "is seconds");
	is_int(duration_parse("250ms", &v), 0, "250ms");
	is_int(v, 250, "is ms");
	is_int(duration_parse("2m", &v), 0, "2m");
	is_int(v, 120000, "is minutes");
	is_int(duration_parse("8d", &v), -1, "an unknown unit");
	is_int(duration_parse("10081m", &v), -1, "over 7 days");
	is_int(duration_parse("-1", &v), -1, "negative");
	is_int(duration_parse("", &v), -1, "empty");
	is_int(duration_parse(" 5", &v), -1, "a leading blank");
	is_int(duration_parse(NULL, &v), -1, "NULL");
}

static void esc(const char *in, size_t outlen, const char *want, const char *what)
{
	char out[256];
	log_json_escape(in, out, outlen);
	is_str(out, want, "%s", what);
}

static void test_escape(void)
{
	esc("caf\xc3\xa9", 64, "caf\xc3\xa9", "UTF-8 passes as it is (no mojibake)");
	esc("\xe2\x82\xac \xf0\x9f\x98\x80", 64, "\xe2\x82\xac \xf0\x9f\x98\x80",
	    "three- and four-byte characters pass");
	esc("a\xff" "b", 64, "a\\ufffdb", "a byte that is not UTF-8 becomes U+FFFD");
	esc("\xc0\xaf", 64, "\\ufffd\\ufffd", "an overlong form is not UTF-8");
	esc("\xed\xa0\x80", 64, "\\ufffd\\ufffd\\ufffd", "a surrogate is not UTF-8");
	esc("\xc3", 64, "\\ufffd", "a character cut by the end");
	esc("q\"b\\n\nt\tz\x7f", 64, "q\\\"b\\\\n\\nt\\u0009z\\u007f", "quotes, controls");
	esc("ab\xc3\xa9", 4, "ab", "cut before a character that does not fit whole");
	esc("ab\"", 4, "ab", "never inside an escape");
	char out[4] = "xyz";
	log_json_escape("abc", out, 0);
	is_str(out, "xyz", "no room: nothing written");
}

/* A line of ours never exceeds PIPE_BUF, however long or escaped its message. */
static void test_line_length(void)
{
	int pfd[2], saved = dup(STDERR_FILENO);
	static char msg[6000], got[65536];
	memset(msg, '"', sizeof msg - 1);
	ok(pipe(pfd) == 0 && dup2(pfd[1], STDERR_FILENO) == STDERR_FILENO, "stderr is a pipe");
	log_init(LOGFMT_JSON, LOGLVL_INFO, "test");
	log_context("task", "t\xc3\xa9");
	log_info("long", "%s", msg);
	dup2(saved, STDERR_FILENO);
	close(saved);
	close(pfd[1]);
	ssize_t n = read(pfd[0], got, sizeof got - 1);
	close(pfd[0]);
	ok(n > 0 && n <= LOG_LINE_MAX, "one line of %zd bytes, at most %d", n, LOG_LINE_MAX);
	got[n > 0 ? n : 0] = '\0';
	ok(n > 0 && got[n - 1] == '\n' && !memchr(got, '\n', (size_t)n - 1), "one line");
	ok(strstr(got, "\"task\":\"t\xc3\xa9\"}") != NULL, "ends with its context, whole");
}

static void test_body(void)
{
	struct http_body b = {.max = 8};
	char data[] = "abcdefghij";
	is_int((long long)http_body_sink(data, 1, 5, &b), 5, "a first piece is taken");
	is_int((long long)http_body_sink(data + 5, 1, 3, &b), 3, "up to max");
	is_str(b.buf, "abcdefgh", "NUL-terminated");
	is_int((long long)http_body_sink(data, 1, 1, &b), 0, "a byte more ends the transfer");
	ok(b.too_big, "and says why");
	http_body_free(&b);
	ok(b.buf == NULL && b.len == 0, "freed");
}

int main(void)
{
	test_fileio();
	test_procfs();
	test_clock_and_duration();
	test_escape();
	test_line_length();
	test_body();
	return done_testing();
}
