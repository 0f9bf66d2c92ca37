"""Raw streams kept INTEGRATIONS_RAW_STREAM_DAYS, then downsampled by the scheduled task."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.conf import settings as django_settings
from django.urls import reverse

from integrations import tasks
from integrations.models import ActivityStream, Play
from integrations.retention import downsample_old_streams
from integrations.tests.activity_files import START, gpx_bytes, run_samples
from integrations.uploads import upload_activity

pytestmark = pytest.mark.django_db


def _stream(user) -> ActivityStream:
    activity = upload_activity(user=user, raw=gpx_bytes(run_samples())).activity
    return ActivityStream.objects.get(activity=activity)


def test_it_keeps_raw_streams_for_their_retention_then_downsamples_them(dave) -> None:
    stream = _stream(dave)
    assert stream.heartrate is not None
    raw_hr = list(stream.heartrate)
    kept = START + dt.timedelta(days=django_settings.INTEGRATIONS_RAW_STREAM_DAYS - 1)
    assert downsample_old_streams(now=kept) == 0
    later = START + dt.timedelta(days=django_settings.INTEGRATIONS_RAW_STREAM_DAYS, minutes=1)
    assert downsample_old_streams(now=later) == 1
    stream.refresh_from_db()
    assert stream.resolution == 10 and stream.downsampled_at == later
    assert stream.latlng is not None and stream.cadence is not None and stream.heartrate
    assert stream.samples == 61 and len(stream.latlng) == 61 and len(stream.cadence) == 61
    assert stream.time[:3] == [0, 10, 20]
    assert stream.heartrate[1] == (raw_hr[2] + raw_hr[3]) / 2
    assert downsample_old_streams(now=later + dt.timedelta(days=30)) == 0  # once only


def test_it_runs_from_the_beat_on_a_moved_clock_and_the_page_still_draws(client, dave) -> None:
    stream = _stream(dave)
    Play.objects.create(
        user=dave, source="spotify", track="Kept", played_at=START, started_at=START,
        duration_ms=300_000,
    )  # fmt: skip
    entry = django_settings.CELERY_BEAT_SCHEDULE["downsample-old-streams"]
    assert entry["task"] == tasks.downsample_old_streams.name
    with time_machine.travel(START + dt.timedelta(days=93), tick=False):
        tasks.downsample_old_streams.apply()
    stream.refresh_from_db()
    assert stream.resolution == 10
    client.force_login(dave)
    html = client.get(reverse("integrations:activity", args=[stream.activity_id])).content.decode()
    assert "downsampled" in html and "Kept" in html
