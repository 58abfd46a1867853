"""The review desk's use cases over the ``App``: read a week's digest, store an editor's action
as feedback (origin ``desk``), keep edited Chinese text, add a missed item by URL, preview the
email and send it through the exactly-once outbox. No HTTP here (see ``monitor.desk.web``).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, replace
from datetime import date
from email.message import EmailMessage
from typing import TYPE_CHECKING

from monitor.desk.review import ActionError, Overview, edited_text, overview, verdicts
from monitor.digest.build import compose
from monitor.digest.select import item_day
from monitor.digest.week import Week, current_week, parse_week
from monitor.errors import MonitorError

if TYPE_CHECKING:
    from monitor.app import App
    from monitor.items import Classification, Entry

log = logging.getLogger(__name__)
ORIGIN = "desk"  # the feedback's origin: the classifier learns from it like any editor's verdict
WEEKS_BACK = 8  # weeks before this one the desk offers
ADD_SECONDS = 30.0  # an added URL is fetched within this


@dataclass(frozen=True)
class WeekChoice:
    week: Week
    sent: bool  # the digest of this week went to someone (of the profile)


@dataclass(frozen=True)
class Added:
    item_id: int
    title: str
    relevant_before: bool  # what the classifier said before the editor's verdict
    score: float
    week: Week  # the week the item belongs to (by its date)


@dataclass(frozen=True)
class Preview:
    subject: str
    recipients: tuple[str, ...]
    html: str  # the HTML part of the email, as sent (CSS inlined)
    text: str  # the plain-text part
    count: int


class Desk:
    def __init__(self, app: App) -> None:
        self.app = app

    # -- reading --------------------------------------------------------------------------------

    def profiles(self) -> list[str]:
        return list(self.app.config.digest.profiles)

    def profile(self, name: str | None) -> str:
        """``name`` if it is a profile, else the default one."""
        digest = self.app.config.digest
        return name if name in digest.profiles else digest.default_profile

    def sent(self, week: Week, profile: str) -> bool:
        return any(d.status == "sent" for d in self.app.outbox.deliveries(week.label, profile))

    def weeks(self, profile: str) -> list[WeekChoice]:
        """This week and the ``WEEKS_BACK`` before it, newest first."""
        week = current_week(self.app.clock(), self.app.timezone)
        found = []
        for _ in range(WEEKS_BACK + 1):
            found.append(WeekChoice(week, self.sent(week, profile)))
            week = week.previous()
        return found

    def week(self, label: str | None, profile: str) -> Week:
        """The week asked for, else the coming digest's: the last complete week until its
        digest is sent, then this week."""
        if label:
            return parse_week(label, self.app.timezone)  # ValueError for a bad label
        this = current_week(self.app.clock(), self.app.timezone)
        last = this.previous()
        return this if self.sent(last, profile) else last

    def overview(self, week: Week, profile: str) -> Overview:
        app = self.app
        composed = compose(app.store, app.config, week, profile, app.clock(), settings=app.settings)
        entries = [e for s in composed.selection.sections for e in s.entries]
        edited = set(app.store.zh_edits([e.item.id for e in entries]))
        corrections = app.store.corrections(composed.items)
        dropped = {i for i, c in corrections.items() if c.relevant is False}
        return overview(composed, app.config, profile, edited, dropped)

    # -- acting ---------------------------------------------------------------------------------

    def act(
        self,
        action: str,
        item_id: int,
        week: Week,
        profile: str,
        *,
        section: str | None = None,
        headline: str = "",
        lead: str = "",
    ) -> None:
        """Store an editor's action on an item: the verdicts it means (feedback with origin
        ``desk``), and for ``edit`` the Chinese headline and lead."""
        self._unsent(week, profile)
        app, now = self.app, self.app.clock()
        if app.store.item(item_id) is None:
            raise ActionError(f"没有这个条目 no item {item_id}")
        found = verdicts(action, section, app.config.digest.profiles[profile])
        if action == "edit":
            text = edited_text(headline, lead)
            app.store.save_zh_edit(item_id, week.label, *text, now)
        app.store.add_verdicts([(item_id, v, False) for v in found], now, ORIGIN)
        log.info("desk action=%s item=%d week=%s profile=%s", action, item_id, week.label, profile)

    def add_url(
        self,
        url: str,
        week: Week,
        profile: str,
        *,
        section: str | None = None,
        day: date | None = None,
        publisher: str | None = None,
    ) -> Added:
        """Fetch the page at ``url`` (the project's HTTP client: robots.txt, size cap, private
        addresses refused), extract it, classify it, store it as an item of source ``desk``, and
        mark it relevant (and in ``section``) as the editor says. ``day`` replaces the page's
        publication date; ``publisher``, the one guessed from the host."""
        from monitor.sources.discover import looks_like_url

        self._unsent(week, profile)
        url = url.strip()
        if not looks_like_url(url):
            raise ActionError("请输入 http(s) 网址 enter an http(s) URL")
        if publisher and publisher not in self.app.config.publishers:
            raise ActionError(f"没有这个发布机构 unknown publisher: {publisher!r}")
        found = verdicts("include", section, self.app.config.digest.profiles[profile])
        entry = self._fetch(url, publisher)
        if day is not None:
            entry = replace(entry, published_date=day, date_source="editor")
        decision = self._classify(entry)
        app, now = self.app, self.app.clock()
        (item_id,) = app.store.save_entries([(entry, decision)], now).item_ids
        if day is not None:  # the editor's date wins, also over a date the item had
            app.store.date_item(item_id, day)
        app.store.add_verdicts([(item_id, v, False) for v in found], now, ORIGIN)
        stored = app.store.item(item_id)
        belongs = week
        if stored is not None:
            from monitor.digest.week import week_of

            belongs = week_of(item_day(stored, app.timezone)[0], app.timezone)
        log.info(
            "desk added item=%d url=%s relevant=%s score=%.2f week=%s",
            item_id,
            entry.url,
            decision.relevant,
            decision.score,
            belongs.label,
        )
        return Added(item_id, entry.title, decision.relevant, decision.score, belongs)

    def _fetch(self, url: str, publisher: str | None) -> Entry:
        from monitor.dedup import canonical_url, clean_link
        from monitor.extract import extract_article
        from monitor.items import Entry
        from monitor.normalise import MAX_SUMMARY, MAX_TITLE
        from monitor.sources.discover import choose_publisher, read_page
        from monitor.text import clean, lead, truncate

        app, now = self.app, self.app.clock()
        try:
            page = app.client.get(url, accept="text/html", deadline=time.monotonic() + ADD_SECONDS)
        except MonitorError as e:
            raise ActionError(f"无法获取该网页 cannot fetch the page: {e}") from e
        try:
            article = extract_article(page.content, page.final_url, now)
            info, _ = read_page(page.content, page.encoding)
        except Exception as e:  # a library failing on odd input: the editor is told
            log.exception("desk: extraction failed url=%s", page.final_url)
            raise ActionError(f"无法解析该网页 cannot read the page: {e!r}") from e
        title = clean(article.title or info.title)
        if not title:
            raise ActionError("该网页没有标题 the page has no title")
        key = publisher or choose_publisher(page.final_url, app.config, info)[0]
        text = article.text or ""
        return Entry(
            source_id=ORIGIN,
            publisher=key,
            canonical_url=canonical_url(page.final_url),
            url=clean_link(page.final_url),
            guid=None,
            title=truncate(title, MAX_TITLE),
            summary=truncate(lead(text, 360), MAX_SUMMARY) if text else "",
            published_at=None,
            published_date=article.published,
            date_source="article" if article.published else "first_seen",
            date_note=None,
            language=article.language or info.language or "en",
            text=text or None,
            article_checked=True,
        )

    def _classify(self, entry: Entry) -> Classification:
        from monitor.parsing import classify_entry

        return classify_entry(self.app.classifier, entry)

    def _unsent(self, week: Week, profile: str) -> None:
        if self.sent(week, profile):
            raise ActionError(f"{week.label} 已发送 was sent already: it cannot change")

    # -- the email ------------------------------------------------------------------------------

    def preview(self, week: Week, profile: str) -> Preview:
        """The email exactly as the outbox would send it now (the Deliverer renders it)."""
        drafted, message = self.app.deliverer.preview(week, profile)
        return Preview(
            subject=str(message["Subject"]),
            recipients=self.app.deliverer.recipients(profile),
            html=_part(message, "html"),
            text=_part(message, "plain"),
            count=drafted.selection.count,
        )

    def send(self, week: Week, profile: str) -> str:
        """Send the digest of ``week`` for ``profile`` now through the outbox (exactly once:
        a second call, or the scheduled digest later, finds it sent); what happened."""
        deliverer = self.app.deliverer
        if self.sent(week, profile):
            return f"{week.label} 已发送 was sent already; nothing sent again"
        if not deliverer.recipients(profile):
            raise ActionError("没有收件人 the profile has no recipients (MONITOR_DIGEST_TO)")
        if not deliverer.smtp_ready:
            raise ActionError("未配置邮件服务器 no SMTP server configured (MONITOR_SMTP_HOST)")
        (outcome,) = deliverer.digest(week, send=True, profiles=[profile])
        statuses = [
            f"{d.recipient}: {d.status}" + (f" ({d.last_error})" if d.last_error else "")
            for d in self.app.outbox.deliveries(week.label, profile)
        ]
        log.info("desk send week=%s profile=%s note=%s", week.label, profile, outcome.note)
        return f"{outcome.note}; " + "; ".join(statuses)


def _part(message: EmailMessage, subtype: str) -> str:
    body = message.get_body(preferencelist=(subtype,))
    if body is None or body.get_content_subtype() != subtype:
        return ""
    content = body.get_content()
    return str(content)
