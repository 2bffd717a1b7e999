"""Tokens from an identity provider: RS256 with a configured public key, or ES256/RS256 keys from a JWKS
endpoint (a real HTTP server here) that rotates; and the attacks a configuration must not let through."""

import base64
import hashlib
import hmac
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from pydantic import SecretStr, ValidationError

from relais_agent_gateway.auth import InvalidToken, TokenAuthority
from relais_agent_gateway.settings import GatewaySettings

pytestmark = pytest.mark.unit

RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
OTHER_RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
EC_KEY = ec.generate_private_key(ec.SECP256R1())
ISSUER = "https://idp.example.com/"
AUDIENCE = "relais-agent-gateway"


def pem(key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey) -> str:
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return public.decode()


def claims(**overrides: object) -> dict[str, object]:
    now = int(time.time())
    base = {"sub": "a-1", "tenant": "acme", "roles": ["agent"], "iat": now, "exp": now + 600}
    return {"iss": ISSUER, "aud": AUDIENCE, **base, **overrides}


def hmac_signed_with(secret: str) -> str:
    """An HS256 token made by hand (PyJWT itself refuses to use a PEM key as an HMAC secret)."""

    def b64(raw: bytes) -> str:
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

    signing_input = (
        f"{b64(json.dumps({'alg': 'HS256', 'typ': 'JWT'}).encode())}.{b64(json.dumps(claims()).encode())}"
    )
    signature = hmac.new(secret.encode(), signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64(signature)}"


UPSTREAM_TOKEN = SecretStr("gateway-token-for-the-context-store-and-router")


def with_public_key(**extra: Any) -> TokenAuthority:
    settings = GatewaySettings(
        env="prod",
        upstream_token=UPSTREAM_TOKEN,
        jwt_algorithm="RS256",
        jwt_public_key=pem(RSA_KEY),
        jwt_issuer=ISSUER,
        jwt_audience=AUDIENCE,
        **extra,
    )
    return TokenAuthority(settings)


async def test_an_identity_provider_token_is_checked_with_its_public_key() -> None:
    token = jwt.encode(claims(name="Alice", skills={"billing": 4}), RSA_KEY, algorithm="RS256")
    agent = await with_public_key().verify(token)
    assert (agent.id, agent.tenant, agent.name, agent.skills) == ("a-1", "acme", "Alice", {"billing": 4})


@pytest.mark.parametrize(
    "forged",
    [
        pytest.param(lambda: jwt.encode(claims(), OTHER_RSA_KEY, algorithm="RS256"), id="another-key"),
        pytest.param(
            lambda: jwt.encode(claims(iss="https://evil.example/"), RSA_KEY, algorithm="RS256"), id="issuer"
        ),
        pytest.param(
            lambda: jwt.encode(claims(aud="another-app"), RSA_KEY, algorithm="RS256"), id="audience"
        ),
        pytest.param(
            lambda: jwt.encode(claims(exp=int(time.time()) - 60), RSA_KEY, algorithm="RS256"), id="expired"
        ),
        # The classic confusion: HS256 "signed" with the public key, which an attacker knows.
        pytest.param(lambda: hmac_signed_with(pem(RSA_KEY)), id="hs256-with-the-public-key"),
        pytest.param(lambda: jwt.encode(claims(), None, algorithm="none"), id="alg-none"),
    ],
)
async def test_forged_provider_tokens_are_refused(forged: Any) -> None:
    with pytest.raises(InvalidToken):
        await with_public_key().verify(forged())


def test_a_provider_configuration_needs_exactly_one_key_source() -> None:
    with pytest.raises(ValidationError, match="exactly one of RELAIS_JWT_PUBLIC_KEY and RELAIS_JWT_JWKS_URL"):
        GatewaySettings(jwt_algorithm="RS256")
    with pytest.raises(ValidationError, match="exactly one"):
        GatewaySettings(jwt_algorithm="RS256", jwt_public_key=pem(RSA_KEY), jwt_jwks_url="http://idp/jwks")


def test_the_gateway_does_not_issue_tokens_an_identity_provider_signs() -> None:
    settings = GatewaySettings(env="dev", jwt_algorithm="RS256", jwt_public_key=pem(RSA_KEY))
    assert not settings.dev_login_enabled
    with pytest.raises(RuntimeError):
        TokenAuthority(settings).issue(tenant="acme", agent_id="a-1", name="A")


class Provider:
    """A JWKS endpoint on a real local HTTP server, whose key set the test rotates."""

    def __init__(self) -> None:
        self.keys: dict[str, Any] = {}
        self.fetches = 0
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                provider.fetches += 1
                body = json.dumps({"keys": list(provider.keys.values())}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/.well-known/jwks.json"

    def publish(self, kid: str, key: ec.EllipticCurvePrivateKey) -> None:
        jwk = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(key.public_key()))
        self.keys[kid] = {**jwk, "kid": kid, "use": "sig", "alg": "ES256"}


@pytest.fixture
def provider() -> Iterator[Provider]:
    provider = Provider()
    thread = threading.Thread(target=provider.server.serve_forever, daemon=True)
    thread.start()
    try:
        yield provider
    finally:
        provider.server.shutdown()


def signed(key: ec.EllipticCurvePrivateKey, kid: str) -> str:
    return jwt.encode(claims(), key, algorithm="ES256", headers={"kid": kid})


async def test_keys_come_from_the_jwks_endpoint_and_follow_a_rotation(provider: Provider) -> None:
    provider.publish("k1", EC_KEY)
    tokens = TokenAuthority(
        GatewaySettings(
            env="prod",
            upstream_token=UPSTREAM_TOKEN,
            jwt_algorithm="ES256",
            jwt_jwks_url=provider.url,
            jwt_jwks_refetch_s=0,  # the test rotates at once; production waits RELAIS_JWT_JWKS_REFETCH_S
            jwt_issuer=ISSUER,
            jwt_audience=AUDIENCE,
        )
    )
    assert (await tokens.verify(signed(EC_KEY, "k1"))).id == "a-1"
    assert (await tokens.verify(signed(EC_KEY, "k1"))).id == "a-1"
    assert provider.fetches == 1  # cached

    # The provider rotates: a new key appears; a token signed with it is accepted after a refetch.
    new_key = ec.generate_private_key(ec.SECP256R1())
    provider.publish("k2", new_key)
    assert (await tokens.verify(signed(new_key, "k2"))).id == "a-1"
    # A key the provider never published is refused, as is one signed with another key under a known kid.
    with pytest.raises(InvalidToken):
        await tokens.verify(signed(ec.generate_private_key(ec.SECP256R1()), "k3"))
    with pytest.raises(InvalidToken):
        await tokens.verify(signed(ec.generate_private_key(ec.SECP256R1()), "k2"))
