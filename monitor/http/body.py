"""Response bodies, decoded (gzip, deflate) under a cap on the decoded size. Pure; no I/O.

Decompression is bounded chunk by chunk (``max_length``), so a gzip bomb costs at most the cap in
memory before it is refused, never the size it would expand to.
"""

from __future__ import annotations

import zlib

ACCEPT_ENCODING = "gzip, deflate"


class TooLargeError(Exception):
    """The decoded body exceeds the cap."""


class BadEncodingError(Exception):
    """The body is not in the content coding the server declared."""


class Decoder:
    """Feeds raw chunks in, gets decoded bytes out, never more than ``cap`` bytes in all."""

    def __init__(self, content_encoding: str, cap: int) -> None:
        codings = [c.strip().lower() for c in content_encoding.split(",") if c.strip()]
        codings = [c for c in codings if c != "identity"]
        if len(codings) > 1 or (codings and codings[0] not in ("gzip", "x-gzip", "deflate")):
            raise BadEncodingError(f"unsupported content coding {content_encoding!r}")
        self.coding = codings[0] if codings else ""
        self.cap = cap
        self.size = 0
        self._out = bytearray()
        self._zlib: zlib._Decompress | None = None
        self._raw_deflate = False
        if self.coding:
            self._zlib = self._new()

    def _new(self) -> zlib._Decompress:
        if self.coding == "deflate":
            return zlib.decompressobj(-zlib.MAX_WBITS if self._raw_deflate else zlib.MAX_WBITS)
        return zlib.decompressobj(16 + zlib.MAX_WBITS)

    def feed(self, chunk: bytes) -> None:
        if self._zlib is None:
            self._append(chunk)
            return
        data = chunk
        while data:
            try:
                part = self._zlib.decompress(data, self.cap - self.size + 1)
            except zlib.error as e:
                if self._retry_as_raw_deflate():
                    continue
                raise BadEncodingError(f"the {self.coding} body is corrupt: {e}") from e
            self._append(part)
            data = self._zlib.unconsumed_tail
            if self._zlib.eof and self._zlib.unused_data:
                data = self._zlib.unused_data  # another gzip member follows
                self._zlib = self._new()

    def _retry_as_raw_deflate(self) -> bool:
        """Some servers send raw deflate (no zlib header) as ``deflate``."""
        if self.coding != "deflate" or self._raw_deflate or self.size:
            return False
        self._raw_deflate = True
        self._zlib = self._new()
        return True

    def _append(self, part: bytes) -> None:
        self.size += len(part)
        if self.size > self.cap:
            raise TooLargeError(f"response exceeds the cap of {self.cap} bytes")
        self._out += part

    def finish(self) -> bytes:
        if self._zlib is not None:
            try:
                self._append(self._zlib.flush())
            except zlib.error as e:
                raise BadEncodingError(f"the {self.coding} body is corrupt: {e}") from e
            if not self._zlib.eof and (self.size or self._zlib.unconsumed_tail):
                raise BadEncodingError(f"the {self.coding} body is truncated")
        return bytes(self._out)
