"""Use cases of the exchange (place, cancel, clear a round), talking to ports only."""
