build-dev/tests/replay_fuzz_srv: tests/fuzz/replay.c
