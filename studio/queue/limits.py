"""Limits shared by every worker, kept in Redis: a run's lease (one worker runs a run id at a
time; the lease expires if its worker dies) and a counting semaphore per connection name
(OpenAI's rate limits are per key, so "at most N runs on this connection at once" must hold
across machines). Both are Redis keys with an expiry that a live holder keeps refreshing."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any, Iterable

LEASE_KEY = "studio:run:{run_id}:lease"
SLOTS_KEY = "studio:connection:{name}:slots"

_REFRESH = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
"""
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""
# A slot is a member of a sorted set scored by its expiry (ms, Redis's own clock): expired
# members (their worker died) are dropped before counting, so a dead worker's slot frees itself.
_TAKE_SLOT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZSCORE', KEYS[1], ARGV[2]) or redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[1]) then
  redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), ARGV[2])
  redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[3]) * 2)
  return 1
end
return 0
"""


class RunLease:
    """Held by the worker running `run_id`; another worker seeing it held knows the run is alive."""

    def __init__(self, redis: Any, run_id: str, ttl_s: float) -> None:
        self.redis, self.key, self.ttl_ms = redis, LEASE_KEY.format(run_id=run_id), int(ttl_s * 1000)
        self.token = uuid.uuid4().hex

    def acquire(self) -> bool:
        return bool(self.redis.set(self.key, self.token, nx=True, px=self.ttl_ms))

    def refresh(self) -> bool:
        return bool(self.redis.eval(_REFRESH, 1, self.key, self.token, self.ttl_ms))

    def release(self) -> None:
        self.redis.eval(_RELEASE, 1, self.key, self.token)


class ConnectionSlots:
    """At most `limit` holders per connection name across all workers."""

    def __init__(self, redis: Any, limit: int, ttl_s: float) -> None:
        if limit < 1:
            raise ValueError(f"connection limit must be 1 or more, not {limit}")
        self.redis, self.limit, self.ttl_ms = redis, limit, int(ttl_s * 1000)
        self.token = uuid.uuid4().hex

    def _key(self, name: str | None) -> str:
        return SLOTS_KEY.format(name=name or "default")

    def try_take(self, name: str | None) -> bool:
        return bool(self.redis.eval(_TAKE_SLOT, 1, self._key(name), self.limit, self.token, self.ttl_ms))

    async def take(self, names: Iterable[str | None], poll_s: float = 0.05) -> list[str | None]:
        """Take a slot on every name (in one order, so two runs never wait on each other)."""
        taken: list[str | None] = []
        for name in sorted(set(names), key=lambda n: n or ""):
            while not await asyncio.to_thread(self.try_take, name):
                await asyncio.sleep(poll_s)
            taken.append(name)
        return taken

    def refresh(self, names: Iterable[str | None]) -> None:
        for name in names:
            self.try_take(name)  # re-scores our own member: it does not count twice

    def release(self, names: Iterable[str | None]) -> None:
        for name in names:
            self.redis.zrem(self._key(name), self.token)

    def holders(self, name: str | None) -> int:
        """Live holders now (expired ones not counted)."""
        now_s, now_us = self.redis.time()
        return int(self.redis.zcount(self._key(name), now_s * 1000 + now_us // 1000, "+inf"))


async def keep_alive(lease: RunLease, slots: ConnectionSlots | None, names: list[str | None], every_s: float) -> None:
    """Refresh the lease and the slots until cancelled (the run ended)."""
    while True:
        await asyncio.sleep(every_s)
        await asyncio.to_thread(lease.refresh)
        if slots is not None and names:
            await asyncio.to_thread(slots.refresh, names)
