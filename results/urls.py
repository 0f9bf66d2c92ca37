from __future__ import annotations

from django.urls import path

from results import standings_urls, timing_views, views

app_name = "results"

urlpatterns = [
    path("timing/reads/", timing_views.timing_reads, name="timing_reads"),
    *standings_urls.urlpatterns,
    path("results/mine/", views.my_results, name="mine"),
    path("results/<slug:event_slug>/<slug:race_slug>/", views.race_results, name="race"),
    path(
        "results/<slug:event_slug>/<slug:race_slug>/statistics/",
        views.statistics,
        name="statistics",
    ),
    path("results/<slug:event_slug>/<slug:race_slug>/<str:bib>/", views.athlete, name="athlete"),
    # Any athlete, whatever their bib (one named "statistics" cannot use the address above).
    path(
        "results/<slug:event_slug>/<slug:race_slug>/bib/<str:bib>/",
        views.athlete,
        name="athlete_bib",
    ),
    path(
        "results/<slug:event_slug>/<slug:race_slug>/<str:bib>/trace.json",
        views.athlete_trace,
        name="trace",
    ),
    path(
        "results/<slug:event_slug>/<slug:race_slug>/<str:bib>/certificate.pdf",
        views.certificate,
        name="certificate",
    ),
]
