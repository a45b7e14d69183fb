build-dev/tests/test_metrics: tests/unit/test_metrics.c tests/unit/tap.h \
 entrypoint/metrics.h entrypoint/common/webstats.h
tests/unit/tap.h:
entrypoint/metrics.h:
entrypoint/common/webstats.h:
