"""The news alert email: one entry in the profile's Chinese form (headline, lead, publisher,
date, then "编译自[date]", the original title and its link), as text and HTML. Pure; no I/O."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from email.message import EmailMessage
from html import escape

from monitor.config import Config
from monitor.digest.render import safe_url
from monitor.digest.view import publisher_names, zh_date
from monitor.drafting.skeleton import ZhDraft
from monitor.items import StoredItem
from monitor.notify.email import digest_message, domain_of
from monitor.text import lead

SUMMARY_CHARS = 360
MARK = "快讯"


@dataclass(frozen=True)
class FlashView:
    """What an alert shows."""

    bulletin: str  # the profile's title
    headline: str
    lead: str
    summary: str
    publisher: str  # 美国国家科学基金会（NSF）
    date: str  # YYYY-MM-DD
    date_zh: str
    date_known: bool
    section: str  # the profile's label of the item's section
    topics: str
    title: str
    url: str
    item_id: int
    story_id: int


def flash_view(
    item: StoredItem, zh: ZhDraft, config: Config, profile: str, day: date, dated: bool
) -> FlashView:
    settings = config.digest.profiles[profile]
    labels: dict[str, str] = {s.key: s.label for s in settings.sections}
    full, _ = publisher_names(config.publisher(item.publisher))
    basis = item.summary if len(item.summary) >= 60 or not item.text else item.text
    summary = lead(basis, SUMMARY_CHARS) if basis else ""
    if summary.rstrip("…").strip() == item.title.strip():
        summary = ""
    topics = []
    for key in item.topics:
        topic = config.topics.get(key)
        topics.append((topic.label_zh or topic.label) if topic else key)
    return FlashView(
        bulletin=settings.title,
        headline=" ".join(zh.headline.split()),
        lead=zh.lead,
        summary=summary,
        publisher=full,
        date=day.isoformat(),
        date_zh=zh_date(day),
        date_known=dated,
        section=labels.get(item.section, item.section),
        topics="、".join(topics),
        title=item.title,
        url=item.url,
        item_id=item.id,
        story_id=item.story_id or item.id,
    )


def flash_subject(view: FlashView) -> str:
    return f"【{MARK}】{view.headline}"


def flash_text(view: FlashView) -> str:
    lines = [f"{view.bulletin} · {MARK}", "", view.headline, "", view.lead]
    if view.summary:
        lines += ["", view.summary]
    lines += ["", f"发布机构：{view.publisher}", f"栏目：{view.section}"]
    if view.topics:
        lines.append(f"主题：{view.topics}")
    lines += ["", _compiled(view), view.title]
    if safe_url(view.url):
        lines.append(safe_url(view.url))
    lines += ["", "——", _footer(view)]
    return "\n".join(lines) + "\n"


def flash_html(view: FlashView) -> str:
    url = safe_url(view.url)
    link = f'<a href="{escape(url)}">{escape(url)}</a>' if url else ""
    summary = f'<p style="color:#333">{escape(view.summary)}</p>' if view.summary else ""
    topics = f" · 主题：{escape(view.topics)}" if view.topics else ""
    return (
        '<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8">'
        f"<title>{escape(flash_subject(view))}</title></head>"
        "<body style=\"font-family:'PingFang SC','Microsoft YaHei',Arial,sans-serif;"
        'color:#222;max-width:760px;margin:0 auto;padding:16px;line-height:1.6">'
        f'<p style="color:#666;font-size:13px">{escape(view.bulletin)} · {MARK}</p>'
        f'<h2 style="font-size:18px;color:#1a3d7c">{escape(view.headline)}</h2>'
        f"<p>{escape(view.lead)}</p>{summary}"
        f'<p style="font-size:13px;color:#555">发布机构：{escape(view.publisher)} · '
        f"栏目：{escape(view.section)}{topics}</p>"
        '<p style="font-size:13px;background:#fafafa;padding:6px 10px">'
        f"{escape(_compiled(view))}<br>{escape(view.title)}<br>{link}</p>"
        f'<p style="font-size:12px;color:#777">{escape(_footer(view))}</p>'
        "</body></html>\n"
    )


def _compiled(view: FlashView) -> str:
    return f"编译自[{view.date}]" + ("" if view.date_known else "（首次发现日期）")


def _footer(view: FlashView) -> str:
    return (
        f"本条为《{view.bulletin}》快讯，下期快报将标注“已快讯”。"
        f"条目 #{view.item_id}，事件 #{view.story_id}。"
    )


def flash_message(
    view: FlashView,
    *,
    profile: str,
    mail_from: str,
    to: list[str],
    message_id: str,
    sent_at: datetime,
) -> EmailMessage:
    return digest_message(
        subject=flash_subject(view),
        text=flash_text(view),
        html=flash_html(view),
        mail_from=mail_from,
        to=to,
        message_id=message_id,
        list_id=f"<{profile}.flash.{domain_of(mail_from)}>",
        sent_at=sent_at,
    )
