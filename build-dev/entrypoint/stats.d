build-dev/entrypoint/stats.o: entrypoint/stats.c entrypoint/core.h \
 entrypoint/config.h entrypoint/common/probe.h entrypoint/httploop.h \
 entrypoint/common/bounds.h entrypoint/metadata.h entrypoint/resolve.h \
 entrypoint/stats.h entrypoint/common/http.h entrypoint/metrics.h \
 entrypoint/common/webstats.h entrypoint/outfd.h entrypoint/supervise.h \
 entrypoint/common/clock.h entrypoint/log.h
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
