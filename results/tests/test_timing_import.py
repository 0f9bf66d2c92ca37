"""Importing a decoder's file in the admin: a preview, nothing stored, then the valid part."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from results.models import ChipMapping, TimingRead
from results.tests.timing_fixtures import Timed, make_timed


@pytest.fixture
def timed(alpha: Any) -> Timed:
    return make_timed(alpha)


def upload(client: Client, timed: Timed, data: bytes, **fields: Any) -> Any:
    body = {"file": SimpleUploadedFile("reads.csv", data), "layout": "auto", **fields}
    return client.post(timed.url("import"), body)


def generic_file(timed: Timed) -> bytes:
    return (
        "bib,chip,time,point\n"
        "101,,09:41:02.250,Finish\n"
        "102,,9:99:00,Finish\n"  # a bad time
        f",ZX9,{timed.day} 09:45:00,finish\n"  # a chip, mapped below
        "103,,09:50:00,Finish\n"  # no such entry: kept, matched later
        "101,,09:20:00,Halfway\n"  # no such point
    ).encode()


def test_it_previews_valid_reads_and_each_bad_line_and_stores_nothing(
    client: Client, alice: Any, timed: Timed
) -> None:
    client.force_login(alice)
    response = upload(client, timed, generic_file(timed))
    assert response.status_code == 302
    preview = client.get(response["Location"])
    page = preview.content.decode()
    assert "<strong>3</strong> valid reads" in page
    assert "<strong>2</strong> lines with a problem" in page
    assert "9:99:00 is not a time of day" in page
    assert "no timing point named &#x27;Halfway&#x27; in this race" in page
    assert "Anna Alder" in page
    assert TimingRead.objects.count() == 0


def test_it_stores_the_valid_part_once_the_organizer_confirms(
    client: Client, alice: Any, timed: Timed
) -> None:
    ChipMapping.objects.create(event=timed.race.event, chip="ZX9", bib="102")
    client.force_login(alice)
    preview_url = upload(client, timed, generic_file(timed))["Location"]
    response = client.post(preview_url)
    assert response.status_code == 302
    assert response["Location"] == timed.url("change")
    reads = {r.bib or r.chip: r for r in TimingRead.objects.filter(race=timed.race)}
    assert set(reads) == {"101", "102", "103"}
    assert reads["101"].registration == timed.anna
    assert reads["101"].time.isoformat() == f"{timed.day}T09:41:02.250000+00:00"
    assert (reads["102"].chip, reads["102"].registration) == ("ZX9", timed.ben)
    assert reads["103"].registration is None
    assert {r.source for r in reads.values()} == {TimingRead.Source.CHIP_FILE}
    assert {r.created_by for r in reads.values()} == {alice}
    desk = client.get(response["Location"]).content.decode()
    assert "3 read(s) stored, 0 already there; 1 match no entry yet." in desk
    assert "Ben Birch" in desk


def test_the_same_file_again_stores_nothing_more(client: Client, alice: Any, timed: Timed) -> None:
    client.force_login(alice)
    client.post(upload(client, timed, generic_file(timed))["Location"])
    preview_url = upload(client, timed, generic_file(timed))["Location"]
    assert "(0 new, 3 already imported)" in client.get(preview_url).content.decode()
    client.post(preview_url)
    assert TimingRead.objects.count() == 3


def test_an_upload_is_confirmed_once_and_only_by_who_uploaded_it(
    client: Client, alice: Any, bob: Any, timed: Timed
) -> None:
    client.force_login(alice)
    preview_url = upload(client, timed, generic_file(timed))["Location"]
    other = Client()
    other.force_login(bob)  # of the same organizer, but not his upload
    response = other.post(preview_url, follow=True)
    assert "no longer kept" in response.content.decode()
    assert TimingRead.objects.count() == 0
    client.post(preview_url)
    again = client.post(preview_url, follow=True)
    assert "no longer kept" in again.content.decode()
    assert TimingRead.objects.count() == 3


def test_another_organizer_cannot_reach_the_race(
    client: Client, alice: Any, charlie: Any, bravo: Any, timed: Timed
) -> None:
    client.force_login(alice)
    preview_url = upload(client, timed, generic_file(timed))["Location"]
    client.force_login(charlie)
    assert client.get(timed.url("import")).status_code == 404
    assert client.get(preview_url).status_code == 404
    assert client.post(preview_url).status_code == 404
    # The desk answers as Django's change page does for an object one may not see.
    assert client.get(timed.url("change"))["Location"] == "/admin/"
    assert TimingRead.objects.count() == 0


def test_a_decoder_file_without_points_takes_the_chosen_one(
    client: Client, alice: Any, timed: Timed
) -> None:
    passings = b"1;101;0000-00-00;09:41:02.250;0;12;27;;0;1;1;0;0;0;0;0;Box;17;1;D-1\n"
    client.force_login(alice)
    without = upload(client, timed, passings)
    assert without.status_code == 200  # the form again, nothing kept
    assert "choose the point where its decoder stood" in without.context["form"].errors["file"][0]
    finish = timed.points["Finish"]
    preview_url = upload(client, timed, passings, point=finish.pk)["Location"]
    client.post(preview_url)
    read = TimingRead.objects.get()
    assert (read.point, read.bib, read.chip, read.registration) == (
        finish,
        "101",
        "101",
        timed.anna,
    )


def test_a_mylaps_file_is_imported_at_its_locations_with_the_chip_file(
    client: Client, alice: Any, timed: Timed
) -> None:
    ChipMapping.objects.create(event=timed.race.event, chip="KV86583", bib="102")
    day = timed.day.replace("-", "")[2:]
    data = (
        "Finish@Pong@$\r\n"
        f"Finish@Passing@t=09:41:02.117|c=KV86583|ct=CX|d={day}|dv=4"
        f"@t=09:41:03.904|c=0000041|ct=UH|d={day}|dv=4|b=101@12@$\r\n"
        f"Halfway@Passing@t=09:20:00.000|c=KV86583|d={day}|dv=1@3@$\r\n"
    ).encode()
    client.force_login(alice)
    preview_url = upload(client, timed, data)["Location"]
    page = client.get(preview_url).content.decode()
    assert "<strong>2</strong> valid reads" in page
    assert "no timing point named &#x27;Halfway&#x27; in this race" in page
    client.post(preview_url)
    reads = {r.chip: r for r in TimingRead.objects.filter(race=timed.race)}
    assert reads["KV86583"].registration == timed.ben  # by the chip file
    assert (reads["0000041"].bib, reads["0000041"].registration) == ("101", timed.anna)
    assert {r.point for r in reads.values()} == {timed.points["Finish"]}
    assert reads["KV86583"].time.isoformat() == f"{timed.day}T09:41:02.117000+00:00"


def test_a_file_that_cannot_be_read_is_refused_with_its_reason(
    client: Client, alice: Any, timed: Timed
) -> None:
    client.force_login(alice)
    response = upload(client, timed, b"PK\x03\x04\x00\x00binary zip")
    assert response.status_code == 200
    assert "This is a binary file, not a text export of a decoder." in response.content.decode()
    assert TimingRead.objects.count() == 0


def test_a_large_file_is_stored_in_bulk_and_the_race_recomputed_once(
    client: Client, alice: Any, timed: Timed
) -> None:
    from results.models import Result
    from results.timing_reads import LIVE_BATCH

    lines = ["bib,time,point", "101,09:00:00,Start", "101,09:41:02.250,Finish"]
    lines += [f"{900 + i},10:{i // 60 % 60:02d}:{i % 60:02d},Finish" for i in range(LIVE_BATCH)]
    client.force_login(alice)
    preview_url = upload(client, timed, "\n".join(lines).encode())["Location"]
    desk = client.post(preview_url, follow=True).content.decode()
    assert (
        f"{LIVE_BATCH + 2} read(s) stored, 0 already there; {LIVE_BATCH} match no entry yet."
        in desk
    )
    assert TimingRead.objects.count() == LIVE_BATCH + 2
    result = Result.objects.get(registration=timed.anna)
    assert (result.status, result.time_ms) == (Result.Status.FINISHED, 41 * 60_000 + 2_250)
