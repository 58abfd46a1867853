"""Render a digest view with Jinja2 (Markdown, HTML, text) and write the files atomically.

HTML is autoescaped; Markdown escapes the characters that would turn web text into markup;
links are shown only for http(s) URLs.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from pathlib import Path
from urllib.parse import quote, urlsplit

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from monitor.digest.view import DigestView

FORMATS = ("md", "html", "txt")
_MD_SPECIAL = re.compile(r"([\\`*_\[\]{}#|!~])")


def md_escape(text: str) -> str:
    """Plain text safe to drop into Markdown: no HTML, no links, no emphasis from web text."""
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _MD_SPECIAL.sub(r"\\\1", text)


def safe_url(url: str) -> str:
    """The URL if it is http(s), with characters that could break out of markup encoded."""
    parts = urlsplit(url.strip())
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return ""
    return quote(url.strip(), safe=":/?#[]@!$&'()*+,;=%~-._")


def _environment() -> Environment:
    env = Environment(
        loader=PackageLoader("monitor.digest", "templates"),
        autoescape=select_autoescape(enabled_extensions=("html", "html.j2"), default=False),
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        undefined=StrictUndefined,
    )
    env.filters["md"] = md_escape
    env.filters["url"] = safe_url
    return env


_ENV: Environment | None = None


def render(view: DigestView, layout: str) -> dict[str, str]:
    """Format name → rendered text, for each of ``FORMATS``."""
    global _ENV
    _ENV = _ENV or _environment()
    return {fmt: _ENV.get_template(f"{layout}.{fmt}.j2").render(d=view) for fmt in FORMATS}


def content_hash(rendered: dict[str, str]) -> str:
    digest = hashlib.sha256()
    for fmt in sorted(rendered):
        digest.update(fmt.encode() + b"\0" + rendered[fmt].encode() + b"\0")
    return digest.hexdigest()


def write_atomic(path: Path, text: str | bytes) -> None:
    """Write via a temporary file in the same directory and rename: readers never see half."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    data = text.encode("utf-8") if isinstance(text, str) else text
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        Path(tmp).chmod(0o644)
        Path(tmp).replace(path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_digest(rendered: dict[str, str], directory: Path, week: str, profile: str) -> list[Path]:
    paths = []
    for fmt, text in rendered.items():
        path = directory / f"{week}.{profile}.{fmt}"
        write_atomic(path, text)
        paths.append(path)
    return paths
