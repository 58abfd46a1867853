"""Labeled examples: the shipped training set, any file in its format, and editors' feedback."""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from monitor.config import SECTIONS
from monitor.errors import ConfigError, Problem

SHIPPED = Path(__file__).resolve().parent.parent / "data" / "training.jsonl"


@dataclass(frozen=True)
class Example:
    title: str
    summary: str
    publisher: str
    label: str  # "1", "0" or "b"
    section: str | None
    date: str = ""
    url: str = ""
    section_hint: str | None = None
    origin: str = "shipped"
    topics: tuple[str, ...] = ()


def load_examples(path: Path, origin: str = "file") -> list[Example]:
    """Read labeled JSON lines; every malformed line is reported (file and line) at once."""
    examples, problems = [], []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            examples.append(example_from(json.loads(line), origin))
        except (ValueError, KeyError, TypeError) as e:
            problems.append(Problem(str(path), number, "", f"not a labeled item: {e}"))
    if problems:
        raise ConfigError(problems)
    return examples


def example_from(row: dict[str, Any], origin: str) -> Example:
    label = str(row["label"]).strip().lower()
    if label not in ("1", "0", "b"):
        raise ValueError(f'label must be 1, 0 or "b", got {row["label"]!r}')
    section = row.get("section")
    if section is not None and section not in SECTIONS:
        raise ValueError(f"unknown section {section!r}")
    if not isinstance(row.get("title"), str) or not row["title"].strip():
        raise ValueError("'title' must be a non-empty string")
    return Example(
        title=row["title"],
        summary=row.get("summary") or "",
        publisher=row.get("publisher") or row.get("source") or "",
        label=label,
        section=section,
        date=str(row.get("date") or ""),
        url=row.get("url") or "",
        origin=origin,
        topics=tuple(row.get("topics") or ()),
    )


def merge_feedback(examples: list[Example], feedback: list[Example]) -> list[Example]:
    """Feedback wins over a shipped label for the same URL; other feedback items are added."""
    by_url = {f.url: f for f in feedback if f.url}
    merged = []
    for example in examples:
        override = by_url.pop(example.url, None) if example.url else None
        merged.append(
            replace(override, summary=override.summary or example.summary) if override else example
        )
    return merged + [f for f in feedback if not f.url or f.url in by_url]
