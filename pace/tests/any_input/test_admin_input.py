"""No 500 from the admin's change lists on any input (issue 17): filters on every local
field that cannot be run, and actions on ids that cannot be keys, for every registered admin."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.contrib import admin
from django.db import models

from pace.tests.any_input.inputs import failures_of

pytestmark = pytest.mark.django_db


def _hostile_filters(model: type[models.Model]) -> Iterator[str]:
    """Query strings filtering each local field of a change list by what cannot be run."""
    for f in model._meta.concrete_fields:
        yield f"{f.name}=a%00b"
        if isinstance(f, models.DateField | models.DateTimeField):
            yield f"{f.name}__year=-1"
            yield f"{f.name}__year={10**20}"
        elif isinstance(f, models.IntegerField | models.ForeignKey):
            yield f"{f.name}={10**20}&{f.name}__in=1,a%00b"


@pytest.fixture
def admins(world: Any, iris: Any) -> Any:
    """Each registered admin's change list with who may open it: organizers theirs, the
    platform's superuser other apps' (users, sites, e-mail addresses, beat schedules)."""
    _, users = world
    iris.is_superuser = True
    iris.save(update_fields=["is_superuser"])
    users = {**users, "staff": iris}
    return [
        (model, f"/admin/{model._meta.app_label}/{model._meta.model_name}/", persona, users)
        for model in admin.site._registry
        for persona in ["organizer" if hasattr(model, "ORGANIZER_PATH") else "staff"]
    ]


def test_it_refuses_change_list_filters_it_cannot_run(admins: Any) -> None:
    """Any local field may be filtered from the URL: a NUL, a year out of range, a year past
    the C long only failed once the page ran the query (a 500 instead of Django's ``?e=1``)."""
    failures = failures_of(
        ("GET", f"{path}?{query}", {}, users, persona)
        for model, path, persona, users in admins
        for query in _hostile_filters(model)
    )
    assert not failures, "\n".join(failures)


def test_it_refuses_actions_on_ids_that_cannot_be_keys(admins: Any) -> None:
    """Django runs an action on ``pk__in`` whatever was posted as ``_selected_action``."""
    form = "application/x-www-form-urlencoded"
    failures = failures_of(
        ("POST", path, {"content_type": form, "data": f"action=delete_selected&index=0&{sel}"},
         users, persona)
        for _, path, persona, users in admins
        for sel in ["_selected_action=a%00b", f"_selected_action={10**20}&_selected_action=1",
                    "_selected_action=x&post=yes", "_selected_action=None"]
    )  # fmt: skip
    assert not failures, "\n".join(failures)
