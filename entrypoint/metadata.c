/* metadata: PLACEHOLDER until the metadata client lands (issue 4): reads nothing. */
#include "metadata.h"

#include <string.h>
#include <unistd.h>

int metadata_parse_task(const char *buf, size_t len, struct ecs_meta *m)
{
	(void)buf; (void)len; (void)m;
	return -1;
}

int metadata_parse_container(const char *buf, size_t len, struct ecs_meta *m)
{
	(void)buf; (void)len; (void)m;
	return -1;
}

void metadata_fetch(char *const envp[], struct ecs_meta *m, int sfd)
{
	(void)envp; (void)sfd;
	memset(m, 0, sizeof *m);
}

int metadata_engines_auto(const struct ecs_meta *m, const char *cgroup_root)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	(void)m; (void)cgroup_root;
	return n > 0 ? (int)n : 1;
}

json_t *metadata_to_json(const struct ecs_meta *m)
{
	(void)m;
	return json_null();
}
