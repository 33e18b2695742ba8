"""Carrying a trial's rows over to its next attempt (a trial continued from a checkpoint)."""

from __future__ import annotations

import csv
import os

from algorithmic_efficiency.storage import files


def copy_rows_through_step(source: str, target: str, step: int) -> int:
    """Writes `source`'s header and its rows with ``global_step <= step`` to `target`.

    The values are copied as text (byte for byte after CSV quoting), so the
    continued file reads exactly as the rows were first written. Rows after
    `step` stay in `source` (the set-aside attempt). Returns the rows copied.
    """
    if not os.path.exists(source):
        return 0
    with open(source, newline='', encoding='utf-8') as f:
        reader = csv.reader(f)
        header = next(reader, None)
        if not header or 'global_step' not in header:
            return 0
        col = header.index('global_step')
        kept = [r for r in reader if len(r) == len(header) and _step(r[col]) <= step]
    with files.atomic_write(target, 'w', fsync=True) as f:
        writer = csv.writer(f, lineterminator='\n')
        writer.writerow(header)
        writer.writerows(kept)
    return len(kept)


def _step(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        return float('inf')
