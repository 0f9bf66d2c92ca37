"""Uploading GPX, TCX and FIT files as activities: stored once, bad files a form error."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from integrations.models import Activity, ActivityStream
from integrations.tests.activity_files import START, fit_bytes, run_samples

pytestmark = pytest.mark.django_db
FILES = Path(__file__).parent / "files"


def _upload(client, name: str, raw: bytes):
    return client.post(reverse("integrations:activities"), {"file": SimpleUploadedFile(name, raw)})


@pytest.mark.parametrize("name", ["run.gpx", "run.tcx", "run.fit"])
def test_it_stores_an_uploaded_file_as_an_activity_with_its_stream(client, dave, name) -> None:
    client.force_login(dave)
    response = _upload(client, name, (FILES / name).read_bytes())
    activity = Activity.objects.get(user=dave)
    assert response.status_code == 302
    assert response["Location"] == reverse("integrations:activity", args=[activity.pk])
    assert activity.source == "upload" and activity.sport == "Run"
    assert activity.start == START and activity.end == START + dt.timedelta(minutes=10)
    assert activity.elapsed_time == 600 and activity.moving_time == 600
    assert activity.distance == pytest.approx(1800, rel=0.01)  # 10 minutes at 3 m/s
    stream = ActivityStream.objects.get(activity=activity)
    assert stream.samples == 121 and stream.time[:3] == [0, 5, 10]
    assert stream.heartrate is not None and stream.cadence is not None and stream.latlng
    assert stream.heartrate[0] == 130 and stream.cadence[0] == 84
    assert stream.latlng[0] == [pytest.approx(52.5145), pytest.approx(13.3501)]
    assert stream.resolution == 0


def test_it_stores_the_same_workout_once_whatever_its_file(client, dave) -> None:
    client.force_login(dave)
    for name in ("run.gpx", "run.gpx", "run.fit", "run.tcx"):
        response = _upload(client, name, (FILES / name).read_bytes())
        assert response.status_code == 302
    assert Activity.objects.filter(user=dave).count() == 1
    page = client.get(response["Location"])
    assert b"uploaded this workout already" in page.content
    another = fit_bytes(run_samples(start=START + dt.timedelta(hours=3)))
    _upload(client, "later.fit", another)
    assert Activity.objects.filter(user=dave).count() == 2


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"", b"The submitted file is empty"),
        (b"not a workout", b"Not a GPX, TCX or FIT file"),
        ((FILES / "run.fit").read_bytes()[:-300], b"The FIT file is cut short"),
        ((FILES / "run.gpx").read_bytes()[:5000], b"Not a valid GPX or TCX file"),
    ],
)
def test_it_says_why_a_file_is_refused(client, dave, raw, reason) -> None:
    client.force_login(dave)
    response = _upload(client, "broken.gpx", raw)
    assert response.status_code == 400
    assert reason in response.content
    assert not Activity.objects.exists()


def test_it_refuses_a_file_over_the_size_limit(client, dave, settings) -> None:
    settings.ACTIVITY_UPLOAD_MAX_BYTES = 10_000
    client.force_login(dave)
    response = _upload(client, "run.gpx", (FILES / "run.gpx").read_bytes())
    assert response.status_code == 400
    assert b"The file is 0.0 MB; files up to 0 MB are accepted." in response.content


def test_it_limits_how_many_files_an_athlete_uploads(client, dave, settings) -> None:
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "activity.upload.account": "2/h"}
    client.force_login(dave)
    for _ in range(2):
        assert _upload(client, "x.gpx", b"junk").status_code == 400
    refused = _upload(client, "run.gpx", (FILES / "run.gpx").read_bytes())
    assert refused.status_code == 429 and b"Too many requests" in refused.content


def test_it_asks_for_a_login(client) -> None:
    response = client.get(reverse("integrations:activities"))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(raw=st.binary(min_size=1, max_size=3000), cut=st.integers(min_value=1, max_value=3000))
def test_it_never_fails_on_random_or_truncated_files(client, dave, raw, cut) -> None:
    client.force_login(dave)
    for body in (
        raw,
        (FILES / "run.fit").read_bytes()[:cut],
        (FILES / "run.tcx").read_bytes()[:cut],
    ):
        response = _upload(client, "file.fit", body)
        assert response.status_code in (302, 400)
        if response.status_code == 400:
            assert b"flash-error" in response.content
