"""Integrations: Strava, Spotify and Last.fm connections, activities and their streams.

The API other modules build on (helper notes for Spotify/Last.fm/uploads/retention):

- ``integrations.models.Connection``: one per (user, provider); ``provider`` in
  ``Provider`` (strava, spotify, lastfm); ``external_id`` (athlete / user id, the Last.fm
  username); ``status`` ok/broken with ``broken_reason``; ``expires_at``; ``scopes``.
  Tokens are only ever sealed: ``connection.set_tokens(access_token=, refresh_token=,
  expires_at=)`` then save with ``update_fields=[*Connection.TOKEN_FIELDS, ...]``.
- ``integrations.tokens.get_access_token(connection, clock=...)``: a usable access token,
  refreshed under a lock shared by all workers when it expires within 5 minutes. A
  provider registers its refresher once (``AppConfig.ready`` or module import):
  ``register_refresher("spotify", fn)`` where ``fn(connection, refresh_token) -> TokenSet``
  raises ``TokenRefusedError`` when the provider refuses for good (the connection is then
  marked broken and ``ConnectionBrokenError`` raised). ``tokens.mark_broken(connection,
  reason=)`` and ``tokens.store_tokens(connection, TokenSet)`` for other paths.
- ``pace.lib.sealing``: ``encrypt(text, purpose=)`` / ``decrypt(sealed, purpose=)``
  (AES-256-GCM, key id in each ciphertext; ``TokenDecryptError`` on anything that does not
  open). Keys: ``settings.PACE_TOKEN_KEYS``; ``manage.py rotate_token_key`` re-seals.
- ``integrations.models.Activity`` (user, source strava/upload, external_id, sport, name,
  start/end UTC, elapsed_time, moving_time, distance, summary JSON) and
  ``ActivityStream`` (one row per activity: JSON arrays ``time`` (s from start),
  ``latlng``, ``altitude``, ``heartrate``, ``cadence``, ``velocity``; ``samples``,
  ``resolution`` (0 raw, else seconds per sample after downsampling) and
  ``downsampled_at`` for the 3-month retention).
- ``integrations.locking.shared_lock(name, ttl=, wait=)``: a lock in the default cache.
"""
