"""The context store's decisions: which conversation a message belongs to, what the timeline records,
where a reply goes. Pure functions; no I/O, no clock."""
