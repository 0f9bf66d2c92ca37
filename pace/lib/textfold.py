"""Text as searches and sorts compare it: case and accents ignored.

"lopez" finds López, "zurich" Zürich, "lodz" Łódź, "strasse" Straße: what someone
typing a name on a phone keyboard expects. The live pages fold the same way in the
browser (static/tracking/common.js ``folded``).
"""

from __future__ import annotations

import unicodedata
from typing import Any

from django.db.backends.signals import connection_created
from django.db.models import CharField, TextField, Transform, Value

# Latin letters Unicode does not decompose into a base letter and a mark.
_UNDECOMPOSED = str.maketrans(
    {"ø": "o", "æ": "ae", "œ": "oe", "ł": "l", "đ": "d", "ð": "d", "þ": "th", "\u0131": "i"}
)


def fold(text: str) -> str:
    """``text`` casefolded (ß: ss), its accents and other combining marks dropped."""
    # Decomposed before casefolding too: compatibility forms (mathematical and full-width
    # letters) decompose to letters that still have a case.
    plain = unicodedata.normalize("NFKD", text).casefold()
    decomposed = unicodedata.normalize("NFKD", plain).translate(_UNDECOMPOSED)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


class Folded(Transform):
    """``field__fold``: a column folded by the database, as ``fold`` folds text, for
    ``Q(name__fold__contains=folded(typed))``. SQLite runs ``fold`` itself (registered on
    each connection: ``register_sqlite_fold``); PostgreSQL's ``unaccent`` extension
    (created by a migration) drops the accents and ``lower`` the case."""

    lookup_name = "fold"
    function = "pace_fold"

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        return self.as_sql(compiler, connection, template="lower(unaccent(%(expressions)s))")


def folded(text: str) -> Folded:
    """``text`` folded by the database, to compare with a ``__fold`` column by the same
    rule (PostgreSQL's ``unaccent`` and Python's ``fold`` differ on rare letters)."""
    return Folded(Value(text, output_field=TextField()))


def _fold_or_null(value: str | None) -> str | None:
    return None if value is None else fold(value)


def register_sqlite_fold(sender: Any, connection: Any, **kwargs: Any) -> None:
    """``connection_created`` receiver: SQLite connections get ``pace_fold``."""
    if connection.vendor == "sqlite":
        connection.connection.create_function("pace_fold", 1, _fold_or_null, deterministic=True)


def install_folded_lookup() -> None:
    """``__fold`` on every text column (``PaceConfig.ready``)."""
    CharField.register_lookup(Folded)
    TextField.register_lookup(Folded)
    connection_created.connect(register_sqlite_fold, dispatch_uid="pace.textfold")
