"""Demo entries: believable athletes in the demo races, with bibs (their payments are
payments' part of the demo)."""

from __future__ import annotations

import datetime as dt
import random
import secrets

from django.utils import timezone

from events.models import Race, RaceCategory, Registration
from events.registration import category_for

FIRST = {
    "F": ["Anna", "Sofia", "Lea", "Marta", "Clara", "Emma", "Ines", "Julia", "Nora", "Eva",
          "Laura", "Chiara", "Maja", "Sara", "Ida", "Zoe", "Alice", "Lucia", "Hanna", "Elena"],
    "M": ["Lukas", "Mateo", "Jonas", "Pablo", "Luca", "Noah", "Hugo", "Finn", "Marco", "Erik",
          "Tomas", "Jan", "Leo", "David", "Oscar", "Felix", "Max", "Pierre", "Nils", "Adam"],
}  # fmt: skip
LAST = ["Müller", "García", "Rossi", "Martin", "Jansen", "Nielsen", "Novák", "Kowalski",
        "Silva", "Dubois", "Schmidt", "Fernández", "Bianchi", "Larsen", "Murphy", "Berg",
        "Moreau", "Weber", "López", "Ricci", "Andersson", "Bauer", "Costa", "Horvat"]  # fmt: skip
COUNTRIES = ["DE", "FR", "ES", "IT", "NL", "GB", "DK", "SE", "PL", "PT", "CH", "AT", "BE", "IE"]
CLUBS = ["", "", "", "Running Club", "Athletics", "Trail Team", "Tri Club", "Harriers"]


def demo_categories(race: Race) -> None:
    """Age groups by sex, as a timing company sets them up: senior, 40s, 50 and over."""
    groups = [
        ("SEN", "Senior", 18, 39),
        ("M40", "Master 40", 40, 49),
        ("M50", "Master 50+", 50, None),
    ]
    for sex, label in (("F", "Women"), ("M", "Men")):
        for code, name, lo, hi in groups:
            RaceCategory.objects.get_or_create(
                race=race,
                code=f"{sex}-{code}",
                defaults={"name": f"{label} {name}", "sex": sex, "min_age": lo, "max_age": hi},
            )


def demo_entries(*, race: Race, count: int, seed: int) -> list[Registration]:
    """Add ``count`` confirmed entries with bibs to a race; returns them."""
    rng = random.Random(seed)
    event = race.event
    first_bib = race.bib_from or 1
    taken = set(Registration.objects.filter(event=event).values_list("bib", flat=True))
    bibs = (str(n) for n in range(first_bib, first_bib + 100_000) if str(n) not in taken)
    day = race.start_time.date()
    now = timezone.now()
    entries = []
    for _ in range(count):
        sex = rng.choice("FM")
        first, last = rng.choice(FIRST[sex]), rng.choice(LAST)
        birth = dt.date(day.year - rng.randint(19, 68), rng.randint(1, 12), rng.randint(1, 28))
        club = rng.choice(CLUBS)
        entries.append(
            Registration(
                race=race,
                event=event,
                status=Registration.Status.CONFIRMED,
                email=f"{first}.{last}.{rng.randint(1, 9999)}@example.com".lower(),
                first_name=first,
                last_name=last,
                birth_date=birth,
                sex=sex,
                nationality=rng.choice(COUNTRIES),
                club=f"{last} {club}".strip() if club else "",
                emergency_name=f"{rng.choice(FIRST['F' if sex == 'M' else 'M'])} {last}",
                emergency_phone=f"+{rng.randint(30, 49)} {rng.randint(100000000, 999999999)}",
                tshirt_size=rng.choice(["S", "M", "M", "L", "L", "XL"]),
                category=category_for(race=race, birth_date=birth, sex=sex),
                bib=next(bibs),
                list_price=race.entry_fee,
                price=race.entry_fee,
                currency=event.currency,
                payment_method="free" if not race.entry_fee else "on_site",
                waiver_accepted_at=now,
                manage_token=secrets.token_urlsafe(32),
            )
        )
    return Registration.objects.bulk_create(entries)
