build-dev/tests/replay_fuzz_config: tests/fuzz/replay.c
