"""Append-only metrics CSV writer and tolerant readers.

Every tuning trial appends one row per eval to ``.../run_<N>/metrics.csv``.
The writer is built so that a ``kill -9`` (or a disk-full) between or during
evals cannot corrupt the rows already written:

* each row is formatted to ONE string and written with a single ``os.write``
  on a file descriptor opened with ``O_APPEND`` (a loop only continues a short
  write), so nothing is re-read or rewritten in the normal path and the cost
  of an append does not depend on the size of the file;
* a row that brings a new column rewrites the file once, atomically (temp file
  in the same directory, ``fsync``, ``os.replace``), with the union header;
* a partial last line (no terminating newline, e.g. from a write cut short)
  is dropped with a ``logging.warning`` by the writer when it reopens or
  rewrites the file and by both readers, never fatally.

Value formatting: ``None``/NaN -> empty field; ``bool`` -> ``True``/``False``;
``float`` -> ``repr`` (shortest round-trip form, e.g. ``0.1``, ``1e-05``);
``int`` as is; ``str`` quoted with the ``csv`` module's QUOTE_MINIMAL rules
(fields containing ``,`` ``"`` ``\\n`` -- and also ``\\r``, which Python's
``csv.writer`` leaves bare when the line terminator is ``\\n`` -- are enclosed
in double quotes, inner quotes doubled). NumPy scalars and 0-d arrays /
tensors (anything with ``.item()``) are converted to Python scalars first.
Lines end with ``\\n``; the file is UTF-8.

This module imports only the standard library at import time; pandas and
pyarrow are imported inside the readers.
"""

import csv
import io
import logging
import numbers
import os
import re
import tempfile

from algorithmic_efficiency.storage.files import natural_key

_log = logging.getLogger(__name__)

__all__ = ['MetricsCsvWriter', 'concatenate_csvs', 'read_metrics_csv']

_NEEDS_QUOTING = re.compile(r'[,"\r\n]')


# ---------------------------------------------------------------------------
# Formatting
# ---------------------------------------------------------------------------
def _quote(s: str) -> str:
    if _NEEDS_QUOTING.search(s) is None:
        return s
    return '"' + s.replace('"', '""') + '"'


def _format_slow(v) -> str:
    """Formats values that are not exactly None/bool/int/float/str."""
    if isinstance(v, bool):
        return 'True' if v else 'False'
    if isinstance(v, float):  # float subclasses, e.g. numpy.float64
        return '' if v != v else float.__repr__(float(v))  # noqa: PLR0124 (NaN test)
    if isinstance(v, int):  # int subclasses, e.g. IntEnum
        return int.__repr__(int(v))
    if isinstance(v, str):
        return _quote(str.__str__(v))
    # numpy.bool_ is not registered as numbers.Integral: look at its dtype.
    dtype = getattr(v, 'dtype', None)
    if (
        dtype is not None
        and getattr(dtype, 'kind', None) == 'b'
        and getattr(v, 'shape', None) == ()
    ):
        return 'True' if bool(v) else 'False'
    if isinstance(v, numbers.Integral):  # numpy integers
        return int.__repr__(int(v))
    if isinstance(v, numbers.Real):  # numpy.float32/float16, fractions, ...
        f = float(v)
        return '' if f != f else float.__repr__(f)  # noqa: PLR0124 (NaN test)
    item = getattr(v, 'item', None)
    if callable(item):  # 0-d numpy arrays, torch tensors, jax arrays
        try:
            x = item()
        except Exception:  # noqa: BLE001
            x = v
        if x is not v and (x is None or isinstance(x, (bool, int, float, str))):
            return _format_value(x)
    return _quote(str(v))


def _format_value(v) -> str:
    t = type(v)
    if t is float:
        return '' if v != v else float.__repr__(v)  # noqa: PLR0124 (NaN test)
    if t is str:
        return _quote(v)
    if t is int:
        return int.__repr__(v)
    if t is bool:
        return 'True' if v else 'False'
    if v is None:
        return ''
    return _format_slow(v)


def _format_line(fields: list[str]) -> str:
    if len(fields) == 1 and fields[0] == '':
        # A lone empty field would be a blank line, which CSV readers skip.
        return '""\n'
    return ','.join(fields) + '\n'


# ---------------------------------------------------------------------------
# Record boundaries (quote-aware)
# ---------------------------------------------------------------------------
def _complete_prefix_len(data: bytes) -> int:
    """Length of the longest prefix of `data` made of complete CSV records.

    A record ends with a newline outside double quotes. A newline is outside
    quotes iff the number of quote characters before it is even (doubled
    quotes count twice), so this needs no CSV parsing.
    """
    if not data:
        return 0
    quotes = data.count(b'"')
    if data.endswith(b'\n') and quotes % 2 == 0:
        return len(data)
    end = len(data)
    p = data.rfind(b'\n', 0, end)
    while p != -1:
        quotes -= data.count(b'"', p, end)  # quotes now: count in data[:p]
        if quotes % 2 == 0:
            return p + 1
        end = p
        p = data.rfind(b'\n', 0, end)
    return 0


def _first_record_end(data: bytes) -> int:
    """End (exclusive) of the first complete record in `data`, or 0."""
    quotes = 0
    start = 0
    while True:
        p = data.find(b'\n', start)
        if p == -1:
            return 0
        quotes += data.count(b'"', start, p)
        if quotes % 2 == 0:
            return p + 1
        start = p + 1


def _parse_header(record: bytes) -> list[str]:
    text = record.decode('utf-8', errors='replace')
    rows = list(csv.reader(io.StringIO(text)))
    return list(rows[0]) if rows else []


def _read_complete(path: str) -> tuple[bytes, int]:
    """Returns (complete records, number of bytes of a dropped partial line)."""
    with open(path, 'rb') as f:
        data = f.read()
    n = _complete_prefix_len(data)
    return data[:n], len(data) - n


def _warn_partial(path: str, nbytes: int, what: str) -> None:
    _log.warning(
        '%s: dropping a partial last line (%d bytes without a terminating '
        'newline, e.g. from a write cut short by a kill or a full disk) %s.',
        path,
        nbytes,
        what,
    )


def _fsync_dir(dirname: str) -> None:
    try:
        fd = os.open(dirname, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        n = os.write(fd, view)
        view = view[n:]


# ---------------------------------------------------------------------------
# Writer
# ---------------------------------------------------------------------------
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

    def __init__(self, path, fsync: bool = False):
        self._path = os.fspath(path)
        self._fsync = bool(fsync)
        self._columns: list[str] = []
        self._colset = set()
        self._fd: int | None = None
        parent = os.path.dirname(os.path.abspath(self._path))
        os.makedirs(parent, exist_ok=True)
        self._open_existing()
        self._fd = os.open(self._path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)

    # -- properties ----------------------------------------------------------
    @property
    def columns(self) -> list[str]:
        return list(self._columns)

    @property
    def path(self) -> str:
        return self._path

    # -- reopening -----------------------------------------------------------
    def _open_existing(self) -> None:
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
                header_end = _first_record_end(head)
                if header_end:
                    break
            if not header_end:
                _warn_partial(
                    self._path, size, '(no complete header line); starting the file afresh'
                )
                os.ftruncate(fd, 0)
                return
            self._columns = _parse_header(head[:header_end])
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
                keep = _complete_prefix_len(data)
                _warn_partial(self._path, size - keep, 'on reopening')
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
        if not self._columns:
            if not row:
                raise ValueError('the first row of a metrics CSV needs at least one column')
            self._columns = list(row)
            self._colset = set(self._columns)
            header = _format_line([_quote(c) for c in self._columns])
            data = (header + self._format_row(row)).encode('utf-8', 'backslashreplace')
        elif not self._colset.issuperset(row.keys()):
            self._rewrite_with_new_columns(row)
            return
        else:
            data = self._format_row(row).encode('utf-8', 'backslashreplace')
        _write_all(self._fd, data)
        if self._fsync:
            os.fsync(self._fd)

    def _format_row(self, row: dict[str, object]) -> str:
        get = row.get
        return _format_line([_format_value(get(c)) for c in self._columns])

    def _rewrite_with_new_columns(self, row: dict[str, object]) -> None:
        new = [k for k in row if k not in self._colset]
        columns = self._columns + new
        try:
            data, dropped = _read_complete(self._path)
        except FileNotFoundError:  # removed behind our back: start it again
            _log.warning('%s vanished; writing it anew with the current header', self._path)
            data, dropped = b'', 0
        if dropped:
            _warn_partial(self._path, dropped, 'while adding columns')
        header_end = _first_record_end(data)
        body = data[header_end:] if header_end else b''
        pad = b',' * len(new)
        if body and pad:
            # Append the empty fields to every record: a record ends with a
            # newline outside quotes.
            parts = []
            start = 0
            quotes = 0
            n = len(body)
            while start < n:
                p = body.find(b'\n', start)
                quotes += body.count(b'"', start, p)
                if quotes % 2 == 0:
                    parts.append(body[start:p])
                    parts.append(pad + b'\n')
                else:
                    parts.append(body[start : p + 1])
                start = p + 1
            body = b''.join(parts)
        self._columns = columns
        self._colset = set(columns)
        header = _format_line([_quote(c) for c in columns]).encode('utf-8')
        last = self._format_row(row).encode('utf-8', 'backslashreplace')

        dirname = os.path.dirname(os.path.abspath(self._path))
        tmp = self._path + '.tmp'
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        try:
            _write_all(fd, header)
            _write_all(fd, body)
            _write_all(fd, last)
            os.fsync(fd)
        except BaseException:
            os.close(fd)
            try:
                os.unlink(tmp)
            except OSError:
                pass
            raise
        os.close(fd)
        os.close(self._fd)
        self._fd = None
        os.replace(tmp, self._path)
        _fsync_dir(dirname)
        self._fd = os.open(self._path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)

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

    def __enter__(self) -> 'MetricsCsvWriter':  # noqa: PYI034
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        self.close()

    def __del__(self):
        try:
            self.close()
        except Exception:  # noqa: BLE001, S110  (never raise from __del__)
            pass


# ---------------------------------------------------------------------------
# Readers
# ---------------------------------------------------------------------------
def read_metrics_csv(path):
    """Reads one metrics.csv into a pandas DataFrame, tolerantly.

    A partial last line (no terminating newline) is dropped with a warning.
    An empty file gives an empty DataFrame; a header-only file an empty
    DataFrame with those columns. Floats are parsed round-trip exact.
    """
    import pandas as pd

    path = os.fspath(path)
    data, dropped = _read_complete(path)
    if dropped:
        _warn_partial(path, dropped, 'while reading')
    header_end = _first_record_end(data)
    if not header_end:
        return pd.DataFrame()
    if header_end == len(data):
        return pd.DataFrame(columns=_parse_header(data[:header_end]))
    kwargs = {}
    if int(pd.__version__.split('.')[0]) < 3:
        # pandas 3's default float parser is exact (and this option deprecated).
        kwargs['float_precision'] = 'round_trip'
    return pd.read_csv(io.BytesIO(data), **kwargs)


# concatenate_csvs formats rows in batches of about this many input bytes.
_BATCH_BYTES = 64 << 20


def _natural_key(relpath: str):
    return (natural_key(relpath), relpath)


def _find_metrics_files(root: str, exclude: str) -> list[str]:
    found = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for name in filenames:
            if name != 'metrics.csv':
                continue
            full = os.path.join(dirpath, name)
            if os.path.abspath(full) == exclude:
                continue
            found.append(os.path.relpath(full, root))
    found.sort(key=_natural_key)
    return found


def _format_batch(tables, columns: list[str], check_quoting: bool):
    """Formats string-typed `tables` as CSV records (no header) in `columns`.

    Returns a bytes-like object. Quoting follows the writer's rules. The work
    is done by Arrow kernels, not by a Python loop over rows. `check_quoting`
    False promises that no value holds `,` `"` CR or LF (true when the source
    CSV text has no quote character at all).
    """
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pacsv

    table = tables[0] if len(tables) == 1 else pa.concat_tables(tables, promote_options='default')
    n = table.num_rows
    if n == 0:
        return b''
    present = set(table.column_names)
    arrays = []
    quote_mask = {}
    for name in columns:
        if name not in present:
            arrays.append(pa.nulls(n, pa.string()))
            continue
        col = table.column(name)
        if check_quoting and col.null_count < n:
            col = col.combine_chunks()
            needs = pc.match_substring_regex(col, r'[,"\r\n]')
            if pc.any(needs).as_py():
                quote_mask[len(arrays)] = needs
        arrays.append(col)
    lone = len(columns) == 1

    if not quote_mask and not lone:
        # Fast path: Arrow's CSV writer, no quoting needed (nulls -> empty).
        aligned = pa.table(arrays, names=[f'c{i}' for i in range(len(arrays))])
        sink = pa.BufferOutputStream()
        try:
            pacsv.write_csv(
                aligned,
                sink,
                write_options=pacsv.WriteOptions(include_header=False, quoting_style='none'),
            )
            return sink.getvalue()
        except pa.ArrowInvalid:
            quote_mask = {  # unexpected: be safe and check every column
                i: pc.match_substring_regex(a, r'[,"\r\n]')
                for i, a in enumerate(arrays)
                if a.null_count < n
            }

    # General path: quote what needs it, then join fields and lines.
    empty = pa.scalar('""' if lone else '', pa.string())
    cols = []
    for i, col in enumerate(arrays):
        if col.null_count == n:
            cols.append(empty)
            continue
        if isinstance(col, pa.ChunkedArray):
            col = col.combine_chunks()
        needs = quote_mask.get(i)
        if needs is not None:
            quoted = pc.binary_join_element_wise('"', pc.replace_substring(col, '"', '""'), '"', '')
            col = pc.if_else(needs, quoted, col)
        if lone:  # a lone empty field is written `""` (not a blank line)
            col = pc.if_else(pc.equal(col, ''), empty, col)
        cols.append(pc.fill_null(col, empty))
    # The newline goes at the end of the last field.
    cols[-1] = pc.binary_join_element_wise(cols[-1], pa.scalar('', pa.string()), '\n')
    if lone:
        lines = cols[0]
    else:
        lines = pc.binary_join_element_wise(*cols, ',')
    if isinstance(lines, pa.Scalar):  # every field empty in every row
        return lines.as_py().encode('utf-8') * n
    lines = lines.cast(pa.large_string())
    _, offsets, values = lines.buffers()
    offs = memoryview(offsets).cast('B').cast('q')  # int64 offsets
    start, stop = offs[lines.offset], offs[lines.offset + n]
    return values.slice(start, stop - start)


def _read_strings(full: str, header: list[str]):
    """Reads one metrics.csv's rows as strings: (table or None, has_quotes)."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    data, dropped = _read_complete(full)
    if dropped:
        _warn_partial(full, dropped, 'while concatenating')
    header_end = _first_record_end(data)
    if not header or not header_end or header_end == len(data):
        return None, False
    has_quotes = b'"' in data
    names = _dedupe(header)
    body = pa.py_buffer(data).slice(header_end)
    table = pacsv.read_csv(
        pa.BufferReader(body),
        read_options=pacsv.ReadOptions(column_names=names, use_threads=False),
        parse_options=pacsv.ParseOptions(
            # Needed only when some quoted value may hold a newline.
            newlines_in_values=has_quotes,
            invalid_row_handler=_InvalidRowSkipper(full),
        ),
        convert_options=pacsv.ConvertOptions(
            column_types={n: pa.string() for n in names},
            strings_can_be_null=True,
            quoted_strings_can_be_null=False,
        ),
    )
    if names != header:  # duplicate names: keep the first of each
        keep = {}
        for n, h in zip(names, header):
            keep.setdefault(h, n)
        table = pa.table([table.column(n) for n in keep.values()], names=list(keep))
    return table, has_quotes


def _read_header_of(full: str) -> list[str]:
    with open(full, 'rb') as f:
        head = b''
        while True:
            chunk = f.read(65536)
            if not chunk:
                return []
            head += chunk
            end = _first_record_end(head)
            if end:
                return _parse_header(head[:end])


def concatenate_csvs(path, output_name: str = 'all_metrics.csv') -> str:
    """Concatenates every ``metrics.csv`` below `path` into `path/output_name`.

    Files named exactly ``metrics.csv`` are found recursively and taken in
    natural path order (``run_2`` before ``run_10``). The output's columns are
    the union of the files' own columns, in first-seen order across that
    sorted list; no column is added (rows carry their own framework, workload
    and run_idx properties). Values are copied as text, exactly: files are
    read with pyarrow with every column as a string, so floats, booleans and
    timestamps are not reformatted and a column that is numeric in one file
    and text in another needs no reconciling. A missing column or an empty
    value gives an empty field. Each file's partial last line, if any, is
    dropped with a warning, and so is a malformed row (wrong number of
    fields). The output is written atomically (temporary file in `path`, then
    ``os.replace``), is byte-identical for identical inputs, and is never read
    as an input.

    Returns the output path. Raises ValueError if `path` is not a directory or
    holds no metrics.csv.
    """
    from concurrent.futures import ThreadPoolExecutor

    root = os.fspath(path)
    if not os.path.isdir(root):
        raise ValueError(f'concatenate_csvs: {root!r} is not a directory (missing log directory?)')
    out_path = os.path.join(root, output_name)
    files = [
        os.path.join(root, rel) for rel in _find_metrics_files(root, os.path.abspath(out_path))
    ]
    if not files:
        raise ValueError(f'no metrics.csv files below {root}')

    # Pass 1: headers only, for the union of columns (first-seen order).
    headers = [_read_header_of(f) for f in files]
    columns: list[str] = []
    seen = set()
    for header in headers:
        for c in header:
            if c not in seen:
                seen.add(c)
                columns.append(c)

    # Pass 2: read the files as strings (a few threads: pyarrow releases the
    # GIL), in order, and write their rows aligned to the union header in
    # batches of about _BATCH_BYTES of table data.
    workers = max(1, min(4, os.cpu_count() or 1))
    window = 8 * workers
    fd, tmp = tempfile.mkstemp(dir=root, prefix='.' + output_name + '.', suffix='.tmp')
    try:
        with os.fdopen(fd, 'wb') as out, ThreadPoolExecutor(workers) as pool:
            out.write(_format_line([_quote(c) for c in columns]).encode('utf-8'))
            batch = []
            batch_bytes = 0
            batch_quotes = False
            for i in range(0, len(files), window):
                chunk = list(zip(files[i : i + window], headers[i : i + window]))
                for table, has_quotes in pool.map(lambda a: _read_strings(*a), chunk):
                    if table is None:
                        continue
                    batch.append(table)
                    batch_bytes += table.nbytes
                    batch_quotes = batch_quotes or has_quotes
                    if batch_bytes >= _BATCH_BYTES:
                        out.write(_format_batch(batch, columns, batch_quotes))
                        batch, batch_bytes, batch_quotes = [], 0, False
            if batch:
                out.write(_format_batch(batch, columns, batch_quotes))
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, out_path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    _fsync_dir(root)
    return out_path


def _dedupe(header: list[str]) -> list[str]:
    names = []
    used = set()
    for h in header:
        n = h
        i = 1
        while n in used:
            n = f'{h}.{i}'
            i += 1
        used.add(n)
        names.append(n)
    return names


class _InvalidRowSkipper:
    """pyarrow invalid_row_handler: skip a malformed row with a warning."""

    def __init__(self, path: str):
        self._path = path

    def __call__(self, row) -> str:
        _log.warning(
            '%s: skipping a malformed row (line %s: expected %d fields, got %d): %.200s',
            self._path,
            row.number,
            row.expected_columns,
            row.actual_columns,
            row.text,
        )
        return 'skip'
