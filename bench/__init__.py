"""Benchmarks of MSP Portal: `make bench` runs them all and writes bench/results/latest.json."""
