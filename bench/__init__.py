"""Benchmarks for worldsmith (see bench/README.md)."""
