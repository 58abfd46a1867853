from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from monitor.cli import cli
from monitor.config import load_config, parse_duration
from monitor.errors import ConfigError
from tests.conftest import ROOT, base_config, write_config


def problems_of(path: Path) -> list[str]:
    with pytest.raises(ConfigError) as info:
        load_config(path)
    return [str(p) for p in info.value.problems]


def test_shipped_sources_yaml_is_valid() -> None:
    config = load_config(ROOT / "sources.yaml")
    assert len(config.sources) >= 16
    assert {s.kind for s in config.sources} == {"rss", "html"}
    for source in config.sources:
        assert source.publisher in config.publishers, source.id
    assert config.digest.default_profile in config.digest.profiles


def test_every_source_says_what_it_was_checked_against() -> None:
    text = (ROOT / "sources.yaml").read_text(encoding="utf-8")
    blocks = text.split("\n  - id: ")[1:]
    for block in blocks:
        source_id = block.split("\n", 1)[0]
        preceding = text.split(f"\n  - id: {source_id}\n", 1)[0].rsplit("\n  - id: ", 1)[-1]
        assert "checked against:" in preceding.split("\n\n")[-1], source_id


def test_invalid_yaml_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "sources.yaml"
    path.write_text("version: 1\nsources:\n  - id: x\n    name: [unclosed\n", encoding="utf-8")
    (problem,) = problems_of(path)
    assert problem.startswith(f"{path}:5: invalid YAML")


def test_unknown_key_names_line_key_and_allowed_keys(tmp_path: Path) -> None:
    config = base_config()
    config["sources"] = [
        {
            "id": "wh",
            "name": "White House",
            "publisher": "whitehouse",
            "kind": "html",
            "url": "https://www.whitehouse.gov/news/",
            "selectors": {"item": "li", "titel": "h2 a"},
        }
    ]
    path = write_config(tmp_path / "sources.yaml", config)
    found = problems_of(path)
    lines = path.read_text(encoding="utf-8").splitlines()
    titel_line = next(i for i, line in enumerate(lines, 1) if "titel:" in line)
    assert f"{path}:{titel_line}: sources[0].selectors.titel: unknown key" in found[0] or any(
        f"{path}:{titel_line}: sources[0].selectors.titel: unknown key" in p for p in found
    )
    titel = next(p for p in found if ".titel" in p)
    assert "did you mean 'title'?" in titel
    assert "allowed: " in titel and "date_attr" in titel
    missing = next(p for p in found if "selectors.title" in p)
    assert "required key is missing" in missing


def test_every_problem_is_listed_at_once(tmp_path: Path) -> None:
    config = base_config()
    good = {"id": "a", "name": "A", "publisher": "nsf", "kind": "rss", "url": "https://a.gov/f"}
    config["sources"] = [
        good,
        {**good, "kind": "atom"},
        {**good, "id": "Bad Id", "url": "ftp://x"},
        {**good, "publisher": "nfs", "id": "c"},
        {**good, "timezone": "Mars/Base", "id": "d"},
        {**good, "interval": "soon", "id": "e"},
    ]
    config["digest"]["timezone"] = "Nowhere/City"
    path = write_config(tmp_path / "sources.yaml", config)
    found = "\n".join(problems_of(path))
    assert "sources[1].kind: unknown kind 'atom' (supported: html, rss)" in found
    assert "sources[2].id: Value error, must be lowercase" in found
    assert "sources[2].url: Value error, must be an http(s) URL" in found
    assert "sources[3].publisher: publisher 'nfs' is not in the publishers glossary" in found
    assert "did you mean 'nsf'?" in found
    assert "sources[4].timezone" in found and "Mars/Base" in found
    assert "sources[5].interval" in found and "not a duration" in found
    assert "digest.timezone: unknown time zone 'Nowhere/City'" in found


def test_duplicate_ids_and_keys_and_bad_selectors(tmp_path: Path) -> None:
    config = base_config()
    source = {
        "id": "a",
        "name": "A",
        "publisher": "nsf",
        "kind": "html",
        "url": "https://a.gov/",
        "selectors": {"item": "li[", "title": "a"},
    }
    config["sources"] = [source, {**source, "selectors": {"item": "li", "title": "a"}}]
    path = write_config(tmp_path / "sources.yaml", config)
    found = "\n".join(problems_of(path))
    assert "sources[0].selectors.item: Value error, invalid CSS selector" in found
    assert "duplicate source id 'a'" in found
    path.write_text("version: 1\nversion: 1\n", encoding="utf-8")
    assert any(p.startswith(f"{path}:2: version: duplicate key") for p in problems_of(path))


def test_bad_term_is_reported(tmp_path: Path) -> None:
    config = base_config()
    config["classifier"]["exclude"] = {"*": -1}
    path = write_config(tmp_path / "sources.yaml", config)
    assert any("classifier.exclude.*: empty term" in p for p in problems_of(path))


def test_cli_sources_check_exit_status(tmp_path: Path) -> None:
    runner = CliRunner()
    ok = runner.invoke(cli, ["--config", str(ROOT / "sources.yaml"), "sources", "check"])
    assert ok.exit_code == 0, ok.output
    assert "OK" in ok.output
    bad = write_config(tmp_path / "bad.yaml", {**base_config(), "surprise": 1})
    result = runner.invoke(cli, ["--config", str(bad), "sources", "check"])
    assert result.exit_code == 2
    assert f"{bad}:" in result.output and "surprise: unknown key" in result.output
    assert "Traceback" not in result.output


def test_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["--config", str(tmp_path / "none.yaml"), "sources", "check"])
    assert result.exit_code == 2
    assert "cannot read file" in result.output


@pytest.mark.parametrize(
    ("text", "seconds"), [("30m", 1800), ("6h", 21600), ("1d", 86400), (90, 90), ("1.5h", 5400)]
)
def test_durations(text: str | int, seconds: int) -> None:
    assert parse_duration(text).total_seconds() == seconds
