build-dev/entrypoint/log.o: entrypoint/log.c entrypoint/log.h \
 entrypoint/config.h entrypoint/common/probe.h entrypoint/outfd.h
entrypoint/log.h:
entrypoint/config.h:
entrypoint/common/probe.h:
entrypoint/outfd.h:
