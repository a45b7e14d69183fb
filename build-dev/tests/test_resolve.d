build-dev/tests/test_resolve: tests/unit/test_resolve.c \
 entrypoint/resolve.h tests/unit/tap.h
entrypoint/resolve.h:
tests/unit/tap.h:
