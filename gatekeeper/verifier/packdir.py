"""Reading an untrusted pack folder (or zip) without being led outside it. Standard library only.

A pack is a flat folder of regular files with plain names. Anything else (a subfolder, a symbolic
link, a name with a path separator or ``..``, a device) is refused with one message before any
file is read; files are opened with ``O_NOFOLLOW`` and read in bounded chunks, so a link swapped in
later or a 2 GB file cannot take the verifier outside the folder or out of memory.
"""

from __future__ import annotations

import hashlib
import os
import re
import stat
import zipfile
from typing import IO

from gatekeeper.verifier.logread import Failed

NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
MAX_SMALL = 16 << 20          # checkpoint.json, MANIFEST, public-key.pem, policy.toml, a trust file
CHUNK = 1 << 20


def list_pack(folder: str) -> dict[str, int]:
    """The pack's files and their sizes; refuses what a pack cannot hold."""
    try:
        entries = list(os.scandir(folder))
    except OSError as exc:
        raise Failed(f"cannot read the folder {folder}: {exc.strerror or exc}") from None
    out: dict[str, int] = {}
    for e in sorted(entries, key=lambda x: x.name):
        name = e.name
        if e.is_symlink():
            raise Failed(f"{name!r} is a symbolic link: a pack holds regular files only (it may point outside "
                         "the pack)")
        if e.is_dir(follow_symlinks=False):
            raise Failed(f"{name!r} is a folder: a pack holds its files at its root only")
        if not e.is_file(follow_symlinks=False):
            raise Failed(f"{name!r} is not a regular file")
        if not NAME.fullmatch(name):
            raise Failed(f"{name!r} is not a pack file name (letters, digits, '.', '_', '-')")
        out[name] = e.stat(follow_symlinks=False).st_size
    return out


def open_file(folder: str, name: str) -> IO[bytes]:
    """A pack file for reading: the name checked again, symbolic links refused at open."""
    if not NAME.fullmatch(name):
        raise Failed(f"{name!r} is not a pack file name")
    path = os.path.join(folder, name)
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except OSError as exc:
        raise Failed(f"{name}: cannot open it ({exc.strerror or exc})") from None
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise Failed(f"{name} is not a regular file")
    return os.fdopen(fd, "rb")


def read_small(folder: str, name: str, limit: int = MAX_SMALL) -> bytes:
    with open_file(folder, name) as fh:
        data = fh.read(limit + 1)
    if len(data) > limit:
        raise Failed(f"{name} is larger than {limit >> 20} MiB: not a file of an evidence pack")
    return data


def sha256_of(folder: str, name: str) -> str:
    digest = hashlib.sha256()
    with open_file(folder, name) as fh:
        while chunk := fh.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def extract_pack(path: str, dest: str, max_total: int = 64 << 30) -> None:
    """Unpack a pack zip into the empty folder ``dest``: plain names only, no links or folders, sizes as
    declared (a member that inflates past its declared size, or a truncated zip, fails)."""
    try:
        zf = zipfile.ZipFile(path)
    except (OSError, zipfile.BadZipFile, ValueError) as exc:
        raise Failed(f"{path}: not a readable zip file ({exc})") from None
    total = 0
    with zf:
        infos = zf.infolist()
        names = [i.filename for i in infos]
        for info in infos:
            name = info.filename
            if not NAME.fullmatch(name):
                raise Failed(f"the zip holds {name!r}: a pack holds plain file names at its root only")
            if stat.S_ISLNK(info.external_attr >> 16) or info.is_dir():
                raise Failed(f"the zip holds {name!r} as a link or folder: a pack holds regular files only")
            if names.count(name) > 1:
                raise Failed(f"the zip holds {name} twice")
            total += info.file_size
            if total > max_total:
                raise Failed(f"the zip would unpack to more than {max_total >> 30} GiB")
        for info in infos:
            written = 0
            fd = os.open(os.path.join(dest, info.filename), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as out:
                try:
                    with zf.open(info) as src:
                        while chunk := src.read(CHUNK):
                            written += len(chunk)
                            if written > info.file_size:
                                raise Failed(f"{info.filename} inflates past its declared size (a zip bomb?)")
                            out.write(chunk)
                except (zipfile.BadZipFile, EOFError, OSError, ValueError) as exc:
                    raise Failed(f"{info.filename}: the zip is damaged or truncated ({exc})") from None
