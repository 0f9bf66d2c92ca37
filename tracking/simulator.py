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

Only ``sim_trackers_ensure`` touches the database (to find tokens and device ids);
the rest speaks HTTP and WebSocket only, as outside clients do.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import math
import random
import time
import urllib.error
import urllib.request
from bisect import bisect_right
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import WebSocketException

EARTH_M = 6_371_000.0
KNOT_MS = 0.514444
MAX_BATCH = 500
# Median speeds (m/s) by sport: about 5:45/km running, 7:30/km trail, 29 km/h cycling.
SPORT_SPEED = {"running": 2.9, "trail": 2.2, "cycling": 8.0, "triathlon": 3.2}
POSTS = [
    "Feeling great, legs are fresh!",
    "Halfway there, all good.",
    "Thanks for the cheers at the aid station!",
    "Hot out here, drinking at every station.",
    "That hill was brutal.",
    "Pacing with a friend, all good.",
    "Last few km, let's go!",
]


# --- which athletes (the database side) -----------------------------------------------
@dataclass(frozen=True, slots=True)
class SimAthlete:
    id: int
    bib: str
    name: str
    token: str
    device_id: str | None


@dataclass(frozen=True, slots=True)
class SimRace:
    id: int
    name: str
    sport: str
    start: float
    course_url: str | None
    distance: float | None


def sim_trackers_ensure(*, race_id: int, athletes: int) -> tuple[SimRace, list[SimAthlete], int]:
    """The race, up to ``athletes`` of its confirmed athletes with trackers, and how many exist.

    Registrations without a tracker get one, with a device id Pace issues (random, as
    every tracker's), so that a share of them can play OsmAnd.
    """
    from events.models import Race, Registration
    from tracking.models import Tracker
    from tracking.selectors import race_info

    race = Race.objects.select_related("event", "course").get(pk=race_id)
    confirmed = Registration.objects.filter(race=race, status=Registration.Status.CONFIRMED)
    available = confirmed.count()
    chosen = list(confirmed.order_by("pk")[:athletes])
    missing = [r for r in chosen if not Tracker.objects.filter(registration=r).exists()]
    Tracker.objects.bulk_create([Tracker(registration=r) for r in missing])
    trackers = Tracker.objects.filter(
        registration__in=chosen, revoked_at__isnull=True
    ).select_related("registration")
    info = race_info(race)
    sim_race = SimRace(
        id=race.pk, name=info["name"], sport=race.event.sport, start=info["start"],
        course_url=info["course_url"], distance=info["distance"],
    )  # fmt: skip
    out = [
        SimAthlete(
            id=t.registration_id,
            bib=t.registration.bib,
            name=t.registration.name,
            token=t.token,
            device_id=t.device_id,
        )
        for t in sorted(trackers, key=lambda t: t.registration_id)
    ]
    return sim_race, out, available


# --- the course -----------------------------------------------------------------------------
def _metres(a: tuple[float, float], b: tuple[float, float]) -> float:
    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * EARTH_M * math.asin(math.sqrt(min(1.0, h)))


class Course:
    """A course line walked by distance (official metres, scaled onto the drawn line)."""

    def __init__(self, points: list[tuple[float, float]], official: float | None = None) -> None:
        if len(points) < 2:
            raise ValueError("a course needs at least two points")
        self.points = points
        self.cumulative = [0.0]
        for a, b in itertools.pairwise(points):
            self.cumulative.append(self.cumulative[-1] + _metres(a, b))
        self.line_length = self.cumulative[-1]
        self.length = official or self.line_length

    @classmethod
    def from_geojson(cls, feature: dict[str, Any]) -> Course:
        coords = feature["geometry"]["coordinates"]
        official = (feature.get("properties") or {}).get("distance")
        return cls([(c[1], c[0]) for c in coords], official)

    def at(self, distance: float) -> tuple[float, float]:
        d = max(0.0, min(distance, self.length)) * self.line_length / self.length
        i = min(bisect_right(self.cumulative, d), len(self.points) - 1)
        d0, d1 = self.cumulative[i - 1], self.cumulative[i]
        f = 0.0 if d1 <= d0 else (d - d0) / (d1 - d0)
        (lat0, lon0), (lat1, lon1) = self.points[i - 1], self.points[i]
        return lat0 + (lat1 - lat0) * f, lon0 + (lon1 - lon0) * f


# --- one athlete's body: where it is --------------------------------------------------------
@dataclass
class Runner:
    """How one simulated athlete moves: pace, fate, signal gaps. Real seconds unless said."""

    athlete: SimAthlete
    course: Course
    rng: random.Random
    speed: float  # m/s in race time
    delay: float  # race seconds after the gun
    dnf_at: float | None = None  # metres
    stop_at: float | None = None  # metres
    stop_for: float = 0.0
    post_at: float | None = None
    hr_base: float | None = None
    distance: float = 0.0
    stopped_until: float = 0.0
    finished_at: float | None = None
    out: bool = False
    offline_until: float = 0.0
    next_gap: float = math.inf
    posted: bool = False

    @classmethod
    def make(cls, athlete: SimAthlete, course: Course, sport: str, rng: random.Random) -> Runner:
        median = SPORT_SPEED.get(sport, SPORT_SPEED["running"])
        runner = cls(
            athlete=athlete,
            course=course,
            rng=rng,
            speed=min(median * 2.1, max(median * 0.45, rng.lognormvariate(math.log(median), 0.16))),
            delay=rng.uniform(0, 45),
            hr_base=rng.uniform(140, 165) if rng.random() < 0.6 else None,
        )
        fate = rng.random()
        if fate < 0.04:
            runner.dnf_at = rng.uniform(0.15, 0.85) * course.length
        elif fate < 0.09:
            runner.stop_at = rng.uniform(0.1, 0.9) * course.length
            runner.stop_for = rng.uniform(150, 300)
        if rng.random() < 0.35:
            runner.next_gap = time.time() + rng.uniform(15, 240)
        if rng.random() < 0.3:
            runner.post_at = rng.uniform(0.1, 0.9) * course.length
        return runner

    @property
    def done(self) -> bool:
        return self.out or (self.finished_at is not None and time.time() - self.finished_at > 15)

    def advance(self, now: float, race_seconds: float) -> None:
        """Move on by ``race_seconds`` of race time (0 while standing)."""
        if self.out or self.finished_at is not None or now < self.stopped_until:
            return
        fatigue = 1.0 - 0.06 * self.distance / self.course.length
        self.distance += self.speed * fatigue * self.rng.uniform(0.93, 1.07) * race_seconds
        if self.stop_at is not None and self.distance >= self.stop_at:
            self.stopped_until, self.stop_at = now + self.stop_for, None
        if self.dnf_at is not None and self.distance >= self.dnf_at:
            self.out = True
        if self.distance >= self.course.length:
            self.distance, self.finished_at = self.course.length, now

    def fix(self, now: float) -> dict[str, Any]:
        lat, lon = self.course.at(self.distance)
        north, east = self.rng.gauss(0, 3.0), self.rng.gauss(0, 3.0)
        lat += math.degrees(north / EARTH_M)
        lon += math.degrees(east / (EARTH_M * math.cos(math.radians(lat))))
        moving = self.finished_at is None and now >= self.stopped_until and not self.out
        point: dict[str, Any] = {
            "t": round(now, 3), "lat": round(lat, 7), "lon": round(lon, 7),
            "acc": round(self.rng.uniform(3, 12), 1),
            "spd": round(self.speed * self.rng.uniform(0.9, 1.1), 2) if moving else 0.0,
        }  # fmt: skip
        if self.hr_base is not None:
            point["hr"] = round(self.hr_base + 15 * self.distance / self.course.length)
        return point

    def offline(self, now: float) -> bool:
        """In a signal gap now? Gaps of 30 to 120 s come every few minutes for some athletes."""
        if now >= self.next_gap:
            self.offline_until = now + self.rng.uniform(30, 120)
            self.next_gap = self.offline_until + self.rng.uniform(180, 900)
        return now < self.offline_until

    def post(self) -> str | None:
        if self.post_at is None or self.posted or self.distance < self.post_at:
            return None
        self.posted = True
        return self.rng.choice(POSTS)


# --- the clients -------------------------------------------------------------------------------
@dataclass
class Stats:
    points: int = 0
    acked: int = 0
    batches: int = 0
    resent: int = 0
    connects: int = 0
    osmand_ok: int = 0
    posts: int = 0
    errors: Counter[str] = field(default_factory=Counter)

    def line(self, runners: list[Runner]) -> str:
        finished = sum(1 for r in runners if r.finished_at is not None)
        out = sum(1 for r in runners if r.out)
        errors = ", ".join(f"{k} {v}" for k, v in self.errors.most_common(4)) or "none"
        return (
            f"{self.points} fixes made, {self.acked} acked over WebSocket, {self.osmand_ok} via "
            f"OsmAnd; {self.connects} connections, {self.resent} batches resent; "
            f"{finished} finished, {out} out; errors: {errors}"
        )


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


class PhoneClient:
    """A phone on ``/ws/track/``: batches with seq, kept until acked, resent after a reconnect."""

    def __init__(self, runner: Runner, *, ws_url: str, origin: str, stats: Stats) -> None:
        self.runner, self.ws_url, self.origin, self.stats = runner, ws_url, origin, stats
        self.pending: list[dict[str, Any]] = []
        self.batches: dict[int, list[dict[str, Any]]] = {}
        self.next_seq = 1
        self.conn: ClientConnection | None = None
        self.reader: asyncio.Task[None] | None = None
        self.retry_at = 0.0
        self.failures = 0

    async def _connect(self) -> None:
        url = f"{self.ws_url}/ws/track/?token={self.runner.athlete.token}"
        try:
            conn = await connect(url, origin=self.origin, open_timeout=10)  # type: ignore[arg-type]
            welcome = json.loads(await asyncio.wait_for(conn.recv(), 10))
        except (OSError, TimeoutError, WebSocketException, ValueError) as exc:
            self.failures += 1
            self.retry_at = time.time() + min(30, 2**self.failures) * random.uniform(0.5, 1)
            self.stats.errors[f"connect: {type(exc).__name__}"] += 1
            return
        if welcome.get("type") != "welcome":
            self.stats.errors[f"refused: {welcome.get('code')}"] += 1
            self.runner.out = True  # a bad token stays bad
            await conn.close()
            return
        self.failures = 0
        self.stats.connects += 1
        last = welcome.get("last_seq") or 0
        for seq in [s for s in self.batches if s <= last]:
            del self.batches[seq]  # stored before the connection dropped; the ack was lost
        self.next_seq = max(self.next_seq, last + 1)
        self.conn = conn
        self.reader = asyncio.ensure_future(self._read(conn))
        for seq, points in sorted(self.batches.items()):
            self.stats.resent += 1
            await self._send({"type": "pos", "seq": seq, "points": points})

    async def _read(self, conn: ClientConnection) -> None:
        with contextlib.suppress(WebSocketException, OSError):
            async for raw in conn:
                frame = json.loads(raw)
                kind = frame.get("type")
                if kind == "ack":
                    points = self.batches.pop(frame["seq"], None)
                    if points is not None:
                        self.stats.acked += len(points)
                        self.stats.batches += 1
                elif kind == "error":
                    self.stats.errors[frame.get("code", "error")] += 1
        if self.conn is conn:
            self.conn = None

    async def _send(self, frame: dict[str, Any]) -> None:
        if self.conn is None:
            return
        try:
            await self.conn.send(json.dumps(frame, separators=(",", ":")))
        except (WebSocketException, OSError):
            self.conn = None

    async def _disconnect(self) -> None:
        conn, self.conn = self.conn, None
        if conn is not None:
            with contextlib.suppress(Exception):
                await conn.close()

    async def flush(self) -> None:
        """Cut what is pending into batches (at most 500 points) and send them."""
        while self.pending and self.conn is not None:
            seq, self.next_seq = self.next_seq, self.next_seq + 1
            self.batches[seq], self.pending = self.pending[:MAX_BATCH], self.pending[MAX_BATCH:]
            await self._send({"type": "pos", "seq": seq, "points": self.batches[seq]})

    async def step(self, now: float, point: dict[str, Any] | None, send: bool) -> None:
        if point is not None:
            self.pending.append(point)
        if self.runner.offline(now) or self.runner.out:
            await self._disconnect()
            return
        if self.conn is None and now >= self.retry_at:
            await self._connect()
        if self.conn is None or not send:
            return
        await self.flush()
        text = self.runner.post()
        if text:
            self.stats.posts += 1
            await self._send({"type": "post", "text": text})

    async def finish(self, wait: float = 3.0) -> None:
        """Send what is left and wait a little for its acks, as a phone at the finish does."""
        if self.conn is None and self.pending and not self.runner.out:
            await self._connect()
        await self.flush()
        deadline = time.time() + wait
        while self.batches and self.conn is not None and time.time() < deadline:
            await asyncio.sleep(0.1)
        await self._disconnect()


class OsmAndClient:
    """A tracker app on ``/osmand/``: one GET a fix, queued while offline."""

    def __init__(self, runner: Runner, *, base_url: str, stats: Stats) -> None:
        self.runner, self.base_url, self.stats = runner, base_url, stats
        self.queue: list[dict[str, Any]] = []

    def _get(self, point: dict[str, Any]) -> int:
        query = {
            "id": self.runner.athlete.device_id, "lat": point["lat"], "lon": point["lon"],
            "timestamp": int(point["t"]), "speed": round(point["spd"] / KNOT_MS, 2),
            "accuracy": point["acc"],
        }  # fmt: skip
        url = f"{self.base_url}/osmand/?{urlencode(query)}"
        try:
            with urllib.request.urlopen(url, timeout=10) as response:
                return int(response.status)
        except urllib.error.HTTPError as exc:
            return exc.code

    async def step(self, now: float, point: dict[str, Any] | None, send: bool) -> None:
        if point is not None:
            self.queue.append(point)
        if self.runner.offline(now) or not send:
            return
        while self.queue:
            try:
                status = await asyncio.to_thread(self._get, self.queue[0])
            except OSError as exc:
                self.stats.errors[f"osmand: {type(exc).__name__}"] += 1
                return  # keep the fix for the next try, as the app does
            self.queue.pop(0)
            if status == 200:
                self.stats.osmand_ok += 1
            else:
                self.stats.errors[f"osmand {status}"] += 1

    async def finish(self, wait: float = 3.0) -> None:
        await self.step(time.time(), None, True)


# --- the whole race --------------------------------------------------------------------------
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
