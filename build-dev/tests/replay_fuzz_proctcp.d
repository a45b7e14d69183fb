build-dev/tests/replay_fuzz_proctcp: tests/fuzz/replay.c
