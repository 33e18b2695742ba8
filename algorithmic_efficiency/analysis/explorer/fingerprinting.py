"""A cheap fingerprint of folders' files: what the dashboard watches to reload."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence

from algorithmic_efficiency.analysis.explorer.walk import walk_files


def fingerprint(paths: str | Sequence[str]) -> str:
    """A hash of the names, sizes and mtimes of the files under `paths`.

    It changes when a running sweep appends a row, starts a trial or a job
    writes its results: the dashboard reloads when it does.
    """
    paths = [paths] if isinstance(paths, (str, os.PathLike)) else list(paths)
    h = hashlib.sha1()
    for root in paths:
        h.update(os.fspath(root).encode('utf-8', 'replace') + b'\0')
        if not os.path.isdir(root):
            h.update(b'missing' if not os.path.exists(root) else b'file')
            continue
        for path, st in sorted(walk_files(os.fspath(root))):
            h.update(f'{path}\0{st.st_size}\0{st.st_mtime_ns}\n'.encode('utf-8', 'replace'))
    return h.hexdigest()
