"""Form widgets: cheaper to render than Django's template-per-option ones, or safer."""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import Any

from django import forms
from django.contrib.admin.widgets import AutocompleteSelect
from django.core.exceptions import ValidationError
from django.forms.utils import flatatt
from django.utils.safestring import SafeString, mark_safe


def _escape(text: Any) -> str:
    """Django's ``conditional_escape`` without its lazy-string wrapper (called ~500 times)."""
    return text.__html__() if hasattr(text, "__html__") else html.escape(str(text))


class PlainSelect(forms.Select):
    """A ``<select>`` written in Python rather than through an include per option.

    Django renders each option with its own template include: the ~250 countries of
    the search form cost about 20 ms per page, half of rendering a list page. Same
    markup, without the line breaks; choices with groups take Django's way.
    """

    def render(
        self, name: str, value: Any, attrs: dict[str, Any] | None = None, renderer: Any = None
    ) -> SafeString:
        widget = self.get_context(name, value, attrs)["widget"]
        if any(group_name for group_name, _, _ in widget["optgroups"]):
            return super().render(name, value, attrs, renderer)
        parts = [f'<select name="{_escape(name)}"{flatatt(widget["attrs"])}>']
        for _, group, _ in widget["optgroups"]:
            for option in group:
                option_attrs = flatatt(option["attrs"]) if option["attrs"] else ""
                value_html, label_html = _escape(option["value"]), _escape(option["label"])
                parts.append(f'<option value="{value_html}"{option_attrs}>{label_html}</option>')
        parts.append("</select>")
        return mark_safe("".join(parts))  # every value above is escaped


class KeyedAutocompleteSelect(AutocompleteSelect):
    """The admin's autocomplete ``<select>``, re-rendering a refused form without a 500.

    Django's widget looks up the posted value to show it selected again: text, a NUL or
    a number past bigint posted for an integer key made that query raise. A value that
    cannot be a key of the target model selects nothing (the field's error says why).
    """

    def optgroups(self, name: str, value: Sequence[str], attr: Any = None) -> list[Any]:
        target = self.field.target_field
        return super().optgroups(name, [v for v in value if is_key(target, v)], attr)


def is_key(field: Any, value: Any) -> bool:
    """Could ``value`` (from a form or URL) be stored in ``field``? Asked before a query:
    text in an integer key, a number past its range or a NUL fail inside the database."""
    try:
        field.clean(value, None)
    except (ValidationError, TypeError, ValueError):
        return False
    return "\x00" not in str(value)
