"""OneTrip domain core (领域核心): pure Python, no I/O, no clock, no randomness of its own."""
