"""An event's chip file in the admin: uploaded, mapped, bad lines listed, scoped."""

from __future__ import annotations

from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from results.models import ChipMapping
from results.tests.timing_fixtures import make_timed

URL = "/admin/results/chipmapping/upload/"


def test_it_maps_chips_and_lists_the_lines_it_could_not(
    client: Client, alice: Any, alpha: Any
) -> None:
    timed = make_timed(alpha)
    event = timed.race.event
    ChipMapping.objects.create(event=event, chip="ZX1", bib="1")
    client.force_login(alice)
    data = b"chip;bib\nZX1;101\nZX2;102\nZX3;\n"
    response = client.post(URL, {"event": event.pk, "file": SimpleUploadedFile("chips.csv", data)})
    page = response.content.decode()
    assert "1 chip(s) mapped, 1 changed." in page
    assert "an empty cell is not a bib" in page
    assert dict(ChipMapping.objects.values_list("chip", "bib")) == {"ZX1": "101", "ZX2": "102"}


def test_another_organizers_event_is_no_choice(
    client: Client, alpha: Any, charlie: Any, bravo: Any
) -> None:
    timed = make_timed(alpha)
    client.force_login(charlie)
    data = SimpleUploadedFile("chips.csv", b"ZX1,101\n")
    response = client.post(URL, {"event": timed.race.event.pk, "file": data})
    assert "Select a valid choice" in response.content.decode()
    assert not ChipMapping.objects.exists()
    listed = client.get(reverse("admin:results_chipmapping_changelist"))
    assert listed.status_code == 200


def test_the_list_shows_only_the_organizers_mappings(
    client: Client, alice: Any, alpha: Any, bravo: Any
) -> None:
    mine, theirs = make_timed(alpha), make_timed(bravo, "Bravo 10K")
    ChipMapping.objects.create(event=mine.race.event, chip="MINE1", bib="1")
    ChipMapping.objects.create(event=theirs.race.event, chip="THEIRS1", bib="1")
    client.force_login(alice)
    page = client.get(reverse("admin:results_chipmapping_changelist")).content.decode()
    assert "MINE1" in page and "THEIRS1" not in page


def test_a_typed_mapping_follows_the_chip_files_rules(
    client: Client, alice: Any, alpha: Any
) -> None:
    timed = make_timed(alpha)
    client.force_login(alice)
    add = reverse("admin:results_chipmapping_add")
    refused = client.post(add, {"event": timed.race.event.pk, "chip": "=cmd()", "bib": "101"})
    assert (
        "Starts with &#x27;=&#x27;: a spreadsheet formula, not a chip." in refused.content.decode()
    )
    client.post(add, {"event": timed.race.event.pk, "chip": " ZX9 ", "bib": "101"})
    assert list(ChipMapping.objects.values_list("chip", "bib")) == [("ZX9", "101")]
