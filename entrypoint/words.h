/* words: split a string into words the way a POSIX shell does, without any expansion. */
#ifndef LE_WORDS_H
#define LE_WORDS_H

#include <stddef.h>

/* Splits s into a NULL-terminated, malloc'ed array (*out, count in *n). Blanks separate
 * words; '...' keeps everything literally; "..." keeps everything but lets \ escape
 * $ ` " \ and newline; outside quotes \ escapes the next character. $, `, *, ~ and the
 * like are ordinary characters: nothing is expanded. Returns 0, or -1 with a reason in
 * err (unbalanced quote, trailing backslash, out of memory). */
int words_split(const char *s, char ***out, int *n, char *err, size_t errlen);
void words_free(char **w);

#endif
