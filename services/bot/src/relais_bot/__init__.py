"""Relais bot service."""
