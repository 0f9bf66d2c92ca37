"""Series standings and stage race classifications: listed in ``results.urls`` before the
race pages, whose ``/results/EVENT/RACE/`` would otherwise take these addresses (so no
event may be called "series", nor a race "classification")."""

from __future__ import annotations

from django.urls import path

from results.series import views as series_views
from results.stages import views as stage_views

urlpatterns = [
    path("results/series/<slug:slug>/", series_views.standings, name="series"),
    path(
        "results/<slug:event_slug>/classification/",
        stage_views.classifications,
        name="stage_race",
    ),
]
