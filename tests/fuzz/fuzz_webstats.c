/* fuzz_webstats: Locust's /stats/requests parser, and the reader of --web-auth from an
 * engine's /proc/PID/cmdline, on arbitrary bytes. */
#include "webstats.h"

#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct webstats ws;
	char err[200];
	if (webstats_parse((const char *)data, size, &ws, err, sizeof err) == 0) {
		if (!memchr(ws.state, '\0', sizeof ws.state) || ws.workers < -1 ||
		    ws.workers_missing < 0 || (ws.fail_ratio < 0 && ws.fail_ratio != -1) ||
		    ws.fail_ratio != ws.fail_ratio || ws.user_count < -1)
			__builtin_trap();
	} else if (!memchr(err, '\0', sizeof err) || !err[0]) {
		__builtin_trap(); /* a failure always says why */
	}
	/* a value found is a piece of the input, terminated, cut to fit */
	char out[16];
	memset(out, 'x', sizeof out);
	if (webstats_cmdline_auth((const char *)data, size, out, sizeof out)) {
		size_t n = strnlen(out, sizeof out);
		if (n == sizeof out || (n && !memmem(data, size, out, n)))
			__builtin_trap();
	}
	return 0;
}
