"""Agent tokens: what is accepted, what is refused, and how REST answers."""

import base64
import json
import time

import httpx
import jwt
import pytest
from pydantic import SecretStr

from relais_agent_gateway.app import create_app
from relais_agent_gateway.auth import InvalidToken, TokenAuthority
from relais_agent_gateway.settings import GatewaySettings

pytestmark = pytest.mark.unit

SECRET = "unit-test-secret-that-is-long-enough-for-hs256"


def authority(secret: str = SECRET, ttl: int = 3600) -> TokenAuthority:
    return TokenAuthority(GatewaySettings(env="test", jwt_secret=SecretStr(secret), jwt_ttl_s=ttl))


def claims(**overrides: object) -> dict[str, object]:
    now = int(time.time())
    base: dict[str, object] = {
        "sub": "a-1",
        "tenant": "acme",
        "name": "Alice",
        "roles": ["agent"],
        "iat": now,
        "exp": now + 600,
    }
    return {**base, **overrides}


async def test_issued_token_verifies_to_its_agent() -> None:
    tokens = authority()
    agent = await tokens.verify(
        tokens.issue(tenant="acme", agent_id="a-1", name="Alice", roles=("supervisor",))
    )
    assert (agent.id, agent.tenant, agent.name, agent.roles) == ("a-1", "acme", "Alice", ("supervisor",))
    assert agent.expires_at == pytest.approx(time.time() + 3600, abs=5)


async def test_expired_token_is_refused() -> None:
    tokens = authority(ttl=60)
    token = tokens.issue(tenant="acme", agent_id="a-1", name="Alice", now=int(time.time()) - 3600)
    with pytest.raises(InvalidToken, match="Expired"):
        await tokens.verify(token)


async def test_tampered_token_is_refused() -> None:
    tokens = authority()
    header, payload, signature = tokens.issue(tenant="acme", agent_id="a-1", name="Alice").split(".")
    body = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    forged = base64.urlsafe_b64encode(json.dumps({**body, "tenant": "globex"}).encode()).rstrip(b"=").decode()
    with pytest.raises(InvalidToken, match="Signature"):
        await tokens.verify(f"{header}.{forged}.{signature}")


async def test_token_signed_with_another_key_is_refused() -> None:
    token = authority("another-secret-that-is-also-long-enough-1234").issue(
        tenant="acme", agent_id="a-1", name="Alice"
    )
    with pytest.raises(InvalidToken):
        await authority().verify(token)


async def test_unsigned_token_is_refused() -> None:
    token = jwt.encode(claims(), key=None, algorithm="none")
    with pytest.raises(InvalidToken):
        await authority().verify(token)


@pytest.mark.parametrize("missing", ["sub", "tenant", "roles", "exp", "iat"])
async def test_token_missing_a_claim_is_refused(missing: str) -> None:
    incomplete = {k: v for k, v in claims().items() if k != missing}
    with pytest.raises(InvalidToken):
        await authority().verify(jwt.encode(incomplete, SECRET, algorithm="HS256"))


@pytest.mark.parametrize(
    "bad",
    [
        {"roles": []},
        {"roles": ["admin"]},
        {"roles": "agent"},
        {"tenant": "acme:other"},
        {"tenant": ""},
        {"name": 42},
        {"skills": {"billing": 9}},
        {"iat": int(time.time()) + 3600},
    ],
)
async def test_token_with_an_unusable_claim_is_refused(bad: dict[str, object]) -> None:
    with pytest.raises(InvalidToken):
        await authority().verify(jwt.encode(claims(**bad), SECRET, algorithm="HS256"))


async def test_garbage_is_refused() -> None:
    with pytest.raises(InvalidToken):
        await authority().verify("not.a.token")


# The app is built but never started (ASGITransport runs no lifespan): no Kafka, no Redis.


def client(env: str = "dev") -> httpx.AsyncClient:
    settings = GatewaySettings(env=env, jwt_secret=SecretStr(SECRET), upstream_token=SecretStr("t" * 32))  # type: ignore[arg-type]
    app = create_app(settings)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gateway")


async def test_me_answers_with_the_token_agent() -> None:
    async with client() as http:
        login = {"tenant": "acme", "agent_id": "a-1", "name": "Alice"}
        token = (await http.post("/v1/dev/login", json=login)).json()["token"]
        response = await http.get("/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200
    assert response.json() | {"expires_at": 0} == {
        "id": "a-1",
        "tenant": "acme",
        "name": "Alice",
        "roles": ["agent"],
        "skills": {},
        "languages": [],
        "expires_at": 0,
    }


@pytest.mark.parametrize("header", [None, "Bearer nonsense", "Basic YTpi"])
async def test_me_without_a_valid_token_is_401(header: str | None) -> None:
    async with client() as http:
        response = await http.get("/v1/me", headers={"Authorization": header} if header else {})
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"


async def test_me_with_a_token_of_another_key_is_401() -> None:
    token = authority("another-secret-that-is-also-long-enough-1234").issue(
        tenant="acme", agent_id="a-1", name="Alice"
    )
    async with client() as http:
        response = await http.get("/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401


@pytest.mark.parametrize("env", ["test", "prod"])
async def test_dev_login_exists_only_in_dev(env: str) -> None:
    async with client(env) as http:
        response = await http.post("/v1/dev/login", json={"tenant": "acme", "agent_id": "a-1", "name": "A"})
    assert response.status_code == 404


async def test_dev_login_refuses_a_tenant_the_envelope_would_refuse() -> None:
    async with client() as http:
        response = await http.post("/v1/dev/login", json={"tenant": "a:b", "agent_id": "a-1", "name": "A"})
    assert response.status_code == 422
