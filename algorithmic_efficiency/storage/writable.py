"""Whether a folder can be written, asked before the work rather than learned from a traceback.

``datasets`` on a read-only ``--data_dir`` and ``concatenate_csvs`` on a
read-only log folder used to end in the raw ``OSError`` of their first write.
:func:`problem` creates the folder if asked, then a temporary file in it (the
only test that tells for every reason: permission bits, a read-only mount,
ACLs, a full quota; ``os.access`` is always true for root), and says in a few
words why it can't be written, or None.
"""

from __future__ import annotations

import os
import tempfile


def problem(folder: str, create: bool = False) -> str | None:
    """Why `folder` can't be written (``'Permission denied'``, ...), or None if it can."""
    try:
        if create:
            os.makedirs(folder, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as e:
        return e.strerror or type(e).__name__
    return None
