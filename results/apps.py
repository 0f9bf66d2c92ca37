from __future__ import annotations

from django.apps import AppConfig


class ResultsConfig(AppConfig):
    name = "results"
    verbose_name = "Results and timing"

    def ready(self) -> None:
        from results.gps import on_crossings_stored
        from tracking.signals import crossings_stored

        crossings_stored.connect(on_crossings_stored, dispatch_uid="results.gps")
