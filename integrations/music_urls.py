"""URLs of the athlete's own activities, music and data pages."""

from __future__ import annotations

from django.urls import path, re_path

from integrations import music_views

app_name = "music"

urlpatterns = [
    path("me/activities/", music_views.activities, name="activities"),
    path("me/activities/<int:activity_id>/", music_views.activity, name="activity"),
    path("me/music/fastest/", music_views.fastest_tracks, name="fastest"),
    path("me/data/", music_views.my_data, name="my_data"),
    path("me/data/export/", music_views.my_data_export, name="export"),
    path("integrations/lastfm/connect/", music_views.lastfm_connect, name="lastfm_connect"),
    re_path(
        r"^integrations/(?P<provider>spotify|lastfm)/disconnect/$",
        music_views.music_disconnect,
        name="disconnect",
    ),
]
