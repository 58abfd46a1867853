"""Load YAML while remembering the line of every key, so errors can name file, line and key.

Pure apart from reading the file.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from monitor.errors import ConfigError, Problem

# libyaml's loader when PyYAML was built with it (several times faster), else the pure one
_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

KeyPath = tuple[str | int, ...]


@dataclass
class Located:
    """A YAML document as plain Python data, with the 1-based line of each key path."""

    file: str
    data: Any
    lines: dict[KeyPath, int] = field(default_factory=dict)

    def line_of(self, path: KeyPath) -> int | None:
        """The line of ``path``, or of its nearest located ancestor."""
        for end in range(len(path), -1, -1):
            line = self.lines.get(tuple(path[:end]))
            if line is not None:
                return line
        return None

    def problem(self, path: KeyPath, message: str) -> Problem:
        return Problem(self.file, self.line_of(path), format_path(path), message)


def format_path(path: KeyPath) -> str:
    """``("sources", 3, "selectors", "title")`` → ``sources[3].selectors.title``."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def load_yaml(path: Path) -> Located:
    """Parse ``path``; raise ConfigError naming the line on a syntax error or duplicate key."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        raise ConfigError([Problem(str(path), None, "", f"cannot read file: {e.strerror}")]) from e
    except UnicodeDecodeError as e:
        raise ConfigError([Problem(str(path), None, "", "file is not UTF-8")]) from e
    return load_yaml_text(text, str(path))


def load_yaml_text(text: str, file: str) -> Located:
    loader = _LOADER(text)
    try:
        node = loader.get_single_node()
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        line = mark.line + 1 if mark else None
        message = f"invalid YAML: {e.problem or e.context}"
        raise ConfigError([Problem(file, line, "", message)]) from e
    finally:
        loader.dispose()
    located = Located(file, None)
    problems: list[Problem] = []
    if node is not None:
        located.data = _construct(loader, node, (), located, problems)
    if problems:
        raise ConfigError(problems)
    return located


def _construct(
    loader: Any,
    node: yaml.Node,
    path: KeyPath,
    located: Located,
    problems: list[Problem],
) -> Any:
    located.lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        loader.flatten_mapping(node)
        result: dict[str, Any] = {}
        for key_node, value_node in node.value:
            key = loader.construct_object(key_node, deep=True)
            key_path = (*path, str(key))
            if str(key) in result:
                line = key_node.start_mark.line + 1
                problems.append(Problem(located.file, line, format_path(key_path), "duplicate key"))
                continue
            located.lines[key_path] = key_node.start_mark.line + 1
            result[str(key)] = _construct(loader, value_node, key_path, located, problems)
        return result
    if isinstance(node, yaml.SequenceNode):
        return [
            _construct(loader, child, (*path, i), located, problems)
            for i, child in enumerate(node.value)
        ]
    return loader.construct_object(node, deep=True)
