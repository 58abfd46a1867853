"""The fetcher against a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import time
from typing import Any

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from monitor.config import HttpConfig
from monitor.errors import FetchError
from monitor.http import HttpClient


def client(**overrides: Any) -> HttpClient:
    settings = {"retries": 2, "backoff": 0, "per_host_delay": 0, "read_timeout": 5} | overrides
    return HttpClient(HttpConfig(**settings), allow_private=True)


def test_user_agent_names_service_and_contact(site: HTTPServer) -> None:
    site.expect_request("/feed").respond_with_data("ok")
    http = client(contact="mailto:ops@example.org")
    http.get(site.url_for("/feed"))
    request, _ = site.log[-1]
    assert request.headers["User-Agent"].startswith("monitor/")
    assert "mailto:ops@example.org" in request.headers["User-Agent"]


def test_conditional_get_gives_not_modified(site: HTTPServer) -> None:
    def handler(request: Request) -> Response:
        if request.headers.get("If-None-Match") == '"v1"':
            return Response(status=304)
        return Response("<rss/>", headers={"ETag": '"v1"', "Last-Modified": "Mon, 04 May 2026"})

    site.expect_request("/feed").respond_with_handler(handler)
    http = client()
    first = http.get(site.url_for("/feed"))
    assert first.status == 200 and first.etag == '"v1"' and first.content == b"<rss/>"
    second = http.get(site.url_for("/feed"), etag=first.etag, last_modified=first.last_modified)
    assert second.not_modified and second.content == b""
    request, _ = site.log[-1]
    assert request.headers["If-Modified-Since"] == "Mon, 04 May 2026"


def test_retries_5xx_and_hands_retry_after_to_the_scheduler(site: HTTPServer) -> None:
    site.expect_oneshot_request("/flaky").respond_with_data("busy", status=502)
    site.expect_oneshot_request("/flaky").respond_with_data("fine")
    assert client().get(site.url_for("/flaky")).content == b"fine"
    assert [r.path for r, _ in site.log].count("/flaky") == 2
    # Retry-After is never slept on: the error carries it, the scheduler honours it
    site.expect_request("/busy").respond_with_data(
        "busy", status=503, headers={"Retry-After": "120"}
    )
    started = time.monotonic()
    with pytest.raises(FetchError) as info:
        client().get(site.url_for("/busy"))
    assert time.monotonic() - started < 2
    assert info.value.status == 503 and info.value.retry_after == 120
    assert [r.path for r, _ in site.log].count("/busy") == 1


def test_gives_up_after_retries(site: HTTPServer) -> None:
    site.expect_request("/down").respond_with_data("no", status=500)
    with pytest.raises(FetchError) as info:
        client(retries=2).get(site.url_for("/down"))
    assert info.value.status == 500
    assert [r.path for r, _ in site.log].count("/down") == 3


def test_404_is_not_retried(site: HTTPServer) -> None:
    site.expect_request("/gone").respond_with_data("no", status=404)
    with pytest.raises(FetchError, match="HTTP 404"):
        client().get(site.url_for("/gone"))
    assert [r.path for r, _ in site.log].count("/gone") == 1


def test_response_size_is_capped(site: HTTPServer) -> None:
    site.expect_request("/big").respond_with_data("x" * 5000)
    site.expect_request("/stream").respond_with_handler(
        lambda _: Response((b"y" * 1000 for _ in range(10)), direct_passthrough=True)
    )
    http = client(max_bytes=2000)
    with pytest.raises(FetchError, match="exceeds the cap of 2000 bytes"):
        http.get(site.url_for("/big"))
    with pytest.raises(FetchError, match="exceeds the cap of 2000 bytes"):
        http.get(site.url_for("/stream"))


def test_redirects_followed_and_final_url_recorded(site: HTTPServer) -> None:
    site.expect_request("/a").respond_with_data("", status=301, headers={"Location": "/b"})
    site.expect_request("/b").respond_with_data("", status=302, headers={"Location": "/c?x=1"})
    site.expect_request("/c").respond_with_data("here")
    fetched = client().get(site.url_for("/a"))
    assert fetched.final_url == site.url_for("/c?x=1")
    assert fetched.redirects == (site.url_for("/a"), site.url_for("/b"))
    assert fetched.content == b"here"


def test_redirect_limit_and_unsafe_schemes(site: HTTPServer) -> None:
    for i in range(7):
        site.expect_request(f"/r{i}").respond_with_data(
            "", status=302, headers={"Location": f"/r{i + 1}"}
        )
    with pytest.raises(FetchError, match="more than 5 redirects"):
        client().get(site.url_for("/r0"))
    site.expect_request("/evil").respond_with_data(
        "", status=302, headers={"Location": "file:///etc/passwd"}
    )
    with pytest.raises(FetchError, match="only http"):
        client().get(site.url_for("/evil"))


def test_robots_txt_is_respected(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/robots.txt").respond_with_data(
        "User-agent: *\nDisallow: /private\n"
    )
    httpserver.expect_request("/public").respond_with_data("ok")
    http = client()
    assert http.get(httpserver.url_for("/public")).content == b"ok"
    with pytest.raises(FetchError, match=r"disallowed by robots\.txt"):
        http.get(httpserver.url_for("/private/page"))
    assert "/private/page" not in [r.path for r, _ in httpserver.log]


def test_robots_txt_missing_allows_and_failing_disallows(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/robots.txt").respond_with_data("", status=404)
    httpserver.expect_request("/page").respond_with_data("ok")
    assert client().get(httpserver.url_for("/page")).content == b"ok"
    httpserver.clear()
    httpserver.expect_request("/robots.txt").respond_with_data("", status=503)
    httpserver.expect_request("/page").respond_with_data("ok")
    with pytest.raises(FetchError, match=r"robots.txt answered HTTP 503.*RFC 9309"):
        client(retries=0).get(httpserver.url_for("/page"))
    assert "/page" not in [r.path for r, _ in httpserver.log]


def test_per_host_delay_and_crawl_delay(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/robots.txt").respond_with_data("User-agent: *\nCrawl-delay: 7\n")
    httpserver.expect_request("/p").respond_with_data("ok")
    waits: list[float] = []
    now = [1000.0]  # a clock that moves only when the client sleeps

    async def sleep(seconds: float) -> None:
        waits.append(seconds)
        now[0] += seconds

    config = HttpConfig(per_host_delay=3, retries=0)
    http = HttpClient(config, allow_private=True, sleep=sleep, clock=lambda: now[0])
    http.get(httpserver.url_for("/p"))
    http.get(httpserver.url_for("/p"))
    # robots.txt, then /p after at least 3 s, then /p again after the 7 s crawl delay
    assert len(waits) == 2
    assert waits == [3, 7]


def test_timeout_and_refused_connection(site: HTTPServer) -> None:
    site.expect_request("/slow").respond_with_handler(
        lambda _: (time.sleep(1.5), Response("late"))[1]
    )
    with pytest.raises(FetchError, match="timed out"):
        client(retries=0, read_timeout=0.3).get(site.url_for("/slow"))
    with pytest.raises(FetchError, match="connection failed"):
        client(retries=0).get("http://127.0.0.1:9/nothing")
