/* log: one JSON object per line on stderr (or plain text for terminals). */
#ifndef LE_LOG_H
#define LE_LOG_H

#include "config.h"

void log_init(enum log_format fmt, enum log_level level, const char *program);
/* Adds a key to every line (task context: "task", "family", "az", "role"); NULL removes. */
void log_context(const char *key, const char *value);

void log_at(enum log_level lvl, const char *event, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#define log_debug(ev, ...) log_at(LOGLVL_DEBUG, ev, __VA_ARGS__)
#define log_info(ev, ...) log_at(LOGLVL_INFO, ev, __VA_ARGS__)
#define log_warnx(ev, ...) log_at(LOGLVL_WARN, ev, __VA_ARGS__)
#define log_error(ev, ...) log_at(LOGLVL_ERROR, ev, __VA_ARGS__)

/* Escapes s as the inside of a JSON string into out (always terminated). */
void log_json_escape(const char *s, char *out, size_t outlen);

#endif
