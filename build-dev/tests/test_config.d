build-dev/tests/test_config: tests/unit/test_config.c entrypoint/config.h \
 entrypoint/common/probe.h tests/unit/tap.h entrypoint/words.h
entrypoint/config.h:
entrypoint/common/probe.h:
tests/unit/tap.h:
entrypoint/words.h:
