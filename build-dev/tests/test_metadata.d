build-dev/tests/test_metadata: tests/unit/test_metadata.c \
 entrypoint/metadata.h entrypoint/common/bounds.h tests/unit/tap.h
entrypoint/metadata.h:
entrypoint/common/bounds.h:
tests/unit/tap.h:
