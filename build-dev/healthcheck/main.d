build-dev/healthcheck/main.o: healthcheck/main.c \
 entrypoint/common/clock.h entrypoint/common/duration.h \
 entrypoint/common/fileio.h entrypoint/common/http.h \
 entrypoint/common/probe.h entrypoint/common/procfs.h \
 healthcheck/proctcp.h entrypoint/common/state.h entrypoint/config.h \
 entrypoint/common/bounds.h entrypoint/supervise.h \
 entrypoint/common/webstats.h
entrypoint/common/clock.h:
entrypoint/common/duration.h:
entrypoint/common/fileio.h:
entrypoint/common/http.h:
entrypoint/common/probe.h:
entrypoint/common/procfs.h:
healthcheck/proctcp.h:
entrypoint/common/state.h:
entrypoint/config.h:
entrypoint/common/bounds.h:
entrypoint/supervise.h:
entrypoint/common/webstats.h:
