"""Roles are per organizer: every admin action and view, over people with different roles
in two organizers.

The isolation matrix (``events/tests/admin_isolation/``) proves organizers cannot
reach each other. This one proves a role held at one organizer never carries over to another:
bob is staff at Alpha and owner of the "Bob Org" he started, erin is admin at Bravo
and staff at Alpha. Every action and custom URL of every registered admin is found
from the admin site's registry (each ModelAdmin's ``get_actions`` and ``get_urls``), so
a new one fails ``test_it_knows_the_roles_of_every_action_and_view`` until its roles
are named below, and is then run against the objects of both organizers. It lives at the
top as it spans the admins of every app (events, payments, tracking, results).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
from django.apps import apps
from django.contrib import admin
from django.contrib.admin.models import LogEntry
from django.contrib.admin.utils import flatten_fieldsets
from django.contrib.auth import get_user_model
from django.core import mail
from django.db import transaction
from django.db.models import Model
from django.test import Client, RequestFactory
from django.urls import reverse

from events.access import organizer_id_of
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
from pace.lib.testing import admin_form_data
from payments import stripe as stripe_api
from payments.checkout import payment_settle_on_site
from payments.models import ConnectedAccount, Payment, Refund
from payments.tests.fake_stripe import FakeStripe
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

pytestmark = pytest.mark.django_db

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


# --- One world for the whole module ---------------------------------------------------


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


def _build() -> dict[str, Any]:
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


@pytest.fixture(scope="module")
def world(django_db_setup: None, django_db_blocker: Any) -> Iterator[dict[str, Any]]:
    """Built once, rolled back after the module; each test runs in its own savepoint."""
    with django_db_blocker.unblock():
        outer = transaction.atomic()
        outer.__enter__()
        try:
            yield _build()
        finally:
            transaction.set_rollback(True)
            outer.__exit__(None, None, None)


@pytest.fixture
def fake_stripe(settings: Any, monkeypatch: pytest.MonkeyPatch) -> FakeStripe:
    settings.STRIPE_SECRET_KEY = "sk_test_pace"
    settings.STRIPE_MAX_NETWORK_RETRIES = 0
    fake = FakeStripe()
    for name in TENANTS:
        state = {"charges_enabled": True, "payouts_enabled": True, "details_submitted": True}
        fake.accounts[f"acct_{name}"] = {"id": f"acct_{name}", "object": "account", **state}
    monkeypatch.setattr(stripe_api, "http_client", fake)
    return fake


def _as(world: dict[str, Any], person: str) -> Client:
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


def _of(model: type[Model], organizer: Organizer) -> Any:
    path = model.ORGANIZER_PATH  # type: ignore[attr-defined]
    return model._default_manager.filter(**{path or "pk": organizer.pk}).order_by("pk")


def _state() -> dict[str, Any]:
    """Every organizer-owned row, the outbox and the admin log: what an act could change."""
    rows = {m._meta.label: list(m._default_manager.order_by("pk").values()) for m in SCOPED_MODELS}
    return {**rows, "outbox": len(mail.outbox), "log": LogEntry.objects.count()}


def _role(person: str, tenant: str) -> str | None:
    return PERSONAS[person].get(tenant)


def _may(person: str, tenant: str, roles: frozenset[str]) -> bool:
    return _role(person, tenant) in roles


def _messages(response: Any) -> str:
    from django.contrib.messages import get_messages

    return " ".join(str(m) for m in get_messages(response.wsgi_request))


CASES = [(p, t) for p in PERSONAS for t in TENANTS]
CASE_IDS = [f"{p}-at-{t}" for p, t in CASES]


# --- The registry is covered -----------------------------------------------------------


def test_it_knows_the_roles_of_every_action_and_view():
    assert set(ACTIONS) == set(ACTION_ROLES), "name the roles of each new admin action"
    assert {name for _, name, _ in CUSTOM_URLS} == set(URL_ROLES), "and of each admin URL"
    unknown = {kw for _, _, kws in CUSTOM_URLS for kw in kws} - {*URL_KWARGS, "object_id"}
    assert not unknown, "say in URL_KWARGS which model these URL ids name"


# --- Actions ---------------------------------------------------------------------------


@pytest.mark.parametrize(("person", "tenant"), CASES, ids=CASE_IDS)
@pytest.mark.parametrize(("label", "action"), ACTIONS, ids=[f"{m}.{a}" for m, a in ACTIONS])
def test_it_runs_an_action_only_where_the_person_holds_its_role(
    world, fake_stripe, django_capture_on_commit_callbacks, person, tenant, label, action
):
    model = apps.get_model(label)
    ids = list(_of(model, world["organizers"][tenant]).values_list("pk", flat=True))
    data = {
        "action": action, "index": "0", "_selected_action": ids,
        # The last step of actions with a page of their own: confirm, send, delete.
        "confirm": "yes", "post": "yes", "send": "1", "subject": "Hello", "body": "Hi",
    }  # fmt: skip
    before = _state()
    url = reverse(f"admin:{label.replace('.', '_')}_changelist")
    with django_capture_on_commit_callbacks(execute=True):
        response = _as(world, person).post(url, data)
    refused = "Nothing done: your role at their organizer does not allow"
    if _may(person, tenant, ACTION_ROLES[label, action]):
        assert response.status_code in (200, 302)
        assert refused not in _messages(response)
        if action in CHANGING:
            assert _state() != before, f"{action} did nothing for {person} at {tenant}"
    else:
        assert _state() == before, f"{action} changed {tenant}'s data for {person}"
        # 200: the list again, when the action is not even offered; 403: Django's own refusal.
        assert response.status_code in (200, 302, 403)
        offered = any(role in ACTION_ROLES[label, action] for role in PERSONAS[person].values())
        visible = _role(person, tenant) in VIEW_ROLES.get(label, EDIT)
        if offered and visible and response.status_code == 302:
            assert refused in _messages(response)


def test_it_runs_a_mixed_selection_only_on_the_objects_the_role_allows(world):
    """erin cancels Bravo's entries (admin there) but not Alpha's (staff there)."""
    alpha, bravo = (_of(Registration, world["organizers"][t]) for t in TENANTS)
    ids = [*alpha.values_list("pk", flat=True), *bravo.values_list("pk", flat=True)]
    data = {"action": "cancel_entries", "index": "0", "confirm": "yes", "_selected_action": ids}
    response = _as(world, "erin").post(reverse("admin:events_registration_changelist"), data)
    assert response.status_code == 302
    assert "2 of the selected registrations skipped" in _messages(response)
    assert set(alpha.values_list("status", flat=True)) == {Registration.Status.CONFIRMED}
    assert set(bravo.values_list("status", flat=True)) == {Registration.Status.CANCELLED}


# --- Custom admin URLs -------------------------------------------------------------------


def _custom_url(world: dict[str, Any], label: str, name: str, kws: list[str], tenant: str) -> str:
    organizer = world["organizers"][tenant]
    args = []
    for kw in kws:
        model = URL_KWARGS.get(kw) or apps.get_model(label)
        args.append(_of(model, organizer).first().pk)
    return reverse(f"admin:{name}", args=args)


OBJECT_URLS = [(label, name, kws) for label, name, kws in CUSTOM_URLS if URL_ROLES[name]]


@pytest.mark.parametrize(("person", "tenant"), CASES, ids=CASE_IDS)
@pytest.mark.parametrize(("label", "name", "kws"), OBJECT_URLS, ids=[u[1] for u in OBJECT_URLS])
def test_it_opens_an_objects_admin_page_only_where_the_person_holds_its_role(
    world, fake_stripe, django_capture_on_commit_callbacks, person, tenant, label, name, kws
):
    url = _custom_url(world, label, name, kws, tenant)
    client = _as(world, person)
    before = _state()
    post = {"subject": "Hello", "body": "Hi", "send": "1", "amount": "1", "reason": "x"}
    with django_capture_on_commit_callbacks(execute=True):
        got, posted = client.get(url), client.post(url, post)
    roles = URL_ROLES[name]
    assert roles is not None
    if _may(person, tenant, roles):
        assert got.status_code in (200, 302, 303)
        assert posted.status_code in (200, 302, 303, 400)
    else:
        # Another organizer's objects do not exist for them; their own need the role.
        expected = 403 if _role(person, tenant) else 404
        assert (got.status_code, posted.status_code) == (expected, expected)
        assert _state() == before
        assert fake_stripe.calls == []


@pytest.mark.parametrize("person", PERSONAS)
@pytest.mark.parametrize("name", [n for n, roles in URL_ROLES.items() if roles is None])
def test_it_opens_the_pages_of_their_own_to_every_member(world, person, name):
    response = _as(world, person).get(reverse(f"admin:{name}"))
    assert response.status_code == 200


def test_it_links_the_email_page_only_for_races_the_person_may_write_to(world):
    html = _as(world, "erin").get(reverse("admin:events_registration_dashboard")).content
    for tenant, shown in [("alpha", False), ("bravo", True)]:
        race = _of(Race, world["organizers"][tenant]).get()
        url = reverse("admin:events_registration_email", args=[race.pk])
        assert (url.encode() in html) is shown
        changelist = reverse("admin:events_registration_changelist")
        page = _as(world, "erin").get(changelist, {"race__id__exact": race.pk}).content
        assert (url.encode() in page) is shown


# --- Django's own object URLs: change and delete, per model ----------------------------------


@pytest.mark.parametrize(("person", "tenant"), CASES, ids=CASE_IDS)
@pytest.mark.parametrize("label", MODELS)
def test_it_shows_and_deletes_an_object_only_where_the_person_holds_the_role(
    world, person, tenant, label
):
    obj = _of(apps.get_model(label), world["organizers"][tenant]).first()
    assert organizer_id_of(obj) == world["organizers"][tenant].pk
    base = f"admin:{label.replace('.', '_')}"
    client = _as(world, person)
    shown = client.get(reverse(f"{base}_change", args=[obj.pk]))
    if _may(person, tenant, VIEW_ROLES.get(label, EDIT)):
        assert shown.status_code == 200
    elif shown.status_code != 403:
        assert (shown.status_code, shown["Location"]) == (302, reverse("admin:index"))
    before = _state()
    deleted = client.post(reverse(f"{base}_delete", args=[obj.pk]), {"post": "yes"})
    if not _may(person, tenant, DELETE_ROLES.get(label, MANAGE)):
        assert deleted.status_code in (302, 403)
        assert _state() == before


@pytest.mark.parametrize(("person", "tenant"), CASES, ids=CASE_IDS)
@pytest.mark.parametrize("label", MODELS)
def test_it_changes_an_object_only_where_the_person_holds_the_role(world, person, tenant, label):
    model_admin = admin.site._registry[apps.get_model(label)]
    obj = _of(apps.get_model(label), world["organizers"][tenant]).first()
    before = _state()
    url = reverse(f"admin:{label.replace('.', '_')}_change", args=[obj.pk])
    response = _as(world, person).post(url, {"name": "Hijacked", "hidden": "on", "bib": "9"})
    if not _may(person, tenant, getattr(model_admin, "change_roles", EDIT)):
        assert response.status_code in (302, 403)
        assert _state() == before


# --- Moving an object to another organizer ------------------------------------------------


@pytest.mark.parametrize(("label", "field"), MOVABLE, ids=[m for m, _ in MOVABLE])
def test_it_lets_only_managers_move_an_object_to_another_organizer(world, label, field):
    """bob, staff at Alpha, may change Alpha's objects but not move them to Bob Org."""
    model = apps.get_model(label)
    mine, bobs = world["organizers"]["alpha"], world["organizers"]["bob"]
    obj = _of(model, mine).first()
    related = model._meta.get_field(field).related_model
    target = _of(related, bobs).first() or _of(related, world["organizers"]["bravo"]).first()
    url = reverse(f"admin:{label.replace('.', '_')}_change", args=[obj.pk])
    client = _as(world, "bob")
    data = {**admin_form_data(client.get(url)), field: target.pk}
    response = client.post(url, data)
    assert response.status_code in (200, 403)  # the form again with its error; read-only
    assert organizer_id_of(model._default_manager.get(pk=obj.pk)) == mine.pk


@pytest.mark.parametrize("label", ["events.event", "events.race", "events.discountcode"])
def test_it_lets_a_manager_move_an_object_where_they_may_add(world, label):
    """erin, admin at Bravo and staff at Alpha, may give Bravo's objects to Alpha."""
    model = apps.get_model(label)
    field = dict(MOVABLE)[label]
    obj = _of(model, world["organizers"]["bravo"]).first()
    target = _of(model._meta.get_field(field).related_model, world["organizers"]["alpha"])
    url = reverse(f"admin:{label.replace('.', '_')}_change", args=[obj.pk])
    client = _as(world, "erin")
    data = {**admin_form_data(client.get(url)), field: target.first().pk}
    # Bravo's courses cannot come along to Alpha's races (next test): cleared.
    data.update({key: "" for key in data if key == "course" or key.endswith("-course")})
    assert client.post(url, data).status_code == 302
    assert organizer_id_of(model._default_manager.get(pk=obj.pk)) == world["organizers"]["alpha"].pk


def test_it_never_gives_one_organizers_race_anothers_course(world):
    """erin sees Alpha's and Bravo's courses; a race of one never draws the other's."""
    client = _as(world, "erin")
    race = _of(Race, world["organizers"]["bravo"]).first()
    alphas = _of(apps.get_model("events.course"), world["organizers"]["alpha"]).first()
    url = reverse("admin:events_race_change", args=[race.pk])
    response = client.post(url, {**admin_form_data(client.get(url)), "course": alphas.pk})
    assert response.status_code == 200
    assert "Choose a course of this event&#x27;s organizer." in response.content.decode()
    race.refresh_from_db()
    assert race.course_id != alphas.pk


def test_it_never_gives_a_discount_code_another_events_race(world):
    client = _as(world, "erin")
    code = _of(DiscountCode, world["organizers"]["bravo"]).first()
    other = (
        Race.objects.exclude(event=code.event)
        .filter(event__organizer=world["organizers"]["bravo"])
        .first()
        or _of(Race, world["organizers"]["alpha"]).first()
    )
    url = reverse("admin:events_discountcode_change", args=[code.pk])
    response = client.post(url, {**admin_form_data(client.get(url)), "race": other.pk})
    assert response.status_code == 200
    code.refresh_from_db()
    assert code.race_id != other.pk


# --- Forms offer only organizers where the person may save ----------------------------------


@pytest.mark.parametrize("person", PERSONAS)
def test_it_offers_on_add_forms_only_organizers_where_the_person_may_add(world, person):
    response = _as(world, person).get(reverse("admin:events_event_add"))
    choices = set(response.context["adminform"].form.fields["organizer"].queryset)
    names = {name for name, role in PERSONAS[person].items() if role in EDIT}
    assert choices == {world["organizers"][name] for name in names}
