"""The organizer back office for organizers, events, races and courses."""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from events import courses, localtime, payment_providers, race_pages
from events.access import MANAGE_ROLES, is_platform_staff
from events.admin_entries.shaping import PriceTierInline, RaceQuestionInline
from events.admin_scoping import CountryListFilter, OrganizerScopedAdmin, OrganizerScopedInline
from events.models import Course, Event, Membership, Organizer, Race, RaceCategory, SplitPoint
from events.publishing import events_set_status


class MembershipForm(forms.ModelForm):
    """Members are added by e-mail so organizers never browse the platform's users."""

    email = forms.EmailField(help_text="The e-mail of an existing Pace account.")

    class Meta:
        model = Membership
        fields = ["role"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["email"].initial = self.instance.user.email
            self.fields["email"].disabled = True

    def clean_email(self) -> str:
        email = self.cleaned_data["email"]
        if self.instance.pk:
            return email
        user = get_user_model().objects.filter(email__iexact=email).first()
        if user is None:
            raise forms.ValidationError("No Pace account uses this e-mail; ask them to sign up.")
        self.instance.user = user
        return email


class MembershipInline(OrganizerScopedInline, admin.TabularInline):
    model = Membership
    form = MembershipForm
    extra = 0
    change_roles = MANAGE_ROLES
    delete_roles = MANAGE_ROLES


@admin.register(Organizer)
class OrganizerAdmin(OrganizerScopedAdmin):
    ordering = ["name"]
    list_display = ["name", "country", "contact_email", "event_count"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [MembershipInline]
    change_roles = MANAGE_ROLES

    def get_queryset(self, request: HttpRequest) -> QuerySet[Organizer]:
        from django.db.models import Count

        return super().get_queryset(request).annotate(n_events=Count("events"))

    @admin.display(description="Events", ordering="n_events")
    def event_count(self, obj: Organizer) -> int:
        return obj.n_events  # type: ignore[attr-defined]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return is_platform_staff(request.user)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return is_platform_staff(request.user)


class EventForm(forms.ModelForm):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields.get("timezone")
        if field is not None:
            field.required = False
            field.help_text = (
                "The venue's IANA time zone, e.g. Europe/Paris: every time of this event is "
                "typed and shown in it. Empty: the country's zone, when it has only one."
            )
            # Not the model's "UTC": a new event says where it happens.
            if not self.instance.pk and "timezone" not in (kwargs.get("initial") or {}):
                self.initial["timezone"] = ""

    def clean(self) -> dict[str, Any]:
        super().clean()  # returns cleaned_data, typed as maybe None
        data = self.cleaned_data
        if "timezone" in self.fields and not data.get("timezone") and data.get("country"):
            zone = localtime.country_default_zone(data["country"])
            if zone:
                data["timezone"] = zone
            else:
                self.add_error("timezone", localtime.several_zones_message(data["country"]))
        organizer, method = data.get("organizer"), data.get("payment_method")
        if organizer is not None and method:
            problem = payment_providers.get().method_problem(
                organizer_id=organizer.pk, method=method
            )
            if problem:
                self.add_error("payment_method", problem)
        return data


class RaceInline(OrganizerScopedInline, admin.TabularInline):
    model = Race
    fields = ["name", "slug", "distance_m", "start_time", "capacity", "entry_fee", "course"]
    prepopulated_fields = {"slug": ["name"]}
    show_change_link = True
    extra = 0
    # As on the race's own admin page: staff edit races, only managers delete them.
    delete_roles = MANAGE_ROLES


@admin.register(Event)
class EventAdmin(OrganizerScopedAdmin):
    list_display = ["name", "organizer", "sport", "start_date", "place", "country", "status"]
    list_filter = ["status", "sport", "organizer", ("country", CountryListFilter)]
    list_select_related = ["organizer"]
    search_fields = ["name", "place", "slug"]
    date_hierarchy = "start_date"
    prepopulated_fields = {"slug": ["name"]}
    autocomplete_fields = ["organizer", "previous_edition"]
    inlines = [RaceInline]
    actions = ["publish", "unpublish", "cancel"]
    fieldsets = [
        (None, {"fields": ["organizer", "name", "slug", "sport", "status"]}),
        ("When", {"fields": ["start_date", "end_date", "timezone"]}),
        ("Where", {"fields": ["place", "region", "country", "latitude", "longitude"]}),
        ("Page", {"fields": ["summary", "description", "cover_image", "website", "currency"]}),
        (
            "Editions",
            {
                "fields": ["previous_edition"],
                "description": "A yearly event: pick last year's event, and its results "
                "pages and the participation dashboard compare the editions.",
            },
        ),
        (
            "Entries",
            {
                "fields": [
                    "registration_open", "payment_method", "waiver", "allow_transfers",
                    "allow_cancellation", "changes_until",
                ]
            },
        ),
    ]  # fmt: skip
    form = EventForm

    def save_model(self, request: HttpRequest, obj: Event, form: Any, change: bool) -> None:
        """A corrected time zone keeps the clock of the times typed under the old one."""
        old = localtime.zone_named(form.initial.get("timezone")) if change else None
        super().save_model(request, obj, form, change)
        if old is not None and "timezone" in form.changed_data:
            moved = localtime.event_times_keep_clock(event=obj, old_zone=old)
            if moved:
                self.message_user(
                    request, f"{moved} time(s) of this event kept their clock in {obj.timezone}."
                )

    def _set_status(self, request: HttpRequest, queryset: QuerySet[Event], status: str) -> None:
        count = events_set_status(events=queryset, status=status)
        self.message_user(request, f"{count} event(s) marked {status}.", messages.SUCCESS)

    @admin.action(description="Publish selected events", permissions=["change"])
    def publish(self, request: HttpRequest, queryset: QuerySet[Event]) -> None:
        self._set_status(request, queryset, Event.Status.PUBLISHED)

    @admin.action(description="Back to draft (hide from the marketplace)", permissions=["change"])
    def unpublish(self, request: HttpRequest, queryset: QuerySet[Event]) -> None:
        self._set_status(request, queryset, Event.Status.DRAFT)

    @admin.action(description="Cancel selected events", permissions=["change"])
    def cancel(self, request: HttpRequest, queryset: QuerySet[Event]) -> None:
        self._set_status(request, queryset, Event.Status.CANCELLED)


class RaceCategoryInline(OrganizerScopedInline, admin.TabularInline):
    model = RaceCategory
    extra = 0


@admin.register(Race)
class RaceAdmin(OrganizerScopedAdmin):
    list_display = [
        "name", "event", "distance_km", "start_time", "capacity", "entry_fee", "race_day",
    ]  # fmt: skip
    list_filter = ["event__sport", "event"]
    list_select_related = ["event"]
    search_fields = ["name", "event__name"]
    autocomplete_fields = ["event", "course"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [RaceCategoryInline, PriceTierInline, RaceQuestionInline]
    readonly_fields = ["snippets", "race_day"]

    @admin.display(description="Race day")
    def race_day(self, obj: Race) -> str:
        """Back-office pages of the race other apps offer (tracking's race control)."""
        found = race_pages.race_admin_links(obj) if obj.pk else []
        return format_html_join(" · ", '<a href="{}">{}</a>', ((u, label) for label, u in found))

    @admin.display(description="On your own site")
    def snippets(self, obj: Race) -> str:
        """What the organizer copies onto their own site (the live widget's iframe)."""
        found = race_pages.race_snippets(obj) if obj.pk else []
        if not found:
            return "Shown once the race is saved."
        return format_html_join(
            "",
            '<p><label>{}<br><textarea readonly rows="3" cols="90" class="race-snippet" '
            'onfocus="this.select()">{}</textarea></label></p>',
            found,
        )

    def save_model(self, request: HttpRequest, obj: Race, form: Any, change: bool) -> None:
        """Distance and climb left empty are taken from the course."""
        if obj.course is not None:
            if obj.distance_m is None:
                obj.distance_m = round(obj.course.distance_m)
            if obj.elevation_gain_m is None:
                obj.elevation_gain_m = round(obj.course.elevation_gain_m)
        super().save_model(request, obj, form, change)


class CourseForm(forms.ModelForm):
    gpx_file = forms.FileField(
        required=False,
        label="GPX file",
        help_text="A GPX track (or route) of the course. Uploading replaces the line.",
    )
    gpx_track = forms.TypedChoiceField(
        coerce=int,
        required=False,
        empty_value=None,
        label="Track",
        help_text=(
            "The GPX file has several tracks or routes: which one is the course"
            " (a new file starts from its longest)."
        ),
    )

    class Meta:
        model = Course
        fields = ["organizer", "name"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choices = courses.course_track_choices(course=self.instance) if self.instance.pk else []
        field = cast(forms.TypedChoiceField, self.fields["gpx_track"])  # declared above
        # The stored track is always a valid answer, also when the form hides the choice.
        field.choices = [(c.index, c.label) for c in choices] or [(self.instance.gpx_track, "")]
        field.initial = self.instance.gpx_track
        if len(choices) < 2:
            # Nothing to choose from: the row is hidden rather than removed (admin lists it).
            field.widget = forms.HiddenInput()

    def clean(self) -> dict[str, Any]:
        super().clean()  # returns cleaned_data, typed as maybe None
        data = self.cleaned_data
        upload = data.get("gpx_file")
        track = data.get("gpx_track")
        if upload is None and not self.instance.pk:
            self.add_error("gpx_file", "Upload the course's GPX file.")
        elif upload is not None and upload.size > settings.MAX_GPX_BYTES:
            self.add_error("gpx_file", f"GPX file is larger than {settings.MAX_GPX_BYTES:,} bytes")
        elif upload is not None:
            # A new file's tracks are not the old file's: it starts from its longest one.
            self._parse("gpx_file", upload.read(), track=None)
        elif track is not None and track != self.instance.gpx_track:
            self._parse("gpx_track", self.instance.gpx, track=track)
        return data

    def _parse(self, field: str, gpx: bytes | str, *, track: int | None) -> None:
        try:
            self.cleaned_data["parsed"] = courses.parse_gpx(gpx, track=track)
        except courses.CourseError as exc:
            self.add_error(field, str(exc))


class SplitPointInline(OrganizerScopedInline, admin.TabularInline):
    model = SplitPoint
    extra = 0


@admin.register(Course)
class CourseAdmin(OrganizerScopedAdmin):
    form = CourseForm
    list_display = ["name", "organizer", "distance_km", "elevation_gain_m", "updated_at"]
    list_filter = ["organizer"]
    search_fields = ["name"]
    readonly_fields = ["distance_m", "elevation_gain_m", "elevation_loss_m", "download"]
    inlines = [SplitPointInline]

    @admin.display(description="Distance (km)", ordering="distance_m")
    def distance_km(self, obj: Course) -> str:
        return f"{obj.distance_m / 1000:.2f}"

    @admin.display(description="GPX")
    def download(self, obj: Course) -> str:
        if not obj.pk:
            return "-"
        return format_html(
            '<a href="{}">Download GPX</a>', reverse("events:course", args=[obj.pk]) + "?format=gpx"
        )

    def save_model(self, request: HttpRequest, obj: Course, form: Any, change: bool) -> None:
        parsed = form.cleaned_data.get("parsed")
        if parsed is not None:
            courses.apply_parsed(obj, parsed)
            if len(parsed.tracks) > 1:
                messages.info(request, courses.track_choice_note(parsed=parsed))
            if change and form.cleaned_data.get("gpx_file") is None:
                messages.warning(
                    request,
                    f"The course is now {parsed.distance_m / 1000:.2f} km: its split points"
                    " were kept, check their distances.",
                )
        super().save_model(request, obj, form, change)

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        super().save_related(request, form, formsets, change)
        parsed = form.cleaned_data.get("parsed")
        if parsed is not None:
            courses.ensure_split_points(course=form.instance, parsed=parsed)


from events import admin_entries  # noqa: E402,F401  (registers the participant admins)
