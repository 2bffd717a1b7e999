"""Adapters of the router to the outside world (Redis)."""
