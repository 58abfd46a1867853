"""Sums of money in the bulletin's Chinese form: "$25.5M" → "2550万美元", "€3 billion" → "30亿欧元".
Pure; no I/O.

Parsing is ``monitor.stories.facts.amounts`` (English and Chinese phrasings); this module only
writes the result in 万 / 亿 / 万亿 with the Chinese currency name. The figure is exact: the
digits of the source are kept, never rounded ("$192.5 Million" → "1.925亿美元", "$12,345,678" →
"1234.5678万美元"), and a decimal written with a trailing zero keeps it ("252.50亿元").
"""

from __future__ import annotations

import re
from decimal import Decimal

from monitor.stories.facts import Amount, amounts, normalise_text

__all__ = ["CURRENCY_ZH", "amounts_zh", "to_chinese"]

CURRENCY_ZH = {
    "USD": "美元",
    "EUR": "欧元",
    "GBP": "英镑",
    "JPY": "日元",
    "CNY": "元",
    "SGD": "新加坡元",
    "CAD": "加元",
    "AUD": "澳元",
    "KRW": "韩元",
    "CHF": "瑞士法郎",
    "HKD": "港元",
}
_UNITS = ((Decimal(10) ** 12, "万亿"), (Decimal(10) ** 8, "亿"), (Decimal(10) ** 4, "万"))
_NUMBER = re.compile(r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?")
_SCALES = tuple(Decimal(10) ** e for e in (0, 3, 4, 6, 8, 9, 12))
_FLOAT_DIGITS = 6  # facts keeps six significant digits of a value


def to_chinese(amount: Amount) -> str:
    """``amount`` in Chinese units: Amount(25.5e6, "USD") → "2550万美元"."""
    return _format(Decimal(repr(amount.value)), amount.currency, amount.digits)


def amounts_zh(text: str) -> list[str]:
    """The sums of money in an English or Chinese ``text``, in Chinese form, in order, unique."""
    found: dict[str, None] = {}
    for amount in amounts(text):
        found.setdefault(_format(_exact(amount, text), amount.currency, amount.digits))
    return list(found)


def _format(value: Decimal, currency: str, digits: int = 0) -> str:
    unit_name = CURRENCY_ZH.get(currency, currency)
    for size, unit in _UNITS:
        if value >= size:
            return f"{_plain(value / size, digits)}{unit}{unit_name}"
    return f"{_plain(value, digits)}{unit_name}"


def _plain(number: Decimal, digits: int) -> str:
    """``number`` without exponent or trailing zeros, except the zeros a written decimal had
    (``digits`` significant digits as written: 252.50 has five)."""
    text = format(number.normalize(), "f")
    if "." in text:
        shown = len(text.replace(".", "").lstrip("0"))
        text += "0" * max(digits - shown, 0)
    return text


def _exact(amount: Amount, text: str) -> Decimal:
    """The value as written: facts keeps six significant digits, so a longer figure
    ("$12,345,678") is read again from the number in ``text`` that it was rounded from."""
    value = Decimal(repr(amount.value))
    if amount.digits <= _FLOAT_DIGITS:
        return value
    for match in _NUMBER.finditer(normalise_text(text).replace("，", ",")):
        number = Decimal(match[0].replace(",", ""))
        for scale in _SCALES:
            if float(f"{float(number * scale):.{_FLOAT_DIGITS}g}") == amount.value:
                return number * scale
    return value
