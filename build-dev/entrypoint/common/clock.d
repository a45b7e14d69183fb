build-dev/entrypoint/common/clock.o: entrypoint/common/clock.c \
 entrypoint/common/clock.h
entrypoint/common/clock.h:
