build-dev/entrypoint/httploop.o: entrypoint/httploop.c \
 entrypoint/httploop.h entrypoint/common/clock.h
entrypoint/httploop.h:
entrypoint/common/clock.h:
