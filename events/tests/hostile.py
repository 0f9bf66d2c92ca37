"""An attacker's strings in every name people type, for the tests that pages escape them.

Shared by the core's pages (``events/tests/test_user_text.py``) and the apps' pages
that show the same names (live tracking's, in ``tracking/tests``).
"""

from __future__ import annotations

from django.utils import timezone

from events.models import (
    Event,
    Organizer,
    Race,
    RaceCategory,
    RaceQuestion,
    Registration,
    SplitPoint,
)
from events.tests.factories import ENTRY_FORM

SCRIPT = "<script>window.__xss=1</script>"
IMG = '<img src=x onerror="window.__xss=2">'
RAW = ("<script>window.__xss", "<img src=x")
ESCAPED = ("&lt;script&gt;window.__xss=1&lt;/script&gt;", "&lt;img src=x onerror=")


def hostile_entry(event: Event) -> Registration:
    """``event`` with markup in every name, and an entry typed by an attacker."""
    race = event.races.get()
    Organizer.objects.filter(pk=event.organizer_id).update(name=IMG, description=SCRIPT)
    Event.objects.filter(pk=event.pk).update(
        name=SCRIPT, summary=IMG, description=SCRIPT, place=IMG, region=SCRIPT
    )
    Race.objects.filter(pk=race.pk).update(name=IMG)
    RaceCategory.objects.create(race=race, code="X", name=SCRIPT)
    split = SplitPoint.objects.filter(course=race.course).first()
    assert split is not None
    SplitPoint.objects.filter(pk=split.pk).update(name=SCRIPT)
    question = RaceQuestion.objects.create(race=race, label=IMG)
    fields = {k: v for k, v in ENTRY_FORM.items() if k not in ("waiver", "first_name")}
    return Registration.objects.create(
        race=race, event=event, status="confirmed", price=0, currency="EUR",
        waiver_accepted_at=timezone.now(), manage_token="hostile-entry", bib="7",
        first_name=SCRIPT, answers={str(question.pk): IMG}, **fields,
    )  # fmt: skip


def assert_escaped(html: str, where: str) -> None:
    for raw in RAW:
        assert raw not in html, f"{where} has {raw!r} unescaped"
    assert any(escaped in html for escaped in ESCAPED), f"{where} shows no hostile name"
