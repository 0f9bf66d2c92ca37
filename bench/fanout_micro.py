"""What one delivered frame costs a daphne process, alone: the kernel's floor and the hub's path.

    .venv/bin/python -m bench.fanout_micro floor --sockets 9000 --size 200 --size 1024
    .venv/bin/python -m bench.fanout_micro hub --viewers 9000 --athletes 5000 --ticks 20

``floor``: one ``send()`` of a frame of each size to each of N loopback TCP sockets
(the receivers are drained between rounds, outside the measured loop): the CPU of
the sending process (user, system; on loopback the receiving side's TCP work runs in
the sender's system call, as softirq) per send. What a server cannot go under.

``hub``: a :class:`RaceHub` with N :class:`Viewer` s, each on a real daphne
WebSocket protocol (autobahn, past its handshake) over a real Twisted TCP
connection on a loopback socket, Pace's daphne patches installed; a race of
``--athletes`` whose every athlete moves every tick (the bench's load: a fix a
second each), ten leaders and five followed athletes a viewer, the field interval
of the race's size. Each tick is dispatched as the ticker's group message, and the
process CPU of ``dispatch`` (every viewer's frames joined and written) is counted
per frame written; the receivers are drained between ticks, outside it. Run under
``valgrind --tool=callgrind --collect-atstart=no`` with ``--callgrind`` for
instruction counts of the dispatches alone, which a shared machine does not skew.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import resource
import socket
import subprocess
import time
from collections import deque
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any


def _pairs(n: int) -> tuple[list[socket.socket], list[socket.socket]]:
    """``n`` loopback TCP connections: the server's ends and the clients' ends."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1024)
    address = listener.getsockname()
    ours: list[socket.socket] = []
    theirs: list[socket.socket] = []
    for _ in range(n):
        client = socket.create_connection(address)
        server, _ = listener.accept()
        server.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # as Twisted sets it
        server.setblocking(False)
        client.setblocking(False)
        ours.append(server)
        theirs.append(client)
    listener.close()
    return ours, theirs


def _drain(theirs: list[socket.socket]) -> int:
    got = 0
    for sock in theirs:
        while True:
            try:
                data = sock.recv(1 << 20)
            except BlockingIOError:
                break
            got += len(data)
            if not data:
                break
    return got


def _cpu() -> tuple[float, float]:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime, usage.ru_stime


def _softirq_s() -> float:
    """The machine's softirq time so far (every CPU, every process): loopback's receive side
    runs there when the kernel accounts interrupt time apart from tasks."""
    with open("/proc/stat") as stat:
        fields = stat.readline().split()
    return int(fields[7]) / 100  # USER_HZ


def _callgrind(on: bool) -> None:
    """Under ``valgrind --tool=callgrind --collect-atstart=no``: count instructions only
    around what is measured (setup, message building and draining are left out)."""
    subprocess.run(
        ["callgrind_control", "-i", "on" if on else "off", str(os.getpid())],
        check=False,
        capture_output=True,
    )


def _measure(
    rounds: int, one: Callable[[], int], drain: Callable[[], object], callgrind: bool = False
) -> dict[str, float]:
    user = system = softirq = wall = 0.0
    frames = 0
    for _ in range(rounds):
        if callgrind:
            _callgrind(True)
        u0, s0 = _cpu()
        q0, w0 = _softirq_s(), time.perf_counter()
        frames += one()
        if callgrind:
            _callgrind(False)
        u1, s1 = _cpu()
        q1, w1 = _softirq_s(), time.perf_counter()
        user, system, softirq, wall = (
            user + u1 - u0,
            system + s1 - s0,
            softirq + q1 - q0,
            wall + w1 - w0,
        )
        drain()
    per = 1e6 / max(frames, 1)
    return {
        "frames": frames,
        "user_us": round(user * per, 2),
        "system_us": round(system * per, 2),
        "softirq_machine_us": round(softirq * per, 2),
        "wall_us": round(wall * per, 2),
    }


def floor(sockets: int, sizes: list[int], rounds: int) -> dict[str, Any]:
    ours, theirs = _pairs(sockets)
    out: dict[str, Any] = {}
    for size in sizes:
        frame = b"\x81\x7e" + size.to_bytes(2, "big") + b"x" * size if size > 125 else b"x" * size

        def one(frame: bytes = frame) -> int:
            for sock in ours:
                sock.send(frame)
            return len(ours)

        _measure(1, one, lambda: _drain(theirs))  # warm
        out[str(size)] = _measure(rounds, one, lambda: _drain(theirs))
    for sock in ours + theirs:
        sock.close()
    return out


def _state(athlete: int, seq: int) -> str:
    """An athlete state about the engine's size (PROTOCOL.md §3, ~270 bytes)."""
    return json.dumps(
        {
            "id": athlete,
            "bib": str(athlete),
            "name": f"Athlete Number {athlete}",
            "lat": 45.123456 + seq * 1e-5,
            "lon": 6.123456,
            "t": 1764000000.0 + seq,
            "distance": 1234.5 + seq * 3,
            "progress": 0.1234,
            "speed": 3.21,
            "status": "racing",
            "off_course": 0,
            "category": "M40",
            "pace": 311,
            "rank": athlete,
            "gap": 12 * athlete,
            "eta": 5400,
            "hr": 150,
        },
        separators=(",", ":"),
    )


def _message(seq: int, athletes: int, interval: int) -> dict[str, Any]:
    return {
        "type": "race.tick",
        "seq": seq,
        "t": 1764000000.0 + seq,
        "athletes": [[a, _state(a, seq)] for a in range(1, athletes + 1)],
        "field": [
            [a, f'[{a},45.12345,6.12345,{1234 + seq},"racing"]'] for a in range(1, athletes + 1)
        ],
        "leaders": list(range(1, 11)),
        "results": [],
        "field_interval": interval,
        "count": athletes,
    }


def hub(viewers: int, athletes: int, ticks: int, callgrind: bool = False) -> dict[str, Any]:
    from pace.daphne_patches import twisted_tcp

    twisted_tcp.install()
    from daphne.server import Server
    from daphne.ws_protocol import WebSocketFactory
    from twisted.internet import tcp
    from twisted.internet.address import IPv4Address

    from pace.daphne_patches.outlet import Outlet
    from tracking.fanout.hub import RaceHub
    from tracking.fanout.viewer import Viewer
    from tracking.live.livestore import RaceState

    interval = max(1, min(180, athletes * 64 // 2500))  # about the race's default budget
    server = Server(application=None, endpoints=["tcp:port=0"])  # never run
    factory = WebSocketFactory(server, server="Daphne")
    factory.setProtocolOptions(allowNullOrigin=True, openHandshakeTimeout=0)
    # Nothing is registered with a reactor: frames go out by write_now; a socket that
    # fills (it does not: the receivers are drained every tick) would keep them buffered.
    reactor = SimpleNamespace(addWriter=lambda _: None, removeWriter=lambda _: None)
    ours, theirs = _pairs(viewers)
    rng = random.Random(1)

    async def scenario() -> dict[str, Any]:
        race = RaceHub(1)
        first = _message(1, athletes, interval)
        race.mirror.reset(
            RaceState(
                meta={"seq": 1, "t": first["t"], "leaders": first["leaders"], "race": {}},
                states=dict(map(tuple, first["athletes"])),
                field=dict(map(tuple, first["field"])),
                posts=[],
            )
        )
        race.synced = True
        viewers_: list[Viewer] = []
        for i, sock in enumerate(ours):
            protocol = factory.buildProtocol(IPv4Address("TCP", "127.0.0.1", 40000 + i))
            transport = tcp.Connection(sock, protocol, reactor=reactor)  # type: ignore[arg-type]
            transport.connected = True
            protocol.transport = transport
            protocol.state = protocol.STATE_OPEN
            protocol.send_queue = deque()  # autobahn's, set in its connectionMade
            protocol._perMessageCompress = None
            outlet = Outlet(None)  # type: ignore[arg-type]
            outlet.protocol = protocol
            viewer = Viewer(race={"id": 1}, outlet=outlet, max_backlog=512 * 1024)
            viewer.follows = rng.sample(range(1, athletes + 1), 5)
            # Last fields spread over an interval: a field frame falls due to 1/interval of
            # the viewers a tick, as in a race running for a while.
            viewer.seq, viewer.field_seq = 1, 1 - rng.randrange(interval)
            viewer.synced = True
            race.listeners.add(viewer)
            viewers_.append(viewer)
        messages = [_message(seq, athletes, interval) for seq in range(2, ticks + 2)]
        written = fields = 0

        def one() -> int:
            race.dispatch(messages[0])
            return viewers

        def drain() -> None:
            nonlocal written, fields
            message = messages.pop(0)
            # Frames written: a tick each, and a field frame to those it fell due to.
            fields += sum(v.field_seq == message["seq"] for v in viewers_)
            written += _drain(theirs)

        result = _measure(ticks, one, drain, callgrind)
        # Per frame written, the field frames counted (they fell due within the dispatch).
        share = result["frames"] / (result["frames"] + fields)
        for key in ("user_us", "system_us", "softirq_machine_us", "wall_us"):
            result[key] = round(result[key] * share, 2)
        result["frames"] += fields
        result["field_frames"] = fields
        result["bytes_per_viewer_tick"] = round(written / viewers / ticks)
        return result

    out = asyncio.run(scenario())
    for sock in ours + theirs:
        sock.close()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("what", choices=["floor", "hub"])
    parser.add_argument("--sockets", "--viewers", dest="sockets", type=int, default=9000)
    parser.add_argument("--size", type=int, action="append")
    parser.add_argument("--rounds", "--ticks", dest="rounds", type=int, default=10)
    parser.add_argument("--athletes", type=int, default=5000)
    parser.add_argument(
        "--callgrind", action="store_true", help="run under callgrind --collect-atstart=no"
    )
    args = parser.parse_args()
    if args.what == "floor":
        result = floor(args.sockets, args.size or [200, 1024, 4096], args.rounds)
    else:
        import django

        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pace.settings")
        django.setup()
        result = hub(args.sockets, args.athletes, args.rounds, args.callgrind)
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
