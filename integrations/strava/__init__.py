"""Strava: OAuth through allauth (``oauth``), the one HTTP client (``client``), the shared
quota (``quota``), the backfill queue (``backfill``), webhooks (``webhooks``) and the race
match (``race_match``). docs/integrations.md explains the quota and the backfill."""
