"""Tests for EVSE Bridge."""
