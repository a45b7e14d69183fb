build-dev/entrypoint/common/http.o: entrypoint/common/http.c \
 entrypoint/common/http.h
entrypoint/common/http.h:
