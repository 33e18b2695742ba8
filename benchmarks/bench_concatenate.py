"""Benchmark: concatenating per-trial metrics.csv files.

Creates FILES metrics.csv files x ROWS rows x ~45 columns of realistic values
in a temporary directory (two workloads, FILES/2 runs each), then times side
by side, median of REPEATS runs each:

  (a) the 2022 approach: a Python loop, ``df = pd.concat([df, pd.read_csv(f)])``
      per file, then ``to_csv``;
  (b) one ``pd.concat([pd.read_csv(f) for f in files])`` then ``to_csv``;
  (c) ``algorithmic_efficiency.storage.csv_reader.concatenate_csvs``.

For reference, it also times (a) and (b) without their to_csv (the
end-to-end comparison is the three lines above them; (c) always writes).

Usage: python benchmarks/bench_concatenate.py [--files 200] [--rows 500]
       [--repeats 3] [--keep DIR]
"""

import argparse
import os
import random
import shutil
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from algorithmic_efficiency.storage import csv_format, csv_reader

WORKLOADS = ('mnist', 'imagenet_resnet')


def _row(rng, framework, workload, run_idx, i, hparams):
    step = (i + 1) * 100
    loss = 2.3 * (0.995**i) + rng.random() * 0.01
    row = {
        'framework': framework,
        'workload': workload,
        'run_idx': run_idx,
        'eval_idx': i,
        'global_step': step,
        'epoch': step // 469,
        'accumulated_submission_time': i * 12.345678 + rng.random(),
        'accumulated_eval_time': i * 1.2345 + rng.random(),
        'accumulated_logging_time': i * 0.012 + rng.random() * 1e-3,
        'total_duration': i * 13.7 + rng.random(),
        'train/loss': loss,
        'train/accuracy': 1.0 - loss / 2.5,
        'validation/loss': loss * 1.05,
        'validation/accuracy': 1.0 - loss / 2.4,
        'test/loss': loss * 1.07,
        'test/accuracy': 1.0 - loss / 2.3,
        'is_time_remaining': True,
        'preemption_count': 0,
        'datetime': f'2022-03-04T20:{i // 60 % 60:02d}:{i % 60:02d}.602377',
    }
    row.update(hparams)
    row.update(
        {
            'workload.name': workload,
            'workload.batch_size': 128,
            'workload.target_value': 0.9779,
            'workload.max_allowed_runtime_sec': 3600,
            'workload.num_train_examples': 60000,
            'workload.num_eval_train_examples': 10000,
            'cpu.percent': rng.random() * 100,
            'cpu.freq_mhz': 2400.0 + rng.random() * 800,
            'cpu.load_1m': rng.random() * 4,
            'mem.used_bytes': 8_000_000_000 + rng.randrange(10**9),
            'mem.available_bytes': 24_000_000_000 - rng.randrange(10**9),
            'mem.percent': rng.random() * 100,
            'mem.rss_bytes': 2_000_000_000 + rng.randrange(10**8),
            'gpu.count': 1,
            'gpu.0.util_percent': rng.randrange(101),
            'gpu.0.mem_used_bytes': 32128228457472 // 2048 + rng.randrange(10**6),
            'gpu.0.mem_total_bytes': 34359738368,
            'gpu.0.temperature_c': 40 + rng.randrange(40),
            'gpu.0.power_w': 50 + rng.random() * 250,
            'disk.read_bytes': rng.randrange(10**10),
            'disk.write_bytes': rng.randrange(10**10),
        }
    )
    return row


def make_tree(root, n_files, n_rows, seed=0):
    rng = random.Random(seed)
    per_workload = n_files // len(WORKLOADS)
    k = 0
    for w_i, workload in enumerate(WORKLOADS):
        count = per_workload if w_i < len(WORKLOADS) - 1 else n_files - k
        for run_idx in range(1, count + 1):
            hparams = {
                'hparam.learning_rate': 10 ** rng.uniform(-4, -1),
                'hparam.one_minus_beta1': 10 ** rng.uniform(-3, -1),
                'hparam.beta2': 0.999,
                'hparam.warmup_factor': 0.05,
                'hparam.weight_decay': 10 ** rng.uniform(-5, -2),
                'hparam.label_smoothing': 0.1,
                'hparam.dropout_rate': 0.0,
            }
            framework = 'jax' if run_idx % 2 else 'pytorch'
            path = os.path.join(root, workload, f'run_{run_idx}', 'metrics.csv')
            lines = []
            header = None
            for i in range(n_rows):
                row = _row(rng, framework, workload, run_idx, i, hparams)
                if header is None:
                    header = list(row)
                    lines.append(csv_format.header_line(header))
                fields = [csv_format.format_value(row[c]) for c in header]
                lines.append(csv_format.format_line(fields))
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, 'w', encoding='utf-8') as f:
                f.write(''.join(lines))
            k += 1
    return header


def list_files(root):
    files = []
    for dirpath, _, filenames in os.walk(root):
        if 'metrics.csv' in filenames:
            files.append(os.path.join(dirpath, 'metrics.csv'))
    files.sort(key=lambda p: csv_reader._natural_key(os.path.relpath(p, root)))
    return files


def approach_2022(root, out):
    import pandas as pd

    df = pd.DataFrame()
    for f in list_files(root):
        df = pd.concat([df, pd.read_csv(f)])
    df.to_csv(out, index=False)


def approach_one_concat(root, out):
    import pandas as pd

    df = pd.concat([pd.read_csv(f) for f in list_files(root)])
    df.to_csv(out, index=False)


def read_only_2022(root, out):
    """(a) without writing: where the time of (a) goes."""
    import pandas as pd

    df = pd.DataFrame()
    for f in list_files(root):
        df = pd.concat([df, pd.read_csv(f)])
    return df


def read_only_one_concat(root, out):
    """(b) without writing."""
    import pandas as pd

    return pd.concat([pd.read_csv(f) for f in list_files(root)])


def approach_arrow(root, out):
    csv_reader.concatenate_csvs(root, output_name=os.path.basename(out))


def timeit(fn, root, out, repeats):
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn(root, out)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--files', type=int, default=200)
    parser.add_argument('--rows', type=int, default=500)
    parser.add_argument('--repeats', type=int, default=3)
    parser.add_argument('--keep', help='generate into this directory and keep it')
    args = parser.parse_args(argv)

    root = args.keep or tempfile.mkdtemp(prefix='bench_concat_')
    try:
        t0 = time.perf_counter()
        header = make_tree(root, args.files, args.rows)
        total = sum(os.path.getsize(f) for f in list_files(root))
        print(
            f'{args.files} files x {args.rows} rows x {len(header)} columns '
            f'({total / 1e6:.1f} MB) generated in '
            f'{time.perf_counter() - t0:.1f} s in {root}'
        )
        import pandas as pd
        import pyarrow as pa

        print(
            f'python {sys.version.split()[0]}, pandas {pd.__version__}, '
            f'pyarrow {pa.__version__}, {os.cpu_count()} CPUs; '
            f'median of {args.repeats}'
        )
        results = []
        for name, fn, out in (
            ('(a) 2022 loop: df = pd.concat([df, pd.read_csv(f)])', approach_2022, 'out_a.csv'),
            ('(b) one pd.concat([pd.read_csv(f) ...]) + to_csv', approach_one_concat, 'out_b.csv'),
            ('(c) csv_reader.concatenate_csvs (pyarrow)', approach_arrow, 'out_c.csv'),
        ):
            secs = timeit(fn, root, os.path.join(root, out), args.repeats)
            results.append((name, secs))
        for name, fn in (
            ('    (a) without to_csv (read + concat only)', read_only_2022),
            ('    (b) without to_csv (read + concat only)', read_only_one_concat),
        ):
            results.append((name, timeit(fn, root, None, args.repeats)))
        base = results[0][1]
        for name, secs in results:
            print(
                f'{name:55s} {secs:7.3f} s   {secs / base:5.2f}x of (a)'
                f'   ({base / secs:4.1f}x faster)'
            )
        # Sanity check: (c) holds the same values as (b).
        b = pd.read_csv(os.path.join(root, 'out_b.csv'))
        c = pd.read_csv(os.path.join(root, 'out_c.csv'))
        assert list(b.columns) == list(c.columns), 'column mismatch'
        pd.testing.assert_frame_equal(b.reset_index(drop=True), c)
        print('check: (b) and (c) hold the same rows and values')
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == '__main__':
    main()
