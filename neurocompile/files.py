"""The files a command reads and writes: checked before any work, written atomically.

Inputs (:func:`input_path`): a path must name a readable, non-empty regular file. It is
checked with ``os.stat`` only (never ``open()`` first), so a FIFO, socket or device is refused
at once instead of blocking or streaming forever.

Outputs (:func:`output_path` before any work, then :func:`atomic_output` /
:func:`atomic_write` / :func:`atomic_directory` to write): an output that resolves to one of
the command's inputs (real paths, and ``os.path.samefile`` when both exist, so symlinks and
hard links count) is refused; so is an output that is a directory (or, for a directory output,
a file), a special file, or whose parent is a file. Everything is written to a temporary file
(or folder) in the target's directory and renamed into place (``os.replace``) only when
complete; a failure removes it, so a failed command leaves no partial output and the previous
output (if any) untouched. A full or read-only device is one typed line (:class:`OutputError`).

Every error names the option (``what``, e.g. ``"--input"``) and is a
:class:`~neurocompile.errors.NeurocompileError`, so the CLI prints one line and exits with 2.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import stat
import tempfile
from pathlib import Path
from typing import Callable, Iterable, Iterator, Mapping

from .errors import InputDataError, ModelLoadError, NeurocompileError, OutputError

__all__ = [
    "OutputError",
    "input_path",
    "model_path",
    "output_path",
    "same_file",
    "atomic_output",
    "atomic_write",
    "atomic_directory",
]


_SPECIAL = (
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISDIR, "a directory"),
)


def _kind_of(mode: int) -> str | None:
    """What a non-regular file is (``None`` for a regular file)."""
    for test, name in _SPECIAL:
        if test(mode):
            return name
    return None if stat.S_ISREG(mode) else "not a regular file"


def input_path(
    path: str | os.PathLike[str],
    *,
    what: str,
    error: type[NeurocompileError] = InputDataError,
    allow_empty: bool = False,
) -> Path:
    """``path`` as a :class:`Path` when it is a readable, non-empty regular file.

    Missing, a directory, a FIFO/socket/device, unreadable or empty: ``error`` (default
    :class:`InputDataError`) naming the option ``what``. Only ``os.stat`` and ``os.access``
    touch the file.
    """
    p = Path(os.fspath(path))
    expected = "a readable, non-empty regular file"
    try:
        st = os.stat(p)
    except (FileNotFoundError, NotADirectoryError):
        raise error(f"file not found: {p}", parameter=what, expected=expected) from None
    except OSError as exc:
        raise error(f"cannot read {p}: {exc.strerror or exc}", parameter=what, expected=expected) from None
    except ValueError as exc:  # an embedded NUL byte
        raise error(f"not a valid path {str(p)!r}: {exc}", parameter=what, expected=expected) from None
    kind = _kind_of(st.st_mode)
    if kind is not None:
        raise error(f"{p} is {kind}, not a regular file", parameter=what, expected=expected)
    if not os.access(p, os.R_OK):
        raise error(f"cannot read {p}: permission denied", parameter=what, expected=expected)
    if st.st_size == 0 and not allow_empty:
        raise error(f"{p} is empty", parameter=what, expected=expected)
    return p


def model_path(model: object, *, what: str = "MODEL") -> object:
    """Check ``model`` with :func:`input_path` (error :class:`ModelLoadError`) when it names an
    existing filesystem entry; anything else (an object, a name, a missing path) is returned
    unchanged for the loader to judge (it says "file not found" itself)."""
    if isinstance(model, (str, os.PathLike)):
        try:
            exists = os.path.lexists(model)
        except (ValueError, TypeError):
            exists = False
        if exists:
            input_path(model, what=what, error=ModelLoadError)
    return model


def same_file(a: str | os.PathLike[str], b: str | os.PathLike[str]) -> bool:
    """Whether ``a`` and ``b`` are one file: equal real paths, or ``samefile`` when both exist."""
    try:
        if os.path.realpath(a) == os.path.realpath(b):
            return True
        return os.path.exists(a) and os.path.exists(b) and os.path.samefile(a, b)
    except (OSError, ValueError):
        return False


def _in_folder(
    child: str | os.PathLike[str], folder: str | os.PathLike[str], members: Iterable[str] | None
) -> bool:
    """Whether writing the folder ``folder`` could replace ``child``: ``child`` is the folder, one
    of its ``members`` (the file names the command writes), or, without ``members``, directly in it."""
    if same_file(child, folder):
        return True
    if members is not None:
        return any(same_file(child, Path(folder) / m) for m in members)
    try:
        return same_file(os.path.dirname(os.path.realpath(child)), folder)
    except (OSError, ValueError):
        return False


def output_path(
    path: str | os.PathLike[str],
    *,
    what: str,
    inputs: Mapping[str, str | os.PathLike[str] | None] | None = None,
    kind: str = "file",
    members: Iterable[str] | None = None,
) -> Path:
    """Check an output path before any work; return it as a :class:`Path`.

    ``inputs`` maps each input option (``"MODEL"``, ``"--input"``, ...) to its path (``None``
    when not given; a value that names no file is ignored). Refused with :class:`OutputError`
    naming ``what``: the output is one of the inputs (for ``kind="directory"``: an input is the
    folder, one of the ``members`` it writes, or without ``members`` lies directly in it); the
    output exists as a directory (``kind="file"``), as a file (``kind="directory"``) or as a
    special file; a parent is a file; the nearest existing parent is not writable. An existing
    output file is fine: it is replaced when the command succeeds.
    """
    if kind not in ("file", "directory"):
        raise ValueError(f"kind must be 'file' or 'directory', not {kind!r}")
    try:
        p = Path(os.fspath(path))
        str(p).encode()
        if "\0" in str(p):
            raise ValueError("embedded NUL byte")
    except (TypeError, ValueError, UnicodeError) as exc:
        raise OutputError(f"not a valid path {str(path)!r}: {exc}", parameter=what) from None
    if not str(p) or str(p) == ".":
        if kind == "file":
            raise OutputError("empty output path", parameter=what, expected="a file path")
    for name, inp in (inputs or {}).items():
        if inp is None:
            continue
        clash = _in_folder(inp, p, members) if kind == "directory" else same_file(p, inp)
        if clash:
            where = "is" if kind == "file" or same_file(p, inp) else "contains"
            raise OutputError(
                f"{p} {where} the {name} input {inp}; writing it would destroy that input",
                parameter=what,
                expected=f"an output path other than the command's inputs ({name})",
            )
    try:
        st = os.stat(p)
    except (FileNotFoundError, NotADirectoryError):
        st = None
    except OSError as exc:
        raise OutputError(f"cannot use {p}: {exc.strerror or exc}", parameter=what) from None
    if st is not None:
        k = _kind_of(st.st_mode)
        if kind == "file" and k is not None:
            raise OutputError(
                f"{p} is {k}", parameter=what, expected="a file path (a regular file is replaced)"
            )
        if kind == "directory" and not stat.S_ISDIR(st.st_mode):
            raise OutputError(
                f"{p} is {k or 'a file'}, not a directory", parameter=what, expected="a directory path"
            )
        if kind == "directory" and not os.access(p, os.W_OK | os.X_OK):
            raise OutputError(f"cannot write in directory {p}: permission denied", parameter=what)
    # the nearest existing ancestor must be a writable directory (missing ones are created)
    parent = p.absolute().parent
    while True:
        try:
            pst = os.stat(parent)
        except (FileNotFoundError, NotADirectoryError):
            if parent.parent == parent:
                break
            parent = parent.parent
            continue
        except OSError as exc:
            raise OutputError(f"cannot use {parent}: {exc.strerror or exc}", parameter=what) from None
        if not stat.S_ISDIR(pst.st_mode):
            raise OutputError(
                f"cannot create {p}: {parent} is {_kind_of(pst.st_mode) or 'a file'}, not a directory",
                parameter=what,
                expected="a path whose parents are directories",
            )
        if (st is None or kind == "file") and not os.access(parent, os.W_OK | os.X_OK):
            raise OutputError(f"cannot write in directory {parent}: permission denied", parameter=what)
        break
    return p


def _os_error(exc: OSError, p: Path, what: str) -> OutputError:
    why = {
        errno.ENOSPC: "no space left on device",
        errno.EDQUOT: "disk quota exceeded",
        errno.EROFS: "read-only file system",
        errno.EACCES: "permission denied",
        errno.EPERM: "operation not permitted",
    }.get(exc.errno or 0, exc.strerror or str(exc))
    return OutputError(f"cannot write {p}: {why}", parameter=what)


def _mkdirs(folder: Path, p: Path, what: str) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise OutputError(f"cannot create {p}: a parent is a file", parameter=what) from None
    except OSError as exc:
        raise _os_error(exc, p, what) from None


@contextlib.contextmanager
def atomic_output(path: str | os.PathLike[str], *, what: str = "--output") -> Iterator[Path]:
    """Yield a temporary path beside ``path`` (same suffix); on success rename it to ``path``.

    On any exception the temporary file is removed and ``path`` left as it was; an ``OSError``
    while writing (full device, read-only file system, no permission) becomes one
    :class:`OutputError` naming ``what``; a :class:`NeurocompileError` passes through.
    """
    p = Path(os.fspath(path))
    folder = p.absolute().parent
    _mkdirs(folder, p, what)
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=f".{p.name}.", suffix=".tmp" + p.suffix, dir=folder)
    except OSError as exc:
        raise _os_error(exc, p, what) from None
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        try:
            mode = os.stat(p).st_mode & 0o777 if p.exists() else 0o666 & ~_umask()
            os.chmod(tmp, mode)
        except OSError:
            pass
        os.replace(tmp, p)
    except OSError as exc:
        _unlink(tmp)
        raise _os_error(exc, p, what) from None
    except BaseException:
        _unlink(tmp)
        raise


def atomic_write(
    path: str | os.PathLike[str],
    writer: Callable[[Path], object] | bytes | str,
    *,
    what: str = "--output",
) -> Path:
    """Write ``path`` atomically: ``writer(tmp_path)``, or the given bytes/text; returns ``path``."""
    p = Path(os.fspath(path))
    with atomic_output(p, what=what) as tmp:
        if isinstance(writer, bytes):
            tmp.write_bytes(writer)
        elif isinstance(writer, str):
            tmp.write_text(writer)
        else:
            writer(tmp)
    return p


@contextlib.contextmanager
def atomic_directory(path: str | os.PathLike[str], *, what: str = "--output") -> Iterator[Path]:
    """Yield an empty temporary folder beside ``path``; on success move its contents into ``path``.

    ``path`` is created if missing; each file written replaces the file of the same name there
    (other files in ``path`` are kept). On any exception the temporary folder is removed and
    ``path`` is left as it was.
    """
    p = Path(os.fspath(path))
    folder = p.absolute().parent
    _mkdirs(folder, p, what)
    try:
        tmp = Path(tempfile.mkdtemp(prefix=f".{p.name}.", suffix=".tmp", dir=folder))
    except OSError as exc:
        raise _os_error(exc, p, what) from None
    try:
        yield tmp
        _mkdirs(p, p, what)
        _merge(tmp, p)
    except OSError as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        raise _os_error(exc, p, what) from None
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    shutil.rmtree(tmp, ignore_errors=True)


def _merge(src: Path, dst: Path) -> None:
    for entry in sorted(src.iterdir()):
        target = dst / entry.name
        if entry.is_dir() and not entry.is_symlink():
            if target.is_dir() and not target.is_symlink():
                _merge(entry, target)
                continue
            if target.exists() or target.is_symlink():
                if target.is_dir() and not target.is_symlink():
                    shutil.rmtree(target)
                else:
                    target.unlink()
        elif target.is_dir() and not target.is_symlink():
            shutil.rmtree(target)
        os.replace(entry, target)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _unlink(p: Path) -> None:
    try:
        p.unlink()
    except OSError:
        pass
