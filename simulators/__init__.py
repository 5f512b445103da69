"""Protocol-faithful simulated chargers for tests, development and benchmarks."""
