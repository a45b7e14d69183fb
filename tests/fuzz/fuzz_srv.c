/* fuzz_srv: picking the SRV record from a DNS answer (c-ares's parser underneath). */
#include "resolve.h"

#include <ares.h>
#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char target[256];
	int port = -1;
	memset(target, 'x', sizeof target);
	if (resolve_parse_srv(data, size, &port, target, sizeof target) != ARES_SUCCESS)
		return 0;
	/* what a lookup goes on with: a real port, a terminated, non-empty target */
	if (port < 1 || port > 65535 || !memchr(target, '\0', sizeof target) || !target[0])
		__builtin_trap();
	return 0;
}
