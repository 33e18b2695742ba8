"""The runner's console: compact lines, and other libraries' chatter kept to warnings.

absl prefixes every line with ``I1130 15:06:59.210000 140296464239488
trainer.py:217]``, and JAX logs at INFO that it found no TPU (``Unable to
initialize backend 'tpu' ... libtpu.so``). :func:`use_compact_console` makes
the runner's lines ``15:06:59 <message>`` (``WARNING:``/``ERROR:`` spelled
out), drops other libraries' INFO lines and cuts their warnings to one short
line. The runner calls it unless ``--verbosity`` or ``--logtostderr`` is given,
which keep absl's own format for debugging.

Standard library only; absl is imported only by :func:`use_compact_console`.
"""

from __future__ import annotations

import logging
import time

from algorithmic_efficiency.recording import redact

# Loggers whose INFO lines are the runner's own (``logging.info`` logs to 'root').
OWN_LOGGERS = ('root', 'absl', 'algorithmic_efficiency')
MAX_FOREIGN_CHARS = 120  # another library's warning, cut to this


def _own(name: str) -> bool:
    return any(name == own or name.startswith(own + '.') for own in OWN_LOGGERS)


class CompactFormatter(logging.Formatter):
    """``HH:MM:SS message``; levels above INFO name themselves (``WARNING: ...``)."""

    def format(self, record: logging.LogRecord) -> str:
        stamp = time.strftime('%H:%M:%S', time.localtime(record.created))
        level = '' if record.levelno <= logging.INFO else f'{record.levelname}: '
        text = record.getMessage()
        if record.exc_info:
            text += '\n' + self.formatException(record.exc_info)
        # Paths as metadata.json shows them: relative to the working directory, else ~/...
        return redact.redact_paths(f'{stamp} {level}{text}')


class ChatterFilter(logging.Filter):
    """Keeps the runner's records; of other libraries', only warnings, each one short line."""

    def filter(self, record: logging.LogRecord) -> bool:
        if _own(record.name):
            return True
        if record.levelno < logging.WARNING:
            return False
        lines = record.getMessage().strip().splitlines() or ['']
        first = lines[0]
        if len(first) > MAX_FOREIGN_CHARS or len(lines) > 1:
            first = first[: MAX_FOREIGN_CHARS - 3].rstrip() + '...'
        record.msg, record.args = f'{record.name.split(".")[0]}: {first}', ()
        record.exc_info = record.exc_text = None
        return True


def compact(handler: logging.Handler) -> logging.Handler:
    """Gives `handler` the compact format and the chatter filter; returns it."""
    handler.setFormatter(CompactFormatter())
    if not any(isinstance(f, ChatterFilter) for f in handler.filters):
        handler.addFilter(ChatterFilter())
    return handler


def use_compact_console() -> None:
    """The compact console for absl's handler (installed by ``app.run``) and the root logger."""
    from absl import logging as absl_logging  # pylint: disable=import-outside-toplevel

    compact(absl_logging.get_absl_handler())
