"""Settings of the agent gateway, read from `RELAIS_*` environment variables."""

from typing import Literal

from pydantic import Field, SecretStr, model_validator

from relais_platform.settings import ServiceSettings

# Signs tokens in dev and test only; a prod gateway refuses to start with it.
DEV_JWT_SECRET = "relais-dev-only-jwt-secret-do-not-use-in-prod"  # noqa: S105
# HS256 keys shorter than the hash output make brute-forcing a stolen token practical (RFC 7518 3.2).
_MIN_PROD_SECRET_LENGTH = 32


class GatewaySettings(ServiceSettings):
    http_port: int = 8080

    # How agent tokens are signed. HS256: with `jwt_secret` (dev, or production with a strong secret; the
    # gateway can then issue tokens too). RS256 / ES256: by an identity provider, checked with its public
    # key (`jwt_public_key`, PEM) or its JWKS endpoint (`jwt_jwks_url`); the gateway only verifies.
    jwt_algorithm: Literal["HS256", "RS256", "ES256"] = "HS256"
    jwt_secret: SecretStr = SecretStr(DEV_JWT_SECRET)
    jwt_public_key: str | None = None
    jwt_jwks_url: str | None = None
    jwt_jwks_cache_s: float = Field(default=300, gt=0)
    # A token naming an unknown key refetches the set (a rotation), at most this often: a flood of
    # made-up key ids cannot turn the gateway against the identity provider.
    jwt_jwks_refetch_s: float = Field(default=30, ge=0)
    jwt_issuer: str | None = None  # `iss` must equal it when set
    jwt_audience: str | None = None  # `aud` must contain it when set
    jwt_ttl_s: int = Field(default=8 * 3600, gt=0)
    # Asked for by the operator, but only honoured in env "dev": see `dev_login_enabled`.
    dev_login: bool = True

    # The desk reads a conversation's timeline from the context store and the supervisor page reads
    # the router's views, over their HTTP APIs (always under the token's tenant).
    context_store_url: str = "http://127.0.0.1:8081"
    router_url: str = "http://127.0.0.1:8083"
    upstream_timeout_s: float = Field(default=5.0, gt=0)
    # The gateway's bearer token on those calls: one of the callers both services list in their
    # RELAIS_API_CALLERS (with conversations:read and routing:read). Required in prod.
    upstream_token: SecretStr | None = None
    # Where the customer can be answered (the context store's reply channels) is remembered this long
    # per conversation; a channel missing from what is remembered is always asked again before a reply
    # is refused, so the memory only saves calls, it never refuses.
    reply_channels_cache_s: float = Field(default=10.0, ge=0)
    # How long a conversation read waits for the context store to show the caller's assignment: it
    # consumes the log on its own, and the desk asks the moment the gateway says "assigned".
    timeline_catchup_s: float = Field(default=3.0, ge=0)
    # An agent with no desk open on any replica for this long is set offline (a reload or a reconnect
    # takes less); replicas refresh their sockets every `desk_heartbeat_s`.
    desk_grace_s: float = Field(default=60.0, ge=0)
    desk_heartbeat_s: float = Field(default=10.0, gt=0)
    # The wrap-up codes the desk offers; a wrap-up with another code is refused.
    dispositions: tuple[str, ...] = Field(
        default=("resolved", "follow-up", "no-resolution", "spam"), min_length=1
    )

    @model_validator(mode="after")
    def _secret_set_in_production(self) -> "GatewaySettings":
        if self.jwt_algorithm != "HS256":
            if (self.jwt_public_key is None) == (self.jwt_jwks_url is None):
                raise ValueError(
                    f"RELAIS_JWT_ALGORITHM={self.jwt_algorithm} needs exactly one of RELAIS_JWT_PUBLIC_KEY "
                    "and RELAIS_JWT_JWKS_URL"
                )
            # Without both, a token the identity provider issued for another application (or that another
            # issuer sharing the key set signed) would open a desk here.
            if self.env == "prod" and not (self.jwt_issuer and self.jwt_audience):
                raise ValueError(
                    f"RELAIS_JWT_ALGORITHM={self.jwt_algorithm} needs RELAIS_JWT_ISSUER and "
                    "RELAIS_JWT_AUDIENCE in prod"
                )
        elif self.env == "prod":
            secret = self.jwt_secret.get_secret_value()
            if secret == DEV_JWT_SECRET:
                raise ValueError("RELAIS_JWT_SECRET is required in prod (the dev default is refused)")
            if len(secret) < _MIN_PROD_SECRET_LENGTH:
                raise ValueError(
                    f"RELAIS_JWT_SECRET must be at least {_MIN_PROD_SECRET_LENGTH} characters in prod"
                )
        if self.env == "prod" and self.upstream_token is None:
            raise ValueError(
                "RELAIS_UPSTREAM_TOKEN is required in prod: the context store and router ask for it"
            )
        return self

    @property
    def dev_login_enabled(self) -> bool:
        """Anyone can mint any token through the dev login, so it never exists outside dev (nor when an
        identity provider signs the tokens: the gateway has no key to sign with)."""
        return self.dev_login and self.env == "dev" and self.jwt_algorithm == "HS256"
