"""Store EVSE Bridge's MQTT shadow in TimescaleDB."""
