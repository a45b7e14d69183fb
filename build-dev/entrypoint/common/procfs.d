build-dev/entrypoint/common/procfs.o: entrypoint/common/procfs.c \
 entrypoint/common/procfs.h entrypoint/common/fileio.h
entrypoint/common/procfs.h:
entrypoint/common/fileio.h:
