build-dev/entrypoint/main.o: entrypoint/main.c entrypoint/core.h \
 entrypoint/config.h entrypoint/common/probe.h entrypoint/httploop.h \
 entrypoint/common/bounds.h entrypoint/metadata.h entrypoint/resolve.h \
 entrypoint/stats.h entrypoint/common/http.h entrypoint/metrics.h \
 entrypoint/common/webstats.h entrypoint/outfd.h entrypoint/supervise.h \
 entrypoint/common/clock.h entrypoint/log.h entrypoint/common/state.h \
 entrypoint/config.h entrypoint/common/bounds.h entrypoint/supervise.h
entrypoint/core.h:
entrypoint/config.h:
entrypoint/common/probe.h:
entrypoint/httploop.h:
entrypoint/common/bounds.h:
entrypoint/metadata.h:
entrypoint/resolve.h:
entrypoint/stats.h:
entrypoint/common/http.h:
entrypoint/metrics.h:
entrypoint/common/webstats.h:
entrypoint/outfd.h:
entrypoint/supervise.h:
entrypoint/common/clock.h:
entrypoint/log.h:
entrypoint/common/state.h:
entrypoint/config.h:
entrypoint/common/bounds.h:
entrypoint/supervise.h:
