/* words: shell-like word splitting with no expansion, for LOCUST_OPTS. */
#include "words.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct buf {
	char *s;
	size_t len, cap;
};

static int buf_put(struct buf *b, char c)
{
	if (b->len + 1 >= b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 32;
		char *s = realloc(b->s, cap);
		if (!s)
			return -1;
		b->s = s;
		b->cap = cap;
	}
	b->s[b->len++] = c;
	b->s[b->len] = '\0';
	return 0;
}

static int push_word(char ***w, int *n, struct buf *b)
{
	char **nw = realloc(*w, (size_t)(*n + 2) * sizeof **w);
	if (!nw)
		return -1;
	*w = nw;
	nw[*n] = b->s ? b->s : strdup("");
	if (!nw[*n])
		return -1;
	(*n)++;
	nw[*n] = NULL;
	b->s = NULL;
	b->len = b->cap = 0;
	return 0;
}

static int is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

void words_free(char **w)
{
	if (!w)
		return;
	for (char **p = w; *p; p++)
		free(*p);
	free(w);
}

int words_split(const char *s, char ***out, int *n, char *err, size_t errlen)
{
	struct buf b = {0};
	char **w = calloc(1, sizeof *w);
	int count = 0, inword = 0;
	const char *why = NULL;

	if (!w)
		goto nomem;
	for (const char *p = s; *p; p++) {
		char c = *p;
		if (is_blank(c)) {
			if (inword && push_word(&w, &count, &b) < 0)
				goto nomem;
			inword = 0;
			continue;
		}
		inword = 1;
		if (c == '\\') {
			if (!p[1]) {
				why = "ends with a lone backslash";
				goto fail;
			}
			p++;
			if (*p != '\n' && buf_put(&b, *p) < 0) /* backslash-newline joins lines */
				goto nomem;
		} else if (c == '\'') {
			const char *end = strchr(p + 1, '\'');
			if (!end) {
				why = "has an unbalanced single quote";
				goto fail;
			}
			for (p++; p < end; p++)
				if (buf_put(&b, *p) < 0)
					goto nomem;
			if (!b.s && buf_put(&b, '\0') < 0) /* '' is an empty word */
				goto nomem;
			if (b.len && b.s[b.len - 1] == '\0')
				b.len--;
		} else if (c == '"') {
			for (p++;; p++) {
				if (!*p) {
					why = "has an unbalanced double quote";
					goto fail;
				}
				if (*p == '"')
					break;
				if (*p == '\\' && p[1] && strchr("$`\"\\\n", p[1])) {
					p++;
					if (*p == '\n')
						continue;
				}
				if (buf_put(&b, *p) < 0)
					goto nomem;
			}
			if (!b.s && buf_put(&b, '\0') < 0)
				goto nomem;
			if (b.len && b.s[b.len - 1] == '\0')
				b.len--;
		} else if (buf_put(&b, c) < 0) {
			goto nomem;
		}
	}
	if (inword && push_word(&w, &count, &b) < 0)
		goto nomem;
	*out = w;
	*n = count;
	return 0;
nomem:
	why = "could not be split: out of memory";
fail:
	snprintf(err, errlen, "%s", why);
	free(b.s);
	words_free(w);
	*out = NULL;
	*n = 0;
	return -1;
}
