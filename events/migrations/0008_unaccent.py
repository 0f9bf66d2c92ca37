"""PostgreSQL's ``unaccent`` for the marketplace's search (pace.lib.textfold ``Folded``).
A trusted extension since PostgreSQL 13: the database's owner may create it. Nothing on
SQLite, whose connections get the same folding as a function."""

from django.contrib.postgres.operations import UnaccentExtension
from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("events", "0007_event_previous_edition")]

    operations = [UnaccentExtension()]
