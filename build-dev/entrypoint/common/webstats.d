build-dev/entrypoint/common/webstats.o: entrypoint/common/webstats.c \
 entrypoint/common/webstats.h
entrypoint/common/webstats.h:
