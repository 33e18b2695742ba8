"""Tolerant readers of ``metrics.csv``: one file into pandas, many joined with Arrow.

Both drop a partial last line (no terminating newline, e.g. from a write cut
short by a kill) with a ``logging.warning``, never fatally. The files follow
:mod:`.csv_format`; :func:`concatenate_csvs` writes its output by the same
rules.

pandas and pyarrow are imported inside the functions, so importing this
module stays light.
"""

from __future__ import annotations

import csv
import io
import logging
import os

from algorithmic_efficiency.errors import LogDirError
from algorithmic_efficiency.layout import METRICS_FILE
from algorithmic_efficiency.storage import files, writable
from algorithmic_efficiency.storage.csv_format import (
    NEEDS_QUOTING,
    first_record_end,
    header_line,
    parse_header,
    read_complete,
    warn_partial,
)

_log = logging.getLogger(__name__)

__all__ = ['concatenate_csvs', 'read_metrics_csv']

# concatenate_csvs formats rows in batches of about this many input bytes.
_BATCH_BYTES = 64 << 20


def read_metrics_csv(path):
    """Reads one metrics.csv into a pandas DataFrame, tolerantly.

    A partial last line (no terminating newline) is dropped with a warning.
    An empty file gives an empty DataFrame; a header-only file an empty
    DataFrame with those columns. Floats are parsed round-trip exact.
    """
    import pandas as pd  # ~0.5 s: only readers pay it (see the module docstring)

    path = os.fspath(path)
    data, dropped = read_complete(path)
    if dropped:
        warn_partial(path, dropped, 'while reading')
    header_end = first_record_end(data)
    if not header_end:
        return pd.DataFrame()
    if header_end == len(data):
        return pd.DataFrame(columns=parse_header(data[:header_end]))
    kwargs = {}
    if int(pd.__version__.split('.')[0]) < 3:
        # pandas 3's default float parser is exact (and this option deprecated).
        kwargs['float_precision'] = 'round_trip'
    header = parse_header(data[:header_end])
    keep = _first_of_each(path, header)
    data = _drop_malformed_records(path, data, header_end, len(header))
    if keep is not None:
        # By position: pandas would keep a later duplicate as `loss.1`.
        kwargs['usecols'] = keep
    return pd.read_csv(io.BytesIO(data), **kwargs)


def _first_of_each(path: str, header: list[str]) -> list[int] | None:
    """Positions of each column's first occurrence; None (all) if no name repeats."""
    if len(set(header)) == len(header):
        return None
    seen: dict[str, int] = {}
    for i, name in enumerate(header):
        seen.setdefault(name, i)
    dupes = sorted({n for i, n in enumerate(header) if seen[n] != i})
    _log.warning(
        '%s: duplicated column(s) %s in the header; keeping the first of each, dropping '
        'the later ones', path, ', '.join(dupes),
    )
    return sorted(seen.values())


def _drop_malformed_records(path: str, data: bytes, header_end: int, width: int) -> bytes:
    """`data` without its records of the wrong number of fields (each dropped with a warning).

    The records are checked with the csv module; the common case (all good)
    returns `data` unchanged, so the values pandas parses are the file's own bytes.
    """
    text = data[header_end:].decode('utf-8', 'replace')
    reader = csv.reader(io.StringIO(text, newline=''))
    good: list[list[str]] = []
    bad = 0
    line = 2  # the header is line 1
    for record in reader:
        start, line = line, reader.line_num + 2
        if not record:  # a blank line: pandas skips it too
            continue
        if len(record) != width:
            bad += 1
            _log.warning(
                '%s: line %d has %d fields, the header %d; skipping the row',
                path, start, len(record), width,
            )
            continue
        good.append(record)
    if not bad:
        return data
    out = io.StringIO(newline='')
    csv.writer(out, lineterminator='\n').writerows(good)
    return data[:header_end] + out.getvalue().encode('utf-8')


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

    Returns the output path. Raises LogDirError if `path` is not a directory or
    holds no metrics.csv.
    """
    from concurrent.futures import ThreadPoolExecutor  # threads only when joining files

    root = os.fspath(path)
    if not os.path.isdir(root):
        raise LogDirError(f'concatenate_csvs: {root!r} is not a directory (missing log directory?)')
    why = writable.problem(root)
    if why:
        raise LogDirError(f'concatenate_csvs: {root} cannot be written ({why}); copy the log '
                         'directory somewhere writable, or give a writable one')
    out_path = os.path.join(root, output_name)
    found = _find_metrics_files(root, os.path.abspath(out_path))
    paths = [os.path.join(root, rel) for rel in found]
    if not paths:
        raise LogDirError(f'no metrics.csv files below {root}')

    # Pass 1: headers only, for the union of columns (first-seen order). A file
    # that can't be read is skipped with a warning, as the CLIs do.
    headers = [_read_header_of(f) for f in paths]
    paths, headers = [p for p, h in zip(paths, headers, strict=True) if h is not None], [
        h for h in headers if h is not None
    ]
    if not paths:
        raise LogDirError(f'no readable metrics.csv files below {root}')
    columns = list(dict.fromkeys(c for header in headers for c in header))

    # Pass 2: read the files as strings (a few threads: pyarrow releases the
    # GIL), in order, and write their rows aligned to the union header in
    # batches of about _BATCH_BYTES of table data.
    workers = max(1, min(4, os.cpu_count() or 1))
    window = 8 * workers
    # No 'metrics.csv' in the temporary name: a concurrent run must not read it.
    tmp = os.path.join(root, f'.{output_name}.{os.getpid()}.tmp')
    atomic = files.atomic_write(out_path, 'wb', tmp_path=tmp, fsync=True)
    with ThreadPoolExecutor(workers) as pool, atomic as out:
        out.write(header_line(columns).encode('utf-8'))
        batch = []
        batch_bytes = 0
        batch_quotes = False
        for i in range(0, len(paths), window):
            chunk = list(zip(paths[i : i + window], headers[i : i + window], strict=True))
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
    files.fsync_dir(root)
    return out_path


def _natural_key(relpath: str):
    return (files.natural_key(relpath), relpath)


def _find_metrics_files(root: str, exclude: str) -> list[str]:
    found = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for name in filenames:
            if name != METRICS_FILE:
                continue
            full = os.path.join(dirpath, name)
            if os.path.abspath(full) == exclude:
                continue
            found.append(os.path.relpath(full, root))
    found.sort(key=_natural_key)
    return found


def _read_header_of(full: str) -> list[str] | None:
    """The file's header (``[]`` if it has none yet); None, with a warning, if unreadable."""
    try:
        return _read_header(full)
    except (OSError, UnicodeDecodeError) as e:
        _log.warning('%s: unreadable (%s); skipping it', full, e)
        return None


def _read_header(full: str) -> list[str]:
    with open(full, 'rb') as f:
        head = b''
        while True:
            chunk = f.read(65536)
            if not chunk:
                return []
            head += chunk
            end = first_record_end(head)
            if end:
                return parse_header(head[:end])


def _read_strings(full: str, header: list[str]):
    """Reads one metrics.csv's rows as strings: (table or None, has_quotes)."""
    # pyarrow: only when joining files (see the module docstring), not for every reader.
    import pyarrow as pa
    import pyarrow.csv as pacsv

    try:
        data, dropped = read_complete(full)
    except OSError as e:  # removed or unreadable since its header was read
        _log.warning('%s: unreadable (%s); skipping it', full, e)
        return None, False
    if dropped:
        warn_partial(full, dropped, 'while concatenating')
    header_end = first_record_end(data)
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
        _log.warning('%s: duplicated column(s) in the header; keeping the first of each', full)
        keep = {}
        for n, h in zip(names, header, strict=True):
            keep.setdefault(h, n)
        table = pa.table([table.column(n) for n in keep.values()], names=list(keep))
    return table, has_quotes


def _format_batch(  # noqa: C901  a hot loop per column type, kept flat for speed
    tables, columns: list[str], check_quoting: bool
):
    """Formats string-typed `tables` as CSV records (no header) in `columns`.

    Returns a bytes-like object. Quoting follows the writer's rules. The work
    is done by Arrow kernels, not by a Python loop over rows. `check_quoting`
    False promises that no value holds `,` `"` CR or LF (true when the source
    CSV text has no quote character at all).
    """
    # pyarrow: only when joining files (see the module docstring), not for every reader.
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
            needs = pc.match_substring_regex(col, NEEDS_QUOTING)
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
                i: pc.match_substring_regex(a, NEEDS_QUOTING)
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
            row.number + 1 if row.number is not None else '?',  # the header is line 1
            row.expected_columns,
            row.actual_columns,
            row.text,
        )
        return 'skip'
