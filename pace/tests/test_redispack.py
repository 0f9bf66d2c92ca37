"""Commands packed by hiredis are the bytes redis-py's own asyncio packer makes."""

from __future__ import annotations

import asyncio
import os
from typing import Any

import pytest
import redis
import redis.asyncio
from hypothesis import given
from hypothesis import strategies as st

from pace.lib.redispack import hiredis_packed

python_packer = redis.asyncio.Connection()  # packs in Python; no connection is made

values = st.one_of(
    st.text(st.characters(exclude_categories=["Cs"])),  # lone surrogates: UTF-8 refuses them
    st.binary(max_size=9000),  # past redis-py's 6,000-byte buffer cut-off
    st.integers(min_value=-(2**80), max_value=2**80),
    st.floats(),  # nan and infinities included
)
names = st.sampled_from(["HSET", "SET", "XADD", "CONFIG GET", b"CLIENT SETNAME"])


def _packed_connection() -> redis.asyncio.Connection:
    pool = hiredis_packed(redis.asyncio.ConnectionPool.from_url("redis://127.0.0.1:1/0"))
    return pool.make_connection()


@given(name=names, args=st.lists(values, max_size=40))
def test_a_command_packs_to_the_bytes_redis_py_makes(name, args):
    connection = _packed_connection()
    assert b"".join(connection.pack_command(name, *args)) == b"".join(
        python_packer.pack_command(name, *args)
    )
    pipelined = [(name, *args), ("SET", "k", "v")]
    assert b"".join(connection.pack_commands(pipelined)) == b"".join(
        python_packer.pack_commands(pipelined)
    )


@pytest.mark.parametrize("bad", [None, True, [1], {"a": 1}, "\ud800"])
def test_a_value_redis_cannot_take_fails_as_it_does_in_redis_py(bad):
    connection = _packed_connection()
    expected = UnicodeEncodeError if isinstance(bad, str) else redis.DataError
    with pytest.raises(expected):
        python_packer.pack_command("SET", "k", bad)
    with pytest.raises(expected):
        connection.pack_command("SET", "k", bad)


@pytest.mark.parametrize(
    ("url", "kind"),
    [
        ("redis://127.0.0.1:6379/0", redis.asyncio.Connection),
        ("rediss://127.0.0.1:6379/0", redis.asyncio.SSLConnection),
        ("unix:///run/redis.sock", redis.asyncio.UnixDomainSocketConnection),
    ],
)
def test_the_urls_kind_of_connection_is_kept(url, kind):
    pool = hiredis_packed(redis.asyncio.BlockingConnectionPool.from_url(url))
    assert issubclass(pool.connection_class, kind)
    assert pool.connection_class.__name__ == f"HiredisPacked{kind.__name__}"


@pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="needs the Redis of the second pass")
def test_a_pipelined_hset_of_thousands_of_fields_round_trips_through_redis():
    fields: dict[Any, Any] = {str(n): f'{{"id":{n},"name":"Zoë {n}"}}' for n in range(5000)}
    key = "pace-tests:redispack"

    async def round_trip() -> Any:
        pool = hiredis_packed(
            redis.asyncio.ConnectionPool.from_url(os.environ["REDIS_URL"], decode_responses=True)
        )
        client = redis.asyncio.Redis(connection_pool=pool)
        try:
            pipe = client.pipeline(transaction=True)
            pipe.delete(key)
            pipe.hset(key, mapping=fields)
            pipe.hgetall(key)
            pipe.delete(key)
            return (await pipe.execute())[2]
        finally:
            await client.aclose()

    assert asyncio.run(round_trip()) == fields
