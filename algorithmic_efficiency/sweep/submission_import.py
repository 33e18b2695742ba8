"""Importing a submission file: any failure at import is one line naming the file and line.

A submission that does not import (a syntax error, a missing module, an
exception or ``sys.exit()`` at import, a file that is not Python) is the
user's mistake: the runner prints ``submission FILE:LINE does not import:
Error: message`` and exits 2, never a traceback. Ctrl-C still interrupts.
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import os
import traceback
from typing import Any


def _import_error_line(path: str, error: BaseException) -> str:
    """``file:line: Error: message`` for an exception raised importing `path`."""
    line = None
    if isinstance(error, SyntaxError) and error.lineno:
        line = error.lineno
    else:
        real = os.path.realpath(path)
        for frame in traceback.extract_tb(error.__traceback__):
            if os.path.realpath(frame.filename) == real:
                line = frame.lineno  # the deepest line of the submission's own
    if isinstance(error, SyntaxError):
        message = error.msg
    elif isinstance(error, SystemExit):
        message = f'exit({error.code!r}) at import'
    else:
        message = (str(error).strip().splitlines() or [''])[0]
    where = f'{path}:{line}' if line else path
    detail = f'{type(error).__name__}: {message}' if message else type(error).__name__
    return f'submission {where} does not import: {detail}'


def import_submission(path: str, error: type[ValueError] = ValueError) -> Any:
    """The module at `path` (any extension); an import failure raises `error` (one line)."""
    loader = importlib.machinery.SourceFileLoader('submission', path)
    module_spec = importlib.util.spec_from_loader('submission', loader)
    module = importlib.util.module_from_spec(module_spec)
    try:
        loader.exec_module(module)
    except KeyboardInterrupt:
        raise
    except BaseException as e:  # noqa: B036  (SystemExit at import is the user's error too)
        raise error(_import_error_line(path, e)) from None
    return module
