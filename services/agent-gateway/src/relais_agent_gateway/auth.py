"""Agent authentication: JWTs checked on every REST call and on the WebSocket handshake.

A token names one agent of one tenant; everything a request or a session does is scoped by it, never
by what a client message says. HS256 tokens are checked (and, for the dev login, issued) with the
gateway's secret; RS256 / ES256 tokens come from an identity provider and are checked with its public
key or its JWKS. The algorithm is the configuration's, never the token header's.
"""

import asyncio
import time
from typing import Annotated, Any, Literal, cast

import jwt
from fastapi import Depends, HTTPException, status
from fastapi.requests import HTTPConnection
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from relais_agent_gateway.settings import GatewaySettings
from relais_contracts import TENANT_MAX_LENGTH, TENANT_PATTERN

Role = Literal["agent", "supervisor"]

# Same rule as the `tenant` attribute of the CloudEvent envelope: the tenant goes into Redis keys and
# into every event this gateway publishes, so a token whose tenant the envelope would refuse is refused.

_REQUIRED_CLAIMS = ["sub", "tenant", "roles", "exp", "iat"]
# Tolerated clock difference between the issuer and the replicas checking `exp` and `iat`.
_LEEWAY_S = 10


class Agent(BaseModel):
    """The authenticated agent of a request or a WebSocket session."""

    model_config = ConfigDict(frozen=True)

    id: str = Field(min_length=1, max_length=200)
    tenant: str = Field(min_length=1, max_length=TENANT_MAX_LENGTH, pattern=TENANT_PATTERN)
    name: str = Field(min_length=1, max_length=200)
    roles: tuple[Role, ...] = Field(min_length=1)
    # The agent's routing profile travels in the token, so the identity provider stays its one source.
    skills: dict[Annotated[str, Field(min_length=1, max_length=64)], Annotated[int, Field(ge=1, le=5)]] = (
        Field(default_factory=dict, max_length=100)
    )
    languages: tuple[Annotated[str, Field(min_length=2, max_length=16)], ...] = Field(
        default=(), max_length=50
    )
    expires_at: int  # unix seconds, from `exp`: a session ends when its token does


class InvalidToken(Exception):
    """The token is missing, malformed, tampered with, signed with another key, expired or incomplete."""


class TokenAuthority:
    """Verifies agent tokens, and issues them for the dev login (HS256 only)."""

    def __init__(self, settings: GatewaySettings) -> None:
        self._algorithm = settings.jwt_algorithm
        self._ttl_s = settings.jwt_ttl_s
        self._issuer = settings.jwt_issuer
        self._audience = settings.jwt_audience
        self._key: Any = settings.jwt_secret.get_secret_value()
        self._jwks: jwt.PyJWKClient | None = None
        if settings.jwt_algorithm != "HS256":
            self._key = settings.jwt_public_key
            if settings.jwt_jwks_url:
                # Keys are cached; an unknown `kid` (a rotation) refetches the set.
                self._jwks = jwt.PyJWKClient(
                    settings.jwt_jwks_url,
                    cache_jwk_set=True,
                    lifespan=settings.jwt_jwks_cache_s,
                    cooldown_duration=settings.jwt_jwks_refetch_s,
                    timeout=5,
                )

    def issue(
        self,
        *,
        tenant: str,
        agent_id: str,
        name: str,
        roles: tuple[Role, ...] = ("agent",),
        skills: dict[str, int] | None = None,
        languages: tuple[str, ...] = (),
        now: int | None = None,
    ) -> str:
        if self._algorithm != "HS256":
            raise RuntimeError("tokens are issued by the identity provider, not by this gateway")
        issued = int(time.time()) if now is None else now
        claims = {
            "sub": agent_id,
            "tenant": tenant,
            "name": name,
            "roles": list(roles),
            "skills": skills or {},
            "languages": list(languages),
            "iat": issued,
            "exp": issued + self._ttl_s,
        }
        if self._issuer:
            claims["iss"] = self._issuer
        if self._audience:
            claims["aud"] = self._audience
        return jwt.encode(claims, self._key, algorithm=self._algorithm)

    def expires_at(self, token: str) -> int:
        return int(jwt.decode(token, options={"verify_signature": False})["exp"])

    async def verify(self, token: str) -> Agent:
        try:
            key = self._key
            if self._jwks is not None:
                # PyJWKClient fetches with urllib (blocking): off the event loop.
                key = (await asyncio.to_thread(self._jwks.get_signing_key_from_jwt, token)).key
            # `algorithms` is pinned: the token's own header never chooses how it is checked.
            claims = jwt.decode(
                token,
                key,
                algorithms=[self._algorithm],
                options={"require": _REQUIRED_CLAIMS},
                leeway=_LEEWAY_S,
                issuer=self._issuer,
                audience=self._audience,
            )
            return Agent(
                id=claims["sub"],
                tenant=claims["tenant"],
                name=claims.get("name") or claims["sub"],
                roles=claims["roles"],
                skills=claims.get("skills") or {},
                languages=claims.get("languages") or (),
                expires_at=claims["exp"],
            )
        except (jwt.PyJWTError, ValidationError, TypeError, ValueError) as exc:
            raise InvalidToken(f"{type(exc).__name__}: {exc}") from None


def token_authority(conn: HTTPConnection) -> TokenAuthority:
    return cast(TokenAuthority, conn.app.state.tokens)


Tokens = Annotated[TokenAuthority, Depends(token_authority)]

_bearer = HTTPBearer(auto_error=False)


async def current_agent(
    tokens: Tokens, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> Agent:
    try:
        if credentials is None:
            raise InvalidToken("no bearer token")
        return await tokens.verify(credentials.credentials)
    except InvalidToken:
        # Why it failed stays on the server: a caller probing tokens learns nothing from the answer.
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED, "invalid or expired token", headers={"WWW-Authenticate": "Bearer"}
        ) from None


CurrentAgent = Annotated[Agent, Depends(current_agent)]


def require_role(role: Role) -> Any:
    """A dependency: the token's agent, who must have `role` (403 otherwise; 401 stays for bad tokens)."""

    async def _with_role(agent: CurrentAgent) -> Agent:
        if role not in agent.roles:
            raise HTTPException(status.HTTP_403_FORBIDDEN, f"this needs the {role} role")
        return agent

    return Depends(_with_role)
