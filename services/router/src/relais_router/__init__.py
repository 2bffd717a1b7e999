"""Relais router service."""
