from __future__ import annotations

from django.urls import path

from tracking.control import views as control
from tracking.ingest import views
from tracking.web import embed, family, pages, replay, tracker_app

app_name = "tracking"

urlpatterns = [
    path("osmand/", views.osmand_point, name="osmand"),
    path("live/<slug:event_slug>/<slug:race_slug>/", pages.live, name="live"),
    path(
        "live/<slug:event_slug>/<slug:race_slug>/athlete/<int:athlete_id>.json",
        pages.live_athlete,
        name="live_athlete",
    ),
    path("live/<slug:event_slug>/<slug:race_slug>/field.json", pages.live_field, name="live_field"),
    path(
        "live/<slug:event_slug>/<slug:race_slug>/roster.json",
        pages.live_roster,
        name="live_roster",
    ),
    path("live/<slug:event_slug>/<slug:race_slug>/replay/", replay.replay, name="replay"),
    path(
        "live/<slug:event_slug>/<slug:race_slug>/replay/data/",
        replay.replay_data,
        name="replay_data",
    ),
    path("embed/<slug:event_slug>/<slug:race_slug>/", embed.embed, name="embed"),
    path("family-links/", family.family_links, name="family_links"),
    path("f/<str:token>/", family.family_open, name="family_open"),
    path(
        "live/<slug:event_slug>/<slug:race_slug>/course/",
        family.family_course,
        name="family_course",
    ),
    path("track/", pages.track, name="track"),
    path("track/sw.js", tracker_app.service_worker, name="track_sw"),
    path("track/signed-out/", tracker_app.signed_out, name="track_signed_out"),
    path("track/manifest.webmanifest", tracker_app.manifest, name="track_manifest"),
    path("track/device/", tracker_app.device, name="track_device"),
    path("control/<slug:event_slug>/<slug:race_slug>/", control.control, name="control"),
    path(
        "control/<slug:event_slug>/<slug:race_slug>/act/", control.control_act, name="control_act"
    ),
]
