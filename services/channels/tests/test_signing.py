"""The ingress's and webhooks' signature: what it accepts and what it refuses, with which reason."""

import pytest

from relais_channels.domain.signing import SignatureError, parse, sign, verify

pytestmark = pytest.mark.unit

SECRET = b"s" * 32
BODY = b'{"hello": "world"}'
NOW = 1_800_000_000


def test_a_fresh_signature_of_the_body_is_accepted() -> None:
    assert verify(sign(SECRET, NOW, BODY), (SECRET,), BODY, NOW + 299, 300) == NOW


@pytest.mark.parametrize(
    ("header", "reason"),
    [
        (None, "missing"),
        ("", "missing"),
        ("v1=abc", "no t="),
        (f"t={NOW}", "no v1="),
        ("t=yesterday,v1=ab", "unix seconds"),
        ("garbage", "t=<unix seconds>"),
    ],
)
def test_malformed_headers_are_refused_with_their_reason(header: str | None, reason: str) -> None:
    with pytest.raises(SignatureError, match=reason):
        verify(header, (SECRET,), BODY, NOW, 300)


def test_a_stale_or_future_signature_is_refused() -> None:
    with pytest.raises(SignatureError, match="301 s old"):
        verify(sign(SECRET, NOW, BODY), (SECRET,), BODY, NOW + 301, 300)
    with pytest.raises(SignatureError, match="far in the future"):
        verify(sign(SECRET, NOW, BODY), (SECRET,), BODY, NOW - 301, 300)


def test_another_body_another_secret_or_another_time_breaks_it() -> None:
    header = sign(SECRET, NOW, BODY)
    with pytest.raises(SignatureError, match="does not match"):
        verify(header, (SECRET,), BODY + b" ", NOW, 300)
    with pytest.raises(SignatureError, match="does not match"):
        verify(header, (b"t" * 32,), BODY, NOW, 300)
    moved = header.replace(f"t={NOW}", f"t={NOW + 1}")
    with pytest.raises(SignatureError, match="does not match"):
        verify(moved, (SECRET,), BODY, NOW, 300)


def test_rotation_accepts_an_old_secret_and_several_signatures() -> None:
    old = b"o" * 32
    assert verify(sign(old, NOW, BODY), (SECRET, old), BODY, NOW, 300) == NOW
    both = sign(SECRET, NOW, BODY) + "," + sign(old, NOW, BODY).split(",")[1]
    assert verify(both, (old,), BODY, NOW, 300) == NOW


def test_the_signature_is_what_openssl_computes() -> None:
    # printf '%s' '1800000000.{"hello": "world"}' | openssl dgst -sha256 -hmac "$(printf 's%.0s' {1..32})"
    assert (
        sign(SECRET, NOW, BODY)
        == f"t={NOW},v1=a8a96d5f73b8399fec24322ec024a2c0280296df36fb8be5203e8e16ef68d1c7"
    )


def refusal(
    header: str | None, now: float, tolerance_s: float = 300, secrets: tuple[bytes, ...] = (SECRET,)
) -> str:
    with pytest.raises(SignatureError) as refused:
        verify(header, secrets, BODY, now, tolerance_s)
    return str(refused.value)


def test_refusals_say_exactly_why() -> None:
    header = sign(SECRET, NOW, BODY)
    assert refusal(header, NOW + 1, tolerance_s=0) == "the signature's timestamp is 1 s old (at most 0 s)"
    assert (
        refusal(header, NOW - 301) == "the signature's timestamp is 301 s far in the future (at most 300 s)"
    )
    assert refusal(header, NOW, secrets=(b"t" * 32,)) == "the signature does not match the body"
    assert refusal("t=12=3,v1=ab", NOW) == "Relais-Signature: t must be unix seconds"


def test_a_signature_exactly_at_the_tolerance_is_accepted() -> None:
    assert verify(sign(SECRET, NOW, BODY), (SECRET,), BODY, NOW + 300, 300) == NOW


def test_the_timestamp_has_at_most_twelve_digits() -> None:
    assert parse("t=999999999999,v1=ab").timestamp == 999_999_999_999
    with pytest.raises(SignatureError, match="t must be unix seconds"):
        parse("t=1000000000000,v1=ab")


def test_one_matching_signature_among_several_is_enough_whatever_its_place() -> None:
    good = sign(SECRET, NOW, BODY).split(",")[1]
    assert verify(f"t={NOW},{good},v1={'0' * 64}", (SECRET,), BODY, NOW, 300) == NOW
    assert verify(f"t={NOW},v1={'0' * 64},{good}", (SECRET,), BODY, NOW, 300) == NOW
