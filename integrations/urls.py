from __future__ import annotations

from django.urls import path

from integrations import views

app_name = "integrations"

urlpatterns = [
    path("integrations/", views.connections, name="connections"),
    path("integrations/strava/disconnect/", views.strava_disconnect, name="strava_disconnect"),
    path(
        "integrations/strava/race-activity/<int:registration_id>/",
        views.race_activity,
        name="race_activity",
    ),
    path("integrations/strava/webhook/", views.strava_webhook, name="strava_webhook"),
]
