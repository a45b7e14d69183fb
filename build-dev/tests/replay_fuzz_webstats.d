build-dev/tests/replay_fuzz_webstats: tests/fuzz/replay.c
