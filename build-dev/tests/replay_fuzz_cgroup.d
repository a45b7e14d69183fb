build-dev/tests/replay_fuzz_cgroup: tests/fuzz/replay.c
