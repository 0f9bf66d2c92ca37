"""An athlete's results in their data export, and kept (nameless) after they delete it."""

from __future__ import annotations

import datetime as dt
import io
import json
import zipfile

import pytest
from django.urls import reverse
from django.utils import timezone

from events.models import Registration
from pace.lib.testing import PASSWORD
from results.models import Result

pytestmark = pytest.mark.django_db


def test_it_exports_the_athletes_results_and_keeps_them_anonymised(
    client, dave, alpha_event
) -> None:
    race = alpha_event.races.get()
    entry = Registration.objects.create(
        race=race, event=alpha_event, user=dave, status="confirmed", email=dave.email,
        first_name="Dave", last_name="Runner", birth_date=dt.date(1990, 6, 15), sex="M",
        nationality="DE", emergency_name="Mum", emergency_phone="1", price=0, currency="EUR",
        waiver_accepted_at=timezone.now(), manage_token="t-dave", bib="7",
    )  # fmt: skip
    Result.objects.create(
        race=race, registration=entry, status="finished", time_ms=3_000_000, rank_overall=4
    )
    client.force_login(dave)
    response = client.get(reverse("integrations:my_data_export"))
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    [row] = json.loads(archive.read("pace-data.json"))["results"]["results"]
    assert (row["race"], row["time_ms"], row["rank_overall"]) == (race.name, 3_000_000, 4)
    client.post(reverse("integrations:my_data"), {"password": PASSWORD})
    result = Result.objects.select_related("registration").get()
    assert result.rank_overall == 4 and result.registration.last_name == "athlete"
