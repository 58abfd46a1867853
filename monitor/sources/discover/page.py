"""A fetched page read for discovery: its title, site name, language and soup. Pure."""

from __future__ import annotations

import warnings
from dataclasses import dataclass

from bs4 import BeautifulSoup, Tag, XMLParsedAsHTMLWarning

from monitor.encoding import decode_body, html_charset
from monitor.text import clean


@dataclass(frozen=True)
class Page:
    """What ``sources add`` reads from the page itself."""

    html: str
    title: str
    site_name: str
    language: str | None  # two-letter code from <html lang>, when given


def read_page(content: bytes, encoding: str | None) -> tuple[Page, BeautifulSoup]:
    decoded = decode_body(content, encoding, html_charset(content))
    soup = _soup(decoded.text)
    title = clean(soup.title.get_text()) if soup.title else ""
    site = soup.find("meta", attrs={"property": "og:site_name"})
    site_name = clean(str(site.get("content") or "")) if isinstance(site, Tag) else ""
    html_el = soup.find("html")
    lang = str(html_el.get("lang") or "") if isinstance(html_el, Tag) else ""
    code = lang.split("-")[0].strip().lower()
    language = code if code.isalpha() else _script_language(soup)
    return Page(decoded.text, title, site_name, language), soup


def _script_language(soup: BeautifulSoup) -> str | None:
    """``zh`` or ``ja`` for a page without ``lang`` whose text is mostly Han (with kana:
    Japanese); None otherwise (the default, English, then applies)."""
    text = clean((soup.body or soup).get_text(" "))[:5000]
    letters = [ch for ch in text if ch.isalpha()]
    han = sum(1 for ch in letters if "\u4e00" <= ch <= "\u9fff")
    kana = sum(1 for ch in letters if "\u3040" <= ch <= "\u30ff")
    if not letters or han + kana < 0.3 * len(letters):
        return None
    return "ja" if kana > 0.05 * len(letters) else "zh"


def _soup(text: str) -> BeautifulSoup:
    with warnings.catch_warnings():  # XHTML pages start with an XML declaration: fine
        warnings.simplefilter("ignore", XMLParsedAsHTMLWarning)
        return BeautifulSoup(text, "lxml")  # as the html kind parses it: selectors match alike
