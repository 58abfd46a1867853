"""Story grouping of JSON lines, for ``monitor stories FILE|-``. Reads and writes the streams it
is given; no other I/O.

Each input line is an object with ``id``, ``title``, ``summary``, ``url``, ``publisher``,
``date`` (ISO, may be empty) and optional ``language``, ``text`` and ``source``. Each output
line is the input object with a ``story`` key added: the ``id`` of the story's first member.
A bad line gives one error line on the error stream, naming its line number; the others are
still grouped and written, in input order.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from datetime import date
from typing import IO, TYPE_CHECKING, Any

from monitor.stories.match import StoryDoc, group

if TYPE_CHECKING:
    from monitor.config import Publisher


class BadLineError(ValueError):
    """A line that is not an item."""


def group_lines(
    infile: IO[str],
    outfile: IO[str],
    publishers: Mapping[str, Publisher] | None = None,
    *,
    errfile: IO[str] | None = None,
) -> tuple[int, int]:
    """Group the items of ``infile`` into stories; returns (lines written, bad lines)."""
    errors = errfile if errfile is not None else sys.stderr
    rows: list[dict[str, Any]] = []
    docs: list[StoryDoc] = []
    bad = 0
    for number, line in enumerate(infile, start=1):
        if not line.strip():
            continue
        try:
            row, doc = _parse(line, internal_id=len(rows))
        except BadLineError as e:
            bad += 1
            print(f"line {number}: {e}", file=errors)
            continue
        rows.append(row)
        docs.append(doc)
    stories = group(docs, publishers)
    for position, row in enumerate(rows):
        row["story"] = rows[stories[position]]["id"]
        outfile.write(json.dumps(row, ensure_ascii=False) + "\n")
    return len(rows), bad


def _parse(line: str, internal_id: int) -> tuple[dict[str, Any], StoryDoc]:
    try:
        row = json.loads(line)
    except json.JSONDecodeError as e:
        raise BadLineError(f"not JSON: {e.msg}") from e
    if not isinstance(row, dict):
        raise BadLineError("not a JSON object")
    if row.get("id") is None or isinstance(row["id"], dict | list):
        raise BadLineError("missing or invalid 'id'")
    title = row.get("title")
    if not isinstance(title, str) or not title.strip():
        raise BadLineError("missing 'title'")
    publisher = str(row.get("publisher") or "")
    doc = StoryDoc(
        item_id=internal_id,
        source_id=str(row.get("source") or publisher or f"line-{internal_id}"),
        publisher=publisher,
        title=title,
        summary=_text(row, "summary"),
        text=_text(row, "text"),
        language=str(row.get("language") or "en"),
        published=_date(row.get("date")),
    )
    return row, doc


def _text(row: Mapping[str, Any], key: str) -> str:
    value = row.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise BadLineError(f"'{key}' is not text")
    return value


def _date(value: Any) -> date | None:
    if value in (None, ""):
        return None
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError as e:
        raise BadLineError(f"'date' is not an ISO date: {value!r}") from e
