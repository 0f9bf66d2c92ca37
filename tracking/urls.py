from __future__ import annotations

from django.urls import path

from tracking import views

app_name = "tracking"

urlpatterns = [
    path("osmand/", views.osmand_point, name="osmand"),
]
