"""Atomic file output: a killed process never leaves a truncated or half-written result.

Temporary files are named ``.<name>.<pid>@<host>.<random>.tmp`` next to the file they become. A
process killed with SIGKILL cannot remove its own, so every atomic write sweeps the folder of the
temporary files whose writer (same host, process id no longer alive) is gone: a rerun leaves
nothing behind.
"""
from __future__ import annotations

import contextlib
import errno
import json
import os
import re
import socket
import tempfile
from typing import Any, Iterator

_HOST = re.sub(r"[^A-Za-z0-9_-]", "_", socket.gethostname() or "host")
_TMP_RE = re.compile(r"^\..+\.(\d+)@([A-Za-z0-9_-]+)\.[^.]+\.tmp$")


class WriteError(OSError):
    """An output file could not be written (disk full, read-only or missing folder): names the file."""

    def __str__(self) -> str:
        return f"cannot write {self.filename}: {self.strerror}"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # e.g. EPERM: a process of another user
        return True
    return True


def remove_stale_temps(folder: str) -> int:
    """Delete the temporary files of :func:`atomic_path` in ``folder`` whose writer on this host is dead."""
    removed = 0
    try:
        names = os.listdir(folder)
    except OSError:
        return 0
    for name in names:
        m = _TMP_RE.match(name)
        if m and m.group(2) == _HOST and int(m.group(1)) != os.getpid() and not _alive(int(m.group(1))):
            with contextlib.suppress(OSError):
                os.remove(os.path.join(folder, name))
                removed += 1
    return removed


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _why_not_writable(folder: str, e: OSError) -> str:
    if e.errno in (errno.EEXIST, errno.ENOTDIR):  # a file where a folder should be
        p = folder
        while p and not os.path.exists(p) and os.path.dirname(p) != p:
            p = os.path.dirname(p)
        if os.path.exists(p) and not os.path.isdir(p):
            return f"{p} is a file, not a folder"
    return e.strerror or str(e)


def describe_os_error(e: OSError) -> str:
    """One line for a file-system error, naming the path: a file where a folder should be is said so."""
    if isinstance(e, WriteError) or not e.filename or not e.strerror:
        return str(e)
    path = os.fspath(e.filename)
    if e.errno in (errno.EEXIST, errno.ENOTDIR):
        return f"cannot create {path}: {_why_not_writable(path, e)}"
    return f"{path}: {e.strerror}"


@contextlib.contextmanager
def atomic_path(path: str) -> Iterator[str]:
    """Yield a temporary path next to ``path``; on success it replaces ``path`` atomically."""
    path = os.fspath(path)
    d = os.path.dirname(os.path.abspath(path))
    try:
        os.makedirs(d, exist_ok=True)
        remove_stale_temps(d)
        fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.{os.getpid()}@{_HOST}.", suffix=".tmp", dir=d)
    except OSError as e:  # a folder that cannot be made or written to: name the file we were writing
        raise WriteError(e.errno or errno.EIO, _why_not_writable(d, e), path) from e
    os.close(fd)
    try:
        yield tmp
        # mkstemp makes the file 0600; give the result the permissions a plain open() would have
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.remove(tmp)
        raise


@contextlib.contextmanager
def atomic_open(path: str, mode: str = "w", **kw):
    """``open()`` that writes to a temporary file and renames it over ``path`` when closed cleanly."""
    with atomic_path(path) as tmp:
        try:
            with open(tmp, mode, **kw) as f:
                yield f
                f.flush()
                os.fsync(f.fileno())
        except OSError as e:
            if isinstance(e, WriteError) or e.filename not in (None, tmp):
                raise
            # a full disk surfaces here, as an error without a file name: name the file being written
            raise WriteError(e.errno or errno.EIO, e.strerror or str(e), os.fspath(path)) from e


def check_writable(folder: str) -> str:
    """Check that ``folder`` can be made (if missing) and written to, before hours of work whose results
    could not be saved. Creates nothing: the check writes and removes a file in ``folder`` or in its
    nearest existing parent. :class:`WriteError` naming the folder if not. Returns its absolute path."""
    folder = os.path.abspath(os.fspath(folder))
    p = folder
    while not os.path.lexists(p) and os.path.dirname(p) != p:
        p = os.path.dirname(p)
    try:
        if not os.path.isdir(p):
            raise NotADirectoryError(errno.ENOTDIR, os.strerror(errno.ENOTDIR), p)
        fd, tmp = tempfile.mkstemp(prefix=f".write-check.{os.getpid()}@{_HOST}.", suffix=".tmp", dir=p)
        os.close(fd)
        os.remove(tmp)
    except OSError as e:
        raise WriteError(e.errno or errno.EIO, _why_not_writable(folder, e), folder) from e
    return folder


def write_text(path: str, text: str) -> None:
    with atomic_open(path, "w") as f:
        f.write(text)


def write_json(path: str, obj: Any, indent: int = 2) -> None:
    with atomic_open(path, "w") as f:
        json.dump(obj, f, indent=indent)


def read_yaml(path: str, what: str = "file") -> Any:
    """Parse a YAML file; a missing file or invalid YAML is one error naming the file."""
    import yaml
    if not os.path.isfile(path):
        raise FileNotFoundError(f"{what} not found: {path}")
    try:
        with open(path) as f:
            return yaml.safe_load(f)
    except yaml.YAMLError as e:
        raise ValueError(f"{path}: not valid YAML ({str(e).splitlines()[0]})") from None
