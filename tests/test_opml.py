"""OPML import and export: feeds in, sources out, hostile documents refused."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from monitor.cli import cli
from monitor.config import Config, load_config, validate_config
from monitor.errors import ConfigError
from monitor.opml import plan_import, read_opml, write_opml
from monitor.yamlload import Located
from tests.conftest import DATA, base_config, source, write_config

OPML = DATA / "discover" / "subscriptions.opml"
UKRI_FEED = "https://www.ukri.org/news/feed/"
PUBLISHERS = {
    "nist": {"name": "National Institute of Standards and Technology", "abbr": "NIST"},
    "ukri": {"name": "UK Research and Innovation", "abbr": "UKRI"},
    "astar": {"name": "Agency for Science, Technology and Research", "abbr": "A*STAR"},
}


def sources() -> list[dict[str, Any]]:
    return [
        source("nist-news", "rss", "https://www.nist.gov/news-events/news/rss.xml", "nist"),
        source("ukri-news", "rss", UKRI_FEED, "ukri", language="en"),
        source(
            "astar-news",
            "html",
            "https://www.a-star.edu.sg/News-and-Events/news",
            "astar",
            selectors={"item": "a[href*='/news/']", "title": ":scope"},
            enabled=False,
        ),
    ]


def config(*, with_sources: bool = True) -> Config:
    raw = base_config(publishers=PUBLISHERS, sources=sources() if with_sources else [])
    return validate_config(Located("test", raw))


def invoke(tmp_path: Path, path: Path, *args: str) -> Result:
    env = {"MONITOR_CONFIG": str(path), "MONITOR_DATA_DIR": str(tmp_path / "data")}
    return CliRunner().invoke(cli, list(args), env=env)


def config_file(tmp_path: Path) -> Path:
    raw = base_config(publishers=PUBLISHERS, sources=sources())
    return write_config(tmp_path / "sources.yaml", raw)


# -- reading --------------------------------------------------------------------------------------


def test_an_inoreader_export_is_read_with_its_folders() -> None:
    outlines = read_opml(OPML.read_bytes(), str(OPML))
    assert [o.title for o in outlines] == [
        "NIST Materials",
        "Materials science news",
        "Materials science news",
        "HZDR press releases",
        "科技日报",
        "UKRI news",
        "A*STAR news",
    ]
    assert outlines[0].categories == ("/Materials",) and outlines[4].categories == ("/China",)
    assert outlines[3].xml_url == "https://www.hzdr.de/db/RSS?pNid=99&pLang=en"  # &amp; read
    assert outlines[-1].xml_url is None and outlines[-1].html_url is not None


def test_import_names_publishers_from_the_glossary_and_new_keys_per_site() -> None:
    plan = plan_import(read_opml(OPML.read_bytes(), "f.opml"), config())
    by_url = {s["url"]: s for s in plan.sources}
    nist = by_url["https://www.nist.gov/news-events/materials/rss.xml"]
    assert (nist["id"], nist["publisher"], nist["name"]) == (
        "nist-materials",
        "nist",
        "NIST Materials",
    )
    assert [(o.title, sid) for o, sid in plan.known] == [("UKRI news", "ukri-news")]
    assert [o.title for o in plan.skipped] == ["A*STAR news"]
    eng = by_url["https://www.eng.cam.ac.uk/news/feed"]
    msm = by_url["https://www.msm.cam.ac.uk/news/rss.xml"]
    assert (eng["id"], msm["id"]) == ("materials-science-news", "materials-science-news-2")
    assert eng["publisher"] == msm["publisher"] == "cam"  # one new key for one site
    chinese = by_url["http://www.stdaily.com/rss/kjrb.xml"]
    assert chinese["id"] == "stdaily-feed" and chinese["publisher"] == "stdaily"
    assert sorted(plan.publishers) == ["cam", "hzdr", "stdaily"]
    assert all(s["kind"] == "rss" for s in plan.sources)


def test_ids_from_titles_stay_unique_against_the_configuration() -> None:
    outline = read_opml(OPML.read_bytes(), "f.opml")[0]
    renamed = type(outline)("NIST news", "https://www.nist.gov/other.xml", None)
    plan = plan_import([renamed, renamed], config())
    assert [s["id"] for s in plan.sources] == ["nist-news-2"]  # nist-news exists; one URL once
    assert plan.sources[0]["publisher"] == "nist"


# -- hostile and broken documents -----------------------------------------------------------------

BOMB = b"""<?xml version="1.0"?>
<!DOCTYPE opml [
 <!ENTITY a "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa">
 <!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">
 <!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">
 <!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">
]>
<opml version="2.0"><body><outline text="&d;" xmlUrl="https://a.example/&d;"/></body></opml>"""

EXTERNAL = b"""<?xml version="1.0"?>
<!DOCTYPE opml [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<opml version="2.0"><body><outline text="&secret;" xmlUrl="https://a.example/f"/></body></opml>"""


@pytest.mark.parametrize(
    ("document", "message"),
    [
        (BOMB, "DOCTYPE is not allowed"),
        (EXTERNAL, "DOCTYPE is not allowed"),
        (b"<opml><body><outline text='x'></body></opml>", "f.opml:1: not well-formed XML"),
        (b"<rss version='2.0'><channel/></rss>", "not OPML: the root element is <rss>"),
        (b"", "not well-formed XML"),
    ],
)
def test_hostile_or_broken_documents_are_refused_clearly(document: bytes, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        read_opml(document, "f.opml")
    assert message in str(caught.value)
    assert "root:" not in str(caught.value)  # nothing of /etc/passwd


# -- writing --------------------------------------------------------------------------------------


def test_export_is_opml_2_with_feeds_and_listings() -> None:
    document = write_opml(config(), datetime(2026, 3, 4, 9, 0, tzinfo=UTC))
    assert document.startswith(b"<?xml version='1.0' encoding='UTF-8'?>\n<opml version=\"2.0\">")
    assert b"<dateCreated>Wed, 04 Mar 2026 09:00:00 +0000</dateCreated>" in document
    outlines = read_opml(document, "export.opml")
    feeds = [o for o in outlines if o.xml_url]
    assert [o.xml_url for o in feeds] == [s.url for s in config().sources if s.kind == "rss"]
    (listing,) = [o for o in outlines if not o.xml_url]
    assert listing.html_url == "https://www.a-star.edu.sg/News-and-Events/news"
    assert "/monitor/kind/html" in listing.categories and "/monitor/disabled" in listing.categories


def test_export_then_import_gives_the_feeds_back_with_their_publishers() -> None:
    document = write_opml(config(), datetime(2026, 3, 4, tzinfo=UTC))
    plan = plan_import(read_opml(document, "export.opml"), config(with_sources=False))
    original = [(s.url, s.publisher, s.name) for s in config().sources if s.kind == "rss"]
    assert [(s["url"], s["publisher"], s["name"]) for s in plan.sources] == original
    assert plan.publishers == {} and len(plan.skipped) == 1


# -- the commands ---------------------------------------------------------------------------------


def test_sources_import_prints_then_writes_and_a_second_import_adds_nothing(
    tmp_path: Path,
) -> None:
    path = config_file(tmp_path)
    before = path.read_bytes()
    printed = invoke(tmp_path, path, "sources", "import", str(OPML))
    assert printed.exit_code == 0, printed.output
    assert "already polled as ukri-news" in printed.output
    assert "skipped (no feed; try `monitor sources add https://www.a-star.edu.sg" in printed.output
    assert "  - id: materials-science-news-2\n" in printed.output
    assert "new publisher 'cam'" in printed.output and path.read_bytes() == before
    written = invoke(tmp_path, path, "sources", "import", str(OPML), "--write")
    assert written.exit_code == 0, written.output
    loaded = load_config(path)
    assert len(loaded.sources) == 3 + 5 and {"cam", "hzdr", "stdaily"} <= set(loaded.publishers)
    again = invoke(tmp_path, path, "sources", "import", str(OPML), "--write")
    assert again.exit_code == 0 and "no new feeds to add" in again.output


def test_sources_import_of_a_broken_file_is_a_users_mistake(tmp_path: Path) -> None:
    bad = tmp_path / "bad.opml"
    bad.write_bytes(EXTERNAL)
    result = invoke(tmp_path, config_file(tmp_path), "sources", "import", str(bad))
    assert result.exit_code == 2 and "DOCTYPE is not allowed" in result.output
    missing = invoke(tmp_path, config_file(tmp_path), "sources", "import", "nope.opml")
    assert missing.exit_code == 2 and "cannot read" in missing.output


def test_sources_export_to_standard_output_and_to_a_file(tmp_path: Path) -> None:
    path = config_file(tmp_path)
    shown = invoke(tmp_path, path, "sources", "export")
    assert shown.exit_code == 0
    assert len(read_opml(shown.stdout_bytes, "stdout")) == 3
    target = tmp_path / "out.opml"
    written = invoke(tmp_path, path, "sources", "export", str(target))
    assert written.exit_code == 0 and "wrote 3 outlines" in written.output
    assert [o.title for o in read_opml(target.read_bytes(), str(target))] == [
        "nist-news",
        "ukri-news",
        "astar-news",
    ]
