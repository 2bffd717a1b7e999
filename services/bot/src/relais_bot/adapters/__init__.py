"""Redis storage of the bot's per-conversation state."""
