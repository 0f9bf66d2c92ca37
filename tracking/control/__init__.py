"""Race control: the organizer's live page of a race (``/control/EVENT/RACE/``), its
socket (``/ws/control/RACE_ID/``), its actions and the safety e-mails. Beside ``web``:
it may use every room below it (ingest, fan-out, live state)."""
