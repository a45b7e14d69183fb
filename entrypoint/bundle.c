/* bundle: a .py, .tar.gz or .zip of test code; archives unpacked by libarchive, each entry
 * checked first, a little at a time so that the loop stays free. */
#include "bundle.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define ENTRY_NAME_MAX 1024
#define ENTRY_DEPTH_MAX 32

/* ---------- pure ---------- */

enum bundle_kind bundle_kind_of(const unsigned char *head, size_t n, const char *key)
{
	size_t kl = strlen(key);
	if (n >= 2 && head[0] == 0x1f && head[1] == 0x8b)
		return BUNDLE_TARGZ;
	/* a local file header, or the end record alone (an empty zip) */
	if (n >= 4 && head[0] == 'P' && head[1] == 'K' &&
	    ((head[2] == 3 && head[3] == 4) || (head[2] == 5 && head[3] == 6)))
		return BUNDLE_ZIP;
	if (kl > 3 && !strcmp(key + kl - 3, ".py"))
		return BUNDLE_PY;
	return BUNDLE_UNKNOWN;
}

int bundle_safe_relpath(const char *p)
{
	int depth = 0;
	size_t n = strlen(p);
	if (n == 0 || n > ENTRY_NAME_MAX || p[0] == '/')
		return 0;
	for (const char *q = p; *q; q++)
		if ((unsigned char)*q < 0x20 || *q == 0x7f)
			return 0;
	for (size_t i = 0; i < n;) {
		size_t j = i;
		while (j < n && p[j] != '/')
			j++;
		if ((j - i == 1 && p[i] == '.') || (j - i == 2 && p[i] == '.' && p[i + 1] == '.'))
			return 0;
		if (j > i && ++depth > ENTRY_DEPTH_MAX)
			return 0;
		i = j + 1;
	}
	return 1;
}

/* ---------- unpacking ---------- */

struct bundle {
	struct archive *in, *out;
	char dir[4096];
	struct bundle_limits lim;
	unsigned long entries;
	unsigned long long bytes;
	int in_entry;             /* a regular file's data is being copied */
	char name[ENTRY_NAME_MAX + 1];
};

static int refuse(char *err, size_t errlen, const char *name, const char *why)
{
	snprintf(err, errlen, "the bundle's entry \"%s\" is refused: %s", name, why);
	return -1;
}

struct bundle *bundle_open(const char *path, const char *dir, const struct bundle_limits *lim,
			   char *err, size_t errlen)
{
	struct bundle *b = calloc(1, sizeof *b);
	if (!b || !realpath(dir, b->dir)) {
		snprintf(err, errlen, "unable to use the directory %s: %s", dir, strerror(errno));
		free(b);
		return NULL;
	}
	b->lim = *lim;
	b->in = archive_read_new();
	b->out = archive_write_disk_new();
	if (!b->in || !b->out) {
		snprintf(err, errlen, "out of memory");
		bundle_close(b);
		return NULL;
	}
	/* only what a bundle is: tar in gzip, or zip */
	archive_read_support_filter_gzip(b->in);
	archive_read_support_format_tar(b->in);
	archive_read_support_format_gnutar(b->in);
	archive_read_support_format_zip(b->in);
	/* our own checks come first; these are libarchive's, behind them: nothing written
	 * through a link, no "..", files replaced by a rename; no owner, mode bits beyond
	 * the umask, times, ACLs or attributes from the archive */
	archive_write_disk_set_options(b->out, ARCHIVE_EXTRACT_SECURE_SYMLINKS |
					       ARCHIVE_EXTRACT_SECURE_NODOTDOT |
					       ARCHIVE_EXTRACT_SAFE_WRITES);
	if (archive_read_open_filename(b->in, path, 65536) != ARCHIVE_OK) {
		snprintf(err, errlen, "unable to read the bundle: %s", archive_error_string(b->in));
		bundle_close(b);
		return NULL;
	}
	return b;
}

/* The entry's name without leading "./": "" for the top itself. */
static const char *clean_name(const char *p)
{
	while (p[0] == '.' && p[1] == '/')
		for (p += 2; *p == '/';)
			p++;
	return !strcmp(p, ".") ? "" : p;
}

/* Checks one header; 0 to unpack it, 1 to skip it (the top itself), -1 refused. */
static int check_entry(struct bundle *b, struct archive_entry *e, char *err, size_t errlen)
{
	const char *raw = archive_entry_pathname(e);
	if (!raw)
		return refuse(err, errlen, "?", "it has no name (or one not in this locale)");
	snprintf(b->name, sizeof b->name, "%s", raw);
	const char *name = clean_name(raw);
	mode_t t = archive_entry_filetype(e);
	if (!*name && t == AE_IFDIR)
		return 1;
	if (strlen(raw) > ENTRY_NAME_MAX)
		return refuse(err, errlen, b->name, "its name is longer than 1024 bytes");
	if (raw[0] == '/')
		return refuse(err, errlen, b->name, "it is an absolute path");
	if (!bundle_safe_relpath(name))
		return refuse(err, errlen, b->name, "its path has a \"..\" segment, a control "
			      "character or more than 32 levels");
	if (archive_entry_hardlink(e))
		return refuse(err, errlen, b->name, "hard links are not accepted");
	if (t == AE_IFLNK) {
		const char *to = archive_entry_symlink(e);
		if (!to || !bundle_safe_relpath(to))
			return refuse(err, errlen, b->name, "a symbolic link may only lead down "
				      "into the bundle (a relative path without \"..\")");
	} else if (t != AE_IFREG && t != AE_IFDIR) {
		return refuse(err, errlen, b->name, "only files, directories and symbolic links "
			      "are accepted (no devices, FIFOs or sockets)");
	}
	if (++b->entries > b->lim.max_entries) {
		char why[80];
		snprintf(why, sizeof why, "the bundle has more than %lu entries",
			 b->lim.max_entries);
		return refuse(err, errlen, b->name, why);
	}
	if (t == AE_IFREG && archive_entry_size_is_set(e) && archive_entry_size(e) >= 0 &&
	    (unsigned long long)archive_entry_size(e) > b->lim.max_bytes - b->bytes) {
		char why[120];
		snprintf(why, sizeof why, "the files would be larger than %llu bytes unpacked",
			 b->lim.max_bytes);
		return refuse(err, errlen, b->name, why);
	}
	/* written below the directory, under the entry's cleaned name */
	char full[sizeof b->dir + ENTRY_NAME_MAX + 2];
	snprintf(full, sizeof full, "%s/%s", b->dir, name);
	archive_entry_set_pathname(e, full);
	archive_entry_set_perm(e, t == AE_IFDIR || (archive_entry_perm(e) & 0111) ? 0755 : 0644);
	return 0;
}

static int next_entry(struct bundle *b, char *err, size_t errlen)
{
	struct archive_entry *e;
	int r = archive_read_next_header(b->in, &e);
	if (r == ARCHIVE_EOF)
		return 0;
	if (r < ARCHIVE_WARN) {
		snprintf(err, errlen, "the bundle cannot be read%s%s: %s",
			 b->entries ? " after " : "", b->entries ? b->name : "",
			 archive_error_string(b->in));
		return -1;
	}
	int c = check_entry(b, e, err, errlen);
	if (c != 0)
		return c < 0 ? -1 : 1;
	if (archive_write_header(b->out, e) < ARCHIVE_WARN)
		return refuse(err, errlen, b->name, archive_error_string(b->out));
	b->in_entry = archive_entry_filetype(e) == AE_IFREG;
	if (!b->in_entry && archive_write_finish_entry(b->out) < ARCHIVE_WARN)
		return refuse(err, errlen, b->name, archive_error_string(b->out));
	return 1;
}

/* Copies data blocks of the current file; *used grows by what was written. */
static int copy_data(struct bundle *b, size_t budget, size_t *used, char *err, size_t errlen)
{
	while (*used < budget) {
		const void *buf;
		size_t size;
		la_int64_t off;
		int r = archive_read_data_block(b->in, &buf, &size, &off);
		if (r == ARCHIVE_EOF) {
			b->in_entry = 0;
			if (archive_write_finish_entry(b->out) < ARCHIVE_WARN)
				return refuse(err, errlen, b->name, archive_error_string(b->out));
			return 1;
		}
		if (r < ARCHIVE_WARN) {
			snprintf(err, errlen, "the bundle's entry \"%s\" cannot be read: %s",
				 b->name, archive_error_string(b->in));
			return -1;
		}
		if (size > b->lim.max_bytes - b->bytes) {
			char why[120];
			snprintf(why, sizeof why, "the files are larger than %llu bytes unpacked",
				 b->lim.max_bytes);
			return refuse(err, errlen, b->name, why);
		}
		if (archive_write_data_block(b->out, buf, size, off) < ARCHIVE_WARN)
			return refuse(err, errlen, b->name, archive_error_string(b->out));
		b->bytes += size;
		*used += size ? size : 1;
	}
	return 1;
}

int bundle_step(struct bundle *b, size_t budget, char *err, size_t errlen)
{
	size_t used = 0;
	while (used < budget) {
		int r = b->in_entry ? copy_data(b, budget, &used, err, errlen)
				    : next_entry(b, err, errlen);
		if (r <= 0)
			return r;
		used += 512; /* a header's worth, so that empty entries end a step too */
	}
	return 1;
}

void bundle_counts(const struct bundle *b, unsigned long *entries, unsigned long long *bytes)
{
	*entries = b->entries;
	*bytes = b->bytes;
}

void bundle_close(struct bundle *b)
{
	if (!b)
		return;
	if (b->in)
		archive_read_free(b->in);
	if (b->out)
		archive_write_free(b->out);
	free(b);
}

/* ---------- the locustfile in the tree ---------- */

static int is_file(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* The one directory at the top of dir (and nothing else but dot files): 0 and its name,
 * else -1. */
static int single_top(const char *dir, char *name, size_t namelen)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0, others = 0;
	if (!d)
		return -1;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		char p[8192];
		struct stat st;
		snprintf(p, sizeof p, "%s/%s", dir, de->d_name);
		if (lstat(p, &st) != 0 || !S_ISDIR(st.st_mode))
			others++;
		else if (n++ == 0)
			snprintf(name, namelen, "%s", de->d_name);
	}
	closedir(d);
	return n == 1 && !others ? 0 : -1;
}

int bundle_find_locustfile(const char *dir, const char *named, char *out, size_t outlen,
			   char *err, size_t errlen)
{
	char top[256];
	if (named) {
		if (!bundle_safe_relpath(named)) {
			snprintf(err, errlen, "LOCUST_ECS_BUNDLE_LOCUSTFILE=\"%s\" is not a "
				 "relative path inside the bundle", named);
			return -1;
		}
		snprintf(out, outlen, "%s/%s", dir, named);
		if (is_file(out))
			return 0;
		snprintf(err, errlen, "the bundle has no file %s (LOCUST_ECS_BUNDLE_LOCUSTFILE)",
			 named);
		return -1;
	}
	snprintf(out, outlen, "%s/locustfile.py", dir);
	if (is_file(out))
		return 0;
	if (single_top(dir, top, sizeof top) == 0) {
		snprintf(out, outlen, "%s/%s/locustfile.py", dir, top);
		if (is_file(out))
			return 0;
	}
	snprintf(err, errlen, "the bundle has no locustfile.py at its top or in its single "
		 "top-level directory: add one, or name it with LOCUST_ECS_BUNDLE_LOCUSTFILE");
	return -1;
}
