"""Organizer scoping for the admin: every organizer-owned admin inherits this.

Lists, change pages, deletes, actions, autocomplete, foreign-key choices and
list filters all go through ``get_queryset`` or ``scope_to_user``, so a member
of one organizer can neither see nor pick another organizer's objects, even by
guessing ids.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import ForeignKey, ManyToManyField, Model, QuerySet
from django.forms import Field
from django.http import HttpRequest

from events.access import (
    EDIT_ROLES,
    MANAGE_ROLES,
    has_role_for,
    is_platform_staff,
    organizer_ids,
    scope_to_user,
)
from events.admin_localtime import VenueTimesAdmin, VenueTimesInline


def _scoped_related(db_field: Any, request: HttpRequest, kwargs: dict[str, Any]) -> None:
    model = db_field.related_model
    if hasattr(model, "ORGANIZER_PATH"):
        base = kwargs.get("queryset", model._default_manager.all())
        kwargs["queryset"] = scope_to_user(base, request.user)


class _ScopedFormFields:
    """Foreign-key and many-to-many choices limited to the user's organizers."""

    def formfield_for_foreignkey(
        self, db_field: ForeignKey[Any, Any], request: HttpRequest, **kwargs: Any
    ) -> Field | None:
        _scoped_related(db_field, request, kwargs)
        field = super().formfield_for_foreignkey(db_field, request, **kwargs)  # type: ignore[misc]
        if field is not None and db_field.related_model.__name__ == "Organizer":
            mine = organizer_ids(request.user)
            if len(mine) == 1 and not is_platform_staff(request.user):
                field.initial = mine[0]
        return field

    def formfield_for_manytomany(
        self, db_field: ManyToManyField[Any, Any], request: HttpRequest, **kwargs: Any
    ) -> Field | None:
        _scoped_related(db_field, request, kwargs)
        return super().formfield_for_manytomany(db_field, request, **kwargs)  # type: ignore[misc]


class OrganizerScopedAdmin(VenueTimesAdmin, _ScopedFormFields, admin.ModelAdmin):
    """A ModelAdmin whose every view sees only the requesting user's organizers' objects."""

    add_roles: frozenset[str] = EDIT_ROLES
    change_roles: frozenset[str] = EDIT_ROLES
    delete_roles: frozenset[str] = MANAGE_ROLES

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        return scope_to_user(super().get_queryset(request), request.user)

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

    def has_module_permission(self, request: HttpRequest) -> bool:
        return has_role_for(request.user, None, EDIT_ROLES)

    def has_view_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return has_role_for(request.user, obj, EDIT_ROLES)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return has_role_for(request.user, None, self.add_roles)

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return has_role_for(request.user, obj, self.change_roles)

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return has_role_for(request.user, obj, self.delete_roles)


class OrganizerScopedInline(VenueTimesInline, _ScopedFormFields):
    """Inline of an organizer-scoped parent: the parent's object decides access."""

    change_roles: frozenset[str] = EDIT_ROLES
    delete_roles: frozenset[str] = EDIT_ROLES

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
