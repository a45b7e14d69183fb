build-dev/tests/replay_fuzz_state: tests/fuzz/replay.c
