build-dev/entrypoint/common/probe.o: entrypoint/common/probe.c \
 entrypoint/common/probe.h entrypoint/common/clock.h
entrypoint/common/probe.h:
entrypoint/common/clock.h:
