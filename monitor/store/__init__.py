"""Storage: SQLAlchemy models, the repository (the only code that opens sessions), migrations.

``Store`` is imported on first use, so that the light readers of this package
(``monitor.store.lean``) do not import SQLAlchemy.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from monitor.store.repo import Store

__all__ = ["Store"]


def __getattr__(name: str) -> Any:
    if name == "Store":
        from monitor.store.repo import Store

        return Store
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
