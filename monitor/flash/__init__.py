"""News alerts (快讯): a new item that meets a digest profile's ``alert`` rule is emailed to the
profile's alert recipients at once, once per story, in the profile's Chinese entry form, and
marked in the next digest as already alerted.

- ``rules``: which new items meet which profile's rule (pure);
- ``message``: the alert email (pure);
- ``send``: the ``Flasher``, which sends the alerts the database holds, exactly once.

Alerts are queued in the transaction that stores the items (``monitor.store.flashes``), so a
restart between the poll and the send loses nothing.
"""

from __future__ import annotations

STATUSES = ("pending", "sending", "sent", "failed", "skipped")  # of an alert
