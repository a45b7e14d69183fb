build-dev/healthcheck/proctcp.o: healthcheck/proctcp.c \
 healthcheck/proctcp.h
healthcheck/proctcp.h:
