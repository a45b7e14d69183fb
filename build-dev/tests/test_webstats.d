build-dev/tests/test_webstats: tests/unit/test_webstats.c \
 tests/unit/tap.h entrypoint/common/webstats.h
tests/unit/tap.h:
entrypoint/common/webstats.h:
