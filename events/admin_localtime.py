"""The back office reads and shows every time of an event in the venue's time zone.

One mechanism for every organizer-owned admin (mixed into ``OrganizerScopedAdmin``
and ``OrganizerScopedInline``): date-time fields are typed as the venue's wall
clock and made aware in the event's zone once the whole form is read (on an add
page the event, or its zone, is part of the same POST); change pages render in
that zone; list columns show each row in its own event's zone, with the zone's
abbreviation. The server's ``TIME_ZONE`` (UTC) never decides what "07:30" means.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.widgets import AdminSplitDateTime
from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.utils import formats, timezone

from events.localtime import (
    UTC,
    NonexistentLocalTimeError,
    ambiguous_message,
    has_venue,
    nonexistent_message,
    venue_datetime,
    venue_local,
    venue_zone,
    zone_named,
)

LIST_FORMAT = "j M Y, H:i T"  # Pace's DATETIME_FORMAT too (pace/formats/en/formats.py)


def zone_help(zone: zoneinfo.ZoneInfo | None, help_text: str = "") -> str:
    said = f"{zone.key} time." if zone else "Time at the venue, in the event's time zone."
    return f"{said} {help_text}".strip()


class VenueDateTimeField(forms.SplitDateTimeField):
    """A date and time as the venue's clock reads it, cleaned to a naive datetime.

    ``VenueTimesForm`` makes it aware in the event's zone: the zone may come from
    another field of the same form, so no single field can do it.
    """

    zone: zoneinfo.ZoneInfo | None = None

    def compress(self, data_list: Any) -> dt.datetime | None:
        with timezone.override(UTC):  # no zone applied here (UTC has no gaps)
            value = super().compress(data_list)
        return None if value is None else value.replace(tzinfo=None)

    def prepare_value(self, value: Any) -> Any:
        if isinstance(value, dt.datetime) and timezone.is_aware(value) and self.zone:
            return venue_local(value, zone=self.zone)
        return value

    def has_changed(self, initial: Any, data: Any) -> bool:
        return super().has_changed(self.prepare_value(initial), data)


class VenueTimesForm:
    """Form mixin: the venue's zone for its ``VenueDateTimeField``s, shown and applied.

    ``page_zone`` is the zone known when the page was built (the object's, or the
    inline's parent's); a zone typed or chosen in the same POST wins over it.
    """

    page_zone: zoneinfo.ZoneInfo | None = None
    fields: dict[str, forms.Field]
    cleaned_data: dict[str, Any]
    instance: models.Model
    add_error: Any

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.venue_time_notes: list[str] = []
        zone = self.page_zone
        if zone is None and self.instance.pk:
            zone = venue_zone(self.instance)
        for field in self._venue_fields().values():
            field.zone = zone
            field.help_text = zone_help(zone, str(field.help_text or ""))

    def _venue_fields(self) -> dict[str, VenueDateTimeField]:
        return {n: f for n, f in self.fields.items() if isinstance(f, VenueDateTimeField)}

    def _typed_zone(self) -> zoneinfo.ZoneInfo | None:
        data = self.cleaned_data
        if "timezone" in self.fields:  # the event's own form
            return zone_named(data.get("timezone"))
        for key in ("event", "race"):
            if data.get(key) is not None:
                return venue_zone(data[key])
        return self.page_zone or venue_zone(self.instance)

    def clean(self) -> dict[str, Any]:
        data: dict[str, Any] = super().clean()  # type: ignore[misc]
        fields = self._venue_fields()
        zone = self._typed_zone() if fields else None
        for name in fields:
            value = data.get(name)
            if not isinstance(value, dt.datetime) or timezone.is_aware(value):
                continue
            if zone is None:
                self.add_error(name, "Choose the event first: this time is read in its zone.")
                continue
            try:
                data[name], ambiguous = venue_datetime(value, zone=zone)
            except NonexistentLocalTimeError:
                self.add_error(name, nonexistent_message(value, zone=zone))
                continue
            if ambiguous:
                self.venue_time_notes.append(ambiguous_message(value, zone=zone))
        return data


_FORMS: dict[tuple[type, str | None], type] = {}


def venue_times_form(form: type, *, zone: zoneinfo.ZoneInfo | None) -> type:
    """``form`` with ``VenueTimesForm`` mixed in, reading times in ``zone`` by default."""
    key = (form, zone.key if zone else None)
    if key not in _FORMS:
        _FORMS[key] = type(form.__name__, (VenueTimesForm, form), {"page_zone": zone})
    return _FORMS[key]


def _venue_formfield(db_field: models.Field[Any, Any], kwargs: dict[str, Any]) -> None:
    if isinstance(db_field, models.DateTimeField) and has_venue(db_field.model):
        kwargs.setdefault("form_class", VenueDateTimeField)
        kwargs.setdefault("widget", AdminSplitDateTime)


def venue_time_column(model: type[models.Model], name: str) -> Any:
    """A list column showing a stored instant at its row's venue, with the zone's name."""
    field = model._meta.get_field(name)
    assert isinstance(field, models.Field)  # a stored instant, not a relation

    @admin.display(description=str(field.verbose_name), ordering=name)
    def column(obj: models.Model) -> str | None:
        value = getattr(obj, name)
        zone = venue_zone(obj)
        if value is None or zone is None:
            return value
        return formats.date_format(value.astimezone(zone), LIST_FORMAT)

    column.__name__ = name
    return column


def _is_datetime(model: type[models.Model], name: Any) -> bool:
    if not isinstance(name, str):
        return False
    try:
        return isinstance(model._meta.get_field(name), models.DateTimeField)
    except FieldDoesNotExist:  # a list column that is a method, not a field
        return False


class _VenueFields:
    """Date-time fields of a ModelAdmin or an inline, typed in the zone of the page's object."""

    model: type[models.Model]
    form: type

    def formfield_for_dbfield(
        self, db_field: models.Field[Any, Any], request: HttpRequest, **kwargs: Any
    ) -> Any:
        _venue_formfield(db_field, kwargs)
        return super().formfield_for_dbfield(db_field, request, **kwargs)  # type: ignore[misc]

    def _venue_form(self, obj: Any, kwargs: dict[str, Any]) -> None:
        """Give ``kwargs``' form (or the admin's) the zone of ``obj``, when times have one."""
        if has_venue(self.model):
            zone = venue_zone(obj) if obj is not None else None
            kwargs["form"] = venue_times_form(kwargs.get("form", self.form), zone=zone)


def _render_in(zone: Any, response: Any) -> Any:
    """Render a TemplateResponse now, inside ``zone`` (later it would render in UTC)."""
    if zone is not None and isinstance(response, TemplateResponse):
        with timezone.override(zone):
            response.render()
    return response


class VenueTimesAdmin(_VenueFields):
    """ModelAdmin mixin: forms, change pages and list columns in the venue's zone."""

    def get_form(
        self, request: HttpRequest, obj: Any = None, change: bool = False, **kw: Any
    ) -> Any:
        self._venue_form(obj, kw)
        return super().get_form(request, obj, change, **kw)  # type: ignore[misc]

    def get_list_display(self, request: HttpRequest) -> Any:
        names = super().get_list_display(request)  # type: ignore[misc]
        if not has_venue(self.model):
            return names
        return [
            venue_time_column(self.model, n) if _is_datetime(self.model, n) else n for n in names
        ]

    def render_change_form(
        self, request: HttpRequest, context: dict[str, Any], *args: Any, obj: Any = None, **kw: Any
    ) -> Any:
        """Read-only times of the page (check-in, history) in the venue's zone too.

        The response renders here, inside the zone: a TemplateResponse would
        otherwise render after the view returned, in UTC.
        """
        response = super().render_change_form(request, context, *args, obj=obj, **kw)  # type: ignore[misc]
        zone = venue_zone(obj) if obj is not None and has_venue(self.model) else None
        return _render_in(zone, response)

    def history_view(self, request: HttpRequest, object_id: str, extra_context: Any = None) -> Any:
        response = super().history_view(request, object_id, extra_context)  # type: ignore[misc]
        obj = getattr(response, "context_data", None) or {}
        zone = venue_zone(obj.get("object")) if has_venue(self.model) else None
        return _render_in(zone, response)

    def _say_notes(self, request: HttpRequest, form: Any) -> None:
        for note in getattr(form, "venue_time_notes", []):
            self.message_user(request, note, messages.WARNING)  # type: ignore[attr-defined]

    def save_form(self, request: HttpRequest, form: Any, change: bool) -> Any:
        self._say_notes(request, form)
        return super().save_form(request, form, change)  # type: ignore[misc]

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        for inline_form in formset.forms:
            self._say_notes(request, inline_form)
        super().save_formset(request, form, formset, change)  # type: ignore[misc]


class VenueTimesInline(_VenueFields):
    """Inline mixin: the inline's times read in the zone of the page's object."""

    def get_formset(self, request: HttpRequest, obj: Any = None, **kwargs: Any) -> Any:
        self._venue_form(obj, kwargs)
        return super().get_formset(request, obj, **kwargs)  # type: ignore[misc]
