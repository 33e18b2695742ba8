"""A failed trial's one-line error, whatever the exception does when it is printed.

A submission's exception is hostile input: its ``__str__`` may raise, return a
non-string or run for ever. The trial's record must be written all the same,
so the text is read here, once, and any failure to read it is described
instead of propagated (it used to escape the trial and end the sweep).
"""

from __future__ import annotations


def _type_name(error: BaseException) -> str:
    try:
        return type(error).__name__
    except Exception:  # noqa: BLE001  (a metaclass may be hostile too)
        return 'Exception'


def describe(error: BaseException) -> str:
    """``'Type: first line of the message'``; ``'Type'`` without one.

    An exception whose message cannot be read gives
    ``'Type (its message could not be read: <why>)'``; never raises.
    """
    name = _type_name(error)
    try:
        text = str(error)
        if not isinstance(text, str):
            raise TypeError('__str__ returned a non-string')
        first_line = (text.strip().splitlines() or [''])[0]
    except Exception as e:  # noqa: BLE001  (the submission's own code ran inside str())
        return f'{name} (its message could not be read: {_type_name(e)})'
    return f'{name}: {first_line}' if first_line else name


def format_traceback(error: BaseException) -> str:
    """The traceback text of `error` (``traceback.format_exception``), never raising."""
    import traceback  # pylint: disable=import-outside-toplevel

    try:
        return ''.join(traceback.format_exception(type(error), error, error.__traceback__))
    except Exception:  # noqa: BLE001
        return describe(error) + '\n'
