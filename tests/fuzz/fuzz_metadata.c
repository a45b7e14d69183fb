/* fuzz_metadata: both ECS metadata parsers and the JSON report on arbitrary bytes. */
#include "metadata.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The fields the parsers fill must stay NUL-terminated strings whatever the input. */
static void check(const struct ecs_meta *m)
{
	const char *const s[] = {m->cluster, m->task_arn, m->task_id, m->family, m->revision,
				 m->az, m->launch_type, m->container_name, m->ipv4, m->ipv6};
	const size_t n[] = {sizeof m->cluster, sizeof m->task_arn, sizeof m->task_id,
			    sizeof m->family, sizeof m->revision, sizeof m->az,
			    sizeof m->launch_type, sizeof m->container_name, sizeof m->ipv4,
			    sizeof m->ipv6};
	for (size_t i = 0; i < sizeof n / sizeof n[0]; i++)
		if (!memchr(s[i], '\0', n[i]))
			__builtin_trap();
	int e = metadata_engines_auto(m, NULL, NULL, NULL);
	if (m->task_vcpu < 0 || e < 1)
		__builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *buf = (const char *)data;
	struct ecs_meta m = {0};

	/* the order of the fetch: container, then task (which uses the container's name) */
	metadata_parse_container(buf, size, &m);
	metadata_parse_task(buf, size, &m);
	check(&m);
	json_t *j = metadata_to_json(&m);
	char *text = json_dumps(j, 0);
	free(text);
	json_decref(j);

	/* the other order, from a fresh struct, and each alone */
	memset(&m, 0, sizeof m);
	metadata_parse_task(buf, size, &m);
	metadata_parse_container(buf, size, &m);
	check(&m);
	memset(&m, 0, sizeof m);
	snprintf(m.container_name, sizeof m.container_name, "curl");
	metadata_parse_task(buf, size, &m);
	check(&m);
	return 0;
}
