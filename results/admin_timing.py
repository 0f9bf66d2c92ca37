"""The timing desk of the back office: per race, import a decoder's file (preview, then
confirm) and enter reads by hand at a timing point.

Scoped like every organizer admin: a race another organizer owns is a 404, a race of an
organizer where the user lacks the roles a 403 (``_race``); the pages call
``results.reads_import`` and ``results.manual_entry`` and hold no rule of their own.
"""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html
from django.utils.http import urlencode

from events.access import EDIT_ROLES, has_role_for, scope_to_user
from events.admin_scoping import OrganizerScopedAdmin
from events.models import Race
from results.manual_entry import ManualEntryError, manual_read_add, manual_read_undo, recent_reads
from results.models import RaceTiming, ResultsPublication, TimingPoint, TimingRead
from results.points import ensure_timing_points
from results.readfiles import LAYOUTS, ReadFileError
from results.readfiles.base import MAX_BYTES
from results.reads_import import (
    ImportExpiredError,
    import_confirm,
    import_preview,
    import_stage,
    preview_rows,
)
from results.timing_reads import venue_clock

TEMPLATES = "admin/results/racetiming"


class ImportForm(forms.Form):
    file = forms.FileField(help_text="A decoder's export: see README “Timing” for the layouts.")
    layout = forms.ChoiceField(choices=list(LAYOUTS.items()), initial="auto")
    point = forms.ModelChoiceField(
        queryset=TimingPoint.objects.none(),
        required=False,
        help_text="For files that name no point (a RACE RESULT decoder's): where it stood.",
    )

    def __init__(self, *args: Any, race: Race, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["point"].queryset = TimingPoint.objects.filter(race=race)  # type: ignore[attr-defined]


@admin.register(RaceTiming)
class RaceTimingAdmin(OrganizerScopedAdmin):
    """Races, each leading to its timing desk; nothing of the race is changed here."""

    list_display = ["name", "event", "start_time", "desk"]
    list_select_related = ["event"]
    search_fields = ["name", "event__name"]
    ordering = ["-start_time"]
    # No form of the race shows here (its desk replaces the change page): nothing to move.
    readonly_fields = ["event"]
    timing_roles = EDIT_ROLES

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description="Timing")
    def desk(self, obj: Race) -> str:
        url = reverse("admin:results_racetiming_import", args=[obj.pk])
        return format_html('<a href="{}">Import a file</a>', url)

    def get_urls(self) -> list[URLPattern]:
        wrap = self.admin_site.admin_view
        return [
            path("<int:race_id>/import/", wrap(self.import_view), name="results_racetiming_import"),
            path(
                "<int:race_id>/import/preview/",
                wrap(self.preview_view),
                name="results_racetiming_preview",
            ),
            path(
                "<int:race_id>/manual/<int:point_id>/",
                wrap(self.manual_view),
                name="results_racetiming_manual",
            ),
            *super().get_urls(),
        ]

    def _race(self, request: HttpRequest, race_id: int) -> Race:
        """The race of the URL: 404 unless the user may see it, 403 without timing roles.

        Its default timing points are made here if it has none, so a new race's desk
        offers its start, splits and finish for manual entry and imports."""
        races = scope_to_user(Race.objects.select_related("event"), request.user)
        race: Race = get_object_or_404(races, pk=race_id)
        if not has_role_for(request.user, race, self.timing_roles):
            raise PermissionDenied
        ensure_timing_points(race=race)
        return race

    def _context(self, request: HttpRequest, race: Race, title: str) -> dict[str, Any]:
        return {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "race": race,
            "title": title,
            "points": list(TimingPoint.objects.filter(race=race)),
        }

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: Any = None
    ) -> HttpResponse:
        """The race's desk: import, manual entry per point, tokens and the latest reads.

        A race the user may not see is answered as Django's change page answers it."""
        race = self.get_object(request, object_id)
        if race is None:
            # Django's own answer (a private helper in the stubs' eyes).
            redirect: HttpResponse = self._get_obj_does_not_exist_redirect(  # type: ignore[attr-defined]
                request, self.opts, object_id
            )
            return redirect
        if not has_role_for(request.user, race, self.timing_roles):
            raise PermissionDenied
        ensure_timing_points(race=race)
        context = self._context(request, race, f"Timing: {race}")
        reads = TimingRead.objects.filter(race=race).select_related(
            "point", "registration", "token"
        )
        zone = race.event.local_tz
        context["reads"] = [
            (read, venue_clock(read.time, zone, date=True))
            for read in reads.order_by("-time", "-pk")[:50]
        ]
        context["zone"] = zone
        context["read_count"] = reads.count()
        context["tokens"] = race.timing_tokens.all()
        context["publication"] = ResultsPublication.objects.filter(race=race).first()
        return TemplateResponse(request, f"{TEMPLATES}/desk.html", context)

    def import_view(self, request: HttpRequest, race_id: int) -> HttpResponse:
        race = self._race(request, race_id)
        form = ImportForm(request.POST or None, request.FILES or None, race=race)
        if request.method == "POST" and form.is_valid():
            upload = form.cleaned_data["file"]
            data = upload.read(MAX_BYTES + 1)
            try:
                key, _preview = import_stage(
                    race=race, user=request.user, data=data,
                    layout=form.cleaned_data["layout"], point=form.cleaned_data["point"],
                    filename=upload.name[:200],
                )  # fmt: skip
            except ReadFileError as exc:
                form.add_error("file", str(exc))
            else:
                url = reverse("admin:results_racetiming_preview", args=[race.pk])
                return HttpResponseRedirect(f"{url}?{urlencode({'key': key})}")
        context = self._context(request, race, f"Import timing reads: {race}")
        context["form"] = form
        return TemplateResponse(request, f"{TEMPLATES}/import.html", context)

    def preview_view(self, request: HttpRequest, race_id: int) -> HttpResponse:
        """The upload named by ``?key=`` (kept server-side): GET shows it, POST stores it."""
        race = self._race(request, race_id)
        key = request.GET.get("key", "")
        again = reverse("admin:results_racetiming_import", args=[race.pk])
        try:
            if request.method == "POST":
                outcome = import_confirm(race=race, user=request.user, key=key)
                message = (
                    f"{outcome.stored_count} read(s) stored, {len(outcome.duplicates)} already "
                    f"there; {outcome.unmatched} match no entry yet."
                )
                self.message_user(request, message, messages.SUCCESS)
                desk = reverse("admin:results_racetiming_change", args=[race.pk])
                return HttpResponseRedirect(desk)
            preview = import_preview(race=race, user=request.user, key=key)
        except ImportExpiredError as exc:
            self.message_user(request, str(exc), messages.ERROR)
            return HttpResponseRedirect(again)
        context = self._context(request, race, f"Check the file: {preview.filename}")
        context.update(
            preview=preview,
            layout_name=LAYOUTS.get(preview.layout, preview.layout),
            rows=preview_rows(race=race, preview=preview),
            again=again,
            zone=race.event.local_tz,
        )
        return TemplateResponse(request, f"{TEMPLATES}/preview.html", context)

    def manual_view(self, request: HttpRequest, race_id: int, point_id: int) -> HttpResponse:
        race = self._race(request, race_id)
        point = get_object_or_404(TimingPoint, race=race, pk=point_id)
        if request.method == "POST":
            return self._manual_post(request, race, point)
        context = self._context(request, race, f"Manual entry: {point.name}")
        context.update(point=point, reads_json=_reads_json(race, point))
        return TemplateResponse(request, f"{TEMPLATES}/manual.html", context)

    def _manual_post(self, request: HttpRequest, race: Race, point: TimingPoint) -> JsonResponse:
        try:
            data = json.loads(request.body)
            if not isinstance(data, dict):
                raise ValueError
        except ValueError:
            return JsonResponse({"error": "The request is not a JSON object."}, status=400)
        if "undo" in data:
            undone = isinstance(data["undo"], int) and manual_read_undo(
                race=race, point=point, read_pk=data["undo"], actor=request.user
            )
            error = None if undone else "Only a manual read of this point can be undone."
        else:
            try:
                _read, _new = manual_read_add(
                    race=race, point=point, bib=str(data.get("bib", ""))[:100],
                    typed_time=str(data.get("time", ""))[:40],
                    read_id=str(data.get("id", ""))[:100], actor=request.user,
                )  # fmt: skip
                error = None
            except ManualEntryError as exc:
                error = str(exc)
        body = {"error": error, "reads": _reads_json(race, point)}
        return JsonResponse(body, status=400 if error else 200)


def _reads_json(race: Race, point: TimingPoint) -> list[dict[str, Any]]:
    zone = race.event.local_tz
    return [
        {
            "pk": read.pk,
            "bib": read.bib or read.chip,
            "athlete": str(read.registration.first_name + " " + read.registration.last_name)
            if read.registration
            else "",
            "time": venue_clock(read.time, zone),
            "source": read.get_source_display(),
            "undo": read.source == TimingRead.Source.MANUAL,
        }
        for read in recent_reads(race=race, point=point)
    ]
