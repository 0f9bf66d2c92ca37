"""redis.asyncio pools whose connections pack commands with hiredis.

redis-py's asyncio connection packs every command in Python and joins its buffer again
for each argument (redis 8.1.0: ``redis.asyncio.connection.AbstractConnection
.pack_command``). The ticker writes every athlete's state and field entry to Redis each
tick, two ``HSET``\\ s of 5,000 fields at 5,000 athletes: one took 13.4 ms to pack in
Python, 3.6 ms with hiredis's C packer, which redis-py's synchronous connection already
uses when hiredis is installed (``redis.connection.HiredisRespSerializer``) and its
asyncio connection does not. The bytes are the same, and so are the errors: a value
that is not str, bytes, int or float raises ``redis.DataError``
(``pace/tests/test_redispack.py``).
"""

from __future__ import annotations

import functools
from typing import Any


@functools.cache
def _packed(connection_class: type) -> type:
    """``connection_class`` (plain TCP, TLS or a Unix socket, as the URL said) packing
    with hiredis."""
    from redis.connection import HiredisRespSerializer

    packer = HiredisRespSerializer()

    def pack_command(self: Any, *args: Any) -> list[bytes]:
        return packer.pack(*args)  # type: ignore[no-any-return]

    name = f"HiredisPacked{connection_class.__name__}"
    return type(name, (connection_class,), {"pack_command": pack_command})


def hiredis_packed(pool: Any) -> Any:
    """``pool`` (a ``redis.asyncio`` connection pool, no connection made yet), its
    connections packing with hiredis."""
    pool.connection_class = _packed(pool.connection_class)
    return pool
