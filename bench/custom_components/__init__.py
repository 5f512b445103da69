"""Custom integrations Home Assistant loads for the benchmarks only."""
