"""A race simulator: real tracker clients, over the network, against a running Pace.

Most athletes are phones on ``/ws/track/`` (PROTOCOL.md §1): they send ``pos``
batches with increasing ``seq``, keep every batch until its ``ack``, lose the
signal now and then (buffering 30 to 120 s of fixes, then sending them in batches
of up to 500) and resend what was not acked after reconnecting, from the
``welcome``'s ``last_seq``. A share are OsmAnd / Traccar apps on ``/osmand/``
(§2). They move along the race's course (its ``course_url`` GeoJSON) at a
believable spread of paces, with GPS noise; a few stop for a while or drop out.

``speed`` is a time multiplier: fixes carry the real time (the server refuses
fixes from the future), the athletes just move ``speed`` times faster.

Only ``roster.sim_trackers_ensure`` touches the database (to find tokens and device ids);
the rest speaks HTTP and WebSocket only, as outside clients do.
"""

from __future__ import annotations

import asyncio
import json
import math
import random
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tracking.sim.clients import OsmAndClient, PhoneClient, Stats
from tracking.sim.roster import SimAthlete, SimRace
from tracking.sim.runners import Course, Runner


class Clock:
    """Race time: the real clock from the gun, ``speed`` times faster from the launch on."""

    def __init__(self, start: float, speed: float) -> None:
        self.start, self.speed = start, speed
        self.launch = time.time()
        self.base = max(0.0, self.launch - start)

    def race_seconds(self, now: float) -> float:
        if now < self.start:
            return 0.0
        return self.base + (now - max(self.launch, self.start)) * self.speed


def wait_for_server(base_url: str, *, timeout: float) -> bool:
    """Whether the server answered ``/healthz`` within ``timeout`` seconds (it may be starting)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(base_url.rstrip("/") + "/healthz", timeout=2):
                return True
        except OSError:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.5)


def fetch_course(*, base_url: str, course_url: str) -> Course:
    request = urllib.request.Request(
        base_url + course_url, headers={"Accept": "application/geo+json"}
    )
    with urllib.request.urlopen(request, timeout=15) as response:
        return Course.from_geojson(json.loads(response.read()))


@dataclass
class Simulation:
    race: SimRace
    athletes: list[SimAthlete]
    base_url: str
    speed: float = 1.0
    osmand_share: float = 0.2
    duration: float = 0.0  # real seconds; 0 runs until everyone finished or dropped out
    seed: int = 1
    fix_every: float = 1.0
    send_every: float = 3.0
    osmand_every: float = 5.0
    off_course: int = 0  # the first this many athletes leave the course (race control's test)
    off_course_at: float = 300.0  # metres after the start
    off_course_by: float = 800.0  # metres from the course
    report: Callable[[str], None] = print
    stats: Stats = field(default_factory=Stats)
    runners: list[Runner] = field(default_factory=list)

    async def run(self) -> Stats:
        if not self.race.course_url:
            raise ValueError(f"race {self.race.id} has no course to move along")
        course = await asyncio.to_thread(
            fetch_course, base_url=self.base_url, course_url=self.race.course_url
        )
        rng = random.Random(self.seed)
        clock = Clock(self.race.start, self.speed)
        ws_url = "ws" + self.base_url.removeprefix("http")
        tasks = []
        for athlete in self.athletes:
            runner = Runner.make(athlete, course, self.race.sport, random.Random(rng.random()))
            if len(self.runners) < self.off_course:
                runner.send_off_course(at_m=self.off_course_at, by_m=self.off_course_by)
                self.report(f"athlete {athlete.id} goes off course after {self.off_course_at:g} m")
            self.runners.append(runner)
            if athlete.device_id and rng.random() < self.osmand_share:
                client: Any = OsmAndClient(runner, base_url=self.base_url, stats=self.stats)
                every = self.osmand_every
            else:
                client = PhoneClient(runner, ws_url=ws_url, origin=self.base_url, stats=self.stats)
                every = self.send_every
            spread = rng.uniform(0, min(5.0, len(self.athletes) / 200))
            tasks.append(asyncio.ensure_future(self._athlete(runner, client, clock, every, spread)))
        reporter = asyncio.ensure_future(self._report())
        try:
            await asyncio.gather(*tasks)
        finally:
            reporter.cancel()
        self.report(self.stats.line(self.runners))
        return self.stats

    async def _athlete(
        self, runner: Runner, client: Any, clock: Clock, send_every: float, spread: float
    ) -> None:
        await asyncio.sleep(spread)
        end = time.time() + self.duration if self.duration else math.inf
        last_fix = last_send = 0.0
        previous = clock.race_seconds(time.time())
        while not runner.done and time.time() < end:
            now = time.time()
            race_now = clock.race_seconds(now)
            if race_now >= runner.delay:
                runner.advance(now, race_now - max(previous, runner.delay))
            previous = race_now
            point = None
            every = self.fix_every if isinstance(client, PhoneClient) else send_every
            if now - last_fix >= every and not runner.out:
                point, last_fix = runner.fix(now), now
                self.stats.points += 1
            send = now - last_send >= send_every
            last_send = now if send else last_send
            await client.step(now, point, send)
            await asyncio.sleep(max(0.05, self.fix_every - (time.time() - now)))
        await client.finish()

    async def _report(self) -> None:
        while True:
            await asyncio.sleep(10)
            self.report(self.stats.line(self.runners))
