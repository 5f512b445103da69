"""Protocol clients for EV chargers, with no Home Assistant imports.

Each vendor module turns the charger's own payloads into the vendor-neutral
model in ``model``, and vendor-neutral commands into the charger's requests.
"""
