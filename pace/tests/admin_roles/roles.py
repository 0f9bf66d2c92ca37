"""Who holds which role where, the roles every admin action and URL needs (found from the
admin site's registry), the world they are tried on, and the helpers that read it."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.apps import apps
from django.contrib import admin
from django.contrib.admin.models import LogEntry
from django.contrib.admin.utils import flatten_fieldsets
from django.contrib.auth import get_user_model
from django.core import mail
from django.db.models import Model
from django.test import Client, RequestFactory

from events.models import (
    DiscountCode,
    Event,
    Organizer,
    Race,
    RaceCategory,
    Registration,
    Team,
    WaitlistEntry,
)
from events.registration import registration_create
from events.tests.factories import ROLES, make_course, make_event, make_organizer, make_race
from payments.checkout import payment_settle_on_site
from payments.models import ConnectedAccount, Payment, Refund
from results.models import (
    ChipMapping,
    Result,
    ResultsPublication,
    Series,
    SeriesRace,
    Stage,
    StageRace,
    TimingPoint,
    TimingRead,
)
from results.timing_tokens import timing_token_create
from tracking.models import Post, Tracker

OWNER, ADMIN, STAFF = ROLES.OWNER, ROLES.ADMIN, ROLES.STAFF
EDIT = frozenset({OWNER, ADMIN, STAFF})
MANAGE = frozenset({OWNER, ADMIN})
PLATFORM: frozenset[str] = frozenset()  # platform staff only
TENANTS = ["alpha", "bravo"]

# Who holds which role where. Nobody here is platform staff.
PERSONAS: dict[str, dict[str, str]] = {
    "alice": {"alpha": OWNER},
    "bob": {"alpha": STAFF, "bob": OWNER},
    "charlie": {"bravo": OWNER},
    "erin": {"alpha": STAFF, "bravo": ADMIN},
}

# The roles each action needs at the organizer of the objects it acts on.
ACTION_ROLES: dict[tuple[str, str], frozenset[str]] = {
    ("events.organizer", "delete_selected"): PLATFORM,
    ("events.event", "publish"): EDIT,
    ("events.event", "unpublish"): EDIT,
    ("events.event", "cancel"): EDIT,
    ("events.event", "delete_selected"): MANAGE,
    ("events.race", "delete_selected"): MANAGE,
    ("events.course", "delete_selected"): MANAGE,
    ("events.registration", "check_in"): EDIT,
    ("events.registration", "assign_bibs"): EDIT,
    ("events.registration", "export_csv"): EDIT,
    ("events.registration", "export_xlsx"): EDIT,
    ("events.registration", "email_selected"): MANAGE,
    ("events.registration", "cancel_entries"): MANAGE,
    ("events.waitlistentry", "offer_places"): EDIT,
    ("events.discountcode", "delete_selected"): MANAGE,
    ("payments.payment", "mark_paid_on_site"): EDIT,
    ("payments.payment", "refund"): MANAGE,
    ("tracking.post", "hide"): EDIT,
    ("tracking.post", "show"): EDIT,
    ("tracking.post", "delete_selected"): MANAGE,
    ("tracking.tracker", "revoke"): EDIT,
    ("tracking.tracker", "delete_selected"): MANAGE,
    ("results.resultspublication", "publish"): MANAGE,
    ("results.resultspublication", "unpublish"): MANAGE,
    ("results.timingtoken", "revoke"): EDIT,
    ("results.timingtoken", "delete_selected"): MANAGE,
    ("results.chipmapping", "delete_selected"): MANAGE,
    ("results.series", "recompute"): EDIT,
    ("results.series", "delete_selected"): MANAGE,
    ("results.stagerace", "delete_selected"): MANAGE,
    ("results.stage", "delete_selected"): MANAGE,
}
# Actions whose effect shows in the database (or the outbox) when they are allowed.
CHANGING = {
    "publish", "unpublish", "cancel", "check_in", "assign_bibs", "email_selected",
    "cancel_entries", "offer_places", "mark_paid_on_site", "hide", "show", "revoke",
    "recompute",
}  # fmt: skip

# The roles each custom admin URL needs at the organizer of the object it names
# (None: a page of its own, scoped to what the user may see).
URL_ROLES: dict[str, frozenset[str] | None] = {
    "events_registration_dashboard": None,
    "events_registration_start_list": EDIT,
    "events_registration_email": MANAGE,
    "payments_payment_refund": MANAGE,
    "payments_fee_report": None,
    "payments_onboard": MANAGE,
    "payments_onboard_return": MANAGE,
    "results_export_csv": EDIT,
    "results_export_xlsx": EDIT,
    "results_participation": None,
    "results_chipmapping_upload": None,
    "results_racetiming_import": EDIT,
    "results_racetiming_preview": EDIT,
    "results_racetiming_manual": EDIT,
    "results_result": EDIT,
    "results_result_edit": MANAGE,
}
# What an id in a custom URL names (``object_id``: the admin's own model).
URL_KWARGS: dict[str, type[Model]] = {
    "race_id": Race, "organizer_id": Organizer, "point_id": TimingPoint, "result_id": Result,
}  # fmt: skip

# Who may see, and who may delete, each model's objects (default: any role; managers).
VIEW_ROLES = {"payments.connectedaccount": MANAGE}
DELETE_ROLES = {
    "events.organizer": PLATFORM,
    "events.registration": frozenset(),
    "events.team": frozenset(),
    "events.waitlistentry": frozenset(),
    "payments.payment": frozenset(),
    "payments.refund": frozenset(),
    "payments.moneylog": frozenset(),
    "payments.connectedaccount": frozenset(),
    "results.racetiming": frozenset(),
}
STANDARD_VIEWS = {"changelist", "add", "history", "delete", "change"}
SCOPED_MODELS = [m for m in apps.get_models() if hasattr(m, "ORGANIZER_PATH")]


def _scoped_admins() -> list[tuple[str, Any]]:
    return sorted(
        (model._meta.label_lower, model_admin)
        for model, model_admin in admin.site._registry.items()
        if hasattr(model, "ORGANIZER_PATH")
    )


def _platform_request() -> Any:
    """A request of platform staff, to whom every action and view is offered."""
    request = RequestFactory().get("/admin/")
    request.user = get_user_model()(username="root", is_staff=True, is_active=True)
    return request


def _actions() -> list[tuple[str, str]]:
    request = _platform_request()
    return [
        (label, name)
        for label, model_admin in _scoped_admins()
        for name in model_admin.get_actions(request)
    ]


def _custom_urls() -> list[tuple[str, str, list[str]]]:
    """(model, URL name, the names of its ids) of every admin URL beyond Django's own."""
    found = []
    for label, model_admin in _scoped_admins():
        prefix = label.replace(".", "_") + "_"
        for pattern in model_admin.get_urls():
            name = getattr(pattern, "name", None)
            if name and name.removeprefix(prefix) not in STANDARD_VIEWS:
                found.append((label, name, list(pattern.pattern.converters)))
    return found


ACTIONS = _actions()
CUSTOM_URLS = _custom_urls()
MODELS = [label for label, _ in _scoped_admins()]


# --- One world for the whole package ------------------------------------------------


def _user(name: str) -> Any:
    user = get_user_model().objects.create(username=name, email=f"{name}@example.com")
    user.set_unusable_password()
    user.save()
    return user


def _entry(race: Race, first: str) -> Registration:
    entry = {
        "email": f"{first.lower()}@example.com", "first_name": first, "last_name": race.name,
        "birth_date": dt.date(1985, 3, 4), "sex": "F", "nationality": "FR", "club": "",
        "emergency_name": "Someone", "emergency_phone": "+33 6 00 00 00 00",
    }  # fmt: skip
    registration = registration_create(race=race, user=None, entry=entry, answers={}, code="")
    Registration.objects.filter(pk=registration.pk).update(status=Registration.Status.CONFIRMED)
    return registration


def _tenant(organizer: Organizer, name: str, actor: Any) -> None:
    """An organizer with one of everything its admins act on."""
    event = make_event(organizer, f"{name} Marathon")
    make_event(organizer, f"{name} Draft", status=Event.Status.DRAFT)
    race = make_race(event, f"{name} 10K", course=make_course(organizer))
    Race.objects.filter(pk=race.pk).update(capacity=10, bib_from=1, bib_to=50)
    RaceCategory.objects.create(race=race, code="SEN", name=f"{name} Seniors")
    rita, paul = _entry(race, f"{name}rita"), _entry(race, f"{name}paul")
    Payment.objects.filter(registration__in=[rita, paul]).update(
        status=Payment.Status.DUE_ON_SITE, method=Payment.Method.ON_SITE
    )
    payment_settle_on_site(payment=paul.payments.get(), actor=actor)
    paid = paul.payments.get()
    Refund.objects.create(payment=paid, amount=1, reason="Goodwill", created_by=actor)
    Registration.objects.filter(pk=rita.pk).update(team=Team.objects.create(race=race, name=name))
    WaitlistEntry.objects.create(race=race, name=name, email=f"{name.lower()}@wait.org")
    DiscountCode.objects.create(event=event, code=f"{name.upper()}10", amount=10)
    Tracker.objects.create(registration=rita)
    Post.objects.create(race=race, registration=rita, text=f"{name} shown")
    Post.objects.create(race=race, registration=paul, text=f"{name} hidden", hidden=True)
    ConnectedAccount.objects.create(organizer=organizer, stripe_id=f"acct_{name.lower()}")
    # Official, so that publishing (computed afresh) and unpublishing both change something.
    ResultsPublication.objects.create(race=race, state=ResultsPublication.State.OFFICIAL)
    finish = TimingPoint.objects.create(race=race, name="Finish", kind="finish", distance_m=10_000)
    # A result with its read, for the pages that change one athlete's result.
    at = race.start_time + dt.timedelta(minutes=50)
    TimingRead.objects.create(race=race, point=finish, registration=rita, time=at, source="manual")
    Result.objects.create(race=race, registration=rita)
    ChipMapping.objects.create(event=event, chip=f"{name.upper()}1", bib="1")
    timing_token_create(race=race, name=f"{name} decoder", actor=actor)
    series = Series.objects.create(organizer=organizer, name=f"{name} Cup", slug=f"{name}-cup")
    SeriesRace.objects.create(series=series, race=race)
    Stage.objects.create(stage_race=StageRace.objects.create(event=event), race=race, number=1)


def build_world() -> dict[str, Any]:
    users = {name: _user(name) for name in PERSONAS}
    organizers = {name: make_organizer(f"{name.title()} Org") for name in [*TENANTS, "bob"]}
    for person, roles in PERSONAS.items():
        for organizer, role in roles.items():
            organizers[organizer].memberships.create(user=users[person], role=role)
    for name in TENANTS:
        _tenant(organizers[name], name.title(), users["alice"])
    # What bob could move Alpha's objects onto, in the organizer he owns.
    bobs = make_event(organizers["bob"], "Bob Marathon")
    make_race(bobs, "Bob 10K", course=make_course(organizers["bob"]))
    return {"users": users, "organizers": organizers}


def client_as(world: dict[str, Any], person: str) -> Client:
    client = Client()
    client.force_login(world["users"][person])
    return client


def _movable() -> list[tuple[str, str]]:
    """(model, field) of admin forms where a field decides the object's organizer."""
    found = []
    for label, model_admin in _scoped_admins():
        hop = model_admin.model.ORGANIZER_PATH.split("__")[0]
        if not hop or hop in model_admin.readonly_fields:
            continue
        if model_admin.fieldsets:
            fields = flatten_fieldsets(model_admin.fieldsets)
        else:
            meta = getattr(model_admin.form, "_meta", None)
            fields = model_admin.fields or getattr(meta, "fields", None) or [hop]
        if hop in fields and model_admin.model._meta.get_field(hop).editable:
            found.append((label, hop))
    return found


MOVABLE = _movable()


def objects_of(model: type[Model], organizer: Organizer) -> Any:
    path = model.ORGANIZER_PATH  # type: ignore[attr-defined]
    return model._default_manager.filter(**{path or "pk": organizer.pk}).order_by("pk")


def state() -> dict[str, Any]:
    """Every organizer-owned row, the outbox and the admin log: what an act could change."""
    rows = {m._meta.label: list(m._default_manager.order_by("pk").values()) for m in SCOPED_MODELS}
    return {**rows, "outbox": len(mail.outbox), "log": LogEntry.objects.count()}


def role_of(person: str, tenant: str) -> str | None:
    return PERSONAS[person].get(tenant)


def may(person: str, tenant: str, roles: frozenset[str]) -> bool:
    return role_of(person, tenant) in roles


def messages_of(response: Any) -> str:
    from django.contrib.messages import get_messages

    return " ".join(str(m) for m in get_messages(response.wsgi_request))


CASES = [(p, t) for p in PERSONAS for t in TENANTS]
CASE_IDS = [f"{p}-at-{t}" for p, t in CASES]
