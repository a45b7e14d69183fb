/* config: environment + argv -> one validated struct. Pure: no exit, no I/O but stat. */
#ifndef LE_CONFIG_H
#define LE_CONFIG_H

#include "probe.h"

#include <stddef.h>

/* Exit codes of DESIGN.md (sysexits.h values where the supervisor fails). */
enum {
	EXIT_USAGE = 64,       /* EX_USAGE */
	EXIT_UNAVAILABLE = 69, /* EX_UNAVAILABLE: master not reachable before the deadline */
	EXIT_SOFTWARE = 70,    /* EX_SOFTWARE: internal error */
	EXIT_CONFIG = 78,      /* EX_CONFIG */
	EXIT_NOEXEC = 126,
	EXIT_NOTFOUND = 127,
};

enum role { ROLE_STANDALONE, ROLE_MASTER, ROLE_WORKER };
enum log_format { LOGFMT_AUTO, LOGFMT_JSON, LOGFMT_TEXT };
enum log_level { LOGLVL_DEBUG, LOGLVL_INFO, LOGLVL_WARN, LOGLVL_ERROR };
enum action { ACT_RUN, ACT_HELP, ACT_VERSION, ACT_PRINT_CONFIG };

#define CONFIG_ERR_MAX 512
#define CONFIG_MAX_DNS 8

struct config {
	enum action action;
	enum role role;
	const char *role_source;     /* variable or flag that set the role */
	int legacy_slave;            /* LOCUST_MODE=slave was used */

	/* master (worker role) */
	const char *master_host;     /* name, IP literal or SRV owner (starts with '_') */
	int master_port;             /* 1..65535 */
	int master_is_srv;           /* port comes from the SRV record */

	const char *target_url;      /* TARGET_URL or NULL */
	const char *locustfile;      /* NULL when the engine args carry -f */
	const char *engine;          /* LOCUST_ECS_ENGINE, default "locust" */

	/* engine arguments from LOCUST_OPTS and argv (owned, NULL-terminated) */
	char **opts;
	int nopts;
	char **extra;
	int nextra;

	/* facts about the engine's own options, for health and state */
	int web_port;                /* -P/--web-port/LOCUST_WEB_PORT, default 8089 */
	int headless;                /* --headless without --autostart: no web UI */
	int web_tls;                 /* --tls-cert / LOCUST_TLS_CERT given */
	const char *web_auth;        /* --web-auth / LOCUST_WEB_AUTH: secret, never logged */
	const char *web_host;        /* --web-host / LOCUST_WEB_HOST, default "*" */
	int master_bind_port;        /* --master-bind-port, default 5557 (master) */
	const char *master_bind_host; /* --master-bind-host / LOCUST_MASTER_BIND_HOST, "*" */

	/* the supervisor's own knobs */
	long stop_grace_ms;          /* LOCUST_ECS_STOP_GRACE */
	long restart_grace_ms;       /* LOCUST_ECS_RESTART_GRACE */
	int clean_stop;              /* LOCUST_ECS_CLEAN_STOP */
	enum log_format log_format;  /* LOCUST_ECS_LOG_FORMAT */
	enum log_level log_level;    /* LOCUST_ECS_LOG_LEVEL */
	long master_wait_ms;         /* LOCUST_ECS_MASTER_WAIT, 0 = forever */
	enum probe_kind probe;       /* LOCUST_ECS_PROBE */
	long probe_timeout_ms;       /* LOCUST_ECS_PROBE_TIMEOUT */
	const char *dns_servers;     /* LOCUST_ECS_DNS_SERVERS, validated csv or NULL */
	int engines;                 /* LOCUST_ECS_ENGINES: 0 = auto */
	long recheck_ms;             /* LOCUST_ECS_RECHECK_INTERVAL */
	long rejoin_window_ms;       /* LOCUST_ECS_REJOIN_WINDOW */
	const char *state_dir;       /* LOCUST_ECS_STATE_DIR */
	int metadata;                /* LOCUST_ECS_METADATA: 1 = read ECS metadata when present */

	/* health thresholds (read by locust-healthcheck) */
	int health_min_workers;      /* LOCUST_ECS_HEALTH_MIN_WORKERS, -1 = none */
	double health_max_fail_ratio;/* LOCUST_ECS_HEALTH_MAX_FAIL_RATIO, <0 = none */
	long health_timeout_ms;      /* LOCUST_ECS_HEALTH_TIMEOUT */
	long health_grace_ms;        /* LOCUST_ECS_HEALTH_GRACE */

	/* live metrics (CloudWatch EMF on stdout) and the guardrail */
	int metrics;                 /* LOCUST_ECS_METRICS: on/off */
	long metrics_interval_ms;    /* LOCUST_ECS_METRICS_INTERVAL */
	const char *metrics_namespace; /* LOCUST_ECS_METRICS_NAMESPACE, default "Locust" */
	const char *test_name;       /* LOCUST_ECS_TEST_NAME or NULL (then the task family) */
	int metrics_per_request;     /* LOCUST_ECS_METRICS_PER_REQUEST: busiest names, 0 none */
	double guard_fail_ratio;     /* LOCUST_ECS_GUARD_FAIL_RATIO, <0 = none */
	long guard_p95_ms;           /* LOCUST_ECS_GUARD_P95, 0 = none */
	long guard_for_ms;           /* LOCUST_ECS_GUARD_FOR: how long a threshold is crossed */

	/* storage behind the pointers above */
	char **spent;                /* engine options taken over by the supervisor */
	int nspent;
	char *owned[8];
	int nowned;
};

/* Parses envp (NULL-terminated "K=V") and argv into cfg. Returns 0, or an exit code
 * (EXIT_USAGE / EXIT_CONFIG) with one line in err naming variable, value and accepted
 * values. cfg must be released with config_free in both cases. */
int config_parse(struct config *cfg, char *const envp[], int argc, char *const argv[],
		 char *err, size_t errlen);

/* Checks the world: locustfile exists, engine found and executable. 0 or exit code. */
int config_check_files(const struct config *cfg, char *const envp[], char *err, size_t errlen);

/* Looks a program up like execvp does; returns 0 and fills out, or EXIT_NOTFOUND /
 * EXIT_NOEXEC with errno-style detail in err. */
int config_find_program(const char *name, const char *path, char *out, size_t outlen,
			char *err, size_t errlen);

/* Builds the engine argv (NULL-terminated, malloc'ed strings) for one engine. master_addr
 * and master_port are used for the worker role (NULL/0 otherwise). */
char **config_engine_argv(const struct config *cfg, const char *master_addr, int master_port);
void config_free_argv(char **argv);

/* A word of the engine's argv as it may be shown (--print-config): the value after
 * --web-auth (prev is the word before, or NULL) and --web-auth=... become "***", and so
 * the user information of a URL ("http://user:password@host" keeps its scheme and host,
 * with "***" before the "@"). Malloc'ed; NULL when out of memory. */
char *config_redact(const char *word, const char *prev);

/* Value of name in envp, or NULL. */
const char *config_getenv(char *const envp[], const char *name);

const char *config_role_name(enum role r);

void config_free(struct config *cfg);

#endif
