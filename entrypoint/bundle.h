/* bundle: test code as one file: a locustfile (.py), or a .tar.gz / .zip of a locustfile
 * with its modules and data, unpacked with libarchive as hostile input. */
#ifndef LE_BUNDLE_H
#define LE_BUNDLE_H

#include <stddef.h>

enum bundle_kind { BUNDLE_UNKNOWN, BUNDLE_PY, BUNDLE_TARGZ, BUNDLE_ZIP };

/* What a downloaded object is, from its first bytes (gzip, zip) and then its key's
 * ending (.py). Pure. */
enum bundle_kind bundle_kind_of(const unsigned char *head, size_t n, const char *key);

struct bundle_limits {
	unsigned long long max_bytes; /* all files together, as written */
	unsigned long max_entries;
};

struct bundle;

/* Opens the archive at path for unpacking into dir (an existing, private, empty
 * directory). NULL with the reason in err. */
struct bundle *bundle_open(const char *path, const char *dir, const struct bundle_limits *lim,
			   char *err, size_t errlen);
/* Unpacks up to about budget bytes: 1 when more is left, 0 when done, -1 when the
 * archive is refused or unreadable: err names the entry and why (absolute paths, "..",
 * links that could lead out, hard links, devices, FIFOs, sockets, the limits). */
int bundle_step(struct bundle *b, size_t budget, char *err, size_t errlen);
/* Files and bytes unpacked so far. */
void bundle_counts(const struct bundle *b, unsigned long *entries, unsigned long long *bytes);
void bundle_close(struct bundle *b);

/* The locustfile in an unpacked tree: named (a relative path, from a setting), else
 * locustfile.py at the top, else in the single top-level directory. 0 with its path in
 * out, or -1 with why in err. */
int bundle_find_locustfile(const char *dir, const char *named, char *out, size_t outlen,
			   char *err, size_t errlen);

/* A relative path inside a tree: not empty, not absolute, no "." or ".." segment, no
 * control characters. 1 when safe. Pure. */
int bundle_safe_relpath(const char *p);

#endif
