from __future__ import annotations

from django.urls import path

from tracking.control import views as control
from tracking.ingest import views
from tracking.web import pages

app_name = "tracking"

urlpatterns = [
    path("osmand/", views.osmand_point, name="osmand"),
    path("live/<slug:event_slug>/<slug:race_slug>/", pages.live, name="live"),
    path("track/", pages.track, name="track"),
    path("control/<slug:event_slug>/<slug:race_slug>/", control.control, name="control"),
    path(
        "control/<slug:event_slug>/<slug:race_slug>/act/", control.control_act, name="control_act"
    ),
]
