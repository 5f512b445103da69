"""Tests of the MQTT export."""
