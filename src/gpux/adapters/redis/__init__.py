"""Redis Streams: the outbox relay's publisher and the feed's reader."""
