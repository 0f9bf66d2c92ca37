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

from django.db import connection, transaction
from django.utils import timezone

from events.models import Registration
from results.bulk import COMPUTED, RowValues, db_values, load_results
from results.compute import ENTRY_FIELDS, Entry, audit, lock_race, row_values
from results.filtering import Counted, Read, count_reads
from results.models import Result, TimingRead
from results.outcome import NO_RANKS, Inputs, Outcome, Ranks, outcome_of, split_key
from results.rules import RaceSetup, read_rows, setup_of, to_ms
from tracking.fanout.results import publish_result

FINISHED = Result.Status.FINISHED
_STATUS, _SEX, _CATEGORY, _TIME = (
    COMPUTED.index(name) for name in ("status", "sex", "category_id", "time_ms")
)
_RANK = COMPUTED.index("rank_overall")
_SPLITS = COMPUTED.index("splits")
RANK_FIELDS = ("rank_overall", "rank_sex", "rank_category")


@dataclass(frozen=True, slots=True)
class ResultFrame:
    """A ``result`` frame of PROTOCOL.md §3, for one race's spectators."""

    race_id: int
    athlete: int
    point: str
    time: float
    rank: int | None
    # At a split: its key and the athlete's time there from their start, ranked on sending.
    split_key: str = ""
    split_ms: int | None = None


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
    athletes: dict[int, list[TimingRead]] = {}
    for read in reads:
        athletes.setdefault(read.registration_id, []).append(read)  # type: ignore[arg-type]
    # No savepoint of our own inside a caller's transaction: two round trips of a read's
    # few, and a failure here is the caller's failure anyway.
    with transaction.atomic(savepoint=False):
        setup = setup_of(lock_race(race_id), now=now)
        frames: list[ResultFrame] = []
        for registration_id, mine in athletes.items():
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
    with transaction.atomic(savepoint=False):
        setup = setup_of(lock_race(race_id), now=now)
        refreshed = refresh_entry(setup, registration_id=registration_id, by=by, reason=reason)
        return None if refreshed is None else refreshed.values


_RESULT_FIELDS = ("pk", "manual_status", "penalty_ms", "bonus_ms", *COMPUTED)
_ENTRY_OF_RESULT = tuple(f"registration__{name}" for name in (*ENTRY_FIELDS, "status"))


def _current(
    race_id: int, registration_id: int
) -> tuple[Entry | None, str, int | None, Inputs, RowValues | None]:
    """The entry, its status, and its result's id, inputs and computed values: one query
    when the result exists (as for everyone once the race's results were computed)."""
    rows = load_results(
        Result.objects.filter(race_id=race_id, registration_id=registration_id),
        *_RESULT_FIELDS[:4],
        tail=_ENTRY_OF_RESULT,
    )
    if rows:
        row = rows[0]
        pk, manual, penalty, bonus, *values = row[: len(_RESULT_FIELDS)]
        *entry, status = row[len(_RESULT_FIELDS) :]
        return Entry(*entry), status, pk, Inputs(manual, penalty, bonus), tuple(values)
    found = Registration.objects.filter(race_id=race_id, pk=registration_id).values_list(
        *ENTRY_FIELDS, "status"
    )
    if not found:
        return None, "", None, Inputs(), None
    *entry, status = found[0]
    return Entry(*entry), status, None, Inputs(), None


def refresh_entry(
    setup: RaceSetup,
    *,
    registration_id: int,
    by: Any = None,
    reason: str = "",
    read_id: int | None = None,
) -> Refreshed | None:
    """Recompute one athlete and shift the ranks they move; the caller holds the lock.

    None when the registration holds no place in the results (cancelled, or neither
    confirmed nor read: ``compute.entries_query``); a result it had is taken out."""
    race_id = setup.race_id
    entry, status, pk, inputs, old = _current(race_id, registration_id)
    reads: list[Read] = [
        tuple(row)
        for row in read_rows(
            TimingRead.objects.filter(
                race_id=race_id, registration_id=registration_id, ignored=False
            )
        )
    ]
    if entry is None or not _has_place(status, bool(reads)):
        if pk is not None:
            _take_out(race_id=race_id, pk=pk, old=old)
        return None
    gun = setup.start_of(entry.wave_id)
    counted = count_reads(setup, gun_ms=gun, reads=reads)
    outcome = outcome_of(setup, gun_ms=gun, counted=counted, inputs=inputs)
    unranked = row_values(setup, entry, outcome)
    ranks, moved = move_ranks(race_id=race_id, pk=pk, old=old, new=unranked)
    new = (*unranked[:_RANK], *ranks, *unranked[_RANK + 3 :])
    if old != new:
        fields = db_values(new)
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


def _has_place(status: str, read: bool) -> bool:
    """As ``compute.entries_query``: confirmed, or read and not cancelled."""
    if status == Registration.Status.CANCELLED:
        return False
    return status == Registration.Status.CONFIRMED or read


def _take_out(*, race_id: int, pk: int, old: RowValues | None) -> None:
    """A result whose entry lost its place goes, and those it was ahead of move up."""
    if old is not None:
        gone = (*old[:_STATUS], Result.Status.DNS, *old[_STATUS + 1 :])
        move_ranks(race_id=race_id, pk=pk, old=old, new=gone)
    Result.objects.filter(pk=pk).delete()


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
        kept: Ranks = (old[_RANK], old[_RANK + 1], old[_RANK + 2]) if old and after else NO_RANKS
        return kept, 0
    ranks = NO_RANKS if after is None else _ranks_at(race_id, pk, before, after)
    times = [s[0] for s in (before, after) if s is not None]
    # Nobody at or ahead of both times moves; nobody behind both either, unless the
    # athlete changed sex or category (then their old and new groups differ).
    where = ["race_id = %s", "status = 'finished'", "time_ms > %s"]
    where_params: list[Any] = [race_id, min(times)]
    if pk is not None:
        where.append("id <> %s")
        where_params.append(pk)
    if before is not None and after is not None and before[1:] == after[1:]:
        where.append("time_ms <= %s")
        where_params.append(max(times))
    sets: list[str] = []
    set_params: list[Any] = []
    touched: list[str] = []
    for k, name in enumerate(RANK_FIELDS):
        drop = _slower(after, k)  # rows the athlete now beats: one place down
        lift = _slower(before, k)  # rows the athlete beat before: one place up
        if drop is None and lift is None:
            continue
        shift = name
        for sign, cond in (("+", drop), ("-", lift)):
            if cond is not None:
                shift += f" {sign} CASE WHEN {cond[0]} THEN 1 ELSE 0 END"
                set_params += cond[1]
        sets.append(f"{name} = {shift}")
        if drop is not None and lift is not None:  # one of the two, not both
            touched.append(f"(({drop[0]}) <> ({lift[0]}))")
            where_params += [*drop[1], *lift[1]]
        else:
            only = drop or lift
            assert only is not None
            touched.append(only[0])
            where_params += only[1]
    if not sets:
        return ranks, 0
    # SQL rather than the ORM's Case/When: building those expressions was most of a
    # read's CPU. Every name below is ours; every value a parameter.
    sql = (
        f"UPDATE {Result._meta.db_table} SET {', '.join(sets)}"
        f" WHERE {' AND '.join(where)} AND ({' OR '.join(touched)})"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*set_params, *where_params])
        moved: int = cursor.rowcount
    return ranks, moved


Cond = tuple[str, list[Any]]


def _slower(standing: tuple[int, str, int | None] | None, scope: int) -> Cond | None:
    """Rows slower than ``standing`` in a group (0 overall, 1 its sex, 2 its category)."""
    if standing is None:
        return None
    time_ms, sex, category = standing
    if scope == 0:
        return "time_ms > %s", [time_ms]
    if scope == 1:
        return "sex = %s AND time_ms > %s", [sex, time_ms]
    if category is None:
        return None
    # "IS NOT NULL" first: a row without a category is false here, not NULL.
    return "category_id IS NOT NULL AND category_id = %s AND time_ms > %s", [category, time_ms]


_NEXT = (
    "SELECT * FROM (SELECT {k} AS k, 0 AS kind, {rank} AS r, time_ms FROM {table}"
    " WHERE {where} AND time_ms >= %s ORDER BY time_ms LIMIT 1) AS next{k}"
)
_LAST = (
    "SELECT * FROM (SELECT {k} AS k, 1 AS kind, {rank} AS r, time_ms FROM {table}"
    " WHERE {where} ORDER BY time_ms DESC LIMIT 1) AS last{k}"
)
_TIES = (
    "SELECT {k} AS k, 2 AS kind, count(*) AS r, NULL AS time_ms FROM {table}"
    " WHERE {where} AND time_ms = (SELECT max(time_ms) FROM {table} WHERE {where})"
)


def _ranks_at(
    race_id: int,
    pk: int | None,
    before: tuple[int, str, int | None] | None,
    after: tuple[int, str, int | None],
) -> Ranks:
    """The athlete's ranks at their new time, read off their neighbours' stored ranks
    before anyone is shifted: a few index lookups, not a count of the field.

    In a group, the first other finisher at or after time ``b`` holds rank 1 + those
    faster than ``b``, plus one if the athlete's own old row (at ``a``) is among them.
    With nobody at or after ``b``, the athlete is last: 1 + everyone, which is the last
    one's rank plus those tied with them."""
    time_ms, sex, category = after
    table = Result._meta.db_table
    scopes: list[tuple[str, str, list[Any]]] = [
        ("rank_overall", "", []),
        ("rank_sex", " AND sex = %s", [sex]),
    ]
    if category is not None:
        scopes.append(("rank_category", " AND category_id = %s", [category]))
    sql: list[str] = []
    params: list[Any] = []
    for k, (rank, extra, values) in enumerate(scopes):
        where = f"race_id = %s AND status = 'finished' AND id <> %s{extra}"
        scope = [race_id, pk or 0, *values]
        sql += [
            _NEXT.format(k=k, rank=rank, table=table, where=where),
            _LAST.format(k=k, rank=rank, table=table, where=where),
            _TIES.format(k=k, table=table, where=where),
        ]
        params += [*scope, time_ms, *scope, *scope, *scope]
    with connection.cursor() as cursor:
        cursor.execute(" UNION ALL ".join(sql), params)
        found = {(k, kind): (r, t) for k, kind, r, t in cursor.fetchall()}
    mine = [before is not None, before is not None and before[1] == sex]
    mine.append(before is not None and category is not None and before[2] == category)
    out: list[int | None] = [None, None, None]
    for k in range(len(scopes)):
        own = before[0] if before is not None and mine[k] else None
        if (k, 0) in found:
            rank_next, at = found[(k, 0)]
            out[k] = rank_next - (own is not None and own < at)
        elif (k, 1) in found:
            rank_last, at = found[(k, 1)]
            out[k] = rank_last - (own is not None and own < at) + found[(k, 2)][0]
        else:
            out[k] = 1
    return out[0], out[1], out[2]


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
        n = passes.index(t) + 1
        rank = _rank_at_point(setup, point.id, n, refreshed)
        key = split_key(point.id, n)
        timed_there = rank is None and point.id != setup.start_point
        split_ms = refreshed.values[_SPLITS].get(key) if timed_there else None
        frames.append(
            ResultFrame(
                race_id=setup.race_id, athlete=registration_id, point=point.name,
                time=round(t / 1000, 3), rank=rank, split_key=key if split_ms is not None else "",
                split_ms=split_ms,
            )
        )  # fmt: skip
    return frames


def _rank_at_point(setup: RaceSetup, point_id: int, n: int, refreshed: Refreshed) -> int | None:
    """The overall rank, at the finish; none here at a start or split: a split's place
    counts the splits of every result of the race, done on sending (``split_rank``), after
    the read's transaction, so the race's lock is not held for it."""
    values, outcome = refreshed.values, refreshed.outcome
    if point_id == setup.finish_point and n == setup.laps and outcome.finished_ms is not None:
        rank: int | None = values[_RANK]
        return rank
    return None


def split_rank(*, race_id: int, key: str, ms: int) -> int:
    """The place at a split of an athlete there ``ms`` after their start: 1 + those
    faster from their own start (competition ranks, as the athlete's page counts them)."""
    lookup = {f"splits__{key}__lt": ms}
    return Result.objects.filter(race_id=race_id, **lookup).count() + 1


def send_frames(frames: list[ResultFrame]) -> None:
    for frame in frames:
        rank = frame.rank
        if rank is None and frame.split_ms is not None:
            rank = split_rank(race_id=frame.race_id, key=frame.split_key, ms=frame.split_ms)
        publish_result(
            race_id=frame.race_id,
            athlete=frame.athlete,
            point=frame.point,
            time=frame.time,
            rank=rank,
        )
