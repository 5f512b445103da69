"""The site: one main fuse, its meter, solar and prices, and the chargers behind it."""
