"""Tests of the site: main fuse, meter, smart charging in Home Assistant."""
