"""Examples that use what EVSE Bridge exports."""
