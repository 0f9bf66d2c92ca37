from __future__ import annotations

from django.urls import path

from results import timing_views

app_name = "results"

urlpatterns = [
    path("timing/reads/", timing_views.timing_reads, name="timing_reads"),
]
