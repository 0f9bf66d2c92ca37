from __future__ import annotations

from django.apps import AppConfig


class ResultsConfig(AppConfig):
    name = "results"
    verbose_name = "Results and timing"

    def ready(self) -> None:
        from events import race_pages
        from results import setup_versions
        from results.gps import on_crossings_stored
        from results.links import results_links
        from results.series.recompute import on_results_changed
        from results.signals import results_changed
        from results.withdrawals import on_athlete_withdrawn
        from tracking.signals import athlete_withdrawn, crossings_stored

        crossings_stored.connect(on_crossings_stored, dispatch_uid="results.gps")
        athlete_withdrawn.connect(on_athlete_withdrawn, dispatch_uid="results.withdrawals")
        results_changed.connect(on_results_changed, dispatch_uid="results.series")
        setup_versions.connect()
        race_pages.register("results", results_links)

        from results import personal_data

        personal_data.register_part()  # an athlete's results in their data export
