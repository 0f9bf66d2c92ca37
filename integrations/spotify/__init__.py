"""Spotify: the athlete's recently played tracks, polled, lined up with their workouts."""
