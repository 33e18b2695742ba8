"""Parsing and validating a search space: JSON in, a :class:`~.space.SearchSpace` out.

Every mistake is a :class:`~.space.SearchSpaceError` with a one-line message
naming the file, the hyperparameter and the fix (the format: :mod:`.spaces`).
"""
from __future__ import annotations

import difflib
import json
import logging
import math
import os
from typing import Any

from algorithmic_efficiency.search import space_file
from algorithmic_efficiency.search.space import (
    DIMENSION_KEYS,
    FEASIBLE_KEY,
    NAME_RE,
    RANGE_KEYS,
    SCALINGS,
    TYPES,
    Dimension,
    Reporter,
    SearchSpace,
    SearchSpaceError,
    is_real_number,
    is_scalar,
    plain,
    quoted,
    show,
)

_log = logging.getLogger(__name__)


def _check_name(name: Any, report: Reporter, *where: str) -> str:
    if not isinstance(name, str) or not NAME_RE.fullmatch(name):
        raise report.error(
            *where, show(name),
            "hyperparameter names must be non-empty strings of letters, "
            "digits, '_', '.' or '-'; rename it")
    return name


def _number(spec: dict, key: str, name: str, report: Reporter) -> float | int:
    value = spec[key]
    if not is_real_number(value):
        hint = ''
        if isinstance(value, str):
            try:
                float(value)
                hint = '; write it without quotes'
            except ValueError:
                pass
        got = ('true' if value is True else 'false' if value is False else
               show(value))
        raise report.error(
            repr(name), f'{key!r} must be a number, got {got} '
            f'({type(value).__name__}){hint}')
    value = plain(value)
    if not math.isfinite(value):
        raise report.error(repr(name),
                           f'{key!r} must be a finite number, got {value!r}')
    return value


def _choice(spec: dict, key: str, choices: tuple[str, ...], name: str,
            report: Reporter) -> str:
    value = spec.get(key, choices[0])
    if not isinstance(value, str) or value not in choices:
        options = ' or '.join(repr(c) for c in choices)
        raise report.error(repr(name),
                           f'{key!r} must be {options}, got {show(value)}')
    return value


def _parse_dimension(  # noqa: C901  one error message per malformed field, in file order
    name: str, spec: Any, report: Reporter
) -> Dimension:
    if not isinstance(spec, dict):
        hint = ''
        if is_scalar(spec):
            hint = ('; for a fixed value write {"feasible_points": '
                    f'[{json.dumps(plain(spec))}]}}')
        raise report.error(
            repr(name), 'must be an object with "min" and "max" or with '
            f'"feasible_points", got {show(spec)}{hint}')
    for key in spec:
        if key not in DIMENSION_KEYS:
            close = difflib.get_close_matches(str(key), DIMENSION_KEYS, n=1)
            hint = f' (did you mean {close[0]!r}?)' if close else ''
            raise report.error(
                repr(name), f'unknown key {show(key)}{hint}; allowed keys '
                f'are {quoted(DIMENSION_KEYS)}')

    if FEASIBLE_KEY in spec:
        mixed = [k for k in RANGE_KEYS if k in spec]
        if mixed:
            raise report.error(
                repr(name), f'{FEASIBLE_KEY!r} cannot be combined with '
                f'{quoted(mixed)}; give either a range ("min"/"max") or a '
                'list of feasible points')
        points = spec[FEASIBLE_KEY]
        if not isinstance(points, (list, tuple)):
            raise report.error(
                repr(name), f'{FEASIBLE_KEY!r} must be a non-empty list, got '
                f'{show(points)}; write [{json.dumps(points, default=str)}]')
        if not points:
            raise report.error(
                repr(name), f'{FEASIBLE_KEY!r} is empty; list at least one '
                'value')
        normalised = []
        for i, point in enumerate(points):
            if not is_scalar(point):
                raise report.error(
                    repr(name), f'{FEASIBLE_KEY!r}[{i}] must be a number, '
                    f'string or bool, got {show(point)}')
            point = plain(point)
            if isinstance(point, float) and not math.isfinite(point):
                raise report.error(
                    repr(name), f'{FEASIBLE_KEY!r}[{i}] must be finite, got '
                    f'{point!r}')
            normalised.append(point)
        return Dimension(name=name, kind='feasible',
                         feasible_points=tuple(normalised))

    missing = [k for k in ('min', 'max') if k not in spec]
    if len(missing) == 2:
        raise report.error(
            repr(name), 'needs either "min" and "max" or "feasible_points", '
            'e.g. {"min": 0.001, "max": 0.1, "scaling": "log"}')
    if missing:
        raise report.error(
            repr(name), f"missing {missing[0]!r}; a range needs both 'min' "
            "and 'max'")
    scaling = _choice(spec, 'scaling', SCALINGS, name, report)
    type_ = _choice(spec, 'type', TYPES, name, report)
    low = _number(spec, 'min', name, report)
    high = _number(spec, 'max', name, report)
    if low > high:
        raise report.error(
            repr(name), f"'min' ({low!r}) must be <= 'max' ({high!r}); swap "
            'them')
    if scaling == 'log' and low <= 0:
        raise report.error(
            repr(name), f"'scaling' 'log' needs 'min' > 0, got {low!r}; use "
            "a positive lower bound or 'scaling': 'linear'")
    if type_ == 'int':
        for key, value in (('min', low), ('max', high)):
            if value != math.floor(value):
                raise report.error(
                    repr(name), f"'type' 'int' needs whole-number bounds, "
                    f'got {key!r} {value!r}; round it or use '
                    "'type': 'float'")
        problem = space_file.int_bounds_problem(low, high)
        if problem:
            raise report.error(repr(name), problem)
        low, high = int(low), int(high)
    else:
        low, high = float(low), float(high)
    return Dimension(name=name, kind='range', min=low, max=high,
                     scaling=scaling, type=type_)


def _parse_fixed_trials(trials: list, report: Reporter) -> tuple[dict, ...]:
    if not trials:
        raise report.error(
            'the list of trials is empty; add at least one trial object')
    parsed = []
    names: list[str] | None = None
    for index, trial in enumerate(trials):
        where = f'trial {index}'
        if not isinstance(trial, dict):
            raise report.error(
                where, 'must be an object mapping hyperparameter names to '
                f'values, got {show(trial)}')
        if not trial:
            raise report.error(
                where, 'is empty; give at least one hyperparameter value')
        for name, value in trial.items():
            _check_name(name, report, where)
            if not is_scalar(value):
                hint = ('; a list of trials holds fixed values, for ranges '
                        'make the top level an object'
                        if isinstance(value, dict) else '')
                raise report.error(
                    where, repr(name), 'value must be a number, string or '
                    f'bool, got {show(value)}{hint}')
            value = plain(value)
            if isinstance(value, float) and not math.isfinite(value):
                raise report.error(where, repr(name),
                                   f'value must be finite, got {value!r}')
        if names is None:
            names = list(trial)
        elif set(trial) != set(names):
            missing = [n for n in names if n not in trial]
            extra = [n for n in trial if n not in names]
            details = []
            if missing:
                details.append(f'missing {quoted(missing)}')
            if extra:
                details.append(f'extra {quoted(extra)}')
            raise report.error(
                where, f'sets different hyperparameters from trial 0 '
                f'({", ".join(details)}); every trial must set the same ones')
        parsed.append({n: plain(trial[n]) for n in names})
    return tuple(parsed)


def parse_search_space(obj: Any, source: str | None = None) -> SearchSpace:
    """Validates a decoded JSON search space.

    Args:
      obj: a dict of dimensions, or a list of fixed trials (see the module
        docstring for the format).
      source: file name to prefix error messages with (None for none).

    Returns:
      The normalised :class:`SearchSpace`.

    Raises:
      SearchSpaceError: with a one-line message naming the source, the
        offending hyperparameter/key and the fix.
    """
    report = Reporter(source)
    if isinstance(obj, (list, tuple)):
        return SearchSpace(dimensions=None,
                           fixed_trials=_parse_fixed_trials(obj, report),
                           source=source)
    if not isinstance(obj, dict):
        raise report.error(
            'the top level must be an object mapping hyperparameter names to '
            'dimensions (or a list of trial objects), got '
            f'{type(obj).__name__} {show(obj)}')
    if not obj:
        raise report.error(
            'the search space is empty; add at least one hyperparameter, '
            'e.g. {"learning_rate": {"min": 0.0001, "max": 0.01, '
            '"scaling": "log"}}')
    dimensions = []
    for name, spec in obj.items():
        _check_name(name, report)
        dimensions.append(_parse_dimension(name, spec, report))
    return SearchSpace(dimensions=tuple(dimensions), fixed_trials=None,
                       source=source)


def _note_duplicate_keys(found: list):
    """A JSON object hook that keeps the last value of a repeated key and notes it in ``found``."""

    def hook(pairs):
        obj = {}
        for key, value in pairs:
            if key in obj:
                found.append((obj, key))
            obj[key] = value  # the last one wins, as in json.load
        return obj

    return hook


def _check_duplicate_keys(obj: Any, found: list, source: str) -> None:
    """A repeated key is an error, except inside a point of a list of trials.

    There it is a warning and the last value is used: the peer's published
    NAdamW ``tuning_search_space.json`` sets ``label_smoothing`` twice in one
    point, and its runner (``json.load``) takes the last, so ours runs it alike.
    """
    points = {id(p): i for i, p in enumerate(obj)} if isinstance(obj, list) else {}
    for container, key in found:
        index = points.get(id(container))
        if index is None:
            raise SearchSpaceError(
                f'{source}: duplicate key {key!r}; each key may appear '
                'only once per object, remove one of them')
        _log.warning('%s: trial %d sets %r twice; using %r, the last one (as json.load '
                     'does)', source, index, key, container[key])


def load_search_space(path: str | os.PathLike) -> SearchSpace:
    """Reads and validates a search-space JSON file.

    Raises:
      SearchSpaceError: the file is missing or unreadable, is not valid JSON
        (message gives line and column), or is not a valid search space.
    """
    source = os.fspath(path)
    space_file.check_file(source)  # a FIFO, a device, a huge file: refused before reading
    try:
        with open(source, encoding='utf-8-sig') as f:
            text = f.read()
    except FileNotFoundError:
        where = ('' if os.path.isabs(source) else
                 f' (resolved to {os.path.abspath(source)})')
        raise SearchSpaceError(
            f'{source}: search space file not found{where}; check the '
            'path') from None
    except UnicodeDecodeError as e:
        raise SearchSpaceError(
            f'{source}: not UTF-8 text ({e.reason} at byte {e.start}); save '
            'it as UTF-8') from None
    except OSError as e:
        raise SearchSpaceError(
            f'{source}: cannot read search space file: '
            f'{e.strerror or e}') from None
    try:
        duplicates: list = []
        obj = json.loads(text, object_pairs_hook=_note_duplicate_keys(duplicates))
    except json.JSONDecodeError as e:
        raise SearchSpaceError(
            f'{source}: invalid JSON at line {e.lineno}, column {e.colno}: '
            f'{e.msg} (JSON allows no comments or trailing commas)') from None
    except RecursionError:
        too_deep = True  # deeper than Python's stack: certainly deeper than allowed
    else:
        too_deep = _depth(obj) > MAX_DEPTH
    if too_deep:
        raise SearchSpaceError(
            f'{source}: nested more than {MAX_DEPTH} levels deep; a search space is an '
            'object of dimensions (or a list of trials) holding flat values')
    _check_duplicate_keys(obj, duplicates, source)
    space_file.check_size(obj, source)
    return parse_search_space(obj, source=source)


# A search space needs 3 levels (space, dimension, feasible_points); room to spare.
MAX_DEPTH = 16


def _depth(obj: Any) -> int:
    """Nesting depth of JSON containers (a scalar is 0), without recursion."""
    deepest, stack = 0, [(obj, 1)]
    while stack:
        item, level = stack.pop()
        children = item.values() if isinstance(item, dict) else item if isinstance(
            item, list) else None
        if children is None:
            continue
        deepest = max(deepest, level)
        if level <= MAX_DEPTH:  # deeper is refused anyway: stop descending
            stack.extend((c, level + 1) for c in children)
    return deepest
