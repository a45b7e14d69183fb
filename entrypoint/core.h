/* core: the supervisor's one state, shared by its loop (main.c), the master follower
 * (master.c) and the command line (cli.c). */
#ifndef LE_CORE_H
#define LE_CORE_H

#include "config.h"
#include "httploop.h"
#include "bounds.h"
#include "metadata.h"
#include "probe.h"
#include "resolve.h"
#include "stats.h"
#include "supervise.h"

#include <poll.h>

enum phase {
	PH_STARTING, PH_RESOLVING, PH_WAITING, PH_RUNNING, PH_RESTARTING, PH_REJOINING,
	PH_DRAINING, PH_STOPPING, PH_COUNT
};

struct sup {
	struct config cfg;
	struct ecs_meta meta;
	char **envp;
	int sfd;
	enum phase phase;
	long long phase_since, started_wall;
	struct engine eng[LE_ENGINES_MAX];
	int neng;
	const char *engines_why;   /* where LOCUST_ECS_ENGINES=auto took its count */
	int worst;                 /* worst final status of an engine, -1 none */
	int forced;                /* the status the supervisor decided on itself, -1 none */
	int restarts;
	char last_reason[200];

	/* the state document: retried on every change; a failure is told once a minute */
	int state_written;
	long long state_warned;

	/* worker: the master */
	void *zctx;
	struct resolver *res;
	struct probe *cand[RESOLVE_MAX_ADDRS];
	int ncand;
	struct probe *watch;       /* connection to the master the engines use */
	unsigned watch_ups;        /* handshakes of watch seen so far */
	char addr[64];             /* the master the engines use */
	int port;
	char quit_addr[64];        /* the master that told the engines to quit */
	long long next_resolve, wait_deadline, rejoin_deadline, last_wait_log;
	long resolve_backoff;
	int nx_noted;
	struct probe *recheck;     /* tcp probe kind: a fresh connect to the master each recheck */
	struct resolve_result last_res;

	/* libcurl transfers in the loop (metrics, results); NULL until something needs one */
	struct httploop *http;
	struct stats stats;        /* live figures, EMF and the guardrail (master, standalone) */

	/* stopping */
	int stop_sig;
	long long stop_deadline;
	int killed;
};

/* main.c: the loop and the engines */
void core_set_phase(struct sup *s, enum phase p);
void core_save_state(struct sup *s);
int core_running(const struct sup *s);
void core_start_all(struct sup *s, long long now);
void core_restart_engines(struct sup *s, const char *reason, long long now);
/* Ends the supervisor with status, through the stop sequence (signal, grace, SIGKILL). */
void core_finish(struct sup *s, int status, long long now);

/* master.c: finding and following the master (worker role) */
int master_open(struct sup *s, char *err, size_t errlen);
void master_close(struct sup *s);
/* Looks for a master again: PH_RESOLVING with a fresh master-wait deadline, or
 * PH_REJOINING (after a quit) until the rejoin window closes. */
void master_begin_search(struct sup *s, long long now, enum phase phase);
void master_search_step(struct sup *s, long long now);
void master_running_step(struct sup *s, long long now);
/* The engines are down for a restart: start them on the same master if it answers, else
 * search anew. */
void master_restarted(struct sup *s, long long now);
/* Every engine was told to quit by the master. */
void master_quit(struct sup *s, long long now);
/* Drops every probe (stopping). */
void master_drop(struct sup *s);
int master_pollfds(struct sup *s, struct pollfd *pfd, int max, int *nres);
long master_timeout(struct sup *s, long t, long long now);
void master_process(struct sup *s, struct pollfd *resfds, int nres, long long now);

/* cli.c: the command line, --print-config, start-up: -1 to run, else the exit status */
int cli_prepare(struct sup *s, int argc, char **argv);

/* The earlier of a poll timeout t (-1: none) and deadline (0: none). */
long core_min_timeout(long t, long long deadline, long long now);

#endif
