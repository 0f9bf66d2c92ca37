"""Last.fm: an athlete's scrobbles, read by username, lined up with their workouts."""
