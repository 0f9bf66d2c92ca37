"""The back office for entries: participants, check-in, bibs, start lists, exports, e-mail.

Also the admins of what shapes entries (price tiers, questions, discount codes)
and of teams and the waitlist. Every admin here is an ``OrganizerScopedAdmin``,
and every custom view resolves its race through ``scope_to_user`` and asks the
role it needs of that race's organizer. Importing the package registers them all.
"""

from __future__ import annotations

from events.admin_entries import registrations, shaping, teams

__all__ = ["registrations", "shaping", "teams"]
