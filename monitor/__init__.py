"""monitor: watch agency pages, draft a weekly bulletin on advanced manufacturing and materials."""

from __future__ import annotations

__version__ = "0.1.0"
