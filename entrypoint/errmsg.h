/* errmsg: one line of error text for the caller to report, and the status that goes with it. */
#ifndef LE_ERRMSG_H
#define LE_ERRMSG_H

#include <stddef.h>

/* Formats the message into err (cut to errlen) and returns rc. */
int errmsg(char *err, size_t errlen, int rc, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

#endif
