"""Redis views of the context store."""
