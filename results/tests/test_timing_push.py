"""``POST /timing/reads/``: per-race tokens, per-read answers, idempotency, isolation, limits."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from events.tests.factories import make_event, make_race
from results.admin_edits import audit_rows
from results.models import Result, ResultChange, ResultsPublication, TimingRead, TimingToken
from results.models.tokens import token_digest
from results.publishing import results_publish
from results.tests.factories import make_read
from results.tests.timing_fixtures import Timed, make_timed
from results.timing_tokens import timing_token_create, timing_token_revoke

URL = "/timing/reads/"


@pytest.fixture
def timed(alpha: Any) -> Timed:
    return make_timed(alpha)


@pytest.fixture
def secret(timed: Timed, alice: Any) -> str:
    return timing_token_create(race=timed.race, name="Finish decoder", actor=alice)[1]


def push(client: Client, secret: str, body: Any) -> Any:
    raw = body if isinstance(body, bytes) else json.dumps(body)
    return client.post(
        URL, raw, content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {secret}"
    )


def a_read(timed: Timed, read_id: str, bib: str = "101", **fields: Any) -> dict[str, Any]:
    return {
        "id": read_id,
        "bib": bib,
        "point": "Finish",
        "time": f"{timed.day}T09:41:02.250Z",
        **fields,
    }


def test_it_stores_a_batch_and_answers_per_read(client: Client, timed: Timed, secret: str) -> None:
    body = {"reads": [a_read(timed, "r1"), a_read(timed, "r2", bib="", chip="ZX9", time_ms=0)]}
    del body["reads"][1]["time"]
    body["reads"][1]["time_ms"] = int(timed.race.start_time.timestamp() * 1000) + 2_500_123
    response = push(client, secret, body)
    assert response.status_code == 200
    assert response.json() == {
        "stored": 2, "duplicate": 0, "rejected": 0,
        "results": [
            {"index": 0, "id": "r1", "status": "stored"},
            {"index": 1, "id": "r2", "status": "stored"},
        ],
    }  # fmt: skip
    first, second = TimingRead.objects.order_by("time")
    assert (first.registration, first.source, first.source_read_id) == (timed.anna, "push", "r1")
    assert first.time.isoformat() == f"{timed.day}T09:41:02.250000+00:00"
    assert (second.chip, second.registration, second.time.microsecond) == ("ZX9", None, 123000)


def test_a_pushed_finish_moves_the_athletes_result(
    client: Client, timed: Timed, secret: str
) -> None:
    make_read(timed.points["Start"], timed.anna, 0)
    push(client, secret, {"reads": [a_read(timed, "r1")]})
    result = Result.objects.get(registration=timed.anna)
    assert (result.status, result.time_ms) == (Result.Status.FINISHED, 41 * 60_000 + 2_250)


def test_a_pushed_read_names_its_token_as_its_author_in_the_audit_trail(
    client: Client, timed: Timed, secret: str, alice: Any
) -> None:
    make_read(timed.points["Start"], timed.anna, 0)
    results_publish(race_id=timed.race.pk, by=alice)  # official: every change is audited
    push(client, secret, {"reads": [a_read(timed, "r1")]})
    token = TimingToken.objects.get(race=timed.race)
    read = TimingRead.objects.get(source_read_id="r1")
    assert (read.token, read.created_by) == (token, None)
    rows = audit_rows(ResultChange.objects.filter(race=timed.race, read=read), dt.UTC)
    assert rows and {row["who"] for row in rows} == {
        f"timing token “Finish decoder” ({token.hint}…)"
    }
    client.force_login(alice)
    publication = ResultsPublication.objects.get(race=timed.race)
    page = client.get(f"/admin/results/resultspublication/{publication.pk}/change/")
    assert "timing token “Finish decoder”" in page.content.decode()


def test_the_same_read_id_again_is_a_duplicate_not_a_new_read(
    client: Client, timed: Timed, secret: str
) -> None:
    push(client, secret, {"reads": [a_read(timed, "r1")]})
    response = push(client, secret, {"reads": [a_read(timed, "r1"), a_read(timed, "r2")]})
    assert response.status_code == 200
    assert [r["status"] for r in response.json()["results"]] == ["duplicate", "stored"]
    assert TimingRead.objects.count() == 2


def test_an_integer_read_id_resent_is_a_duplicate(
    client: Client, timed: Timed, secret: str
) -> None:
    """A decoder sending ``"id": 7`` stores the read "7"; the resend is told it is a
    duplicate, not "stored" (found by the hypothesis test below)."""
    read = {**a_read(timed, "x"), "id": 7}
    assert push(client, secret, {"reads": [read]}).json()["stored"] == 1
    again = push(client, secret, {"reads": [read]}).json()
    assert (again["stored"], again["duplicate"]) == (0, 1)
    assert again["results"][0]["status"] == "duplicate"
    assert TimingRead.objects.count() == 1


def test_bad_reads_are_refused_one_by_one_with_a_reason(
    client: Client, timed: Timed, secret: str
) -> None:
    reads = [
        a_read(timed, "ok"),
        a_read(timed, "p", point="Halfway"),
        a_read(timed, "t", time="9:99"),
        a_read(timed, "f", bib="=SUM(A1)"),
        {"id": "n", "point": "Finish", "time": "09:00:00"},
        "not an object",
        a_read(timed, "ok"),
    ]
    response = push(client, secret, {"reads": reads})
    assert response.status_code == 207
    results = response.json()["results"]
    assert [r["status"] for r in results] == ["stored"] + ["rejected"] * 6
    assert (
        results[1]["field"] == "point" and "no timing point named 'Halfway'" in results[1]["reason"]
    )
    assert results[2]["field"] == "time" and "is not a time" in results[2]["reason"]
    assert results[3]["field"] == "bib" and "spreadsheet formula" in results[3]["reason"]
    assert results[4]["reason"] == "a read names a bib or a chip"
    assert results[5]["reason"] == "must be an object"
    assert results[6]["reason"] == "sent twice in this batch"
    assert TimingRead.objects.count() == 1


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"{not json", "The body is not JSON."),
        (b"[]", 'The body must be a JSON object with a list "reads".'),
        (b'{"reads": []}', '"reads" is empty.'),
        (json.dumps({"reads": [{}] * 501}).encode(), "At most 500 reads a request"),
    ],
)
def test_a_body_that_is_no_batch_is_a_400(
    client: Client, secret: str, body: bytes, reason: str
) -> None:
    response = push(client, secret, body)
    assert response.status_code == 400
    assert response.json()["error"].startswith(reason)


def test_a_body_too_large_is_a_413(client: Client, secret: str) -> None:
    assert push(client, secret, b" " * (300 * 1024)).status_code == 413


def test_all_reads_rejected_is_a_400(client: Client, timed: Timed, secret: str) -> None:
    response = push(client, secret, {"reads": [a_read(timed, "x", point="Nowhere")]})
    assert response.status_code == 400
    assert response.json()["rejected"] == 1


@pytest.mark.parametrize("header", ["", "Bearer ", "Bearer pt_guess", "Basic pt_x", "Token abc"])
def test_no_live_token_is_a_401(client: Client, timed: Timed, header: str) -> None:
    response = client.post(
        URL, json.dumps({"reads": [a_read(timed, "r")]}), content_type="application/json",
        HTTP_AUTHORIZATION=header,
    )  # fmt: skip
    assert response.status_code == 401
    assert TimingRead.objects.count() == 0


def test_a_revoked_token_pushes_nothing(client: Client, timed: Timed, secret: str) -> None:
    timing_token_revoke(token=TimingToken.objects.get())
    assert push(client, secret, {"reads": [a_read(timed, "r")]}).status_code == 401
    assert TimingRead.objects.count() == 0


def test_only_a_digest_of_the_token_is_kept(secret: str) -> None:
    token = TimingToken.objects.get()
    assert token.digest == token_digest(secret) and secret not in token.digest
    assert secret.startswith(token.hint) and len(token.hint) < 12


def test_a_token_of_one_organizer_never_touches_another_s_race(
    client: Client, timed: Timed, secret: str, bravo: Any, charlie: Any
) -> None:
    """Bravo's token names Alpha's points and bibs: they are not its race's, so nothing of
    Alpha's changes, and Bravo's own race gets only what its points and entries allow."""
    theirs = make_timed(bravo, "Bravo 10K")
    bravo_secret = timing_token_create(race=theirs.race, name="Bravo", actor=charlie)[1]
    timed.points["Finish"].name = "Alpha finish"
    timed.points["Finish"].save()
    response = push(
        client, bravo_secret,
        {"reads": [a_read(timed, "a", point="Alpha finish"), a_read(timed, "b", bib="101")]},
    )  # fmt: skip
    assert [r["status"] for r in response.json()["results"]] == ["rejected", "stored"]
    assert not TimingRead.objects.filter(race=timed.race).exists()
    stored = TimingRead.objects.get()
    assert (stored.race, stored.point, stored.registration) == (
        theirs.race,
        theirs.points["Finish"],
        theirs.anna,
    )
    # And Alpha's token, pushing the same ids, makes its own reads: ids are per race.
    push(client, secret, {"reads": [a_read(timed, "b", point="Alpha finish")]})
    assert TimingRead.objects.filter(race=timed.race, registration=timed.anna).count() == 1


def test_failed_tokens_are_limited_per_address(client: Client, settings: Any, timed: Timed) -> None:
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "timing.push.badtoken.ip": "2/m"}
    codes = [push(client, "pt_wrong", {"reads": []}).status_code for _ in range(4)]
    assert codes == [401, 401, 429, 429]


def test_a_token_is_limited_per_token(
    client: Client, settings: Any, timed: Timed, secret: str
) -> None:
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "timing.push.token": "2/m"}
    codes = [
        push(client, secret, {"reads": [a_read(timed, f"r{i}")]}).status_code for i in range(3)
    ]
    assert codes == [200, 200, 429]
    assert TimingRead.objects.count() == 2


def test_it_takes_only_post(client: Client, secret: str) -> None:
    assert client.get(URL, HTTP_AUTHORIZATION=f"Bearer {secret}").status_code == 405


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
read_like = st.fixed_dictionaries(
    {},
    optional={
        "id": st.text(max_size=12) | st.integers(),
        "bib": st.sampled_from(["101", "102", "999", "", "=1"]) | json_values,
        "chip": st.text(max_size=10) | json_values,
        "point": st.sampled_from(["Finish", "finish", "Start", "Nope"]) | json_values,
        "time": st.sampled_from(["09:00:00", "2026-05-10T09:00:00Z", "24:00:00"]) | json_values,
        "time_ms": st.integers() | json_values,
    },
)
bodies = st.one_of(
    json_values,
    st.fixed_dictionaries({"reads": st.lists(read_like | json_values, max_size=6)}),
)


@settings(
    max_examples=150, deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)  # fmt: skip
@given(body=bodies)
def test_no_body_gets_anything_but_an_answer(
    client: Client, timed: Timed, secret: str, settings: Any, body: Any
) -> None:
    settings.RATE_LIMITS = {}
    before = TimingRead.objects.count()
    response = push(client, secret, body)
    assert response.status_code in (200, 207, 400)
    answer = response.json()
    if response.status_code != 400 or "results" in answer:
        stored = answer["stored"]
        assert TimingRead.objects.count() == before + stored
        assert len(answer["results"]) == len(body["reads"])
    assert not TimingRead.objects.exclude(race=timed.race).exists()


def test_the_admin_shows_a_new_token_once(client: Client, alice: Any, timed: Timed) -> None:
    client.force_login(alice)
    add = reverse("admin:results_timingtoken_add")
    response = client.post(add, {"race": timed.race.pk, "name": "Finish decoder"})
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    token = TimingToken.objects.get()
    secret = response.context["secret"]
    assert token_digest(secret) == token.digest
    assert secret in response.content.decode()
    assert f'href="{timed.url("change")}"' in response.content.decode()  # back to the desk
    change = client.get(reverse("admin:results_timingtoken_change", args=[token.pk]))
    assert secret not in change.content.decode()
    assert token.hint in change.content.decode()


def test_the_admin_revokes_tokens_of_its_organizer_only(
    client: Client, alice: Any, charlie: Any, bravo: Any, timed: Timed, secret: str
) -> None:
    theirs = make_timed(bravo, "Bravo 10K")
    timing_token_create(race=theirs.race, name="Bravo", actor=charlie)
    client.force_login(alice)
    changelist = reverse("admin:results_timingtoken_changelist")
    listed = client.get(changelist).content.decode()
    assert "Finish decoder" in listed and "Bravo" not in listed
    every = list(TimingToken.objects.values_list("pk", flat=True))
    client.post(changelist, {"action": "revoke", "_selected_action": every})
    assert TimingToken.objects.get(race=timed.race).revoked_at is not None
    assert TimingToken.objects.get(race=theirs.race).revoked_at is None
    assert push(client, secret, {"reads": [a_read(timed, "r")]}).status_code == 401


def test_another_organizer_cannot_make_a_token_for_the_race(
    client: Client, charlie: Any, bravo: Any, timed: Timed
) -> None:
    client.force_login(charlie)
    add = reverse("admin:results_timingtoken_add")
    response = client.post(add, {"race": timed.race.pk, "name": "Sneaky"})
    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()
    assert not TimingToken.objects.exists()


def test_a_race_with_no_points_yet_gets_its_defaults_and_stores_the_reads(
    client: Client, alpha: Any, alice: Any
) -> None:
    """A token made from the token list for a race whose desk was never opened."""
    race = make_race(make_event(alpha, "Fresh 10K"))
    fresh_secret = timing_token_create(race=race, name="Finish decoder", actor=alice)[1]
    read = {
        "id": "F-1",
        "bib": "7",
        "point": "Finish",
        "time": f"{race.start_time:%Y-%m-%d}T09:41:02Z",
    }
    response = push(client, fresh_secret, {"reads": [read]})
    assert response.status_code == 200, response.json()
    assert TimingRead.objects.get(race=race).point.name == "Finish"
