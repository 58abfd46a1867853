"""Response bodies → text: which charset the bytes are really in. Pure; no I/O.

Servers and documents often declare the wrong charset (a GBK page served as UTF-8). The rule:

1. A byte order mark wins.
2. A declared charset (HTTP header first, then the document's own declaration) is used when the
   bytes decode with it. Labels are read as browsers read them (WHATWG Encoding Standard):
   gb2312 and gbk as gb18030, iso-8859-1 as windows-1252. A single-byte charset in the header
   (a common server default) yields to the document's: any bytes decode with it, so it proves
   nothing; and bytes that are multi-byte UTF-8 are not taken for another charset.
3. Otherwise the bytes are UTF-8 if they are (nearly) valid UTF-8, else ``charset_normalizer``
   guesses. Every departure from a declaration is explained in ``Decoded.note``.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache

from charset_normalizer import from_bytes

UTF8 = "utf-8"

_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),  # before UTF-16 LE: it starts with the same bytes
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, UTF8),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
# Codec names (as ``codecs.lookup`` spells them) → what to try, in order.
_WIDER: dict[str, tuple[str, ...]] = {
    "gb2312": ("gb18030",),
    "gbk": ("gb18030",),
    "iso8859-1": ("cp1252", "iso8859-1"),
    "big5": ("big5", "big5hkscs"),
    "shift_jis": ("shift_jis", "cp932"),
    "euc_kr": ("euc_kr", "cp949"),
}
# Text codecs that no web page uses, some of them dangerous (UTF-7 smuggles markup).
_NOT_WEB = frozenset({"utf-7", "unicode-escape", "raw-unicode-escape", "idna", "punycode"})
_XML_DECLARATION = re.compile(rb"""^\s*<\?xml[^>]*?encoding\s*=\s*["']\s*([^"'\s>]{1,40})""")
_META_CHARSET = re.compile(rb"""<meta[^>]+?charset\s*=\s*["']?\s*([a-z0-9_.:-]{1,40})""", re.I)
# Charsets that web pages use, most common on the watched sites first (detection prefers them).
_DETECTABLE = (
    "utf_8",
    "gb18030",
    "cp1252",
    "big5",
    "cp932",
    "shift_jis",
    "euc_jp",
    "euc_kr",
    "cp1251",
    "cp1250",
    "iso8859_15",
    "iso8859_2",
    "koi8_r",
    "koi8_u",
    "cp866",
    "iso8859_5",
    "iso8859_7",
    "iso8859_8",
    "cp1253",
    "cp1254",
    "cp1255",
    "cp1256",
    "cp1257",
    "cp1258",
    "cp874",
    "mac_roman",
    "utf_16_le",
    "utf_16_be",
)
_REPLACED = re.compile("\ufffd+")
_TIE = 0.01  # detection scores this close are a tie
_SNIFF_BYTES = 4096
_CUT_CHARACTER = 4  # a body cut inside its last character still decodes


@dataclass(frozen=True)
class Decoded:
    """The text of a body, the codec that produced it, and why it is not the declared one."""

    text: str
    encoding: str
    note: str | None = None


def xml_charset(body: bytes) -> str | None:
    """The ``encoding`` of an XML declaration at the start of ``body``, if any."""
    match = _XML_DECLARATION.match(body.removeprefix(codecs.BOM_UTF8)[:_SNIFF_BYTES])
    return match.group(1).decode("ascii", "replace") if match else None


def html_charset(body: bytes) -> str | None:
    """The charset of a ``<meta charset>`` or ``<meta http-equiv=content-type>`` near the start
    of ``body`` (or of an XML declaration, for XHTML), if any."""
    match = _META_CHARSET.search(body[:_SNIFF_BYTES])
    return match.group(1).decode("ascii", "replace") if match else xml_charset(body)


def decode_body(body: bytes, declared: str | None, document: str | None = None) -> Decoded:
    """Decode ``body``; ``declared`` is the HTTP header's charset, ``document`` the charset the
    document declares itself (see ``xml_charset`` and ``html_charset``)."""
    labels = {_label(declared): False, _label(document): True}  # label → declared in the document
    labels.pop("", None)
    if len(labels) == 2 and _single_byte(_codec(_label(declared))):
        labels = dict(reversed(labels.items()))  # decoding as windows-1252 proves nothing
    for bom, codec in _BOMS:
        if body.startswith(bom):
            text = body[len(bom) :].decode(codec, "replace")
            return Decoded(text, codec, _note(_wrong(labels, codec), codec, "byte order mark"))
    for label, in_document in labels.items():
        decoded = _declared(body, label, in_document)
        if decoded is not None:
            used = decoded.encoding
            return Decoded(decoded.text, used, _note(_wrong(labels, used), used))
    guessed = _undeclared(body)
    used = guessed.encoding
    return Decoded(guessed.text, used, _note(_wrong(labels, used), used) or guessed.note)


def _label(label: str | None) -> str:
    return (label or "").strip().strip("\"'").strip().lower()


def _declared(body: bytes, label: str, in_document: bool) -> Decoded | None:
    """``body`` decoded as ``label`` says, or None when the label is unknown or wrong."""
    codec = _codec(label)
    if codec is None:
        return None
    if codec.startswith(("utf-16", "utf-32")) and in_document:
        codec = UTF8  # the declaration was readable as ASCII, so the bytes are not UTF-16/32
    if codec != UTF8 and _is_utf8(body) and not body.isascii():
        return None  # multi-byte UTF-8 is almost never meant as another charset
    for candidate in _WIDER.get(codec, (codec,)):
        text = _strict(body, candidate)
        if text is not None:
            return Decoded(text, candidate)
    return None


def _undeclared(body: bytes) -> Decoded:
    """No usable declaration: UTF-8 if the bytes (nearly) are, else a guess."""
    text = _strict(body, UTF8)
    if text is not None:
        return Decoded(text, UTF8)
    text, bad = _lenient_utf8(body)
    if bad is not None:
        return Decoded(text, UTF8, f"invalid utf-8 replaced in {bad} places")
    guess = _guess(body)
    if guess is None:
        return Decoded(text, UTF8, "the charset could not be recognised; decoded as utf-8")
    return Decoded(body.decode(guess, "replace"), guess, f"no charset declared; guessed {guess}")


def _guess(body: bytes) -> str | None:
    """The most likely web charset of ``body``. Short texts fit several charsets equally well;
    then the one most common on the sites we watch wins (gb18030 before big5, and so on)."""
    matches = list(from_bytes(body, cp_isolation=list(_DETECTABLE)))
    if not matches:
        return None
    least = min(match.chaos for match in matches)
    tied = [match for match in matches if match.chaos <= least + _TIE]
    for codec in _DETECTABLE:
        if any(codec in match.could_be_from_charset for match in tied):
            return _codec(codec) or codec
    return None


def _codec(label: str) -> str | None:
    """The Python codec for a charset label, or None if there is no usable one."""
    try:
        info = codecs.lookup(label)
    except (LookupError, ValueError):
        return None
    if not getattr(info, "_is_text_encoding", True) or info.name in _NOT_WEB:
        return None
    return info.name


def _strict(body: bytes, codec: str) -> str | None:
    """``body`` decoded strictly, tolerating only a last character cut short (a truncated body,
    when what comes before has characters of this codec); None if the bytes are not in it."""
    try:
        return body.decode(codec)
    except UnicodeDecodeError as e:
        cut = e.end >= len(body) and e.start >= len(body) - _CUT_CHARACTER
        if cut and not body[: e.start].isascii():
            return body.decode(codec, "replace")
        return None
    except (LookupError, ValueError):  # ValueError: codecs that refuse NUL bytes
        return None


@cache
def _single_byte(codec: str | None) -> bool:
    """Whether ``codec`` reads (nearly) every byte as a character, so any bytes decode with it."""
    if codec is None or codec.startswith(("utf-16", "utf-32")):
        return False
    return sum(_strict(bytes([byte]), codec) is not None for byte in range(0x80, 0x100)) > 100


def _is_utf8(body: bytes) -> bool:
    return _strict(body, UTF8) is not None


def _lenient_utf8(body: bytes) -> tuple[str, int | None]:
    """``body`` as UTF-8 with replacements, and the number of replacements if the body is
    nevertheless UTF-8 (valid multi-byte characters outnumber runs of bad bytes three to one)."""
    text = body.decode(UTF8, "replace")
    bad = len(_REPLACED.findall(text)) - body.count("\ufffd".encode())
    good = sum(1 for char in text if ord(char) > 0x7F and char != "\ufffd")
    return text, bad if good >= 3 * bad else None


def _wrong(labels: Iterable[str], used: str) -> list[str]:
    """The declared labels that do not name ``used`` (or a charset it extends)."""
    return [label for label in labels if not _names(_codec(label), used)]


def _names(codec: str | None, used: str) -> bool:
    if codec is None:
        return False
    return used in _WIDER.get(codec, (codec,)) or used.startswith(codec.removesuffix("-sig"))


def _note(wrong: list[str], used: str, evidence: str = "") -> str | None:
    """Why the declared charsets in ``wrong`` were not used."""
    if not wrong:
        return None
    unknown = [label for label in wrong if _codec(label) is None]
    mismatched = [label for label in wrong if label not in unknown]
    parts = (
        [f"declared charset {', '.join(mismatched)} does not match the bytes"] if mismatched else []
    )
    parts += [f"declared charset {', '.join(unknown)} is not supported"] if unknown else []
    because = f" ({evidence})" if evidence else ""
    return f"{'; '.join(parts)}; decoded as {used}{because}"
