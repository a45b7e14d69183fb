build-dev/entrypoint/resolve.o: entrypoint/resolve.c entrypoint/resolve.h \
 entrypoint/common/fileio.h entrypoint/log.h entrypoint/config.h \
 entrypoint/common/probe.h
entrypoint/resolve.h:
entrypoint/common/fileio.h:
entrypoint/log.h:
entrypoint/config.h:
entrypoint/common/probe.h:
