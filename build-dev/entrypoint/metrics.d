build-dev/entrypoint/metrics.o: entrypoint/metrics.c entrypoint/metrics.h \
 entrypoint/common/webstats.h
entrypoint/metrics.h:
entrypoint/common/webstats.h:
