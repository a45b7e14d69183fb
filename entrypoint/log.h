/* log: one JSON object per line on stderr (or plain text for terminals), never blocking. */
#ifndef LE_LOG_H
#define LE_LOG_H

#include "config.h"

#include <stddef.h>

/* Longest line written, newline included: PIPE_BUF, so that a line of ours and one of an
 * engine sharing the pipe never interleave (writes up to PIPE_BUF are atomic). */
#define LOG_LINE_MAX 4096

/* Picks the format and opens the supervisor's own non-blocking path to stderr: a line
 * that cannot be written at once is dropped and counted, and the next line that gets
 * through says how many were lost (fd 2 itself, which the engines share, is left as
 * it is). */
void log_init(enum log_format fmt, enum log_level level, const char *program);
/* Adds a key to every line (task context: "task", "family", "az", "role"); NULL removes. */
void log_context(const char *key, const char *value);

void log_at(enum log_level lvl, const char *event, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#define log_debug(ev, ...) log_at(LOGLVL_DEBUG, ev, __VA_ARGS__)
#define log_info(ev, ...) log_at(LOGLVL_INFO, ev, __VA_ARGS__)
#define log_warnx(ev, ...) log_at(LOGLVL_WARN, ev, __VA_ARGS__)
#define log_error(ev, ...) log_at(LOGLVL_ERROR, ev, __VA_ARGS__)

/* Lines dropped so far because stderr could not take them. */
unsigned long log_dropped(void);

/* Escapes s as the inside of a JSON string into out (always terminated): valid UTF-8
 * passes as it is, other bytes become U+FFFD, control characters \uXXXX; cut to fit,
 * never inside an escape or a character. */
void log_json_escape(const char *s, char *out, size_t outlen);

/* Writes one whole line (with its newline) through the log's non-blocking path: 0, or
 * -1 when it was dropped (and counted). */
int log_write_line(const char *line, size_t len);

#endif
