"""URLs of the athlete's connections, activities and data pages, and Strava's webhook."""

from __future__ import annotations

from django.urls import path, re_path

from integrations.views import activities, connections, my_data, strava

app_name = "integrations"

urlpatterns = [
    path("integrations/", connections.connections, name="connections"),
    path("integrations/lastfm/connect/", connections.lastfm_connect, name="lastfm_connect"),
    re_path(
        r"^integrations/(?P<provider>strava|spotify|lastfm)/disconnect/$",
        connections.disconnect,
        name="disconnect",
    ),
    path("integrations/strava/webhook/", strava.strava_webhook, name="strava_webhook"),
    path(
        "integrations/strava/race-activity/<int:registration_id>/",
        strava.race_activity,
        name="race_activity",
    ),
    path("me/activities/", activities.activities, name="activities"),
    path("me/activities/<int:activity_id>/", activities.activity, name="activity"),
    path("me/music/fastest/", activities.fastest_tracks, name="fastest_tracks"),
    path("me/data/", my_data.my_data, name="my_data"),
    path("me/data/export/", my_data.my_data_export, name="my_data_export"),
]
