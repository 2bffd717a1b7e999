"""`make demo`: a realistic day of customers and agents played against a running Relais, through its
public interfaces only (the channels service's signed HTTP ingress, the agent gateway's dev login and
WebSocket, the bot's /metrics). It imports no service package: it is an outside party, like an
integrator and a desk."""
