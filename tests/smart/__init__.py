"""Tests of the smart-charging engine and its day simulator (no Home Assistant)."""
