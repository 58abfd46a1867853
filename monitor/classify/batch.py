"""``monitor classify``: JSON lines in, the same objects with the decision added out. Pure
apart from the streams it is given."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import IO, Any

from monitor.classify import Classifier, Doc
from monitor.config import Config


@dataclass(frozen=True)
class SourceHint:
    publisher: str
    section: str | None


def source_hints(config: Config) -> dict[str, SourceHint]:
    """What a ``source`` field may name: a source id, or a publisher whose sources agree on a
    section (else no section hint)."""
    hints = {s.id: SourceHint(s.publisher, s.section) for s in config.sources}
    by_publisher: dict[str, set[str | None]] = {}
    for source in config.sources:
        by_publisher.setdefault(source.publisher, set()).add(source.section)
    for publisher in config.publishers:
        sections = by_publisher.get(publisher, {None})
        section = next(iter(sections)) if len(sections) == 1 else None
        hints.setdefault(publisher, SourceHint(publisher, section))
    return hints


def doc_from(obj: dict[str, Any], hints: dict[str, SourceHint]) -> Doc:
    title = obj.get("title")
    if not isinstance(title, str) or not title.strip():
        raise ValueError("'title' must be a non-empty string")
    for name in ("summary", "url", "source", "text"):
        if obj.get(name) is not None and not isinstance(obj[name], str):
            raise ValueError(f"{name!r} must be a string")
    hint = hints.get((obj.get("source") or "").strip().lower())
    return Doc(
        title=title,
        summary=obj.get("summary") or "",
        text=obj.get("text") or "",
        url=obj.get("url") or "",
        publisher=hint.publisher if hint else (obj.get("source") or ""),
        section_hint=hint.section if hint else None,
    )


def classify_lines(
    lines: Iterable[str], out: IO[str], err: IO[str], classifier: Classifier, config: Config
) -> tuple[int, int]:
    """Classify each line; return (lines classified, lines with an error)."""
    hints = source_hints(config)
    done = failed = 0
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        result = _one(line, classifier, hints)
        if "error" in result:
            failed += 1
            err.write(f"line {number}: {result['error']}\n")
            result.setdefault("line", number)
        else:
            done += 1
        out.write(json.dumps(result, ensure_ascii=False) + "\n")
    return done, failed


def _one(line: str, classifier: Classifier, hints: dict[str, SourceHint]) -> dict[str, Any]:
    try:
        parsed = json.loads(line)
    except ValueError as e:
        return {"error": f"invalid JSON: {e}"}
    if not isinstance(parsed, dict):
        return {"error": "a line must hold a JSON object"}
    try:
        decision = classifier.classify(doc_from(parsed, hints))
    except ValueError as e:
        return {**parsed, "error": str(e)}
    return {
        **parsed,
        "relevant": decision.relevant,
        "score": decision.score,
        "topics": list(decision.topics),
        "section": decision.section,
        "why": list(decision.why),
    }
