"""Roles are per organizer: every admin action and view, over people with different roles
in two organizers.

The isolation matrix (``events/tests/admin_isolation/``) proves organizers cannot
reach each other. This one proves a role held at one organizer never carries over to another:
bob is staff at Alpha and owner of the "Bob Org" he started, erin is admin at Bravo
and staff at Alpha. Every action and custom URL of every registered admin is found
from the admin site's registry (each ModelAdmin's ``get_actions`` and ``get_urls``), so
a new one fails ``test_it_knows_the_roles_of_every_action_and_view`` until its roles
are named below, and is then run against the objects of both organizers. It lives at the
top as it spans the admins of every app (events, payments, tracking, results).
"""
