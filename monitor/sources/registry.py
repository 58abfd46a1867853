"""The registry of source kinds: ``kind:`` in sources.yaml selects one.

A kind provides a config model (a ``SourceConfig`` subclass with its own fields) and a pure
``parse(content, url, encoding, source) -> ParseResult``. Adding a kind is one module plus one line
in ``_register_builtins``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Protocol

from monitor.config import SourceConfig
from monitor.errors import ParseError
from monitor.items import ParseResult


class SourceKind(Protocol):
    name: str
    config: type[SourceConfig]
    accept: str

    def parse(
        self, content: bytes, url: str, encoding: str | None, source: SourceConfig
    ) -> ParseResult: ...


_KINDS: dict[str, SourceKind] = {}


def register(kind: SourceKind) -> None:
    _KINDS[kind.name] = kind


def get(name: str) -> SourceKind:
    _register_builtins()
    return _KINDS[name]


def kinds() -> dict[str, type[SourceConfig]]:
    """Kind name → its config model."""
    _register_builtins()
    return {name: kind.config for name, kind in _KINDS.items()}


def _register_builtins() -> None:
    if _KINDS:
        return
    from monitor.sources import html, rss

    register(rss.KIND)
    register(html.KIND)


@contextmanager
def parser_failures(parser: str) -> Iterator[None]:
    """The last line of a kind's ``parse``: a library failing on odd input becomes a
    ParseError naming the exception, never an unexpected error."""
    try:
        yield
    except ParseError:
        raise
    except Exception as e:
        raise ParseError(f"the {parser} failed on this input ({type(e).__name__}: {e})") from e
