"""Storage: SQLAlchemy models, the repository (the only code that opens sessions), migrations."""

from __future__ import annotations

from monitor.store.repo import Store

__all__ = ["Store"]
