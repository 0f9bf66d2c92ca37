"""Results while the race runs: a new read updates its athlete and the ranks it moves.

A read changes one athlete's result; their ranks come from counting who is faster,
and the others' ranks shift by one where the athlete passed them (or dropped behind
them), in one ``UPDATE`` of just those rows. No race-wide recompute, so a read costs
a handful of queries whatever the field's size. Everything runs under the race's
results lock (``compute.lock_race``), so the shifts of two reads never interleave;
``recompute_race`` gives the same results from scratch, as the tests check.

Spectators get PROTOCOL.md's ``result`` frame after commit, through tracking's
fan-out (``tracking.fanout.results``). GPS crossings are not framed again here: the
tick that found them already carried theirs.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.db.models import Case, Count, F, Q, When
from django.utils import timezone

from events.models import Registration
from results.bulk import COMPUTED, RowValues
from results.compute import ENTRY_FIELDS, Entry, audit, entries_query, lock_race, row_values
from results.filtering import Counted, Read, count_reads
from results.models import Result, TimingRead
from results.outcome import NO_RANKS, Inputs, Outcome, Ranks, outcome_of, split_key
from results.rules import RaceSetup, load_setup, to_ms
from tracking.fanout.results import publish_result

FINISHED = Result.Status.FINISHED
_STATUS, _SEX, _CATEGORY, _TIME = (
    COMPUTED.index(name) for name in ("status", "sex", "category_id", "time_ms")
)
_RANK = COMPUTED.index("rank_overall")
RANK_FIELDS = ("rank_overall", "rank_sex", "rank_category")


@dataclass(frozen=True, slots=True)
class ResultFrame:
    """A ``result`` frame of PROTOCOL.md §3, for one race's spectators."""

    race_id: int
    athlete: int
    point: str
    time: float
    rank: int | None


@dataclass(slots=True)
class Refreshed:
    """What refreshing one athlete did."""

    values: RowValues
    counted: Counted
    outcome: Outcome
    moved: int  # other results whose ranks changed


def apply_reads(
    *, race_id: int, reads: Iterable[TimingRead], by: Any = None, now: Any = None
) -> list[ResultFrame]:
    """Bring the results of the stored ``reads``' athletes up to date; the frames sent.

    The call for whatever stores reads while a race runs (a decoder's push, the line,
    GPS). Spectators get frames until the race closes. A file of a whole past race
    is cheaper through ``compute.recompute_race``: one pass, not one per athlete."""
    reads = [r for r in reads if r.registration_id is not None]
    if not reads:
        return []
    with transaction.atomic():
        lock_race(race_id)
        setup = load_setup(race_id=race_id, now=now)
        frames: list[ResultFrame] = []
        for registration_id in dict.fromkeys(r.registration_id for r in reads):
            mine = [r for r in reads if r.registration_id == registration_id]
            one = mine[0].pk if len(mine) == 1 else None
            refreshed = refresh_entry(
                setup, registration_id=registration_id, by=by, read_id=one, reason="read"
            )
            if refreshed is not None and not setup.closed:
                frames += _frames(setup, registration_id, mine, refreshed)
        frames = list(dict.fromkeys(frames))  # a chip and a manual read at the same instant
        if frames:
            transaction.on_commit(lambda: send_frames(frames))
        return frames


def refresh_result(
    *, race_id: int, registration_id: int, by: Any = None, reason: str = "", now: Any = None
) -> RowValues | None:
    """Recompute one athlete's result (after a change of their inputs or reads)."""
    with transaction.atomic():
        lock_race(race_id)
        setup = load_setup(race_id=race_id, now=now)
        refreshed = refresh_entry(setup, registration_id=registration_id, by=by, reason=reason)
        return None if refreshed is None else refreshed.values


def refresh_entry(
    setup: RaceSetup,
    *,
    registration_id: int,
    by: Any = None,
    reason: str = "",
    read_id: int | None = None,
) -> Refreshed | None:
    """Recompute one athlete and shift the ranks they move; the caller holds the lock.

    None when the registration holds no place in the results (cancelled, not confirmed
    and never read)."""
    race_id = setup.race_id
    found = Registration.objects.filter(entries_query(race_id), pk=registration_id).values_list(
        *ENTRY_FIELDS
    )
    if not found:
        return None
    entry = Entry(*found[0])
    current = Result.objects.filter(race_id=race_id, registration_id=registration_id).values_list(
        "pk", "manual_status", "penalty_ms", "bonus_ms", *COMPUTED
    )
    pk, inputs, old = None, Inputs(), None
    if current:
        pk, manual, penalty, bonus, *values = current[0]
        inputs, old = Inputs(manual, penalty, bonus), tuple(values)
    reads: list[Read] = [
        (to_ms(at), point, source, rid)
        for at, point, source, rid in TimingRead.objects.filter(
            race_id=race_id, registration_id=registration_id, ignored=False
        ).values_list("time", "point_id", "source", "id")
    ]
    gun = setup.start_of(entry.wave_id)
    counted = count_reads(setup, gun_ms=gun, reads=reads)
    outcome = outcome_of(setup, gun_ms=gun, counted=counted, inputs=inputs)
    unranked = row_values(setup, entry, outcome)
    ranks, moved = move_ranks(race_id=race_id, pk=pk, old=old, new=unranked)
    new = (*unranked[:_RANK], *ranks, *unranked[_RANK + 3 :])
    if old != new:
        fields = dict(zip(COMPUTED, new, strict=True))
        if pk is None:
            pk = Result.objects.create(
                race_id=race_id, registration_id=registration_id, updated_at=timezone.now(),
                **fields,
            ).pk  # fmt: skip
        else:
            Result.objects.filter(pk=pk).update(updated_at=timezone.now(), **fields)
        if setup.official and old is not None:
            audit(race_id=race_id, changes=[(pk, old, new)], by=by, reason=reason, read_id=read_id)
    return Refreshed(values=new, counted=counted, outcome=outcome, moved=moved)


def _standing(row: RowValues | None) -> tuple[int, str, int | None] | None:
    """What a result is ranked by, or None when it is not ranked."""
    if row is None or row[_STATUS] != FINISHED:
        return None
    return row[_TIME], row[_SEX], row[_CATEGORY]


def move_ranks(
    *, race_id: int, pk: int | None, old: RowValues | None, new: RowValues
) -> tuple[Ranks, int]:
    """The athlete's new ranks, after shifting the others' by what changed.

    With competition ranks, an athlete's rank is 1 + the number ranked faster: taking
    one out at time ``a`` lifts everyone slower than ``a`` by one, putting one in at
    ``b`` drops everyone slower than ``b`` by one. Only the rows where that nets to a
    change are written."""
    before, after = _standing(old), _standing(new)
    if before == after:
        return (tuple(old[_RANK : _RANK + 3]) if old and after else NO_RANKS), 0  # type: ignore[return-value]
    others = Result.objects.filter(race_id=race_id, status=FINISHED).exclude(pk=pk)
    shifts: dict[str, Any] = {}
    touched = Q(pk__in=[])
    for name, scope_of in zip(RANK_FIELDS, (_overall, _sex, _category), strict=True):
        drop = _slower(after, scope_of)  # rows the athlete now beats: one place down
        lift = _slower(before, scope_of)  # rows the athlete beat before: one place up
        if drop is None and lift is None:
            continue
        plus = Case(When(drop, then=1), default=0) if drop is not None else 0
        minus = Case(When(lift, then=1), default=0) if lift is not None else 0
        shifts[name] = F(name) + plus - minus
        touched |= _xor(drop, lift)
    moved = others.filter(touched).update(**shifts) if shifts else 0
    if after is None:
        return NO_RANKS, moved
    return _ranks_at(others, after), moved


def _overall(standing: tuple[int, str, int | None]) -> Q | None:
    return Q()


def _sex(standing: tuple[int, str, int | None]) -> Q | None:
    return Q(sex=standing[1])


def _category(standing: tuple[int, str, int | None]) -> Q | None:
    return None if standing[2] is None else Q(category_id=standing[2])


def _slower(standing: tuple[int, str, int | None] | None, scope_of: Any) -> Q | None:
    if standing is None:
        return None
    scope = scope_of(standing)
    return None if scope is None else scope & Q(time_ms__gt=standing[0])


def _xor(a: Q | None, b: Q | None) -> Q:
    if a is None:
        return b or Q(pk__in=[])
    if b is None:
        return a
    return (a & ~b) | (b & ~a)


def _ranks_at(others: Any, standing: tuple[int, str, int | None]) -> Ranks:
    time_ms, sex, category = standing
    faster = Q(time_ms__lt=time_ms)
    counts = others.aggregate(
        overall=Count("pk", filter=faster),
        sex=Count("pk", filter=faster & Q(sex=sex)),
        category=Count("pk", filter=faster & Q(category_id=category)),
    )
    return (
        counts["overall"] + 1,
        counts["sex"] + 1,
        None if category is None else counts["category"] + 1,
    )


def _frames(
    setup: RaceSetup, registration_id: int, reads: list[TimingRead], refreshed: Refreshed
) -> list[ResultFrame]:
    """The frames of the athlete's new reads that count (not GPS: its tick framed it)."""
    frames = []
    for read in reads:
        point = setup.points.get(read.point_id)
        t = to_ms(read.time)
        passes = refreshed.counted.times.get(read.point_id, [])
        if read.source == TimingRead.Source.GPS or point is None or t not in passes:
            continue
        frames.append(
            ResultFrame(
                race_id=setup.race_id,
                athlete=registration_id,
                point=point.name,
                time=round(t / 1000, 3),
                rank=_rank_at_point(setup, point.id, passes.index(t) + 1, refreshed),
            )
        )
    return frames


def _rank_at_point(setup: RaceSetup, point_id: int, n: int, refreshed: Refreshed) -> int | None:
    """Overall rank at the finish; at a split, 1 + those through it in less time."""
    values, outcome = refreshed.values, refreshed.outcome
    if point_id == setup.finish_point and n == setup.laps and outcome.finished_ms is not None:
        return values[_RANK]
    key = split_key(point_id, n)
    elapsed = outcome.splits.get(key)
    if elapsed is None:  # the start: nobody is ranked there
        return None
    faster = Result.objects.filter(race_id=setup.race_id, **{f"splits__{key}__lt": elapsed})
    return faster.count() + 1


def send_frames(frames: list[ResultFrame]) -> None:
    for frame in frames:
        publish_result(
            race_id=frame.race_id,
            athlete=frame.athlete,
            point=frame.point,
            time=frame.time,
            rank=frame.rank,
        )
