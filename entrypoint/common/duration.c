/* duration: whole numbers of ms, s or min from the environment, strictly. */
#include "duration.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

int duration_parse(const char *s, long *out)
{
	char *end;
	long mult = 1000;
	errno = 0;
	if (!s || !isdigit((unsigned char)*s))
		return -1;
	long v = strtol(s, &end, 10);
	if (errno || v < 0)
		return -1;
	if (strcmp(end, "ms") == 0)
		mult = 1;
	else if (*end == '\0' || strcmp(end, "s") == 0)
		mult = 1000;
	else if (strcmp(end, "m") == 0)
		mult = 60000;
	else
		return -1;
	if (v > LONG_MAX / mult || v * mult > 7L * 24 * 3600 * 1000)
		return -1;
	*out = v * mult;
	return 0;
}
