build-dev/tests/replay_fuzz_metadata: tests/fuzz/replay.c
