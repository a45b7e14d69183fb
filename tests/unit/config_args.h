/* config_args: what the configuration's unit tests share: parse a test's environment and
 * arguments, show an argv on one line. */
#ifndef LE_CONFIG_ARGS_H
#define LE_CONFIG_ARGS_H

#include "config.h"

#include <stdio.h>

#define MAXENV 32

/* Parses with the given "K=V" strings (NULL-terminated) and extra argv words. */
static int parse(struct config *c, char *err, const char *const *envs, const char *const *args)
{
	char *envp[MAXENV + 1] = {0};
	char *argv[MAXENV + 2] = {(char *)"locust-entrypoint"};
	int n = 0, argc = 1;
	for (; envs && envs[n] && n < MAXENV; n++)
		envp[n] = (char *)envs[n];
	for (int i = 0; args && args[i] && argc < MAXENV; i++)
		argv[argc++] = (char *)args[i];
	return config_parse(c, envp, argc, argv, err, CONFIG_ERR_MAX);
}

/* "a|b|c": the words of a NULL-terminated array (argv, environment), in a static buffer. */
static char *argv_line(char **a)
{
	static char buf[2048];
	size_t o = 0;
	buf[0] = '\0';
	for (int i = 0; a && a[i] && o < sizeof buf; i++)
		o += (size_t)snprintf(buf + o, sizeof buf - o, "%s%s", i ? "|" : "", a[i]);
	return buf;
}

#endif
