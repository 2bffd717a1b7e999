"""Relais context-store service."""
