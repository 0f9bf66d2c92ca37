"""Test helpers that know no app: usable by every app's tests and by pace's own."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")

# Every test user's password (``events.tests.factories.make_user``); the browser
# fixtures type it into the login page.
PASSWORD = "correct-horse-battery"
# How long a browser test's actions, expect() assertions and eventually() wait: long
# enough for a page on a loaded two-core machine.
WAIT_SECONDS = 10.0


def admin_form_data(response: Any) -> dict[str, Any]:
    """The POST a browser sends for an admin change page left as it is (inlines included)."""
    from django import forms

    data: dict[str, Any] = {}
    forms_on_page = [response.context["adminform"].form]
    for inline in response.context["inline_admin_formsets"]:
        formset = inline.formset
        forms_on_page += [formset.management_form, *formset.forms]
    for form in forms_on_page:
        for field in form:
            widget = getattr(field.field.widget, "widget", field.field.widget)
            value = field.value()
            if field.field.disabled or isinstance(field.field, forms.FileField):
                continue  # not sent, or no file chosen: the stored one stays
            if isinstance(widget, forms.MultiWidget):
                for i, part in enumerate(widget.decompress(value)):
                    data[f"{field.html_name}_{i}"] = "" if part is None else str(part)
            elif isinstance(value, bool):
                if value:
                    data[field.html_name] = "on"
            elif value is not None:
                data[field.html_name] = value
    return data


def eventually(check: Callable[[], T], *, timeout: float = WAIT_SECONDS) -> T:
    """Run ``check`` until it stops raising AssertionError and return its result, raising
    the last error past the deadline: Playwright's retrying ``expect`` for a value a test
    computes from the page (the Python API has no ``expect.poll``)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return check()
        except AssertionError:
            if time.monotonic() > deadline:
                raise
        time.sleep(0.1)  # between tries of a condition, not a wait for one
