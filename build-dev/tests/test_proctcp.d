build-dev/tests/test_proctcp: tests/unit/test_proctcp.c tests/unit/tap.h \
 tests/unit/../../healthcheck/proctcp.h entrypoint/common/fileio.h
tests/unit/tap.h:
tests/unit/../../healthcheck/proctcp.h:
entrypoint/common/fileio.h:
