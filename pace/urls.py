from __future__ import annotations

from django.conf import settings
from django.contrib import admin
from django.contrib.sitemaps.views import sitemap
from django.http import HttpRequest, HttpResponse
from django.urls import include, path
from django.views.decorators.cache import cache_page
from django.views.static import serve

from events.sitemaps import SITEMAPS
from pace import health
from results.seo import ResultsSitemap
from results.standings_seo import StandingsSitemap

# Results pages sit above events: pace, the top, joins their sitemaps.
SITE_MAPS = {**SITEMAPS, "results": ResultsSitemap, "standings": StandingsSitemap}


def robots_txt(request: HttpRequest) -> HttpResponse:
    lines = [
        "User-agent: *",
        "Disallow: /admin/",
        "Disallow: /accounts/",
        "Disallow: /api/",
        "Allow: /",
        f"Sitemap: {settings.SITE_URL}/sitemap.xml",
    ]
    return HttpResponse("\n".join(lines) + "\n", content_type="text/plain")


urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("robots.txt", robots_txt, name="robots"),
    path(
        "sitemap.xml",
        cache_page(300)(sitemap),
        {"sitemaps": SITE_MAPS},
        name="django.contrib.sitemaps.views.sitemap",
    ),
    path("admin/", admin.site.urls),
    path("accounts/", include("allauth.urls")),
    path("media/<path:path>", serve, {"document_root": settings.MEDIA_ROOT}),
    path("", include("integrations.urls")),
    path("", include("payments.urls")),
    path("", include("tracking.urls")),
    path("", include("results.urls")),
    path("", include("events.urls")),
]
