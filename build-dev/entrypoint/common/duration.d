build-dev/entrypoint/common/duration.o: entrypoint/common/duration.c \
 entrypoint/common/duration.h
entrypoint/common/duration.h:
