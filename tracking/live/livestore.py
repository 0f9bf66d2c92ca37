"""Where live races' moving parts meet across processes: the fix buffer, the state, leases.

Two backends with one interface, chosen by settings: Redis (production: streams
for fixes, hashes for the state spectators' snapshots read, leases so that one
ticker runs a race) and memory (the embedded default: everything in one process).
Nothing here is the durable copy of a fix: that is the database, written before
the ack (``tracking.ingest.commit``).
"""

from __future__ import annotations

import asyncio
import json
import weakref
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings

from pace.lib.clock import SYSTEM, Clock
from pace.lib.jsonfast import dumps
from pace.lib.redispack import hiredis_packed
from tracking.live.engine import Fix

KEY_TTL_SECONDS = 2 * 86400
STREAM_MAXLEN = 20_000
RECENT_POSTS = 20
MAX_CONNECTIONS = 50  # per process and event loop


@dataclass(slots=True)
class RaceState:
    """A race's whole live state, read at once: what each process's hub starts from."""

    meta: dict[str, Any] | None  # None until the race's first tick
    states: dict[int, str]  # encoded state object of every athlete
    field: dict[int, str]  # encoded compact entry of every athlete
    posts: list[str]  # encoded post frames, newest first


@dataclass(slots=True)
class TickerMemory:
    """What a ticker needs to carry on where another one stopped."""

    cursor: str = "0"
    first_at: dict[int, float] = field(default_factory=dict)
    states: list[str] = field(default_factory=list)
    seq: int = 0


def encode_fixes(fixes: list[Fix]) -> str:
    return dumps([[f.athlete, f.t, f.lat, f.lon, f.hr] for f in fixes])


def decode_fixes(raw: str | bytes) -> list[Fix]:
    return [Fix(a, t, lat, lon, hr) for a, t, lat, lon, hr in json.loads(raw)]


class MemoryLiveStore:
    """The embedded topology's store: plain dicts in the one process."""

    def __init__(self, clock: Clock = SYSTEM) -> None:
        self.clock = clock  # leases lapse by it (a test moves it; Redis keeps its own)
        self.fixes: dict[int, list[Fix]] = {}
        self.meta: dict[int, dict[str, Any]] = {}
        self.states: dict[int, dict[int, str]] = {}
        self.field: dict[int, dict[int, str]] = {}
        self.posts: dict[int, list[str]] = {}
        self.tickers: dict[int, TickerMemory] = {}
        self.leases: dict[int, tuple[str, float]] = {}

    async def publish_fixes(self, race_id: int, fixes: list[Fix]) -> None:
        self.fixes.setdefault(race_id, []).extend(fixes)

    async def read_fixes(self, race_id: int, cursor: str) -> tuple[str, list[Fix]]:
        return cursor, self.fixes.pop(race_id, [])

    async def write_tick(
        self,
        race_id: int,
        *,
        meta: dict[str, Any],
        changed: list[tuple[int, str]],
        field: list[tuple[int, str]],
        ticker: TickerMemory,
    ) -> bool:
        """Store a tick; False when the store had lost the race's earlier state."""
        had_state = race_id in self.meta
        self.states.setdefault(race_id, {}).update(changed)
        self.field.setdefault(race_id, {}).update(field)
        self.meta[race_id] = meta
        self.tickers[race_id] = TickerMemory(ticker.cursor, dict(ticker.first_at), [], ticker.seq)
        return had_state

    async def full_state(self, race_id: int) -> RaceState:
        meta = self.meta.get(race_id)
        return RaceState(
            meta=dict(meta) if meta is not None else None,
            states=dict(self.states.get(race_id, {})),
            field=dict(self.field.get(race_id, {})),
            posts=list(self.posts.get(race_id, [])),
        )

    async def field_state(self, race_id: int) -> tuple[dict[str, Any] | None, dict[int, str]]:
        """The race's meta and every athlete's encoded compact entry, of the same tick."""
        meta = self.meta.get(race_id)
        return (dict(meta) if meta is not None else None), dict(self.field.get(race_id, {}))

    async def ticker_memory(self, race_id: int) -> TickerMemory | None:
        memory = self.tickers.get(race_id)
        if memory is None:
            return None
        states = list(self.states.get(race_id, {}).values())
        return TickerMemory(memory.cursor, dict(memory.first_at), states, memory.seq)

    async def add_post(self, race_id: int, encoded: str) -> None:
        posts = self.posts.setdefault(race_id, [])
        posts.insert(0, encoded)
        del posts[RECENT_POSTS:]

    async def set_posts(self, race_id: int, encoded: list[str]) -> None:
        self.posts[race_id] = encoded[:RECENT_POSTS]

    async def take_lease(self, race_id: int, owner: str, seconds: float) -> bool:
        holder = self.leases.get(race_id)
        now = self.clock.monotonic()
        if holder is None or holder[0] == owner or holder[1] < now:
            self.leases[race_id] = (owner, now + seconds)
            return True
        return False

    async def drop_lease(self, race_id: int, owner: str) -> None:
        if self.leases.get(race_id, ("",))[0] == owner:
            del self.leases[race_id]

    async def forget(self, race_id: int) -> None:
        for table in (self.fixes, self.meta, self.states, self.field, self.posts, self.tickers):
            table.pop(race_id, None)


# Renew only our own lease: a ticker that lost it must not take it back by renewing.
_LEASE_LUA = """
local holder = redis.call('GET', KEYS[1])
if holder == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2]); return 1
end
if not holder then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]); return 1
end
return 0
"""

_DROP_LUA = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


class RedisLiveStore:
    """The production store: Redis streams, hashes and leases shared by every process."""

    def __init__(self, url: str, prefix: str) -> None:
        self.url = url
        self.prefix = prefix
        self._clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Any] = (
            weakref.WeakKeyDictionary()
        )

    def _client(self) -> Any:
        """One connection pool per event loop (a pool cannot cross loops)."""
        import redis.asyncio

        loop = asyncio.get_running_loop()
        client = self._clients.get(loop)
        if client is None:
            # Wait for a free connection rather than fail when every one is busy.
            pool = hiredis_packed(
                redis.asyncio.BlockingConnectionPool.from_url(
                    self.url, decode_responses=True, max_connections=MAX_CONNECTIONS, timeout=10
                )
            )
            client = redis.asyncio.Redis(connection_pool=pool)
            self._clients[loop] = client
        return client

    def _key(self, race_id: int, part: str) -> str:
        return f"{self.prefix}:live:{race_id}:{part}"

    async def publish_fixes(self, race_id: int, fixes: list[Fix]) -> None:
        await self._client().xadd(
            self._key(race_id, "fixes"),
            {"f": encode_fixes(fixes)},
            maxlen=STREAM_MAXLEN,
            approximate=True,
        )

    async def read_fixes(self, race_id: int, cursor: str) -> tuple[str, list[Fix]]:
        fixes: list[Fix] = []
        key = self._key(race_id, "fixes")
        while True:
            found = await self._client().xread({key: cursor}, count=1000)
            if not found:
                return cursor, fixes
            entries = found[0][1]
            for entry_id, values in entries:
                cursor = entry_id
                fixes.extend(decode_fixes(values["f"]))
            if len(entries) < 1000:
                return cursor, fixes

    async def write_tick(
        self,
        race_id: int,
        *,
        meta: dict[str, Any],
        changed: list[tuple[int, str]],
        field: list[tuple[int, str]],
        ticker: TickerMemory,
    ) -> bool:
        pipe = self._client().pipeline(transaction=True)
        keys = [self._key(race_id, part) for part in ("meta", "states", "field", "ticker")]
        pipe.exists(keys[0])
        if changed:
            pipe.hset(keys[1], mapping=dict(changed))
        if field:
            pipe.hset(keys[2], mapping=dict(field))
        pipe.set(keys[0], dumps(meta))
        memory = {"cursor": ticker.cursor, "first_at": ticker.first_at, "seq": ticker.seq}
        pipe.set(keys[3], dumps(memory))
        for key in keys:
            pipe.expire(key, KEY_TTL_SECONDS)
        return bool((await pipe.execute())[0])

    async def full_state(self, race_id: int) -> RaceState:
        """One transaction, so meta, states, field and posts are of the same tick."""
        pipe = self._client().pipeline(transaction=True)
        pipe.get(self._key(race_id, "meta"))
        pipe.hgetall(self._key(race_id, "states"))
        pipe.hgetall(self._key(race_id, "field"))
        pipe.lrange(self._key(race_id, "posts"), 0, -1)
        meta, states, field, posts = await pipe.execute()
        return RaceState(
            meta=json.loads(meta) if meta else None,
            states={int(k): v for k, v in states.items()},
            field={int(k): v for k, v in field.items()},
            posts=list(posts),
        )

    async def field_state(self, race_id: int) -> tuple[dict[str, Any] | None, dict[int, str]]:
        """The race's meta and every athlete's encoded compact entry, in one transaction (of
        the same tick): the live page's ``field.json``, without the states a snapshot needs."""
        pipe = self._client().pipeline(transaction=True)
        pipe.get(self._key(race_id, "meta"))
        pipe.hgetall(self._key(race_id, "field"))
        meta, field = await pipe.execute()
        return (json.loads(meta) if meta else None), {int(k): v for k, v in field.items()}

    async def ticker_memory(self, race_id: int) -> TickerMemory | None:
        client = self._client()
        raw = await client.get(self._key(race_id, "ticker"))
        if raw is None:
            return None
        memory = json.loads(raw)
        states = await client.hvals(self._key(race_id, "states"))
        first_at = {int(k): v for k, v in memory["first_at"].items()}
        return TickerMemory(memory["cursor"], first_at, states, memory["seq"])

    async def add_post(self, race_id: int, encoded: str) -> None:
        key = self._key(race_id, "posts")
        pipe = self._client().pipeline(transaction=True)
        pipe.lpush(key, encoded).ltrim(key, 0, RECENT_POSTS - 1).expire(key, KEY_TTL_SECONDS)
        await pipe.execute()

    async def set_posts(self, race_id: int, encoded: list[str]) -> None:
        key = self._key(race_id, "posts")
        pipe = self._client().pipeline(transaction=True)
        pipe.delete(key)
        if encoded:
            pipe.rpush(key, *encoded[:RECENT_POSTS]).expire(key, KEY_TTL_SECONDS)
        await pipe.execute()

    async def take_lease(self, race_id: int, owner: str, seconds: float) -> bool:
        key = self._key(race_id, "lease")
        return bool(await self._client().eval(_LEASE_LUA, 1, key, owner, int(seconds * 1000)))

    async def drop_lease(self, race_id: int, owner: str) -> None:
        await self._client().eval(_DROP_LUA, 1, self._key(race_id, "lease"), owner)

    async def forget(self, race_id: int) -> None:
        parts = ("fixes", "meta", "states", "field", "posts", "ticker", "lease")
        await self._client().delete(*[self._key(race_id, part) for part in parts])


_store: MemoryLiveStore | RedisLiveStore | None = None


def live_store() -> MemoryLiveStore | RedisLiveStore:
    """The process's store, as the settings say (Redis when ``REDIS_URL`` is set)."""
    global _store
    if _store is None:
        if settings.REDIS_URL:
            _store = RedisLiveStore(settings.REDIS_URL, settings.REDIS_KEY_PREFIX)
        else:
            _store = MemoryLiveStore()
    return _store
