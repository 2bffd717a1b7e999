"""Service-to-service authentication of the HTTP APIs: bearer tokens that name a caller with scopes.

A service that serves an API to other services (the context store, the router) lists the callers it
accepts in `RELAIS_API_CALLERS`: each has a name, the SHA-256 of its tokens (several, for rotation; the
configuration holds no usable secret), the scopes it is granted and, optionally, the one tenant it
acts for. Every request but the open ops endpoints must present one of those tokens; the route's scope
must be granted, and a caller bound to a tenant is refused any other tenant (and any route that names
no tenant, which acts on all of them).
"""

import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request
from fastapi.routing import APIRoute
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, ConfigDict, Field

from relais_contracts import TENANT_MAX_LENGTH, TENANT_PATTERN

# Scope of the admin endpoints (rebuild, erasure, configuration reload).
ADMIN = "admin"
# The header a caller names its tenant with, where the route's path does not.
TENANT_HEADER = "X-Relais-Tenant"
# Probes and Prometheus scrape these without a token; they reveal no customer or tenant data.
OPEN_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})

_SHA256_HEX = r"^[0-9a-f]{64}$"


class ApiCaller(BaseModel):
    """One caller of a service's API, as `RELAIS_API_CALLERS` lists it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1, max_length=64, pattern=r"^[a-z0-9][a-z0-9._-]*$")
    # Hex SHA-256 of each accepted token: more than one while a token is being rotated.
    tokens_sha256: tuple[Annotated[str, Field(pattern=_SHA256_HEX)], ...] = Field(min_length=1)
    scopes: frozenset[str] = Field(min_length=1)
    # When set, the caller acts for this tenant only.
    tenant: str | None = Field(default=None, max_length=TENANT_MAX_LENGTH, pattern=TENANT_PATTERN)


def token_sha256(token: str) -> str:
    """What `tokens_sha256` holds for a token (`printf %s "$TOKEN" | sha256sum` gives the same)."""
    return hashlib.sha256(token.encode()).hexdigest()


def identify(callers: tuple[ApiCaller, ...], token: str) -> ApiCaller | None:
    """The caller a token belongs to, or None. Every known hash is compared, in constant time each, so
    the answer's timing tells nothing about which caller or how much of a hash matched."""
    presented = token_sha256(token).encode()
    found: ApiCaller | None = None
    for caller in callers:
        for known in caller.tokens_sha256:
            if hmac.compare_digest(presented, known.encode()) and found is None:
                found = caller
    return found


@dataclass(frozen=True)
class AccessPolicy:
    """The scope each route of a service needs, by method and path template. A route that is neither
    here nor open is refused to every caller: a new route stays closed until it is given a scope."""

    routes: Mapping[tuple[str, str], str]
    open_paths: frozenset[str] = field(default=OPEN_PATHS)


_bearer = HTTPBearer(auto_error=False, description="a token listed in the service's RELAIS_API_CALLERS")


def _unauthorized(detail: str) -> HTTPException:
    return HTTPException(401, detail, headers={"WWW-Authenticate": "Bearer"})


def authorize(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> None:
    """App-level dependency: authenticate the caller, check the route's scope and the caller's tenant;
    the verified caller is left in `request.state.caller`."""
    policy: AccessPolicy = request.app.state.access
    route = request.scope.get("route")
    path = route.path if isinstance(route, APIRoute) else request.url.path
    if path in policy.open_paths:
        return
    callers: tuple[ApiCaller, ...] = request.app.state.runtime.settings.callers()
    caller = identify(callers, credentials.credentials) if credentials else None
    if caller is None:
        # Why it failed (no header, unknown token) stays on the server, as for agent tokens.
        raise _unauthorized("a bearer token of a caller listed in RELAIS_API_CALLERS is required")
    scope = policy.routes.get((request.method, path))
    if scope is None or scope not in caller.scopes:
        raise HTTPException(403, f"caller {caller.name!r} is not allowed to {request.method} {path}")
    if caller.tenant is not None:
        named = _named_tenant(request)
        if named != caller.tenant:
            raise HTTPException(
                403,
                f"caller {caller.name!r} acts for tenant {caller.tenant!r} only"
                + ("" if named else "; this route acts on every tenant"),
            )
    request.state.caller = caller


def _named_tenant(request: Request) -> str | None:
    """The tenant a request is about: its path's `{tenant}`, else its tenant header."""
    path_params: dict[str, Any] = request.path_params
    tenant = path_params.get("tenant")
    return str(tenant) if tenant is not None else request.headers.get(TENANT_HEADER)


def require_admin(request: Request) -> None:
    """Dependency of the admin endpoints: the verified caller (see `authorize`) has the `admin` scope."""
    caller: ApiCaller | None = getattr(request.state, "caller", None)
    if caller is None:
        raise _unauthorized("a bearer token of a caller listed in RELAIS_API_CALLERS is required")
    if ADMIN not in caller.scopes:
        raise HTTPException(403, f"caller {caller.name!r} does not have the {ADMIN!r} scope")
