"""Token buckets: how many messages per second a provider may be sent, shared by every worker through Redis."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any, Protocol

import redis

# KEYS[1]: the bucket. ARGV: rate (tokens per second), capacity, tokens wanted.
# Returns {granted, wait_ms}: at most `wanted` tokens now, and how long until the next one. Redis's own clock
# keeps every worker on one time line; the key expires when the bucket would be full again anyway.
_TAKE = """
local rate = tonumber(ARGV[1])
local capacity = tonumber(ARGV[2])
local wanted = tonumber(ARGV[3])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1])
local at = tonumber(state[2])
if tokens == nil then
  tokens = capacity
  at = now
end
tokens = math.min(capacity, tokens + (now - at) * rate / 1000)
local granted = math.min(wanted, math.floor(tokens))
tokens = tokens - granted
redis.call('HSET', KEYS[1], 'tokens', tokens, 'at', now)
redis.call('PEXPIRE', KEYS[1], math.ceil(capacity * 1000 / rate) + 1000)
local wait = 0
if granted < wanted then
  wait = math.ceil((1 - (tokens - math.floor(tokens))) * 1000 / rate)
end
return {granted, wait}
"""


class TokenBucket(Protocol):
    rate: float

    def take(self, wanted: int) -> tuple[int, float]:
        """Take up to `wanted` tokens now: (granted, seconds until the next token when short)."""
        ...


def take_tokens(bucket: TokenBucket, most: int, *, sleep: Callable[[float], None] = time.sleep) -> int:
    """Take between 1 and `most` tokens, waiting only until the first is there; how many were taken."""
    while True:
        granted, wait_s = bucket.take(most)
        if granted > 0:
            return granted
        sleep(max(wait_s, 0.001))


class RedisTokenBucket:
    """A bucket in Redis: `rate` tokens per second, at most `burst` saved up; every worker draws from it."""

    def __init__(self, client: redis.Redis, key: str, *, rate: float, burst: int | None = None) -> None:
        if rate <= 0:
            raise ValueError("a rate limit is a positive number of messages per second")
        self.rate = rate
        self.burst = burst if burst is not None else max(1, int(rate))
        self.key = key
        self._client = client
        self._script: Any = client.register_script(_TAKE)

    def take(self, wanted: int) -> tuple[int, float]:
        granted, wait_ms = self._script(keys=[self.key], args=[self.rate, self.burst, wanted])
        return int(granted), int(wait_ms) / 1000


class LocalTokenBucket:
    """The same bucket in this process only: the embedded default, where one process sends everything."""

    def __init__(self, *, rate: float, burst: int | None = None, clock: Callable[[], float] = time.monotonic) -> None:
        if rate <= 0:
            raise ValueError("a rate limit is a positive number of messages per second")
        self.rate = rate
        self.burst = burst if burst is not None else max(1, int(rate))
        self._clock = clock
        self._tokens = float(self.burst)
        self._at = clock()
        self._lock = threading.Lock()

    def take(self, wanted: int) -> tuple[int, float]:
        with self._lock:
            now = self._clock()
            self._tokens = min(self.burst, self._tokens + (now - self._at) * self.rate)
            self._at = now
            granted = min(wanted, int(self._tokens))
            self._tokens -= granted
            wait = 0.0 if granted == wanted else (1 - (self._tokens - int(self._tokens))) / self.rate
            return granted, wait
