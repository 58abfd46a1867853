"""``browser: true``: listings built by JavaScript, rendered in headless Chromium over real HTTP
on 127.0.0.1 (the page's own requests answered through the HTTP client), within the limits."""

from __future__ import annotations

import os
import re
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from monitor.config import HttpConfig
from monitor.errors import FetchError
from monitor.http import HttpClient, browser
from monitor.sources import registry
from monitor.sources.html import HtmlSource
from tests.conftest import Clock, base_config, make_app, source

CHROMIUM = Path("/usr/bin/chromium")
needs_chromium = pytest.mark.skipif(
    not CHROMIUM.exists() and "MONITOR_CHROMIUM" not in os.environ,
    reason="Chromium is not installed (apt-get install chromium; .ci/run installs it)",
)
HTML = "text/html; charset=utf-8"
SELECTORS = {"item": "ul.news li", "title": "a", "date": "time", "date_attr": "datetime"}
PAGE = """<!doctype html><html><head><meta charset="gbk"><title>News</title>
<script src="/app.js"></script></head><body><p>Loading…</p><img src="/pixel.png"></body></html>"""
APP = """
navigator.sendBeacon('/beacon', 'seen');
fetch('/api/news.json').then(r => r.json()).then(items => {
  document.body.innerHTML = '<ul class="news">' + items.map(i =>
    `<li><a href="${i.url}">${i.title}</a><time datetime="${i.date}">${i.date}</time></li>`
  ).join('') + '</ul>';
});
"""
NEWS = """[{"title": "Alloy printed at scale", "url": "/news/alloy", "date": "2026-05-04"},
{"title": "新材料研究进展", "url": "https://other.example/n/2", "date": "2026-05-05"}]"""


@pytest.fixture
def client() -> Iterator[HttpClient]:
    config = HttpConfig(per_host_delay=0, retries=0, deadline=20, connect_timeout=5)
    http = HttpClient(config, allow_private=True)
    yield http
    http.close()


@pytest.fixture
def cleaned(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """Browsers make their profile under tmp_path; after the test none is left, nor any process
    of theirs (their process group and helpers, such as the crash handler, name the profile)."""
    folder = tmp_path / "browsers"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    yield
    assert list(folder.glob("monitor-browser-*")) == []
    assert gone(lambda: running(os.fsencode(folder)))


@pytest.fixture
def hanging() -> Iterator[threading.Event]:
    """Set at the end of the test: handlers waiting on it may answer, and the server is free."""
    release = threading.Event()
    yield release
    release.set()


def js_site(site: HTTPServer) -> str:
    site.expect_request("/news/").respond_with_data(PAGE.encode("gbk"), content_type="text/html")
    site.expect_request("/app.js").respond_with_data(APP, content_type="text/javascript")
    site.expect_request("/api/news.json").respond_with_data(NEWS, content_type="application/json")
    return site.url_for("/news/")


def html_source(url: str, **extra: Any) -> HtmlSource:
    base = {"id": "js", "name": "JS", "kind": "html", "url": url, "publisher": "p"}
    return HtmlSource.model_validate(base | extra | {"selectors": SELECTORS})


def paths(server: HTTPServer) -> list[str]:
    return [request.path for request, _ in server.log]


def started_pid(caplog: pytest.LogCaptureFixture) -> int:
    (pid,) = re.findall(r"browser started pid=(\d+)", caplog.text)
    return int(pid)


def gone(alive: Callable[[], list[str]], within: float = 5.0) -> bool:
    """Whether the processes ``alive`` lists are all gone within ``within`` seconds (a process
    killed with SIGKILL takes a moment to exit on a loaded machine)."""
    deadline = time.monotonic() + within
    while alive():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def running(mark: bytes | None = None, session: int | None = None) -> list[str]:
    """Live processes (not zombies) whose command line holds ``mark`` or in ``session``."""
    alive = []
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            stat = (proc / "stat").read_text()
            cmdline = (proc / "cmdline").read_bytes()
        except OSError:
            continue
        name, rest = stat.rsplit(")", 1)
        state, _ppid, _group, sid = rest.split()[:4]
        if state in ("Z", "X"):
            continue
        if (mark is not None and mark in cmdline) or int(sid) == session:
            alive.append(f"{proc.name} {name.split('(', 1)[1]}")
    return alive


@needs_chromium
def test_a_script_built_listing_is_read_only_when_rendered(
    site: HTTPServer, client: HttpClient, caplog: pytest.LogCaptureFixture, cleaned: None
) -> None:
    caplog.set_level("DEBUG", logger="monitor.http.browser")
    url = js_site(site)
    kind = registry.get("html")

    plain = client.get(url, accept=kind.accept)
    nothing = kind.parse(plain.content, plain.final_url, plain.encoding, html_source(url))
    assert nothing.items == []
    assert nothing.warnings == ["selector item='ul.news li' matched nothing"]

    before = len(site.log)
    started = time.monotonic()
    rendered = browser.render(client, url, accept=kind.accept)
    took = time.monotonic() - started
    assert rendered.status == 200 and rendered.final_url == url
    assert rendered.encoding == "utf-8" and rendered.etag is None
    result = kind.parse(rendered.content, rendered.final_url, rendered.encoding, html_source(url))
    assert [(i.title, i.url, i.date_text) for i in result.items] == [
        ("Alloy printed at scale", site.url_for("/news/alloy"), "2026-05-04"),
        ("新材料研究进展", "https://other.example/n/2", "2026-05-05"),
    ]  # a GBK page, rendered to UTF-8 (its <meta charset="gbk"> stays and is not believed)
    assert result.items[0].published == datetime(2026, 5, 4, tzinfo=UTC)
    assert result.warnings == []
    # only what the listing needs was fetched, and only through the client: no image, no POST
    assert paths(site)[before:] == ["/news/", "/app.js", "/api/news.json"], paths(site)
    assert gone(lambda: running(session=started_pid(caplog)))
    print(f"rendered in {took:.2f} s")


@needs_chromium
def test_the_page_and_its_requests_obey_robots_txt(
    httpserver: HTTPServer, client: HttpClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("DEBUG", logger="monitor.http.browser")
    robots = "User-agent: *\nDisallow: /private/\nDisallow: /api/\n"
    httpserver.expect_request("/robots.txt").respond_with_data(robots, content_type="text/plain")
    httpserver.expect_request("/private/news").respond_with_data(PAGE, content_type=HTML)
    url = js_site(httpserver)

    with pytest.raises(FetchError, match=r"disallowed by robots\.txt"):
        browser.render(client, httpserver.url_for("/private/news"))
    assert "browser started" not in caplog.text  # not rendered: Chromium never started
    assert "/private/news" not in paths(httpserver)

    rendered = browser.render(client, url)  # the page may be read, its data may not
    assert b"Loading" in rendered.content and b'class="news"' not in rendered.content
    assert "/api/news.json" not in paths(httpserver)
    assert "/api/news.json error=disallowed by robots.txt" in caplog.text


@needs_chromium
def test_private_addresses_and_files_stay_out_of_reach(
    site: HTTPServer, caplog: pytest.LogCaptureFixture, cleaned: None
) -> None:
    """The guard applies to the page's requests: only 127.0.0.1 is opened here, not 127.0.0.2;
    a file:// URL is never fetched."""
    caplog.set_level("DEBUG", logger="monitor.http.browser")
    probe = f"""<!doctype html><html><body><p id="out">waiting</p><script>
    const out = document.getElementById('out');
    Promise.allSettled([fetch('http://127.0.0.2:{site.port}/secret'),
                        fetch('file:///etc/hostname')])
      .then(rs => {{ out.textContent = rs.map(r => r.status).join(','); }});
    </script></body></html>"""
    site.expect_request("/probe").respond_with_data(probe, content_type=HTML)
    opened = ["127.0.0.1/32", "::1/128"]  # the site's (localhost)
    http = HttpClient(HttpConfig(per_host_delay=0, retries=0), allow_private=opened)
    try:
        rendered = browser.render(http, site.url_for("/probe"))
    finally:
        http.close()
    assert b'<p id="out">rejected,rejected</p>' in rendered.content
    assert "127.0.0.2" in caplog.text and "private, loopback or link-local" in caplog.text


@needs_chromium
@pytest.mark.parametrize("hang", ["a script that never arrives", "a script that never ends"])
def test_a_page_that_never_finishes_times_out_and_the_browser_is_killed(
    hang: str,
    site: HTTPServer,
    hanging: threading.Event,
    caplog: pytest.LogCaptureFixture,
    cleaned: None,
) -> None:
    caplog.set_level("DEBUG", logger="monitor.http.browser")

    def never(_request: Request) -> Response:
        hanging.wait(30)
        return Response("", content_type="text/javascript")

    site.expect_request("/slow.js").respond_with_handler(never)
    script = "<script>for(;;){}</script>"  # busy forever
    if "arrives" in hang:
        script = '<script src="/slow.js"></script>'  # waits forever
    page = f"<!doctype html><html><body><ul class='news'></ul>{script}</body></html>"
    site.expect_request("/hangs").respond_with_data(page, content_type=HTML)
    http = HttpClient(HttpConfig(per_host_delay=0, retries=0, deadline=3), allow_private=True)
    started = time.monotonic()
    try:
        with pytest.raises(FetchError, match=r"timed out: not rendered within 3 s \(deadline\)"):
            browser.render(http, site.url_for("/hangs"))
    finally:
        took = time.monotonic() - started
        http.close()
    assert 2.9 <= took < 5.0, took
    assert gone(lambda: running(session=started_pid(caplog)))  # the whole process group is gone
    if "arrives" in hang:  # asked for through the client, and waited on until the deadline
        assert "slow.js error=timed out" in caplog.text


@needs_chromium
@pytest.mark.parametrize("size", [300_000, 3_000_000])
def test_a_rendered_page_over_the_size_limit_is_refused(
    size: int, site: HTTPServer, caplog: pytest.LogCaptureFixture, cleaned: None
) -> None:
    """The page itself is small; what its script builds is not (just over the cap, and beyond
    what the DevTools connection accepts)."""
    caplog.set_level("DEBUG", logger="monitor.http.browser")
    page = f"""<!doctype html><html><body><script>
    document.body.innerHTML = '<p>' + 'x'.repeat({size}) + '</p>';</script></body></html>"""
    site.expect_request("/big").respond_with_data(page, content_type=HTML)
    config = HttpConfig(per_host_delay=0, retries=0, max_bytes=200_000)
    http = HttpClient(config, allow_private=True)
    try:
        with pytest.raises(FetchError, match=r"rendered page .*exceeds the cap"):
            browser.render(http, site.url_for("/big"))
    finally:
        http.close()
    assert gone(lambda: running(session=started_pid(caplog)))


@needs_chromium
def test_polling_a_browser_source_stores_items_then_sees_it_unchanged(
    tmp_path: Path, db_url: str, site: HTTPServer, cleaned: None
) -> None:
    """Through the app: the rendered HTML is parsed, stored, and its content hash makes the
    next poll of an unchanged page cost no parsing."""
    url = js_site(site)
    config = base_config(
        sources=[source("js-news", "html", url, "nsf", selectors=SELECTORS, browser=True)]
    )
    app = make_app(tmp_path, db_url, config, Clock(datetime(2026, 5, 6, tzinfo=UTC)))
    try:
        (first,) = app.poll()
        assert first.outcome == "ok" and first.new == 2, first
        (second,) = app.poll()
        assert second.outcome == "not_modified" and second.error is None, second
    finally:
        app.close()


def hide_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    """As if the ``browser`` extra were not installed."""
    for name in ("websockets", "websockets.sync", "websockets.sync.client"):
        monkeypatch.setitem(sys.modules, name, None)


def test_without_the_extra_a_browser_source_fails_alone_and_check_warns(
    tmp_path: Path, site: HTTPServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    hide_extra(monkeypatch)
    site.expect_request("/plain").respond_with_data(
        "<ul class='news'><li><a href='/a'>Plain item</a></li></ul>", content_type=HTML
    )
    url = js_site(site)
    config = base_config(
        sources=[
            source("js-news", "html", url, "nsf", selectors=SELECTORS, browser=True),
            source("plain-news", "html", site.url_for("/plain"), "nsf", selectors=SELECTORS),
        ]
    )
    app = make_app(tmp_path, f"sqlite:///{tmp_path / 'test.db'}", config, Clock(datetime.now(UTC)))
    try:
        records = {r.source_id: r for r in app.poll()}
        warnings = browser.check(app.config.sources)
    finally:
        app.close()
    error = records["js-news"].error or ""
    assert records["js-news"].outcome == "error"
    assert "browser: true needs the browser extra" in error
    assert "pip install 'monitor[browser]'" in error
    assert records["plain-news"].outcome == "ok" and records["plain-news"].new == 1
    assert "/news/" not in paths(site)  # nothing fetched for it
    (warning,) = warnings
    assert warning.startswith("source js-news: browser: true needs the browser extra")


def test_without_chromium_the_error_says_what_to_install(
    client: HttpClient, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("MONITOR_CHROMIUM", str(tmp_path / "no-chromium"))
    with pytest.raises(FetchError, match=r"Chromium, not found at .*apt-get install chromium"):
        browser.render(client, "http://127.0.0.1:9/")
    assert browser.check([html_source("http://x.gov/")]) == []  # browser: false needs nothing
    assert len(browser.check([html_source("http://x.gov/", browser=True)])) == 1


def test_sources_check_warns_when_a_browser_source_cannot_be_rendered(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from click.testing import CliRunner

    from monitor.cli import cli
    from tests.conftest import write_config

    listing = source(
        "js-news",
        "html",
        "https://example.org/news",
        "nsf",
        selectors={"item": "li", "title": "a", "link": "a"},
        browser=True,
    )
    config = write_config(tmp_path / "sources.yaml", base_config(sources=[listing]))
    env = {"MONITOR_CHROMIUM": str(tmp_path / "no-chromium")}
    result = CliRunner().invoke(cli, ["--config", str(config), "sources", "check"], env=env)
    assert result.exit_code == 0, result.output
    assert "source js-news: browser: true needs" in result.output
    assert "Chromium, not found" in result.output
