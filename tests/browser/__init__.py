"""Browser tests: headless Chromium drives Home Assistant's own frontend.

A real Home Assistant process (``devtools.live``) and a simulated charger
(``simulators``) run on 127.0.0.1; Playwright clicks through the UI the way a
user does. Screenshots go to ``artifacts/`` in the repository.
"""
