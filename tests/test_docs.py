"""The docs describe what exists, and their examples load."""

from __future__ import annotations

import re

import yaml

from monitor.config import validate_config
from monitor.sources import registry
from monitor.yamlload import Located
from tests.conftest import ROOT, base_config

DOCS = ROOT / "docs"


def test_every_source_kind_is_documented() -> None:
    text = (DOCS / "sources.md").read_text(encoding="utf-8")
    for kind in registry.kinds():
        assert f"## `{kind}`" in text, kind


def test_source_examples_in_the_docs_are_valid() -> None:
    text = (DOCS / "sources.md").read_text(encoding="utf-8")
    examples = re.findall(r"```yaml\n(.*?)```", text, re.S)
    assert len(examples) == len(registry.kinds())
    for example in examples:
        config = base_config(sources=yaml.safe_load(example))
        validated = validate_config(Located("docs/sources.md", config))
        assert len(validated.sources) == 1


def test_readme_minimal_configuration_is_valid() -> None:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    (example,) = re.findall(r"## A minimal sources.yaml\n\n```yaml\n(.*?)```", text, re.S)
    config = validate_config(Located("README.md", yaml.safe_load(example)))
    assert config.sources[0].id == "nsf-news" and "cas" in config.digest.profiles


def test_readme_holds_the_two_commands() -> None:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "make run" in text and "make test" in text
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "make test" in ci


def test_every_test_the_fault_matrix_names_exists() -> None:
    """docs/reliability.md names the test proving each row: each must be a real test."""
    text = (DOCS / "reliability.md").read_text(encoding="utf-8")
    named = set(re.findall(r"`(?:[\w/]+\.py::)?(test_\w+)`", text))
    defined = {
        name
        for path in (ROOT / "tests").rglob("test_*.py")
        for name in re.findall(r"^def (test_\w+)", path.read_text(encoding="utf-8"), re.M)
    }
    assert len(named) > 40
    assert sorted(named - defined) == []
