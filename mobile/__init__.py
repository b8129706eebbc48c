"""OneTrip device side: local store, replicator and the Flet app (村代办员 app)."""
