"""Benchmark: parsing Hydra overrides with hydra-core's parser vs by hand, in context.

Writes a Hydra multirun of JOBS jobs in a temporary directory (each with
``.hydra/config.yaml``, ``overrides.yaml`` with OVERRIDES items, ``hydra.yaml``
and a ``result.json``, as a real multirun leaves them), then times, median of
REPEATS runs each:

  (a) every job's overrides through hydra-core's ``OverridesParser``
      (``parse_override`` per item, no cache);
  (b) the same items through the explorer's reader
      (``hydra_runs.parse_override``: the parser behind a cache of parsed
      items, emptied before each run: a cold start);
  (c) the same items through the hand-written split on ``=`` plus
      ``yaml.safe_load`` of the value that the explorer used before;
  (d) ``explorer.load`` of the whole multirun (walk, YAML, config
      resolution, results, frame; cold cache): the context they run in.

The library is "materially slower" if (b) - (c) is a noticeable share of (d).
The generated jobs draw each override's value from VALUES, as a grid sweep
does, so items repeat across jobs; with ``--distinct`` every value is a new
float, as a random search gives (the cache's worst case).

Usage: python benchmarks/bench_hydra_overrides.py [--jobs 200] [--overrides 6]
       [--distinct] [--repeats 5] [--keep DIR]
"""

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import yaml  # noqa: E402

from algorithmic_efficiency.analysis import explorer  # noqa: E402
from algorithmic_efficiency.analysis.explorer import hydra_runs  # noqa: E402

VALUES = ('0.1', '32', 'adam', 'true', '1e-3', "'quoted text'", 'null', '[1,2]')


def make_multirun(
    root: str, jobs: int, n_overrides: int, distinct: bool = False
) -> tuple[str, list[list[str]]]:
    """A multirun sweep folder of `jobs` jobs; returns it and every job's overrides."""
    sweep = os.path.join(root, 'multirun', '2024-01-02', '03-04-05')
    all_overrides = []
    for job in range(jobs):
        hdir = os.path.join(sweep, str(job), '.hydra')
        os.makedirs(hdir)
        if distinct:
            first = job * n_overrides
            items = [f'param_{k}={(first + k) * 1.0001e-3!r}' for k in range(n_overrides)]
        else:
            items = [f'param_{k}={VALUES[(job + k) % len(VALUES)]}' for k in range(n_overrides)]
        config = {f'param_{k}': yaml.safe_load(v.split('=', 1)[1]) for k, v in enumerate(items)}
        config.update({'model': {'depth': 4, 'width': '${model.depth}'}, 'dataset': {'n': 100}})
        with open(os.path.join(hdir, 'config.yaml'), 'w') as f:
            yaml.safe_dump(config, f)
        with open(os.path.join(hdir, 'overrides.yaml'), 'w') as f:
            yaml.safe_dump(items, f)
        hydra = {'hydra': {'job': {'name': 'app', 'num': job, 'override_dirname': ','.join(items)},
                           'runtime': {'version': '1.3.2', 'choices': {}}}}  # fmt: skip
        with open(os.path.join(hdir, 'hydra.yaml'), 'w') as f:
            yaml.safe_dump(hydra, f)
        with open(os.path.join(sweep, str(job), 'result.json'), 'w') as f:
            json.dump({'loss': 1.0 / (job + 1)}, f)
        all_overrides.append(items)
    with open(os.path.join(sweep, 'multirun.yaml'), 'w') as f:
        yaml.safe_dump({'hydra': {'overrides': {'task': ['param_0=a,b']}}}, f)
    return sweep, all_overrides


def parse_with_hydra(all_overrides: list[list[str]]) -> None:
    from hydra.core.override_parser.overrides_parser import OverridesParser

    parser = OverridesParser.create()
    for items in all_overrides:
        for item in items:
            override = parser.parse_override(item.strip())
            override.value()


def parse_in_explorer(all_overrides: list[list[str]]) -> None:
    hydra_runs._parsed.cache_clear()
    warnings = []
    for items in all_overrides:
        for item in items:
            hydra_runs.parse_override(item, 'overrides.yaml', warnings)
    assert not warnings, warnings[:3]


def load_cold(sweep: str) -> None:
    hydra_runs._parsed.cache_clear()
    explorer.load([sweep])


def parse_by_hand(all_overrides: list[list[str]]) -> None:
    for items in all_overrides:
        for item in items:
            text = item.strip()
            deletion = text.startswith('~')
            key, sep, value = text.lstrip('~+').partition('=')
            key.split('@', 1)[0].strip()
            if sep and not deletion:
                yaml.safe_load(value)


def median_time(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--jobs', type=int, default=200)
    parser.add_argument('--overrides', type=int, default=6)
    parser.add_argument('--distinct', action='store_true', help='no value repeats (random search)')
    parser.add_argument('--repeats', type=int, default=5)
    parser.add_argument('--keep', metavar='DIR', help='write the multirun here and keep it')
    args = parser.parse_args()
    root = args.keep or tempfile.mkdtemp(prefix='bench_hydra_')
    try:
        sweep, all_overrides = make_multirun(root, args.jobs, args.overrides, args.distinct)
        n = sum(len(items) for items in all_overrides)
        parse_with_hydra(all_overrides[:1])  # the import and the grammar: once per process
        loaded = explorer.load([sweep])
        assert loaded.frame.shape[1] == args.jobs and not loaded.errors, loaded.errors
        t_hydra = median_time(lambda: parse_with_hydra(all_overrides), args.repeats)
        t_cached = median_time(lambda: parse_in_explorer(all_overrides), args.repeats)
        t_hand = median_time(lambda: parse_by_hand(all_overrides), args.repeats)
        t_load = median_time(lambda: load_cold(sweep), args.repeats)
        distinct = len({i for items in all_overrides for i in items})
        print(f'{args.jobs} jobs x {args.overrides} overrides = {n} items ({distinct} distinct), '
              f'median of {args.repeats}')  # fmt: skip
        print(f'(a) hydra-core OverridesParser   {t_hydra * 1e3:8.1f} ms  '
              f'({t_hydra / n * 1e6:.0f} us per override)')  # fmt: skip
        print(f'(b) the explorer (cached parser) {t_cached * 1e3:8.1f} ms  '
              f'({t_cached / n * 1e6:.0f} us per override)')  # fmt: skip
        print(f'(c) by hand + yaml.safe_load     {t_hand * 1e3:8.1f} ms  '
              f'({t_hand / n * 1e6:.0f} us per override)')  # fmt: skip
        print(f'(d) explorer.load of the sweep   {t_load * 1e3:8.1f} ms  '
              f'({t_load / args.jobs * 1e3:.1f} ms per job)')  # fmt: skip
        print(f'(a) - (c) = {(t_hydra - t_hand) / t_load:.1%} of (d); '
              f'(b) - (c) = {(t_cached - t_hand) / t_load:.1%} of (d)')
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == '__main__':
    main()
