"""The metrics CSV dialect: how a value becomes a field, and where a record ends.

Shared by the writer (:mod:`.csv_writer`) and the readers (:mod:`.csv_reader`),
so both sides agree on every byte.

Value formatting: ``None``/NaN -> empty field; ``bool`` -> ``True``/``False``;
``float`` -> ``repr`` (shortest round-trip form, e.g. ``0.1``, ``1e-05``);
``int`` as is; ``str`` quoted with the ``csv`` module's QUOTE_MINIMAL rules
(fields containing ``,`` ``"`` ``\\n`` -- and also ``\\r``, which Python's
``csv.writer`` leaves bare when the line terminator is ``\\n`` -- are enclosed
in double quotes, inner quotes doubled). NumPy scalars and 0-d arrays /
tensors (anything with ``.item()``) are converted to Python scalars first.
Lines end with ``\\n``; the file is UTF-8.

Records: a record ends with a newline outside double quotes. A file whose
last bytes are not a complete record (a write cut short by a kill or a full
disk) has a *partial last line*, which every reader drops with a warning.

Only the standard library is imported.
"""

from __future__ import annotations

import csv
import io
import logging
import numbers
import re

_log = logging.getLogger(__name__)

NEEDS_QUOTING = r'[,"\r\n]'  # also the Arrow regex of csv_reader
_NEEDS_QUOTING = re.compile(NEEDS_QUOTING)


# ---------------------------------------------------------------------------
# Values -> fields -> lines
# ---------------------------------------------------------------------------
def quote(s: str) -> str:
    """`s` as a CSV field: quoted only when it holds ``,`` ``"`` CR or LF."""
    if _NEEDS_QUOTING.search(s) is None:
        return s
    return '"' + s.replace('"', '""') + '"'


def _format_slow(v) -> str:
    """Formats values that are not exactly None/bool/int/float/str."""
    if isinstance(v, bool):
        return 'True' if v else 'False'
    if isinstance(v, float):  # float subclasses, e.g. numpy.float64
        return '' if v != v else float.__repr__(float(v))  # NaN test
    if isinstance(v, int):  # int subclasses, e.g. IntEnum
        return int.__repr__(int(v))
    if isinstance(v, str):
        return quote(str.__str__(v))
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
        return '' if f != f else float.__repr__(f)  # NaN test
    item = getattr(v, 'item', None)
    if callable(item):  # 0-d numpy arrays, torch tensors, jax arrays
        try:
            x = item()
        except Exception:  # noqa: BLE001
            x = v
        if x is not v and (x is None or isinstance(x, (bool, int, float, str))):
            return format_value(x)
    return quote(str(v))


def format_value(v) -> str:
    """One value as a CSV field (see the module docstring for the rules)."""
    # Exact types first: this runs for every field of every row.
    t = type(v)
    if t is float:
        return '' if v != v else float.__repr__(v)  # NaN test
    if t is str:
        return quote(v)
    if t is int:
        return int.__repr__(v)
    if t is bool:
        return 'True' if v else 'False'
    if v is None:
        return ''
    return _format_slow(v)


def format_line(fields: list[str]) -> str:
    """Formatted fields as one record, newline included."""
    if len(fields) == 1 and fields[0] == '':
        # A lone empty field would be a blank line, which CSV readers skip.
        return '""\n'
    return ','.join(fields) + '\n'


def header_line(columns: list[str]) -> str:
    return format_line([quote(c) for c in columns])


# ---------------------------------------------------------------------------
# Record boundaries (quote-aware)
# ---------------------------------------------------------------------------
def complete_prefix_len(data: bytes) -> int:
    """Length of the longest prefix of `data` made of complete CSV records.

    A newline is outside quotes iff the number of quote characters before it
    is even (doubled quotes count twice), so this needs no CSV parsing.
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


def first_record_end(data: bytes) -> int:
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


def parse_header(record: bytes) -> list[str]:
    """The column names of a header record."""
    text = record.decode('utf-8', errors='replace')
    rows = list(csv.reader(io.StringIO(text)))
    return list(rows[0]) if rows else []


def read_complete(path: str) -> tuple[bytes, int]:
    """Returns (complete records, number of bytes of a dropped partial line)."""
    with open(path, 'rb') as f:
        data = f.read()
    n = complete_prefix_len(data)
    return data[:n], len(data) - n


def warn_partial(path: str, nbytes: int, what: str) -> None:
    _log.warning(
        '%s: dropping a partial last line (%d bytes without a terminating '
        'newline, e.g. from a write cut short by a kill or a full disk) %s.',
        path,
        nbytes,
        what,
    )
