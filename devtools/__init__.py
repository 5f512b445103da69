"""Development tools: live servers for scripts/develop, browser tests and benchmarks."""
