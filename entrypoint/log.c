/* log: structured lines for CloudWatch Logs (JSON) or people (text), one write each. */
#include "log.h"

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
	struct { char key[16]; char val[160]; } ctx[LOG_CTX_MAX];
} lg = {1, LOGLVL_INFO, "locust-entrypoint", {{"", ""}}};

static const char *const level_names[] = {"debug", "info", "warn", "error"};

void log_init(enum log_format fmt, enum log_level level, const char *program)
{
	lg.json = fmt == LOGFMT_JSON || (fmt == LOGFMT_AUTO && !isatty(STDERR_FILENO));
	lg.level = level;
	lg.program = program;
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

void log_json_escape(const char *s, char *out, size_t outlen)
{
	size_t o = 0;
	if (!outlen)
		return;
	for (const unsigned char *p = (const unsigned char *)s; *p && o + 7 < outlen; p++) {
		if (*p == '"' || *p == '\\') {
			out[o++] = '\\';
			out[o++] = (char)*p;
		} else if (*p == '\n') {
			out[o++] = '\\';
			out[o++] = 'n';
		} else if (*p < 0x20 || *p == 0x7f || *p >= 0x80) {
			/* bytes above 0x7f are shown escaped: the line stays valid UTF-8 JSON */
			o += (size_t)snprintf(out + o, outlen - o, "\\u%04x", *p);
		} else {
			out[o++] = (char)*p;
		}
	}
	out[o] = '\0';
}

void log_at(enum log_level lvl, const char *event, const char *fmt, ...)
{
	char msg[2048], esc[4096], line[8192], ts[40];
	struct timespec now;
	struct tm tm;
	va_list ap;
	size_t o;

	if (lvl < lg.level)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	clock_gettime(CLOCK_REALTIME, &now);
	gmtime_r(&now.tv_sec, &tm);
	o = strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(ts + o, sizeof ts - o, ".%03ldZ", now.tv_nsec / 1000000);

	if (!lg.json) {
		o = (size_t)snprintf(line, sizeof line, "%s %s %-5s %s: %s", ts, lg.program,
				     level_names[lvl], event, msg);
		for (int i = 0; i < LOG_CTX_MAX && o < sizeof line; i++)
			if (lg.ctx[i].key[0] && strcmp(lg.ctx[i].key, "task") == 0)
				o += (size_t)snprintf(line + o, sizeof line - o, " [task %s]",
						      lg.ctx[i].val);
	} else {
		log_json_escape(msg, esc, sizeof esc);
		o = (size_t)snprintf(line, sizeof line,
				     "{\"ts\":\"%s\",\"level\":\"%s\",\"event\":\"%s\","
				     "\"prog\":\"%s\",\"msg\":\"%s\"",
				     ts, level_names[lvl], event, lg.program, esc);
		for (int i = 0; i < LOG_CTX_MAX && o < sizeof line; i++) {
			if (!lg.ctx[i].key[0])
				continue;
			log_json_escape(lg.ctx[i].val, esc, sizeof esc);
			o += (size_t)snprintf(line + o, sizeof line - o, ",\"%s\":\"%s\"",
					      lg.ctx[i].key, esc);
		}
		if (o < sizeof line)
			o += (size_t)snprintf(line + o, sizeof line - o, "}");
	}
	if (o >= sizeof line - 1)
		o = sizeof line - 2;
	line[o++] = '\n';
	/* one write per line: lines of the supervisor and the engines do not interleave */
	ssize_t w = write(STDERR_FILENO, line, o);
	(void)w;
}
