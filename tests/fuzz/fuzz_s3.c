/* fuzz_s3: what comes from outside in the S3 features, on arbitrary bytes: S3's error
 * documents, the credentials endpoint's answer, Locust's stats CSV, S3 locations. */
#include "creds.h"
#include "s3.h"
#include "summary.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct creds c;
	struct s3_error e;
	struct s3_loc loc;
	struct totals t;
	char err[300], enc[S3_KEY_MAX * 3 + 1];
	long long ms;
	const char *buf = (const char *)data;
	if (s3_parse_error(buf, size, &e) == 0 && !e.code[0])
		__builtin_trap();
	if (!memchr(e.code, '\0', sizeof e.code) || !memchr(e.message, '\0', sizeof e.message))
		__builtin_trap();
	if (creds_parse(buf, size, &c, err, sizeof err) == 0 && (!c.akid[0] || !c.secret[0]))
		__builtin_trap();
	summary_csv_totals(buf, size, &t);
	char *s = malloc(size + 1);
	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	if (s3_parse_url(s, &loc, err, sizeof err) == 0) {
		if (strlen(loc.key) > S3_KEY_MAX || strlen(loc.bucket) < 3 ||
		    s3_encode_key(loc.key, enc, sizeof enc) < 0 || strstr(enc, "/../"))
			__builtin_trap();
	}
	creds_parse_time(s, &ms);
	free(s);
	return 0;
}
