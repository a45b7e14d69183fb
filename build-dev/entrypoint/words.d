build-dev/entrypoint/words.o: entrypoint/words.c entrypoint/words.h
entrypoint/words.h:
