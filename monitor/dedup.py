"""Item identity and near-duplicates. Pure; no I/O.

- ``canonical_url``: the key of an item. Tracking parameters, fragments, ``www.``, default ports,
  trailing slashes and the http/https difference are removed; the remaining query is sorted.
- ``fingerprint``: a hash of the normalised title and summary, to tell a changed item from an
  unchanged one.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from w3lib.url import canonicalize_url

TRACKING_PREFIXES = ("utm_", "wt.", "mc_", "_hs", "hsa_", "pk_", "mtm_", "ga_", "__s")
TRACKING_NAMES = frozenset(
    {
        "fbclid",
        "gclid",
        "dclid",
        "msclkid",
        "yclid",
        "twclid",
        "igshid",
        "mkt_tok",
        "_ga",
        "_gl",
        "cmpid",
        "ocid",
        "ncid",
        "s_cid",
        "sr_share",
        "ref_src",
        "xtor",
        "spm",
        "smid",
    }
)


def canonical_url(url: str) -> str:
    """The identity of a URL: two URLs with the same canonical form are the same item."""
    url = url.strip()
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:  # a broken IPv6 host or port: nothing to normalise
        return url
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return url
    if not re.fullmatch(r"[\w.:%-]+", parts.hostname):  # not a host name: nothing to normalise
        return url
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not _tracking(k)]
    host = parts.hostname.lower().rstrip(".")
    while host.startswith("www."):  # all of them, or the result would change when repeated
        host = host.removeprefix("www.")
    host = f"[{host}]" if ":" in host else host  # IPv6
    netloc = host if port in (None, 80, 443) else f"{host}:{port}"

    def tidy(path: str) -> str:
        return re.sub(r"/{2,}", "/", path).rstrip("/") or "/"

    rebuilt = urlunsplit(("https", netloc, tidy(parts.path), urlencode(query), ""))
    # canonicalize_url reads "\" as "/", drops control characters and resolves "." segments,
    # which can bring back "//" or a trailing "/" (and change the result of a second pass)
    canonical = urlsplit(canonicalize_url(rebuilt, keep_fragments=False))
    return urlunsplit(canonical._replace(path=tidy(canonical.path)))


def _tracking(name: str) -> bool:
    lowered = name.lower()
    return lowered in TRACKING_NAMES or lowered.startswith(TRACKING_PREFIXES)


def clean_link(url: str) -> str:
    """The URL to show an editor: as published, minus tracking parameters and fragment."""
    try:
        parts = urlsplit(url.strip())
    except ValueError:  # a broken IPv6 host
        return url.strip()
    if not parts.query and not parts.fragment:
        return url.strip()
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not _tracking(k)]
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query), ""))


_WORD = re.compile(r"[\w]+", re.UNICODE)


def normalise_title(title: str) -> str:
    text = unicodedata.normalize("NFKC", title).lower()
    return " ".join(_WORD.findall(text))


def fingerprint(title: str, summary: str) -> str:
    """Changes when what an editor reads changes; ignores case, punctuation and spacing."""
    basis = normalise_title(title) + "\n" + normalise_title(summary)
    return hashlib.sha256(basis.encode()).hexdigest()[:32]
