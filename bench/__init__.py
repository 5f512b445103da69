"""scripts/bench: EVSE Bridge's performance benchmarks (QUALITY.md section 2)."""
