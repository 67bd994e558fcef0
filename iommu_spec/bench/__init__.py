"""Benchmarks: figures printed as tables, never asserted (machines are shared and noisy)."""
