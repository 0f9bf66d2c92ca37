"""The athlete's integrations pages, one module per feature: ``connections`` (connecting and
disconnecting services), ``activities`` (uploads, the map with its music, the fastest
tracks), ``my_data`` (export, deletion) and ``strava`` (its webhook, a race's activity)."""
