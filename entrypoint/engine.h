/* engine: the Locust the supervisor runs: which version it is, and what that version takes
 * (options removed over the years, -f, --processes, the web UI's password). */
#ifndef LE_ENGINE_H
#define LE_ENGINE_H

#include <stddef.h>

struct config;

/* A Locust version; known when major > 0. */
struct locust_version {
	int major, minor, patch;
	char text[32];  /* as found ("2.46.7", "2.46.7.dev3") */
	char from[320]; /* where: LOCUST_ECS_LOCUST_VERSION, or the package's metadata */
};

/* The web UI's login plugin that locust-ecs installs (make install) */
#define ENGINE_PLUGIN_FILE "locust_ecs_webauth.py"
/* The variable the plugin reads the credentials from (never LOCUST_WEB_AUTH itself, which
 * Locust 2.21 and later refuse) */
#define ENGINE_PLUGIN_SECRET "LOCUST_ECS_WEB_AUTH"

/* "2.46.7", "2.21", "2.46.7.dev3", "2.12.1-py3.11": the leading MAJOR.MINOR[.PATCH] into
 * v (text keeps the whole, cut to fit). 0, or -1 when s does not start that way. Pure. */
int engine_version_parse(const char *s, struct locust_version *v);

/* 1 when v is known and at least major.minor.patch, 0 when known and older, -1 unknown. */
int engine_version_at_least(const struct locust_version *v, int major, int minor, int patch);

/* The version of the Locust package installed beside the engine program at path, from the
 * name of its metadata directory (PREFIX/bin/locust -> PREFIX/lib/python3/dist-packages or
 * PREFIX/lib/python3.X/{site,dist}-packages -> locust-VERSION.dist-info or .egg-info).
 * Reads directories only; never runs anything. 0 with v filled, or -1 when none is found
 * or the package says 0.0.0 (Debian's 2.12.1 does). */
int engine_version_find(const char *path, struct locust_version *v);

/* Completes cfg with what the engine is: its version (LOCUST_ECS_LOCUST_VERSION, else found
 * beside the program LOCUST_ECS_ENGINE names) and whether the web UI's password goes
 * through the plugin. Never fails: an engine that cannot be found is told by
 * config_check_files. */
void engine_identify(struct config *cfg, char *const envp[]);

/* What this engine would refuse, told in one line before it runs: options Locust removed
 * (naming the replacement), --processes before 2.19, the web UI's password that cannot be
 * set up. 0, or EXIT_CONFIG with the line in err. */
int engine_check(const struct config *cfg, char *const envp[], char *err, size_t errlen);

/* The engine's environment: envp less what this Locust would refuse (LOCUST_WEB_AUTH on
 * 2.21 and later) or what the supervisor passes as an option instead (LOCUST_PROCESSES),
 * plus the plugin's credentials. Malloc'ed copies; NULL when out of memory. */
char **engine_env(const struct config *cfg, char *const envp[]);
/* Frees engine_env's answer, wiping the credentials first. */
void engine_env_free(char **env);

#endif
