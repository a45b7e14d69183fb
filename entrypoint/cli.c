/* cli: the command line (--help, --version, --print-config) and start-up: configuration,
 * ECS metadata, the task context of every log line, the engine count. */
#include "core.h"
#include "log.h"

#include <ares.h>
#include <curl/curl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#ifndef LE_VERSION
#define LE_VERSION "0.0.0"
#endif


static void usage(FILE *f)
{
	fprintf(f,
		"usage: locust-entrypoint [--help | --version | --print-config] [--] "
		"[LOCUST ARGS...]\n\n"
		"PID 1 of a Locust container on Amazon ECS: reads the environment, finds the\n"
		"master (worker role), runs Locust, forwards signals, reaps, reports health.\n\n"
		"Role:    LOCUST_MODE=standalone|master|worker|slave, LOCUST_MODE_MASTER,\n"
		"         LOCUST_MODE_WORKER\n"
		"Master:  LOCUST_MASTER_HOST (or LOCUST_MASTER_NODE_HOST), LOCUST_MASTER_PORT\n"
		"         (or LOCUST_MASTER_NODE_PORT, default 5557)\n"
		"Test:    TARGET_URL (-H), LOCUSTFILE_PATH (-f, default /locustfile.py),\n"
		"         LOCUST_OPTS (extra engine arguments, shell-like quoting, no expansion)\n"
		"Knobs:   LOCUST_ECS_ENGINE, LOCUST_ECS_STOP_GRACE, LOCUST_ECS_RESTART_GRACE,\n"
		"         LOCUST_ECS_CLEAN_STOP, LOCUST_ECS_LOG_FORMAT, LOCUST_ECS_LOG_LEVEL,\n"
		"         LOCUST_ECS_MASTER_WAIT, LOCUST_ECS_PROBE, LOCUST_ECS_PROBE_TIMEOUT,\n"
		"         LOCUST_ECS_DNS_SERVERS, LOCUST_ECS_ENGINES, LOCUST_ECS_RECHECK_INTERVAL,\n"
		"         LOCUST_ECS_REJOIN_WINDOW, LOCUST_ECS_STATE_DIR, LOCUST_ECS_METADATA,\n"
		"         LOCUST_ECS_HEALTH_*, LOCUST_ECS_METRICS, LOCUST_ECS_METRICS_INTERVAL,\n"
		"         LOCUST_ECS_METRICS_NAMESPACE, LOCUST_ECS_METRICS_PER_REQUEST,\n"
		"         LOCUST_ECS_TEST_NAME, LOCUST_ECS_GUARD_FAIL_RATIO, LOCUST_ECS_GUARD_P95,\n"
		"         LOCUST_ECS_GUARD_FOR  (see README.md)\n\n"
		"Arguments after the options go to Locust; use -- before Locust's own --help.\n"
		"Exit: the engine's status, 128+signal, 126/127 engine not runnable, 3 stopped by\n"
		"the guardrail, 64 usage, 78 configuration, 69 master not reachable in time,\n"
		"70 internal error.\n");
}

static void version(void)
{
	printf("locust-ecs %s (libcurl %s, jansson %s, libzmq %d.%d.%d, c-ares %s)\n",
	       LE_VERSION, curl_version_info(CURLVERSION_NOW)->version, jansson_version_str(),
	       ZMQ_VERSION_MAJOR, ZMQ_VERSION_MINOR, ZMQ_VERSION_PATCH, ares_version(NULL));
}

/* A redacted string as JSON (null for NULL or when out of memory). */
static json_t *redacted(const char *word, const char *prev)
{
	char *r = word ? config_redact(word, prev) : NULL;
	json_t *j = r ? json_string(r) : json_null();
	free(r);
	return j;
}

/* Secrets are shown as "***": --web-auth values, passwords in URLs. */
static json_t *redacted_argv(char **argv)
{
	json_t *a = json_array();
	for (int i = 0; argv[i]; i++)
		json_array_append_new(a, redacted(argv[i], i ? argv[i - 1] : NULL));
	return a;
}

static int print_config(struct sup *s)
{
	const struct config *c = &s->cfg;
	char **argv = config_engine_argv(c, c->role == ROLE_WORKER ? c->master_host : NULL,
					 c->master_port);
	json_t *doc = json_pack(
		"{s:s, s:s, s:o, s:s, s:s, s:o, s:{s:i, s:b, s:b, s:b, s:s?}, s:o, s:o}",
		"version", LE_VERSION, "role", config_role_name(c->role), "target_url",
		redacted(c->target_url, NULL), "locustfile", c->locustfile, "engine", c->engine,
		"engines", c->role == ROLE_WORKER && c->engines == 0
				   ? json_string("auto") : json_integer(c->engines ? c->engines : 1),
		"web", "port", c->web_port, "headless", c->headless, "tls", c->web_tls,
		"auth", c->web_auth != NULL, "host", c->web_host,
		"engine_argv", argv ? redacted_argv(argv) : json_null(),
		"metadata", metadata_to_json(&s->meta));
	/* (a NULL doc takes the additions below and drops them; the dump then fails) */
	json_object_set_new(doc, "role_source", json_string(c->role_source));
	json_object_set_new(doc, "engine_count", json_integer(s->neng)); /* "auto" resolved */
	if (s->engines_why)
		json_object_set_new(doc, "engine_count_from", json_string(s->engines_why));
	if (c->role == ROLE_MASTER)
		json_object_set_new(doc, "master_bind",
				    json_pack("{s:s, s:i}", "host",
					      c->master_bind_host ? c->master_bind_host : "*",
					      "port", c->master_bind_port));
	if (c->role == ROLE_WORKER) {
		const char *how = resolve_is_literal(c->master_host) ? "IP literal, no DNS"
				  : c->master_is_srv ? "DNS SRV record, then A/AAAA of its target"
						     : "DNS A and AAAA records";
		json_object_set_new(doc, "master",
				    json_pack("{s:s, s:i, s:s, s:s, s:s, s:I}", "host",
					      c->master_host, "port", c->master_port, "resolve", how,
					      "dns_servers", c->dns_servers ? c->dns_servers
									    : "/etc/resolv.conf",
					      "probe", c->probe == PROBE_ZMTP ? "zmtp" : "tcp",
					      "wait_ms", (json_int_t)c->master_wait_ms));
	}
	json_object_set_new(doc, "supervisor",
			    json_pack("{s:I, s:I, s:b, s:I, s:I, s:s, s:I, s:I}", "stop_grace_ms",
				      (json_int_t)c->stop_grace_ms, "restart_grace_ms",
				      (json_int_t)c->restart_grace_ms, "clean_stop", c->clean_stop,
				      "recheck_ms", (json_int_t)c->recheck_ms, "rejoin_window_ms",
				      (json_int_t)c->rejoin_window_ms, "state_dir", c->state_dir,
				      "health_timeout_ms", (json_int_t)c->health_timeout_ms,
				      "health_grace_ms", (json_int_t)c->health_grace_ms));
	json_object_set_new(doc, "metrics",
			    json_pack("{s:b, s:I, s:i, s:s, s:s?, s:{s:o?, s:I, s:I}}", "on",
				      c->metrics, "interval_ms", (json_int_t)c->metrics_interval_ms,
				      "per_request", c->metrics_per_request,
				      "namespace", c->metrics_namespace, "test_name", c->test_name,
				      "guard", "fail_ratio", c->guard_fail_ratio >= 0
								 ? json_real(c->guard_fail_ratio)
								 : NULL,
				      "p95_ms", (json_int_t)c->guard_p95_ms, "for_ms",
				      (json_int_t)c->guard_for_ms));
	char *text = doc ? json_dumps(doc, JSON_INDENT(2)) : NULL;
	int rc = 0;
	if (text) {
		printf("%s\n", text);
	} else {
		log_error("print-config", "unable to encode the configuration as JSON");
		rc = EXIT_SOFTWARE;
	}
	free(text);
	json_decref(doc);
	config_free_argv(argv);
	return rc;
}

static void task_context(struct sup *s)
{
	const struct ecs_meta *m = &s->meta;
	char fam[300];
	log_context("role", config_role_name(s->cfg.role));
	if (m->task_id[0])
		log_context("task", m->task_id);
	if (m->family[0]) {
		snprintf(fam, sizeof fam, "%s:%s", m->family, m->revision);
		log_context("family", fam);
	}
	if (m->az[0])
		log_context("az", m->az);
}

int cli_prepare(struct sup *s, int argc, char **argv)
{
	char err[CONFIG_ERR_MAX];
	int rc = config_parse(&s->cfg, s->envp, argc, argv, err, sizeof err);
	log_init(s->cfg.log_format, s->cfg.log_level, "locust-entrypoint");
	if (rc) {
		log_error("config", "%s", err);
		return rc;
	}
	if (s->cfg.action == ACT_HELP) {
		usage(stdout);
		return 0;
	}
	if (s->cfg.action == ACT_VERSION) {
		version();
		return 0;
	}
	if (s->cfg.metadata)
		metadata_fetch(s->envp, &s->meta, s->sfd);
	task_context(s);
	if (s->cfg.role == ROLE_WORKER) {
		s->neng = s->cfg.engines ? s->cfg.engines
					 : metadata_engines_auto(&s->meta, "/sys/fs/cgroup",
								 "/proc/self/cgroup", &s->engines_why);
	} else {
		s->neng = 1;
	}
	if (s->cfg.action == ACT_PRINT_CONFIG) {
		return print_config(s);
	}
	if ((rc = config_check_files(&s->cfg, s->envp, err, sizeof err))) {
		log_error("config", "%s", err);
		return rc;
	}
	return -1;
}
