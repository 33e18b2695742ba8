"""``python -m algorithmic_efficiency.datasets {mnist,cifar10} --data_dir DIR``: get a data set.

* ``mnist``: the four gzip-compressed MNIST IDX files;
* ``cifar10``: the CIFAR-10 "python version" archive (~163 MiB), then
  extracted to ``DIR/cifar-10-batches-py/``.
* ``finewebedu``: FineWeb-Edu (sample-10BT) tokenised with GPT-2's BPE into
  nanoGPT token shards with a fixed validation split
  (:mod:`algorithmic_efficiency.workloads.lm.finewebedu_prep`; needs the
  ``datasets`` and ``tiktoken`` packages; ``--val_tokens``, ``--max_tokens``).

Each file comes from the first mirror that works (``--mirror URL``,
repeatable, replaces the defaults), is checked against the official MD5 and
written atomically (see :mod:`algorithmic_efficiency.workloads.download`).
Progress goes to stderr; the ``--data_dir=...`` flag to give the submission
runner goes to stdout.

Exit codes: 0 success, 1 download failed, 2 bad usage.
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
from collections.abc import Sequence

from algorithmic_efficiency.storage import writable
from algorithmic_efficiency.workloads.download import (
    _URL_SCHEMES,
    DEFAULT_CIFAR10_MIRRORS,
    DEFAULT_MNIST_MIRRORS,
    DEFAULT_TIMEOUT_S,
    DownloadError,
    StderrProgress,
    download_cifar10,
    download_mnist,
)

# name -> (download function, default mirrors, what the runner calls it)
DATASETS = {
    'mnist': (download_mnist, DEFAULT_MNIST_MIRRORS, 'MNIST'),
    'cifar10': (download_cifar10, DEFAULT_CIFAR10_MIRRORS, 'CIFAR-10'),
}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog='python -m algorithmic_efficiency.datasets',
        description='Download a data set for the benchmark runner.',
    )
    parser.add_argument('dataset', choices=[*DATASETS, 'finewebedu'])
    parser.add_argument('--data_dir', required=True, help='directory to put the files in (created)')
    parser.add_argument(
        '--mirror',
        action='append',
        metavar='URL',
        help='base URL holding the files; repeat to try several in order (replaces the '
        'defaults: mnist '
        + ', '.join(DEFAULT_MNIST_MIRRORS)
        + '; cifar10 '
        + ', '.join(DEFAULT_CIFAR10_MIRRORS)
        + ')',
    )
    parser.add_argument(
        '--timeout',
        type=float,
        default=DEFAULT_TIMEOUT_S,
        help='seconds per request (default %(default)s)',
    )
    parser.add_argument('--val_tokens', type=int, default=102_500_000,
                        help='finewebedu: tokens of the validation split (default: the peer\'s '
                        '100,000 sequences of 1,025)')
    parser.add_argument('--max_tokens', type=int, default=None,
                        help='finewebedu: stop after this many tokens in all (default: all)')
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as e:  # --help (0) or bad usage (2)
        return int(e.code or 0)
    if args.dataset == 'finewebedu':  # tokenised from the hub, not downloaded from mirrors
        from algorithmic_efficiency.workloads.lm import finewebedu_cli

        return finewebedu_cli.run(args, parser.prog)
    download, default_mirrors, title = DATASETS[args.dataset]
    mirrors = args.mirror or list(default_mirrors)
    bad = [m for m in mirrors if not m.startswith(_URL_SCHEMES)]
    if not bad and os.path.exists(args.data_dir) and not os.path.isdir(args.data_dir):
        print(
            f'{parser.prog}: error: --data_dir {args.data_dir} is a file, not a directory; '
            'give a directory (it is created if missing)',
            file=sys.stderr,
        )
        return 2
    if bad or not 0 < args.timeout <= 86400:  # also false for nan
        parser.print_usage(sys.stderr)
        print(
            f'{parser.prog}: error: '
            + (
                f'--mirror must be an http://, https:// or file:// URL, got {bad[0]}'
                if bad
                else f'--timeout must be in (0, 86400] seconds, got {args.timeout}'
            ),
            file=sys.stderr,
        )
        return 2
    data_dir = os.path.abspath(os.path.expanduser(args.data_dir))
    why = writable.problem(data_dir, create=True)
    if why:  # before any download: one line, not the first write's OSError
        print(f'{parser.prog}: error: --data_dir {args.data_dir} cannot be written ({why}); '
              'give a folder you can write', file=sys.stderr)
        return 2
    try:
        report = download(data_dir, mirrors, args.timeout, progress=StderrProgress())
    except (DownloadError, OSError) as e:
        print(f'error: {e}', file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print('interrupted', file=sys.stderr)
        return 130
    for name, status in report.items():
        print(f'{name}: {status}', file=sys.stderr)
    print(f'{title} is ready in {data_dir}. Pass this to submission_runner:', file=sys.stderr)
    print(f'--data_dir={shlex.quote(data_dir)}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
