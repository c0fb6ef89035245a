"""Benchmarks (`make bench`): figures are ratios measured in one run, written to docs/benchmarks.md."""
