"""The admin's change list, refusing filters and selections it cannot run.

Django lets any local field be filtered from the URL (``?status__exact=…``,
``?created_at__year=…``) and turns values it cannot convert into its "invalid
lookup" redirect (``?e=1``), but some only fail once the query runs, after that
check: a NUL byte (PostgreSQL refuses it), a year out of range (``datetime``
raises while the SQL is written), a year past the C long. They were 500s.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.views.main import ChangeList
from django.core.exceptions import EmptyResultSet, FullResultSet
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse

from pace.lib.widgets import is_key


class CheckedChangeList(ChangeList):
    """A ``ChangeList`` whose filters are checked before the page runs them."""

    def get_queryset(self, request: HttpRequest, exclude_parameters: Any = None) -> QuerySet[Any]:
        if any("\x00" in value for _, values in request.GET.lists() for value in values):
            raise IncorrectLookupParameters("A filter value holds a NUL byte.")
        try:
            queryset = super().get_queryset(request, exclude_parameters)
        except OverflowError as exc:  # the date hierarchy's year past the C long
            raise IncorrectLookupParameters(exc) from exc
        try:
            # Writing the SQL runs every lookup's conversion without touching the database.
            queryset.query.sql_with_params()
        except (EmptyResultSet, FullResultSet):
            pass
        except (ValueError, TypeError, OverflowError) as exc:
            raise IncorrectLookupParameters(exc) from exc
        return queryset


# ModelAdmin is generic in django-stubs only: subscripting it at run time needs
# django_stubs_ext, which is not a dependency of the site.
class CheckedChangeListAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """Put in front of every registered ModelAdmin by ``PaceAdminSite.register``."""

    def get_changelist(self, request: HttpRequest, **kwargs: Any) -> type[ChangeList]:
        changelist = super().get_changelist(request, **kwargs)
        return CheckedChangeList if changelist is ChangeList else changelist

    # django-stubs 6.1 describes Django 6's extra action_location; Django 5.2 calls
    # response_action(request, queryset).
    def response_action(  # type: ignore[override]
        self, request: HttpRequest, queryset: QuerySet[Any]
    ) -> HttpResponse | None:
        selected = request.POST.getlist(helpers.ACTION_CHECKBOX_NAME)
        if not all(is_key(self.model._meta.pk, value) for value in selected):
            self.message_user(
                request, "The selected items are not in this list; nothing was changed.",
                messages.WARNING,
            )  # fmt: skip
            return None  # Django then redirects back to the list, which shows the message
        return super().response_action(request, queryset)
