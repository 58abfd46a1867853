"""The editors' review desk at ``/review`` of ``monitor run``'s HTTP port: the coming digest by
section, the editors' actions on it (stored as feedback), a preview of the email and "send now".

``auth`` (sign-in, sessions, CSRF, rate limit) and ``review`` (what a page shows, what an action
means) are pure; ``actions`` does the work over the ``App``; ``web`` is the WSGI app.
"""

from __future__ import annotations

from monitor.desk.web import make_desk

__all__ = ["make_desk"]
