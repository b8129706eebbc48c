"""OneTrip server: auth, replication gateway, citizen pages, workers."""
