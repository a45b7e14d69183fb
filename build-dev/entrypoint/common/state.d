build-dev/entrypoint/common/state.o: entrypoint/common/state.c \
 entrypoint/common/state.h entrypoint/config.h entrypoint/common/probe.h \
 entrypoint/common/bounds.h entrypoint/supervise.h \
 entrypoint/common/procfs.h
entrypoint/common/state.h:
entrypoint/config.h:
entrypoint/common/probe.h:
entrypoint/common/bounds.h:
entrypoint/supervise.h:
entrypoint/common/procfs.h:
