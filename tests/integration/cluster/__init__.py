"""Helpers of test_cluster.py: an ECS-like cluster in network namespaces."""
