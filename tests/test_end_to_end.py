"""Fixture site → poll → digest, over real HTTP on 127.0.0.1, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from pytest_httpserver import HTTPServer

from monitor.app import App
from tests.conftest import Clock, base_config, data, make_app, serve, source

RSS = "application/rss+xml; charset=utf-8"
ATOM = "application/atom+xml; charset=utf-8"
HTML = "text/html; charset=utf-8"
WHITE_HOUSE = {
    "item": "ul.wp-block-post-template > li.wp-block-post",
    "title": "h2.wp-block-post-title a",
    "date": "div.wp-block-post-date time",
    "date_attr": "datetime",
}
ORNL = {
    "item": "div.view-rows-main div.list-item-wrapper",
    "title": "div.list-item-title h2 a",
    "date": "div.list-item-date",
    "summary": "div.list-item-desc p",
}


def agency_site(site: HTTPServer) -> list[dict[str, object]]:
    serve(site, "/jrc/rss_en", data("jrc_drupal_rss.xml"), RSS)
    serve(site, "/ukri/news/feed/", data("ukri_wordpress_feed.xml"), RSS)
    serve(site, "/govuk/search.atom", data("govuk_atom.xml"), ATOM)
    serve(site, "/nsf/rss_www_news.xml", data("nsf_news_rss.xml"), RSS)
    serve(site, "/ornl/all-news", data("ornl_listing.html"), HTML)
    serve(site, "/wh/news/", data("whitehouse_listing.html"), HTML)
    return [
        source(
            "jrc-news",
            "rss",
            site.url_for("/jrc/rss_en"),
            "jrc",
            timezone="Europe/Brussels",
            date_in_url=r"-(\d{4}-\d{2}-\d{2})_en$",
        ),
        source("ukri-news", "rss", site.url_for("/ukri/news/feed/"), "ukri"),
        source(
            "govuk-search",
            "rss",
            site.url_for("/govuk/search.atom"),
            "govuk",
            timezone="Europe/London",
        ),
        source(
            "nsf-news",
            "rss",
            site.url_for("/nsf/rss_www_news.xml"),
            "nsf",
            timezone="America/New_York",
        ),
        source(
            "ornl-news",
            "html",
            site.url_for("/ornl/all-news"),
            "ornl",
            selectors=ORNL,
            section="research",
        ),
        source(
            "whitehouse-news",
            "html",
            site.url_for("/wh/news/"),
            "whitehouse",
            selectors=WHITE_HOUSE,
            timezone="America/New_York",
        ),
    ]


def week_app(tmp_path: Path, db_url: str, site: HTTPServer, extra: list[dict[str, object]]) -> App:
    clock = Clock(datetime(2024, 10, 2, 1, 0, tzinfo=UTC))  # Wednesday after 2024-W39
    config = base_config(sources=agency_site(site) + extra)
    return make_app(tmp_path, db_url, config, clock)


def test_poll_then_digest_then_nothing_new(tmp_path: Path, db_url: str, site: HTTPServer) -> None:
    app = week_app(tmp_path, db_url, site, [])
    first = {r.source_id: r for r in app.poll()}
    assert all(r.outcome == "ok" for r in first.values()), first
    assert first["ukri-news"].new == 4 and first["ornl-news"].new >= 3
    assert first["nsf-news"].new == 4

    drafted = app.draft(app.week("2024-W39"))
    md = drafted.rendered["md"]
    labels = [s.label for s in drafted.selection.sections]
    order = ["专题", "战略规划", "项目资助", "行业观察", "研究进展"]
    assert labels == [label for label in order if label in labels]  # profile order, empty omitted
    titles = [e.item.title for s in drafted.selection.sections for e in s.entries]
    assert len(titles) == len(set(titles))  # nothing twice
    assert "£30 million to develop 3D nanoscale metamaterials for a sustainable future" in titles
    assert "Advanced manufacturing: a key to EU competitiveness" in titles
    assert "New national institute to scale up advanced materials manufacturing" in titles
    assert "UKRI statement on the autumn budget" not in titles
    assert "Celebrating 10 years of the Francis Crick Institute" not in titles
    # items of other weeks stay in their own week
    assert (
        "Researchers build AI model database to find new alloys for nuclear fusion facilities"
        not in titles
    )
    assert "编译自[2024-09-23]" in md  # the JRC item, dated by its URL
    feature = drafted.selection.sections[0]
    assert feature.key == "feature"  # a JRC report ("A new JRC report maps ..."), as in CAS 2024
    assert "Advanced manufacturing: a key to EU competitiveness" in [
        e.item.title for e in feature.entries
    ]
    assert "https://joint-research-centre.ec.europa.eu/jrc-news-and-updates/" in md
    for path in drafted.paths:
        assert path.exists() and path.parent == tmp_path / "digests"
        assert path.name.startswith("2024-W39.cas.")

    previous = app.draft(app.week("2024-W38"))
    previous_titles = [e.item.title for s in previous.selection.sections for e in s.entries]
    assert (
        "Researchers build AI model database to find new alloys for nuclear fusion facilities"
        in previous_titles
    )

    second = app.poll()
    assert [r.outcome for r in second] == ["not_modified"] * len(second)
    assert sum(r.new + r.updated for r in second) == 0
    again = app.draft(app.week("2024-W39"))
    assert again.rendered == drafted.rendered  # same data, same output, byte for byte
    app.close()


def test_broken_sources_are_recorded_and_others_work(
    tmp_path: Path, db_url: str, site: HTTPServer
) -> None:
    site.expect_request("/gone.xml").respond_with_data("not here", status=404)
    site.expect_request("/error.xml").respond_with_data("oops", status=500)
    site.expect_request("/garbage.xml").respond_with_data(b"\x00\x01binary junk", content_type=RSS)
    serve(site, "/redesigned/", data("whitehouse_listing.html"), HTML)
    broken = [
        source("gone", "rss", site.url_for("/gone.xml"), "nsf"),
        source("error", "rss", site.url_for("/error.xml"), "nsf"),
        source("garbage", "rss", site.url_for("/garbage.xml"), "nsf"),
        source(
            "redesigned",
            "html",
            site.url_for("/redesigned/"),
            "whitehouse",
            selectors={"item": "article.old-layout", "title": "h3 a"},
        ),
    ]
    app = week_app(tmp_path, db_url, site, broken)
    records = {r.source_id: r for r in app.poll()}
    assert records["gone"].outcome == "error" and "HTTP 404" in (records["gone"].error or "")
    assert records["error"].outcome == "error" and "HTTP 500" in (records["error"].error or "")
    assert records["garbage"].outcome == "error" and "feed" in (records["garbage"].error or "")
    assert records["redesigned"].outcome == "ok"
    assert records["redesigned"].warnings == ("selector item='article.old-layout' matched nothing",)
    assert records["ukri-news"].outcome == "ok" and records["ukri-news"].new == 4
    status = {s.id: s for s in app.store.statuses(app.clock())}
    assert status["gone"].consecutive_failures == 1 and "404" in (status["gone"].last_error or "")
    assert status["ukri-news"].consecutive_failures == 0 and status["ukri-news"].items_7d == 4
    app.close()


def test_undated_listing_items_get_the_article_date(
    tmp_path: Path, db_url: str, site: HTTPServer
) -> None:
    listing = b"""<html><body><main>
      <a href="/royce/news/new-alloy-centre/">New alloy centre opens for advanced materials</a>
      <a href="/royce/news/undated/">Graphene coatings research</a>
    </main></body></html>"""
    article = b"""<html><head>
      <meta property="article:published_time" content="2024-09-25T09:00:00Z">
      <title>New alloy centre</title></head><body><article><h1>New alloy centre opens</h1>
      <p>The centre will develop new alloys and advanced materials for aerospace manufacturing.</p>
      </article></body></html>"""
    serve(site, "/royce/news/", listing, HTML)
    serve(site, "/royce/news/new-alloy-centre/", article, HTML)
    serve(site, "/royce/news/undated/", b"<html><body><p>No date here.</p></body></html>", HTML)
    royce = source(
        "royce",
        "html",
        site.url_for("/royce/news/"),
        "royce",
        fetch_articles=True,
        selectors={"item": "main a", "title": ":scope"},
    )
    app = week_app(tmp_path, db_url, site, [royce])
    (record,) = app.poll(["royce"])
    assert record.new == 2
    items = app.store.items_in_period(
        app.week("2024-W39").first,
        app.week("2024-W39").last,
        app.week("2024-W39").start,
        app.week("2024-W39").end,
    )
    dated = next(i for i in items if "alloy" in i.title)
    assert dated.date_source == "article" and str(dated.published_date) == "2024-09-25"
    assert dated.text and "new alloys" in dated.text
    undated = app.store.items_in_period(
        app.week("2024-W40").first,
        app.week("2024-W40").last,
        app.week("2024-W40").start,
        app.week("2024-W40").end,
    )
    assert [i.date_source for i in undated if "Graphene" in i.title] == ["first_seen"]
    # a second poll does not fetch the articles again
    fetched_before = len([r for r, _ in site.log if "/royce/news/undated/" in r.path])
    app.poll(["royce"])
    fetched_after = len([r for r, _ in site.log if "/royce/news/undated/" in r.path])
    assert fetched_before == fetched_after == 1
    app.close()


def test_uncertain_items_are_decided_by_their_article_text(
    tmp_path: Path, db_url: str, site: HTTPServer
) -> None:
    article = b"""<html><head><title>A new step</title></head><body><article>
      <h1>A new step for European industry</h1>
      <p>The Commission today approved a plan for semiconductor wafer fabs and advanced
      manufacturing of chips, with new pilot lines for silicon carbide power electronics.</p>
      <p>The plan supports the supply of critical raw materials such as gallium.</p>
      </article></body></html>"""
    feed = f"""<?xml version="1.0"?><rss version="2.0"><channel><title>EC</title>
      <item><title>A new step for European industry</title>
        <link>{site.url_for("/ec/step")}</link><pubDate>Tue, 24 Sep 2024 10:00:00 GMT</pubDate>
        <description>Brussels, 24 September 2024.</description></item>
      <item><title>Semiconductor fab investment approved for gallium nitride chips</title>
        <link>{site.url_for("/ec/fab")}</link><pubDate>Tue, 24 Sep 2024 11:00:00 GMT</pubDate>
      </item></channel></rss>""".encode()
    serve(site, "/ec/rss", feed, RSS)
    serve(site, "/ec/step", article, HTML)
    ec = source("ec", "rss", site.url_for("/ec/rss"), "ec", fetch_articles=True)
    app = week_app(tmp_path, db_url, site, [ec])
    (record,) = app.poll(["ec"])
    assert record.new == 2
    week = app.week("2024-W39")
    items = {
        i.title: i for i in app.store.items_in_period(week.first, week.last, week.start, week.end)
    }
    vague = items["A new step for European industry"]
    assert vague.text and "silicon carbide" in vague.text
    assert vague.relevant and "semiconductors" in vague.topics
    assert any("in text" in w for w in vague.why)
    clear = items["Semiconductor fab investment approved for gallium nitride chips"]
    assert clear.text is None  # a confident decision needs no article
    assert [r.path for r, _ in site.log].count("/ec/fab") == 0
    drafted = app.draft(week)
    assert "silicon carbide" in drafted.rendered["txt"]  # the summary comes from the article
    app.close()
