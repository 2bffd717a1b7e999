"""The integrators' token bucket."""

import pytest

from relais_channels.domain.ratelimit import TokenBucket

pytestmark = pytest.mark.unit


def test_a_burst_then_the_rate() -> None:
    bucket = TokenBucket.full(rate_per_s=10, burst=3, now=0.0)
    assert [bucket.take(0.0) for _ in range(3)] == [0.0, 0.0, 0.0]
    assert bucket.take(0.0) == pytest.approx(0.1)
    assert bucket.take(0.1) == 0.0  # one token came back in 0.1 s
    assert bucket.take(0.1) > 0


def test_an_idle_bucket_fills_up_to_its_burst_only() -> None:
    bucket = TokenBucket.full(rate_per_s=1000, burst=2, now=0.0)
    bucket.take(0.0)
    bucket.take(0.0)
    assert [bucket.take(100.0) for _ in range(3)][:2] == [0.0, 0.0]
    assert bucket.take(100.0) > 0
