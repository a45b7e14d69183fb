build-dev/entrypoint/config.o: entrypoint/config.c entrypoint/config.h \
 entrypoint/common/probe.h entrypoint/words.h \
 entrypoint/common/duration.h entrypoint/common/bounds.h \
 entrypoint/common/webstats.h
entrypoint/config.h:
entrypoint/common/probe.h:
entrypoint/words.h:
entrypoint/common/duration.h:
entrypoint/common/bounds.h:
entrypoint/common/webstats.h:
