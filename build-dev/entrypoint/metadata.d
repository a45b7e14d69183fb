build-dev/entrypoint/metadata.o: entrypoint/metadata.c \
 entrypoint/metadata.h entrypoint/log.h entrypoint/config.h \
 entrypoint/common/probe.h entrypoint/common/clock.h \
 entrypoint/common/fileio.h entrypoint/common/http.h \
 entrypoint/common/bounds.h entrypoint/supervise.h
entrypoint/metadata.h:
entrypoint/log.h:
entrypoint/config.h:
entrypoint/common/probe.h:
entrypoint/common/clock.h:
entrypoint/common/fileio.h:
entrypoint/common/http.h:
entrypoint/common/bounds.h:
entrypoint/supervise.h:
