"""Celery tasks of integrations: thin, idempotent, taking ids."""

from __future__ import annotations
