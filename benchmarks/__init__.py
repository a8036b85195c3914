"""Benchmarks: each figure is printed beside the baseline it is compared against in the same run."""
