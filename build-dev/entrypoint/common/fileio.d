build-dev/entrypoint/common/fileio.o: entrypoint/common/fileio.c \
 entrypoint/common/fileio.h
entrypoint/common/fileio.h:
