from __future__ import annotations

from django.urls import path

from events import entry_views, views

app_name = "events"

urlpatterns = [
    path("", views.home, name="home"),
    path("events/", views.event_list, name="list"),
    path("events/<slug:slug>/", views.event_detail, name="detail"),
    path("events/<slug:slug>/calendar.ics", views.event_calendar, name="calendar"),
    path("events/<slug:slug>/enter/<slug:race_slug>/", entry_views.race_entry, name="enter"),
    path("events/<slug:slug>/waitlist/<slug:race_slug>/", entry_views.waitlist, name="waitlist"),
    path("entries/<slug:token>/", entry_views.entry_detail, name="entry"),
    path(
        "entries/<slug:token>/confirm/<slug:key>/",
        entry_views.entry_confirm_email,
        name="entry_confirm",
    ),
    path("entries/<slug:token>/transfer/", entry_views.entry_transfer, name="entry_transfer"),
    path("entries/<slug:token>/cancel/", entry_views.entry_cancel, name="entry_cancel"),
    path("me/races/", entry_views.my_races, name="my_races"),
    path("organizers/new/", views.organizer_signup, name="organizer_signup"),
    path("organizers/<slug:slug>/", views.organizer_detail, name="organizer"),
    path("courses/<int:course_id>/", views.course, name="course"),
]
