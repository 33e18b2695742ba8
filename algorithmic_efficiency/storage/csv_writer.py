"""The append-only ``metrics.csv`` writer: one row per eval, one ``os.write`` per row.

Every tuning trial appends one row per eval to ``.../run_<N>/metrics.csv``.
The writer is built so that a ``kill -9`` (or a disk-full) between or during
evals cannot corrupt the rows already written:

* each row is formatted to ONE string and written with a single ``os.write``
  on a file descriptor opened with ``O_APPEND`` (a loop only continues a short
  write), so nothing is re-read or rewritten in the normal path and the cost
  of an append does not depend on the size of the file;
* a row that brings a new column rewrites the file once, atomically
  (:func:`~algorithmic_efficiency.storage.files.atomic_write`: temp file in the
  same directory, ``fsync``, ``os.replace``), with the union header;
* a partial last line (no terminating newline, e.g. from a write cut short)
  is dropped with a ``logging.warning`` when the writer reopens or rewrites
  the file, never fatally.

The bytes of each row follow :mod:`.csv_format`.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence

from algorithmic_efficiency.storage import files, provisional_header
from algorithmic_efficiency.storage.csv_format import (
    complete_prefix_len,
    first_record_end,
    format_line,
    format_value,
    header_line,
    parse_header,
    read_complete,
    warn_partial,
)

_log = logging.getLogger(__name__)

__all__ = ['MetricsCsvWriter']


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        n = os.write(fd, view)
        view = view[n:]


class MetricsCsvWriter:
    """Append-only CSV writer: one row per eval, one `os.write` per row.

    The first row fixes the header (in dict order). If `path` already exists
    with a header, the writer continues it: it parses the header only (and
    counts quote characters over the file, to find and drop a partial last
    line, the only other read). Keys missing from a row give empty
    fields; a row with a new key rewrites the file once, atomically, with the
    old columns in order followed by the new ones in the row's order (old rows
    get empty values). With ``fsync=True`` every row is fsync'ed.

    One writer per file: concurrent writers to the same file are not supported.
    """

    def __init__(self, path, fsync: bool = False, header: Sequence[str] = ()):
        """
        Args:
          header: written (atomically) when the file is created, so a file killed
            before its first row is a valid CSV, never 0 bytes; the first row then
            replaces it with its own columns (see :mod:`.provisional_header`).
        """
        self._path = os.fspath(path)
        self._fsync = bool(fsync)
        self._columns: list[str] = []
        self._colset: set[str] = set()
        self._fd: int | None = None
        parent = os.path.dirname(os.path.abspath(self._path))
        os.makedirs(parent, exist_ok=True)
        self._open_existing()
        self._provisional = provisional_header.start(self._path, header, self._columns)
        if self._provisional:
            self._columns, self._colset = [], set()
        self._fd = self._open_append()

    def _open_append(self) -> int:
        # A raw O_APPEND descriptor, not a buffered file object: a buffered
        # file may hold a row back or split one row over two write() calls
        # (rows longer than its buffer), and a kill between them would leave
        # half a row. One os.write per row on O_APPEND is the guarantee.
        return os.open(self._path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)

    @property
    def columns(self) -> list[str]:
        return list(self._columns)

    @property
    def path(self) -> str:
        return self._path

    # -- reopening -----------------------------------------------------------
    def _open_existing(self) -> None:  # noqa: C901  each damage found on reopen is repaired in place
        # fd-level reads and ftruncate: the header is all that is parsed, and a
        # partial last line is cut in place rather than by rewriting the file.
        try:
            fd = os.open(self._path, os.O_RDWR)
        except FileNotFoundError:
            return
        try:
            size = os.fstat(fd).st_size
            if size == 0:
                return
            # Header: read chunks until the first complete record.
            head = b''
            header_end = 0
            while True:
                chunk = os.pread(fd, 65536, len(head))
                if not chunk:
                    break
                head += chunk
                header_end = first_record_end(head)
                if header_end:
                    break
            if not header_end:
                warn_partial(
                    self._path, size, '(no complete header line); starting the file afresh'
                )
                os.ftruncate(fd, 0)
                return
            self._columns = parse_header(head[:header_end])
            self._colset = set(self._columns)
            if not self._columns:
                if header_end == size:
                    _log.warning('%s: empty header line; starting the file afresh', self._path)
                    os.ftruncate(fd, 0)
                    return
                raise ValueError(
                    f'{self._path}: the first line (the header) is empty; not appending to it'
                )
            # Complete iff it ends with a newline outside quotes. Counting quote
            # characters runs at memchr speed (~1 ms per MB, once per reopen) and
            # catches a cut right after a newline inside a quoted value, which the
            # last byte alone would not.
            quotes = 0
            offset = 0
            while offset < size:
                chunk = os.pread(fd, min(1 << 20, size - offset), offset)
                if not chunk:
                    break
                quotes += chunk.count(b'"')
                offset += len(chunk)
            if os.pread(fd, 1, size - 1) != b'\n' or quotes % 2:
                # Rare path: find the last complete record and cut the rest.
                data = os.pread(fd, size, 0)
                keep = complete_prefix_len(data)
                warn_partial(self._path, size - keep, 'on reopening')
                os.ftruncate(fd, keep)
                if self._fsync:
                    os.fsync(fd)
        finally:
            os.close(fd)

    # -- writing -------------------------------------------------------------
    def write_row(self, row: dict[str, object]) -> None:
        """Appends `row` (column name -> value) as one line."""
        if self._fd is None:
            raise ValueError(f'write_row on a closed MetricsCsvWriter ({self._path})')
        if any(type(k) is not str for k in row):
            row = {str(k): v for k, v in row.items()}
        if self._provisional and row:
            self._provisional = False
            self._columns = list(row)
            self._colset = set(self._columns)
            self._rewrite_with_new_columns(row)  # the header: the row's columns alone
            return
        if not self._columns:
            if not row:
                raise ValueError('the first row of a metrics CSV needs at least one column')
            self._columns = list(row)
            self._colset = set(self._columns)
            data = (header_line(self._columns) + self._format_row(row)).encode(
                'utf-8', 'backslashreplace'
            )
        elif not self._colset.issuperset(row.keys()):
            self._rewrite_with_new_columns(row)
            return
        else:
            data = self._format_row(row).encode('utf-8', 'backslashreplace')
        try:
            _write_all(self._fd, data)
            if self._fsync:
                os.fsync(self._fd)
        except OSError as e:  # e.g. the disk is full: say which file
            raise files.with_filename(e, self._path) from e

    def _format_row(self, row: dict[str, object]) -> str:
        get = row.get
        return format_line([format_value(get(c)) for c in self._columns])

    def _rewrite_with_new_columns(self, row: dict[str, object]) -> None:
        new = [k for k in row if k not in self._colset]
        columns = self._columns + new
        try:
            data, dropped = read_complete(self._path)
        except FileNotFoundError:  # removed behind our back: start it again
            _log.warning('%s vanished; writing it anew with the current header', self._path)
            data, dropped = b'', 0
        if dropped:
            warn_partial(self._path, dropped, 'while adding columns')
        header_end = first_record_end(data)
        body = data[header_end:] if header_end else b''
        last = format_line([format_value(row.get(c)) for c in columns])
        with files.atomic_write(self._path, 'wb', fsync=True) as f:
            f.write(header_line(columns).encode('utf-8'))
            f.write(_pad_records(body, b',' * len(new)))
            f.write(last.encode('utf-8', 'backslashreplace'))
        # Only once the file has them (a failed rewrite keeps the old header).
        self._columns = columns
        self._colset = set(columns)
        # The old descriptor points at the replaced file: append to the new one.
        os.close(self._fd)
        self._fd = None
        self._fd = self._open_append()
        files.fsync_dir(os.path.dirname(os.path.abspath(self._path)))

    # -- lifetime ------------------------------------------------------------
    def close(self) -> None:
        if self._fd is not None:
            fd, self._fd = self._fd, None
            if self._fsync:
                try:
                    os.fsync(fd)
                except OSError:
                    pass
            os.close(fd)

    def __enter__(self) -> MetricsCsvWriter:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        self.close()

    def __del__(self):
        try:
            self.close()
        except Exception:  # noqa: BLE001, S110  (never raise from __del__)
            pass


def _pad_records(body: bytes, pad: bytes) -> bytes:
    """Appends `pad` (empty fields) to every record of `body`."""
    if not body or not pad:
        return body
    parts = []
    start = 0
    quotes = 0
    n = len(body)
    while start < n:
        p = body.find(b'\n', start)
        quotes += body.count(b'"', start, p)
        if quotes % 2 == 0:  # a record ends with a newline outside quotes
            parts.append(body[start:p])
            parts.append(pad + b'\n')
        else:
            parts.append(body[start : p + 1])
        start = p + 1
    return b''.join(parts)
