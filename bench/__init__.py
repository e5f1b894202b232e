"""Benchmarks: `python -m bench [intake]`. Figures, never assertions."""
