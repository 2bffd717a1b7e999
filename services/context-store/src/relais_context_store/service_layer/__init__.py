"""Use cases of the context store, called by both the HTTP API and the Kafka consumers: load, ask the
domain, publish to the log, apply to the views. Nothing here parses HTTP or Kafka records."""
