"""A ``metrics.csv`` is a valid CSV from the moment it exists, never 0 bytes.

The writer used to create the file empty and write the header with the first
row; a kill (or a full disk) before the first eval left a 0-byte file that
pandas refuses (``EmptyDataError``), also once set aside as
``attempt-K.metrics.csv``. Now the file is created with a *provisional*
header, atomically (a temporary file renamed in): a reader sees no file or
a header. The first row replaces that header with its own columns in one
atomic rewrite, so the columns keep the order the row gives (the guide's).
A file that still holds only the provisional header when reopened
(``--resume`` after such a kill) is provisional again.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

from algorithmic_efficiency.storage import files
from algorithmic_efficiency.storage.csv_format import header_line


def start(path: str, header: Sequence[str], columns: list[str]) -> bool:
    """Writes `header` into a missing or empty `path`; whether the file's header is provisional.

    Args:
      columns: the header the writer found in an existing file ([] if none).
    """
    if not header:
        return False
    if columns:
        # Reopened: provisional while it holds that header and nothing else.
        return list(columns) == list(header) and os.path.getsize(path) == len(
            header_line(list(header)).encode('utf-8'))
    with files.atomic_write(path, 'wb') as f:
        f.write(header_line(list(header)).encode('utf-8'))
    return True
