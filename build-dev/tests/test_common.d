build-dev/tests/test_common: tests/unit/test_common.c tests/unit/tap.h \
 entrypoint/common/clock.h entrypoint/common/duration.h \
 entrypoint/common/fileio.h entrypoint/common/http.h entrypoint/log.h \
 entrypoint/config.h entrypoint/common/probe.h entrypoint/common/procfs.h
tests/unit/tap.h:
entrypoint/common/clock.h:
entrypoint/common/duration.h:
entrypoint/common/fileio.h:
entrypoint/common/http.h:
entrypoint/log.h:
entrypoint/config.h:
entrypoint/common/probe.h:
entrypoint/common/procfs.h:
