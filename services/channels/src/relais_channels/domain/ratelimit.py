"""A token bucket per integrator: `rate_per_s` requests a second on average, bursts up to `burst`."""

from dataclasses import dataclass


@dataclass(slots=True)
class TokenBucket:
    rate_per_s: float
    burst: int
    tokens: float
    at: float

    @classmethod
    def full(cls, rate_per_s: float, burst: int, now: float) -> "TokenBucket":
        return cls(rate_per_s, burst, float(burst), now)

    def take(self, now: float, cost: float = 1.0) -> float:
        """Take `cost` tokens; 0.0 when allowed, else the seconds until they would be there."""
        self.tokens = min(float(self.burst), self.tokens + max(0.0, now - self.at) * self.rate_per_s)
        self.at = now
        if self.tokens >= cost:
            self.tokens -= cost
            return 0.0
        return (cost - self.tokens) / self.rate_per_s
