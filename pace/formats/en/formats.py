"""Dates and times as Pace reads what people type: ISO 8601 only (2026-05-12, 2026-05-12 09:30).

Django's English formats also read 05/12/2026, month first, as Americans write it: a runner
in Spain typing 03/04/1990 for 3 April was stored as 4 March, and an events filter of
05/12/2026 ran as 12 May while the page's date field, which shows only ISO dates, stayed
blank. Browsers' date and time inputs send ISO whatever the reader's locale, so a date
typed any other way is refused with a form error instead of guessed.

A date and time *shown* without a format of its own (a read-only field of an admin page, a
template's bare ``|date``) reads as the back office's lists show times, with the zone's
abbreviation ("5 Dec 2026, 08:25 CET", events/admin_localtime.py's ``LIST_FORMAT``), not
Django's "Dec. 5, 2026, 8:25 a.m.", which says nothing of the zone it is in.
"""

DATE_INPUT_FORMATS = ["%Y-%m-%d"]
DATETIME_INPUT_FORMATS = [
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d %H:%M:%S.%f",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%d",
]
DATETIME_FORMAT = "j M Y, H:i T"
