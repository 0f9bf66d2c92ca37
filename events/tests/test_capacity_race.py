"""The last place of a race goes to exactly one of many concurrent buyers."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from django.db import connection, connections

from events.models import Registration
from events.registration import RegistrationError, registration_create
from events.tests.factories import make_event, make_organizer, make_race

BUYERS = 50


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks need PostgreSQL")
def test_it_sells_the_last_place_once_to_50_concurrent_buyers():
    race = make_race(make_event(make_organizer("Crowded"), "Crowded 10K"))
    race.capacity = 1
    race.save()
    barrier = threading.Barrier(BUYERS)
    outcomes: list[str] = []

    def buy(n: int) -> None:
        entry = {
            "email": f"b{n}@example.com", "first_name": "B", "last_name": str(n),
            "birth_date": dt.date(1990, 1, 1), "sex": "M", "nationality": "FR",
            "emergency_name": "E", "emergency_phone": "1",
        }  # fmt: skip
        barrier.wait()
        try:
            registration_create(race=race, user=None, entry=entry, answers={})
            outcomes.append("entered")
        except RegistrationError as exc:
            outcomes.append(str(exc))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=buy, args=(n,)) for n in range(BUYERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert outcomes.count("entered") == 1
    assert outcomes.count("This race is full.") == BUYERS - 1
    assert Registration.objects.filter(race=race).count() == 1
