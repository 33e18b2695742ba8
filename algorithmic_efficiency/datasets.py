"""``python -m algorithmic_efficiency.datasets mnist --data_dir DIR``: downloads a data set.

Fetches the four gzip-compressed MNIST IDX files from the first mirror that
works (``--mirror URL``, repeatable, replaces the defaults), checks each
against the official MD5 and writes it atomically (see
:mod:`algorithmic_efficiency.workloads.download`). Progress goes to stderr; the
``--data_dir=...`` flag to give the submission runner goes to stdout.

Exit codes: 0 success, 1 download failed, 2 bad usage.
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
from collections.abc import Sequence

from algorithmic_efficiency.workloads.download import (
    _URL_SCHEMES,
    DEFAULT_MNIST_MIRRORS,
    DEFAULT_TIMEOUT_S,
    DownloadError,
    StderrProgress,
    download_mnist,
)

def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog='python -m algorithmic_efficiency.datasets',
        description='Download a data set for the benchmark runner.',
    )
    parser.add_argument('dataset', choices=['mnist'])
    parser.add_argument('--data_dir', required=True, help='directory to put the files in (created)')
    parser.add_argument(
        '--mirror',
        action='append',
        metavar='URL',
        help='base URL holding the .gz files; repeat to try several in order '
        '(replaces the defaults: ' + ', '.join(DEFAULT_MNIST_MIRRORS) + ')',
    )
    parser.add_argument(
        '--timeout',
        type=float,
        default=DEFAULT_TIMEOUT_S,
        help='seconds per request (default %(default)s)',
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as e:  # --help (0) or bad usage (2)
        return int(e.code or 0)
    mirrors = args.mirror or list(DEFAULT_MNIST_MIRRORS)
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
    try:
        report = download_mnist(data_dir, mirrors, args.timeout, progress=StderrProgress())
    except (DownloadError, OSError) as e:
        print(f'error: {e}', file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print('interrupted', file=sys.stderr)
        return 130
    for name, status in report.items():
        print(f'{name}: {status}', file=sys.stderr)
    print(f'MNIST is ready in {data_dir}. Pass this to submission_runner:', file=sys.stderr)
    print(f'--data_dir={shlex.quote(data_dir)}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
