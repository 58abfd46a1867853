"""A new source added to ``sources.yaml`` as text (its comments and layout kept), the whole
file validated before it is written and after, and restored on error."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import yaml

from monitor.config import Config, validate_config
from monitor.errors import ConfigError, Problem
from monitor.yamlload import load_yaml_text

_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass(frozen=True)
class Addition:
    """Sources (and glossary entries) to add to a configuration file."""

    sources: list[dict[str, Any]]
    publishers: dict[str, dict[str, str]] = field(default_factory=dict)
    comment: str = ""  # a comment line above the sources


def source_block(addition: Addition, indent: int = 2) -> str:
    """The YAML text of the sources, a list item each, indented by ``indent``."""
    dumped = yaml.safe_dump(
        addition.sources, sort_keys=False, allow_unicode=True, default_flow_style=False, width=1000
    )
    lines = [f"# {line}" for line in addition.comment.splitlines() if line.strip()]
    return "".join(" " * indent + line + "\n" for line in [*lines, *dumped.splitlines()])


def publisher_lines(publishers: dict[str, dict[str, str]], indent: int = 2) -> str:
    """Glossary entries, one flow mapping a line, each with a note to complete it."""
    out = ""
    for key, entry in publishers.items():
        flow = yaml.safe_dump(
            entry, default_flow_style=True, allow_unicode=True, width=1000
        ).strip()
        out += f"{' ' * indent}{key}: {flow}  # new: fill in name_zh, abbr, country_zh, kind\n"
    return out


def add_to_text(text: str, addition: Addition) -> str:
    """``text`` (a sources.yaml) with the sources appended to its ``sources:`` list and the
    publishers to its glossary, everything else (comments, order, quoting) as it was.
    ConfigError when the file's structure does not allow it (a list in flow style)."""
    if text and not text.endswith("\n"):
        text += "\n"
    try:
        root = yaml.compose(text, Loader=_LOADER)
    except yaml.YAMLError as e:
        raise ConfigError([_problem(f"invalid YAML: {e}")]) from e
    if root is not None and not isinstance(root, yaml.MappingNode):
        raise ConfigError([_problem("the file must hold a mapping (key: value)")])
    edits: list[tuple[int, int, str]] = []  # (start, end, replacement) in characters
    if addition.publishers:
        block = partial(publisher_lines, addition.publishers)
        edits.append(_edit(root, "publishers", text, block))
    if addition.sources:
        edits.append(_edit(root, "sources", text, partial(source_block, addition)))
    for begin, end, replacement in sorted(edits, reverse=True):
        text = text[:begin] + replacement + text[end:]
    return text


def _edit(
    root: yaml.Node | None, key: str, text: str, render: Callable[[int], str]
) -> tuple[int, int, str]:
    """The edit that extends the collection under ``key`` with ``render(indent)``."""
    pairs = root.value if isinstance(root, yaml.MappingNode) else []
    found = [(k, v) for k, v in pairs if isinstance(k, yaml.ScalarNode) and k.value == key]
    if not found:
        return len(text), len(text), f"{key}:\n{render(2)}"
    key_node, value = found[0]
    empty_flow = isinstance(value, yaml.CollectionNode) and value.flow_style and not value.value
    if _is_null(value) or empty_flow:  # `sources:`, `sources: ~`, `sources: []`
        colon = text.index(":", key_node.end_mark.index)
        newline = text.find("\n", colon)
        rest = text[colon + 1 : newline]
        comment = rest[rest.find("#") :] if "#" in rest else ""
        kept = f" {comment}" if comment else ""
        return colon + 1, newline, kept + "\n" + render(2).rstrip("\n")
    if not isinstance(value, yaml.CollectionNode) or value.flow_style:
        message = f"{key}: written in flow style ([...] or {{...}}); make it a block to add to it"
        raise ConfigError([_problem(message)])
    if isinstance(value, yaml.SequenceNode):
        indent = value.start_mark.column
    else:
        indent = value.value[0][0].start_mark.column
    at = _line_start_after(text, _last_line(value))
    return at, at, render(indent)


def _is_null(node: yaml.Node) -> bool:
    return isinstance(node, yaml.ScalarNode) and node.tag == "tag:yaml.org,2002:null"


def _line_start_after(text: str, line: int) -> int:
    """The index where line ``line + 1`` (0-based) starts."""
    index = 0
    for _ in range(line + 1):
        index = text.index("\n", index) + 1
    return index


def _last_line(node: yaml.Node) -> int:
    """The (0-based) line where the content of a block collection ends."""
    while isinstance(node, yaml.CollectionNode) and not node.flow_style and node.value:
        node = node.value[-1] if isinstance(node, yaml.SequenceNode) else node.value[-1][1]
    end = node.end_mark
    return end.line if end.column > 0 else end.line - 1


def _problem(message: str) -> Problem:
    return Problem("sources.yaml", None, "", message)


def check_text(text: str, file: str) -> Config:
    """Validate a whole configuration text (ConfigError listing every problem)."""
    return validate_config(load_yaml_text(text, file))


def append_to_file(path: Path, addition: Addition) -> Config:
    """Add to the configuration file at ``path`` (see ``add_to_text``); the new text is
    validated before it is written and the written file after; on any error the file is left
    (or put back) as it was and the error raised."""
    original = path.read_text(encoding="utf-8")
    changed = add_to_text(original, addition)
    check_text(changed, str(path))
    _write(path, changed)
    try:
        return validate_config(load_yaml_text(path.read_text(encoding="utf-8"), str(path)))
    except Exception:
        _write(path, original)
        raise


def _write(path: Path, text: str) -> None:
    """Replace the file at once (a reader never sees half of it), keeping its permissions."""
    mode = path.stat().st_mode & 0o7777
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as out:
            out.write(text)
        Path(temporary).chmod(mode)
        Path(temporary).replace(path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
