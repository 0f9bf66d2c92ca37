"""Organizer scoping for the admin: every organizer-owned admin inherits this.

Lists, change pages, deletes, actions, autocomplete, foreign-key choices and
list filters all go through ``get_queryset`` or ``scope_to_user``, so a member
of one organizer can neither see nor pick another organizer's objects, even by
guessing ids.

Roles are per organizer: every admin action runs only on the selected objects
whose organizer gives the user the roles of the action's permission
(``<permission>_roles``), and says which it skipped; foreign-key choices list
only objects of organizers where the user may save with that choice.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import ImproperlyConfigured
from django.db.models import ForeignKey, ManyToManyField, Model, QuerySet
from django.forms import ModelChoiceField, ModelMultipleChoiceField
from django.http import HttpRequest

from events.access import (
    EDIT_ROLES,
    MANAGE_ROLES,
    has_role_for,
    is_platform_staff,
    organizer_id_of,
    organizer_ids,
    scope_to_user,
)
from events.admin_localtime import VenueTimesAdmin, VenueTimesInline
from pace.lib.widgets import KeyedAutocompleteSelect


def _scoped_related(
    db_field: Any, request: HttpRequest, kwargs: dict[str, Any], roles: frozenset[str]
) -> None:
    model = db_field.related_model
    if hasattr(model, "ORGANIZER_PATH"):
        base = kwargs.get("queryset", model._default_manager.all())
        kwargs["queryset"] = scope_to_user(base, request.user, roles)


class _ScopedFormFields:
    """Foreign-key and many-to-many choices limited to the organizers where the user may
    save the object with that choice (not merely where they are a member)."""

    add_roles: frozenset[str] = EDIT_ROLES
    change_roles: frozenset[str] = EDIT_ROLES

    def _choice_roles(self) -> frozenset[str]:
        # The same form adds and changes: a choice must allow both.
        return self.add_roles & self.change_roles

    def formfield_for_foreignkey(
        self, db_field: ForeignKey[Any, Any], request: HttpRequest, **kwargs: Any
    ) -> ModelChoiceField[Any] | None:
        _scoped_related(db_field, request, kwargs, self._choice_roles())
        if db_field.name in self.get_autocomplete_fields(request):  # type: ignore[attr-defined]
            site, using = self.admin_site, kwargs.get("using")  # type: ignore[attr-defined]
            kwargs.setdefault("widget", KeyedAutocompleteSelect(db_field, site, using=using))
        field = super().formfield_for_foreignkey(db_field, request, **kwargs)  # type: ignore[misc]
        if field is not None and db_field.related_model.__name__ == "Organizer":
            mine = organizer_ids(request.user, self._choice_roles())
            if len(mine) == 1 and not is_platform_staff(request.user):
                field.initial = mine[0]
        return field

    def formfield_for_manytomany(
        self, db_field: ManyToManyField[Any, Any], request: HttpRequest, **kwargs: Any
    ) -> ModelMultipleChoiceField[Any] | None:
        _scoped_related(db_field, request, kwargs, self._choice_roles())
        return super().formfield_for_manytomany(db_field, request, **kwargs)  # type: ignore[misc]


def _stays_with_its_organizer(form: type[Any], *, organizer_id: int | None) -> type[Any]:
    """The form, refusing to move its object to another organizer.

    Moving an event (a race, a course...) to another organizer takes it, with its
    entries and money, out of this one: only those who may delete it here may, else
    staff here who own another organizer could move it there and act as its owner.
    """

    class StaysWithItsOrganizer(form):
        def _post_clean(self) -> None:
            super()._post_clean()
            if organizer_id_of(self.instance) != organizer_id:
                self.add_error(
                    None,
                    "Only this organizer's owners and admins may move it to another organizer.",
                )

    StaysWithItsOrganizer.__name__ = form.__name__
    return StaysWithItsOrganizer


class OrganizerScopedAdmin(VenueTimesAdmin, _ScopedFormFields, admin.ModelAdmin):
    """A ModelAdmin whose every view sees only the requesting user's organizers' objects.

    ``<permission>_roles`` name the roles an organizer must give the user for each
    permission, on that organizer's objects; actions are checked against them per
    object (see ``get_action``).
    """

    view_roles: frozenset[str] = EDIT_ROLES
    add_roles: frozenset[str] = EDIT_ROLES
    change_roles: frozenset[str] = EDIT_ROLES
    delete_roles: frozenset[str] = MANAGE_ROLES

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        return scope_to_user(super().get_queryset(request), request.user, self.view_roles)

    def get_list_filter(self, request: HttpRequest) -> list[Any]:
        """Related filters list only related objects present in the scoped list."""
        scoped = []
        for item in super().get_list_filter(request):
            if isinstance(item, str) and "__" not in item:
                field = self.model._meta.get_field(item)
                if field.is_relation:
                    item = (item, admin.RelatedOnlyFieldListFilter)
            scoped.append(item)
        return scoped

    # Without an object these say "at some organizer": they only show menus and buttons.
    def has_module_permission(self, request: HttpRequest) -> bool:
        return has_role_for(request.user, None, self.view_roles)

    def has_view_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return has_role_for(request.user, obj, self.view_roles)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return has_role_for(request.user, None, self.add_roles)

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return has_role_for(request.user, obj, self.change_roles)

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return has_role_for(request.user, obj, self.delete_roles)

    def get_form(
        self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any
    ) -> Any:
        form = super().get_form(request, obj, change, **kwargs)
        if obj is None or has_role_for(request.user, obj, self.delete_roles):
            return form
        return _stays_with_its_organizer(form, organizer_id=organizer_id_of(obj))

    # --- Actions: per object, against each object's organizer ---------------------------

    def action_roles(self, func: Callable[..., Any]) -> frozenset[str]:
        """The roles that allow ``func`` on an object: those of any of its permissions."""
        permissions = getattr(func, "allowed_permissions", None) or ("change",)
        roles: frozenset[str] = frozenset()
        for permission in permissions:
            named = getattr(self, f"{permission}_roles", None)
            if named is None:
                raise ImproperlyConfigured(
                    f"{type(self).__name__} has an action needing the {permission!r} "
                    f"permission but no {permission}_roles saying which roles hold it."
                )
            roles |= named
        return roles

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        """Every action, Django's bulk delete included, runs only on the selected objects
        whose organizer gives the user the action's roles, and says what it skipped."""
        # Django's own entries are never None, though the stubs allow a None entry.
        return {  # type: ignore[misc]
            name: (self._checked_action(func, description), name, description)
            for name, (func, _, description) in super().get_actions(request).items()
        }

    def _checked_action(self, func: Callable[..., Any], description: str) -> Callable[..., Any]:
        roles = self.action_roles(func)

        @functools.wraps(func)
        def checked(modeladmin: Any, request: HttpRequest, queryset: QuerySet[Any]) -> Any:
            allowed = scope_to_user(queryset, request.user, roles)
            skipped = queryset.count() - allowed.count()
            what = self.opts.verbose_name_plural
            if not allowed.exists():
                self.message_user(
                    request,
                    f"Nothing done: your role at their organizer does not allow "
                    f"“{description}” on the selected {what}.",
                    messages.ERROR,
                )
                return None
            if skipped:
                self.message_user(
                    request,
                    f"{skipped} of the selected {what} skipped: your role at their organizer "
                    f"does not allow “{description}”.",
                    messages.WARNING,
                )
            return func(modeladmin, request, allowed)

        return checked


class ReadOnlyScopedAdmin(OrganizerScopedAdmin):
    """Records the code writes (payments, the waitlist, logs), never edited by hand:
    organizers read them and act on them only through the admin's actions."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False


class OrganizerScopedInline(VenueTimesInline, _ScopedFormFields):
    """Inline of an organizer-scoped parent: the parent's object decides access."""

    change_roles: frozenset[str] = EDIT_ROLES
    delete_roles: frozenset[str] = EDIT_ROLES

    def _choice_roles(self) -> frozenset[str]:
        return self.change_roles

    def has_view_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return has_role_for(request.user, obj, EDIT_ROLES)

    def has_add_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return has_role_for(request.user, obj, self.change_roles)

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return has_role_for(request.user, obj, self.change_roles)

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return has_role_for(request.user, obj, self.delete_roles)


class CountryListFilter(admin.AllValuesFieldListFilter):
    """Countries present in the scoped list, by name (not all 250, not others' countries)."""

    def choices(self, changelist: Any) -> Any:
        from django_countries import countries

        for choice in super().choices(changelist):
            code = choice.get("display")
            if code and isinstance(code, str) and len(code) == 2:
                choice["display"] = countries.name(code) or code
            yield choice
