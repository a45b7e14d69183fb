build-dev/entrypoint/outfd.o: entrypoint/outfd.c entrypoint/outfd.h
entrypoint/outfd.h:
