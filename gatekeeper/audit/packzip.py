"""Writing the evidence pack's zip: every entry hashed as it is streamed in, and MANIFEST.sha256."""

from __future__ import annotations

import hashlib
import io
import zipfile
from collections.abc import Iterable, Sequence
from typing import IO, Any

from gatekeeper.audit.writers import write_csv

MANIFEST = "MANIFEST.sha256"
CHUNK = 1 << 20


class Pack:
    """Writes zip entries while hashing them, for the manifest."""

    def __init__(self, zf: zipfile.ZipFile) -> None:
        self.zf = zf
        self.digests: dict[str, str] = {}

    def put(self, name: str, data: bytes) -> None:
        self.zf.writestr(name, data)
        self.digests[name] = hashlib.sha256(data).hexdigest()

    def file(self, name: str, src: IO[bytes]) -> None:
        digest = hashlib.sha256()
        with self.zf.open(name, "w", force_zip64=True) as dst:
            while chunk := src.read(CHUNK):
                digest.update(chunk)
                dst.write(chunk)
        self.digests[name] = digest.hexdigest()

    def csv(self, name: str, columns: Sequence[str], rows: Iterable[dict[str, Any]]) -> int:
        with self.text(name) as out:
            return write_csv(out, columns, rows)

    def text(self, name: str) -> TextEntry:
        return TextEntry(self, name)

    def manifest(self) -> None:
        lines = "".join(f"{self.digests[n]}  {n}\n" for n in sorted(self.digests))
        self.put(MANIFEST, lines.encode("utf-8"))


class TextEntry:
    """A UTF-8 text zip entry, hashed as it is written."""

    def __init__(self, pack: Pack, name: str) -> None:
        self.pack, self.name = pack, name
        self.digest = hashlib.sha256()

    def __enter__(self) -> io.TextIOWrapper:
        self.raw = self.pack.zf.open(self.name, "w", force_zip64=True)
        self.buf = Hashing(self.raw, self.digest)
        self.out = io.TextIOWrapper(io.BufferedWriter(self.buf, CHUNK), encoding="utf-8", newline="")
        return self.out

    def __exit__(self, *exc: object) -> None:
        self.out.flush()
        self.out.detach().flush()
        self.raw.close()
        self.pack.digests[self.name] = self.digest.hexdigest()


class Hashing(io.RawIOBase):
    def __init__(self, dst: IO[bytes], digest: Any) -> None:
        self.dst, self.digest = dst, digest

    def writable(self) -> bool:
        return True

    def write(self, b: Any) -> int:
        data = bytes(b)
        self.digest.update(data)
        self.dst.write(data)
        return len(data)
