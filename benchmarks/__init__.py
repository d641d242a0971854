"""Benchmarks: figures for the notes, measured as side-by-side ratios in one run."""
