"""`monitor learn`: the editors' published issue corrects the week's draft and teaches the
classifier; what they cited that no source brought is reported by host."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner
from pytest_httpserver import HTTPServer
from sqlalchemy import func, select

from monitor.cli import cli
from monitor.store import Store
from monitor.store.models import FeedbackRow
from tests.conftest import base_config, serve, source, write_config
from tests.test_feedback import entries_by_section, env_for

TITLES = {
    "a": "NSF awards $20 million for advanced manufacturing of semiconductor materials",
    "b": "Researchers develop a new high-entropy alloy for additive manufacturing",
    "c": "National strategy for advanced manufacturing and critical materials released",
    "d": "New funding for composite materials manufacturing research hubs",
}


def feed(site: HTTPServer) -> bytes:
    items = "".join(
        f"<item><title>{title}</title><link>{site.url_for(f'/news/{key}')}</link>"
        f"<description>{title}. The programme supports materials and manufacturing research "
        f"and industry partnerships.</description>"
        f"<pubDate>Wed, 25 Sep 2024 10:00:00 GMT</pubDate></item>"
        for key, title in TITLES.items()
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>News</title>'
        f"<link>{site.url_for('/')}</link>{items}</channel></rss>"
    ).encode()


def published(site: HTTPServer) -> str:
    """An issue in the cas layout, as text extracted from its PDF."""
    a = site.url_for("/news/a") + "?utm_source=newsletter&utm_medium=email"
    return f"""先进制造与新材料动态监测快报
2024 年第 39 期（总第 100 期）

目 录
战略规划
美发布先进制造与关键材料国家战略......................................1
项目资助
美 NSF 资助 2000 万美元支持半导体材料先进制造...........................2
研究进展
研究人员开发用于增材制造的新型高熵合金.................................3

战略规划

美发布先进制造与关键材料国家战略
9 月 25 日，美国白宫发布先进制造与关键材料国家战略……

张 三 编译自[2024-09-25]
Fact sheet: the administration acts on critical minerals
{site.url_for("/go/c")}

项目资助

美 NSF 资助 2000 万美元支持半导体材料先进制造
9 月 25 日，美国国家科学基金会（NSF）宣布资助 2000 万美元……

李 四 编译自[2024-09-25]
NSF awards $20 million for advanced manufacturing of semiconductor materials
{a}

研究进展

研究人员开发用于增材制造的新型高熵合金
9 月 25 日，研究人员开发出一种用于增材制造的新型高熵合金……

王 五 编译自[2024-09-25]
Researchers Develop a New High-Entropy Alloy for Additive Manufacturing

普渡大学开发新型陶瓷涂层
9 月 24 日，普渡大学研究人员开发出新型陶瓷涂层……

王 五 编译自[2024-09-24]
Purdue engineers develop a new ceramic coating
https://www.purdue.edu/newsroom/2024/Q3/new-ceramic-coating.html
"""


def setup(tmp_path: Path, db_url: str, site: HTTPServer) -> dict[str, str]:
    serve(site, "/feed", feed(site), "application/rss+xml")
    for key in TITLES:
        site.expect_request(f"/news/{key}").respond_with_data(
            f"<html><title>{TITLES[key]}</title></html>", content_type="text/html"
        )
    site.expect_request("/go/c").respond_with_data(
        "", status=301, headers={"Location": site.url_for("/news/c")}
    )
    config = write_config(
        tmp_path / "sources.yaml",
        base_config(sources=[source("agency", "rss", site.url_for("/feed"), "nsf")]),
    )
    return env_for(tmp_path, db_url, config)


def feedback_rows(db_url: str) -> int:
    store = Store(db_url)
    with store.session() as s:
        count = s.execute(select(func.count()).select_from(FeedbackRow)).scalar_one()
    store.close()
    return int(count)


def test_learning_a_published_issue_corrects_the_week_and_reports_what_was_missed(
    tmp_path: Path, db_url: str, site: HTTPServer
) -> None:
    env = setup(tmp_path, db_url, site)
    runner = CliRunner()
    assert runner.invoke(cli, ["poll"], env=env).exit_code == 0
    week = ["digest", "--week", "2024-W39"]
    assert runner.invoke(cli, week, env=env).exit_code == 0
    draft = tmp_path / "d" / "2024-W39.cas.md"
    before = entries_by_section(draft)
    assert sorted(t for titles in before.values() for t in titles) == sorted(TITLES.values())

    issue = tmp_path / "issue-39.txt"
    issue.write_text(published(site), encoding="utf-8")
    rows = feedback_rows(db_url)
    result = runner.invoke(cli, ["learn", str(issue)], env=env)
    assert result.exit_code == 0, result.output
    out = result.output
    assert "week 2024-W39, profile cas" in out and "4 entries, 3 matched" in out
    assert "(url)" in out and "(title)" in out and "(redirect)" in out
    assert "purdue.edu (NO SOURCE WATCHES THIS HOST): 1" in out
    assert "3 kept (relevant), 1 dropped (not relevant)" in out
    assert "trained on" in out

    assert runner.invoke(cli, week, env=env).exit_code == 0
    after = entries_by_section(draft)
    assert after == {  # the editors' choice: kept entries in their sections, the dropped gone
        "战略规划": [TITLES["c"]],
        "项目资助": [TITLES["a"]],
        "研究进展": [TITLES["b"]],
    }

    learned = feedback_rows(db_url)
    assert learned > rows
    again = runner.invoke(cli, ["learn", str(issue)], env=env)
    assert again.exit_code == 0 and "already learned" in again.output, again.output
    assert feedback_rows(db_url) == learned  # idempotent


def test_a_file_it_cannot_read_or_without_citations_changes_nothing(
    tmp_path: Path, db_url: str, site: HTTPServer
) -> None:
    env = setup(tmp_path, db_url, site)
    runner = CliRunner()
    assert runner.invoke(cli, ["poll"], env=env).exit_code == 0
    rows = feedback_rows(db_url)
    plain = tmp_path / "notes.txt"
    plain.write_text("先进制造与新材料动态监测快报\n\n本期没有内容。\n", encoding="utf-8")
    garbage = tmp_path / "garbage.docx"
    garbage.write_bytes(bytes(range(256)) * 4)
    missing = tmp_path / "missing.txt"
    for path in (plain, garbage, missing):
        result = runner.invoke(cli, ["learn", str(path)], env=env)
        assert result.exit_code == 1, result.output
        assert path.name in result.output and "Traceback" not in result.output
    assert feedback_rows(db_url) == rows


def week_bounds() -> tuple[object, object, object, object]:
    from datetime import UTC, date, datetime

    return (
        date(2024, 9, 23),
        date(2024, 9, 29),
        datetime(2024, 9, 23, tzinfo=UTC),
        datetime(2024, 9, 30, tzinfo=UTC),
    )
