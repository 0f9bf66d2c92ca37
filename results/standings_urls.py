"""Series standings and stage race classifications, at addresses of their own: under
``/results/`` they would share the race pages' ``/results/EVENT/RACE/`` shape, and an event
slugged "series" or a race "classification" would lose its results page to them."""

from __future__ import annotations

from django.urls import path

from results.series import views as series_views
from results.stages import views as stage_views

urlpatterns = [
    path("series/<slug:slug>/", series_views.standings, name="series"),
    path(
        "stage-races/<slug:event_slug>/",
        stage_views.classifications,
        name="stage_race",
    ),
]
