"""Reading a source's live version, with limits: no read can hang a check or fill the memory.

- ``url``: HTTP(S) GET only, ``timeout_seconds`` for the whole transfer, at most ``max_bytes``
  (decoded), no redirects (a redirect could carry the header to another host), no proxy or
  ``.netrc`` from the environment; ``header_env`` names a variable holding one ``Name: value``
  header (for example ``Authorization: Basic …``), never logged.
- ``command``: an argv list run without a shell, stdin closed, killed (with its process group)
  after ``timeout_seconds`` or when its stdout passes ``max_bytes``; a non-zero exit is an error.
- ``file``: a file, or a folder a plant exporter drops into. For a repo *file* the folder's file
  of the same name is read, else its newest file; for a repo *folder* every file below it.

Every failure raises :class:`SourceError` with one line saying what went wrong.
"""

from __future__ import annotations

import os
import signal
import subprocess
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from gatekeeper.config import DriftConfig, DriftSource
from gatekeeper.errors import GatekeeperError

CHUNK = 64 * 1024
MAX_FILES = 10_000
"""A folder source with more files than this is refused (an exporter writing into the wrong place)."""


class SourceError(GatekeeperError):
    """The live version cannot be read: the check's result is ``error``, never ``in line``."""


@dataclass
class Live:
    """A live export: one document (``data``), or a folder's files by relative path (``files``)."""

    data: bytes | None = None
    files: dict[str, bytes] = field(default_factory=dict)
    origin: str = ""


def fetch(source: DriftSource, limits: DriftConfig, folder: bool, cwd: Path | None = None) -> Live:
    """The live version of ``source``; ``folder``: the repo path is a folder (a set of files)."""
    if folder and not source.file:
        raise SourceError(f"{source.path} is a folder in the repo, but a {'url' if source.url else 'command'} "
                          "source gives one document: use a file source pointing at the exported folder")
    if source.url:
        return Live(data=_http(source, limits), origin=source.url)
    if source.command:
        return Live(data=_command(source.command, limits, cwd), origin=" ".join(source.command))
    assert source.file is not None
    return _file(source.file, source.path, limits, folder)


def _header(env_name: str) -> dict[str, str]:
    value = os.environ.get(env_name, "")
    if not value:
        raise SourceError(f"environment variable {env_name} (header_env) is not set")
    name, sep, content = value.partition(":")
    if not sep or not name.strip() or any(c in value for c in "\r\n") or " " in name.strip():
        raise SourceError(f"environment variable {env_name} (header_env) must hold one header as 'Name: value'")
    return {name.strip(): content.strip()}


def _http(source: DriftSource, limits: DriftConfig) -> bytes:
    import requests

    from gatekeeper import outbound

    headers = {"Accept": "application/json, text/csv, application/xml;q=0.9, */*;q=0.5"}
    if source.header_env:
        headers.update(_header(source.header_env))
    try:  # no proxy variables or .netrc (trust_env=False): only the configured header is sent
        resp = outbound.get(source.url, headers=headers, timeout=limits.timeout_seconds, max_bytes=limits.max_bytes,
                            trust_env=False)
    except outbound.TooLarge as exc:
        if exc.declared is not None:
            raise SourceError(f"response of {exc.declared} bytes exceeds drift.max_bytes ({limits.max_bytes})") from exc
        raise SourceError(f"response exceeds drift.max_bytes ({limits.max_bytes} bytes)") from exc
    except requests.Timeout as exc:
        raise SourceError(f"no response within {limits.timeout_seconds:g} s") from exc
    except requests.RequestException as exc:
        raise SourceError(f"cannot fetch {source.url}: {_reason(exc)}") from exc
    if resp.is_redirect or resp.is_permanent_redirect:
        raise SourceError(f"HTTP {resp.status_code}: redirected to {resp.headers.get('Location', '?')} "
                          "(configure the final URL; redirects are not followed)")
    if resp.status_code != 200:
        raise SourceError(f"HTTP {resp.status_code} {resp.reason or ''}".rstrip())
    return resp.content


def _reason(exc: Exception) -> str:
    text = str(exc)
    for marker in ("Connection refused", "Name or service not known", "timed out", "certificate verify failed"):
        if marker in text:
            return marker
    return text.splitlines()[0][:200] if text else type(exc).__name__


def _command(argv: tuple[str, ...], limits: DriftConfig, cwd: Path | None) -> bytes:
    with tempfile.TemporaryFile() as err:
        try:
            proc = subprocess.Popen(list(argv), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=err,
                                    cwd=cwd, start_new_session=True)
        except OSError as exc:
            raise SourceError(f"cannot run {argv[0]}: {exc.strerror or exc}") from exc
        with proc:
            out = _run(proc, argv, limits)
        if proc.returncode != 0:
            err.seek(0)
            last = err.read(4096).decode("utf-8", "replace").strip().splitlines()
            raise SourceError(f"{argv[0]} exited with {proc.returncode}" + (f": {last[-1][:200]}" if last else ""))
        return out


def _run(proc: subprocess.Popen[bytes], argv: tuple[str, ...], limits: DriftConfig) -> bytes:
    out = bytearray()
    too_big = threading.Event()

    def read() -> None:
        assert proc.stdout is not None
        while chunk := proc.stdout.read(CHUNK):
            out.extend(chunk)
            if len(out) > limits.max_bytes:
                too_big.set()
                _kill(proc)
                return

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    reader.join(limits.timeout_seconds)
    if reader.is_alive():
        _kill(proc)
        reader.join(5)
        raise SourceError(f"{argv[0]} did not finish within {limits.timeout_seconds:g} s (killed)")
    if too_big.is_set():
        raise SourceError(f"{argv[0]} wrote more than drift.max_bytes ({limits.max_bytes} bytes) (killed)")
    try:
        proc.wait(max(1.0, limits.timeout_seconds))
    except subprocess.TimeoutExpired as exc:
        _kill(proc)
        raise SourceError(f"{argv[0]} did not exit within {limits.timeout_seconds:g} s (killed)") from exc
    return bytes(out)


def _kill(proc: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        proc.kill()


def _file(path: Path, repo_path: str, limits: DriftConfig, folder: bool) -> Live:
    if not path.exists():
        raise SourceError(f"{path} does not exist")
    if folder:
        if not path.is_dir():
            raise SourceError(f"{path} is not a folder, but {repo_path} is a folder in the repo")
        files: dict[str, bytes] = {}
        total = 0
        for item in sorted(path.rglob("*")):
            if not item.is_file():
                continue
            if len(files) >= MAX_FILES:
                raise SourceError(f"{path} holds more than {MAX_FILES} files")
            data = _read(item, limits.max_bytes)
            total += len(data)
            if total > limits.max_bytes:
                raise SourceError(f"{path} holds more than drift.max_bytes ({limits.max_bytes} bytes)")
            files[item.relative_to(path).as_posix()] = data
        return Live(files=files, origin=str(path))
    if path.is_dir():
        name = PurePosixPath(repo_path).name
        candidates = [p for p in path.iterdir() if p.is_file() and not p.name.startswith(".")]
        same = path / name
        chosen = same if same.is_file() else max(candidates, key=lambda p: p.stat().st_mtime, default=None)
        if chosen is None:
            raise SourceError(f"{path} holds no exported file")
        return Live(data=_read(chosen, limits.max_bytes), origin=str(chosen))
    return Live(data=_read(path, limits.max_bytes), origin=str(path))


def _read(path: Path, limit: int) -> bytes:
    try:
        with path.open("rb") as f:
            data = f.read(limit + 1)
    except OSError as exc:
        raise SourceError(f"cannot read {path}: {exc.strerror or exc}") from exc
    if len(data) > limit:
        raise SourceError(f"{path} exceeds drift.max_bytes ({limit} bytes)")
    return data
