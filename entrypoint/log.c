/* log: structured lines for CloudWatch Logs (JSON) or people (text), never blocking PID 1. */
#include "log.h"
#include "outfd.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define LOG_CTX_MAX 6

static struct {
	int json;
	enum log_level level;
	const char *program;
	struct outfd out;
	unsigned long dropped_told;
	struct { char key[16]; char val[160]; } ctx[LOG_CTX_MAX];
} lg = {1, LOGLVL_INFO, "locust-entrypoint", {STDERR_FILENO, 0, 0}, 0, {{"", ""}}};

static const char *const level_names[] = {"debug", "info", "warn", "error"};

void log_init(enum log_format fmt, enum log_level level, const char *program)
{
	lg.json = fmt == LOGFMT_JSON || (fmt == LOGFMT_AUTO && !isatty(STDERR_FILENO));
	lg.level = level;
	lg.program = program;
	outfd_open(&lg.out, STDERR_FILENO);
}

unsigned long log_dropped(void)
{
	return lg.out.dropped;
}

void log_context(const char *key, const char *value)
{
	int free_slot = -1;
	for (int i = 0; i < LOG_CTX_MAX; i++) {
		if (strcmp(lg.ctx[i].key, key) == 0) {
			if (!value)
				lg.ctx[i].key[0] = '\0';
			else
				snprintf(lg.ctx[i].val, sizeof lg.ctx[i].val, "%s", value);
			return;
		}
		if (!lg.ctx[i].key[0] && free_slot < 0)
			free_slot = i;
	}
	if (value && free_slot >= 0) {
		snprintf(lg.ctx[free_slot].key, sizeof lg.ctx[free_slot].key, "%s", key);
		snprintf(lg.ctx[free_slot].val, sizeof lg.ctx[free_slot].val, "%s", value);
	}
}

/* The length of the valid UTF-8 sequence at p (1..4), or 0 (RFC 3629: no overlong
 * forms, no surrogates, nothing above U+10FFFF). */
static size_t utf8_len(const unsigned char *p)
{
	unsigned c = p[0];
	size_t n;
	unsigned min;
	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf) {
		n = 2;
		min = 0x80;
	} else if (c >= 0xe0 && c <= 0xef) {
		n = 3;
		min = 0x800;
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 4;
		min = 0x10000;
	} else {
		return 0;
	}
	unsigned cp = c & (0x3fu >> (n - 1));
	for (size_t i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0; /* also stops at the terminating NUL */
		cp = (cp << 6) | (p[i] & 0x3fu);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

void log_json_escape(const char *s, char *out, size_t outlen)
{
	size_t o = 0;
	if (!outlen)
		return;
	for (const unsigned char *p = (const unsigned char *)s; *p;) {
		char esc[8];
		const char *piece = esc;
		size_t n, adv = 1;
		if (*p == '"' || *p == '\\') {
			n = (size_t)snprintf(esc, sizeof esc, "\\%c", *p);
		} else if (*p == '\n') {
			n = (size_t)snprintf(esc, sizeof esc, "\\n");
		} else if (*p < 0x20 || *p == 0x7f) {
			n = (size_t)snprintf(esc, sizeof esc, "\\u%04x", *p);
		} else if ((adv = utf8_len(p)) > 0) {
			piece = (const char *)p; /* ASCII or a whole valid character */
			n = adv;
		} else {
			n = (size_t)snprintf(esc, sizeof esc, "\\ufffd"); /* a byte that is not UTF-8 */
			adv = 1;
		}
		if (o + n >= outlen)
			break;
		memcpy(out + o, piece, n);
		o += n;
		p += adv;
	}
	out[o] = '\0';
}

int log_write_line(const char *line, size_t len)
{
	return outfd_write(&lg.out, line, len);
}

/* ",\"dropped\":N" or " [N lines dropped]": what was lost since the last line through. */
static size_t dropped_note(char *buf, size_t len)
{
	unsigned long n = lg.out.dropped - lg.dropped_told;
	if (!n)
		return 0;
	int k = lg.json ? snprintf(buf, len, ",\"dropped\":%lu", n)
			: snprintf(buf, len, " [%lu earlier line%s dropped: stderr was full]", n,
				   n == 1 ? "" : "s");
	return k > 0 && (size_t)k < len ? (size_t)k : 0;
}

/* Everything after the message: context keys, the dropped count, the end. */
static size_t line_tail(char *buf, size_t len)
{
	char esc[400];
	size_t o = 0;
	for (int i = 0; i < LOG_CTX_MAX; i++) {
		if (!lg.ctx[i].key[0] || (!lg.json && strcmp(lg.ctx[i].key, "task") != 0))
			continue;
		log_json_escape(lg.ctx[i].val, esc, sizeof esc);
		int k = lg.json ? snprintf(buf + o, len - o, ",\"%s\":\"%s\"", lg.ctx[i].key, esc)
				: snprintf(buf + o, len - o, " [task %s]", lg.ctx[i].val);
		if (k < 0 || (size_t)k >= len - o)
			break;
		o += (size_t)k;
	}
	o += dropped_note(buf + o, len - o);
	if (lg.json && o + 1 < len)
		buf[o++] = '}';
	buf[o] = '\0';
	return o;
}

void log_at(enum log_level lvl, const char *event, const char *fmt, ...)
{
	char msg[LOG_LINE_MAX], esc[LOG_LINE_MAX], head[256], tail[1400], line[LOG_LINE_MAX],
		ts[40];
	struct timespec now;
	struct tm tm;
	va_list ap;
	size_t o, ho, to, room;

	if (lvl < lg.level)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	clock_gettime(CLOCK_REALTIME, &now);
	gmtime_r(&now.tv_sec, &tm);
	o = strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(ts + o, sizeof ts - o, ".%03ldZ", now.tv_nsec / 1000000);

	int k = lg.json ? snprintf(head, sizeof head,
				   "{\"ts\":\"%s\",\"level\":\"%s\",\"event\":\"%s\","
				   "\"prog\":\"%s\",\"msg\":\"", ts, level_names[lvl], event,
				   lg.program)
			: snprintf(head, sizeof head, "%s %s %-5s %s: ", ts, lg.program,
				   level_names[lvl], event);
	ho = k > 0 && (size_t)k < sizeof head ? (size_t)k : 0;
	to = line_tail(tail, sizeof tail);
	/* the message gets what is left of LOG_LINE_MAX after the closing quote, the newline
	 * and the terminating NUL of the buffer the line is built in */
	room = LOG_LINE_MAX - ho - to - 3;
	if (lg.json) {
		log_json_escape(msg, esc, room + 1 < sizeof esc ? room + 1 : sizeof esc);
	} else {
		snprintf(esc, room + 1 < sizeof esc ? room + 1 : sizeof esc, "%s", msg);
	}
	o = (size_t)snprintf(line, sizeof line, "%s%s%s%s", head, esc, lg.json ? "\"" : "",
			     tail);
	if (o >= sizeof line - 1)
		o = sizeof line - 2;
	line[o++] = '\n';
	/* one write per line: lines of the supervisor and the engines do not interleave */
	if (log_write_line(line, o) == 0)
		lg.dropped_told = lg.out.dropped;
}
