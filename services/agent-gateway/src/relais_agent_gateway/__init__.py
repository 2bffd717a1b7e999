"""Relais agent-gateway service."""
