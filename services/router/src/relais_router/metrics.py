"""Prometheus metrics of the router, beside the shared runtime's."""

from prometheus_client import Counter, Gauge

WAITING = Gauge("relais_router_waiting_items", "Conversations waiting in a queue for an agent", ["tenant"])
OFFERS = Counter("relais_router_offers_total", "Offers made to agents", ["tenant"])
ACCEPTS = Counter("relais_router_accepts_total", "Offers accepted (conversations assigned)", ["tenant"])
REJECTS = Counter("relais_router_rejects_total", "Open offers rejected by their agent", ["tenant"])
RESCINDS = Counter("relais_router_rescinds_total", "Offers taken back from an agent", ["tenant"])
