"""Tests of the protocol layer and simulators, without Home Assistant."""
