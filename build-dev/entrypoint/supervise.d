build-dev/entrypoint/supervise.o: entrypoint/supervise.c \
 entrypoint/supervise.h entrypoint/common/clock.h entrypoint/config.h \
 entrypoint/common/probe.h entrypoint/log.h entrypoint/common/procfs.h
entrypoint/supervise.h:
entrypoint/common/clock.h:
entrypoint/config.h:
entrypoint/common/probe.h:
entrypoint/log.h:
entrypoint/common/procfs.h:
