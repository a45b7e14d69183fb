/* fuzz_state: the state document parser the health check trusts, on arbitrary bytes. */
#include "state.h"

#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct state_view v; /* large: not on the stack */
	char err[300];
	if (state_parse((const char *)data, size, &v, err, sizeof err) == 0) {
		if (v.pid <= 0 || !v.role[0] || !v.phase[0] || v.nengines < 0 ||
		    v.nengines > LE_ENGINES_MAX)
			__builtin_trap();
		const char *const s[] = {v.role, v.phase, v.master_host, v.master_addr,
					 v.last_reason, v.web_host, v.master_bind_host};
		const size_t n[] = {sizeof v.role, sizeof v.phase, sizeof v.master_host,
				    sizeof v.master_addr, sizeof v.last_reason, sizeof v.web_host,
				    sizeof v.master_bind_host};
		for (size_t i = 0; i < sizeof n / sizeof n[0]; i++)
			if (!memchr(s[i], '\0', n[i]))
				__builtin_trap();
	} else if (!err[0]) {
		__builtin_trap();
	}
	return 0;
}
