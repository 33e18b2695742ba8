"""``python -m algorithmic_efficiency.tensorboard LOG_DIR``: TensorBoard files for a sweep.

Writes, from the files a sweep left, the event files that ``tensorboard --logdir
LOG_DIR`` shows in its Scalars and HParams tabs (see
:mod:`algorithmic_efficiency.analysis.tensorboard_export`). Exit codes: 0, 2 bad
input (one line on stderr).

In Python, ``from algorithmic_efficiency.tensorboard import Logger`` is the
submission-side logger (:mod:`algorithmic_efficiency.recording.tb.logger`), and
``build_from_logs``, ``write_experiment_config``, ``write_incumbent`` and
``TrialTensorBoardWriter`` are here too, each imported on first use.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from algorithmic_efficiency.analysis import run_cli

PROG = 'tensorboard'
_EXPORTS = {
    'Logger': 'algorithmic_efficiency.recording.tb.logger',
    'TrialTensorBoardWriter': 'algorithmic_efficiency.recording.tb.events',
    'searched_hparams': 'algorithmic_efficiency.recording.tb.events',
    'build_from_logs': 'algorithmic_efficiency.analysis.tensorboard_export',
    'write_experiment_config': 'algorithmic_efficiency.analysis.tensorboard_export',
    'write_incumbent': 'algorithmic_efficiency.analysis.tensorboard_export',
}


def __getattr__(name):
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'algorithmic_efficiency.tensorboard' has no attribute '{name}'")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog=f'python -m algorithmic_efficiency.{PROG}',
        description='Write TensorBoard event files (Scalars, HParams) for the sweeps in LOG_DIR '
        'from their metrics.csv files; then run: tensorboard --logdir LOG_DIR',
    )
    parser.add_argument('log_dir', help='the --log_dir of a sweep (or one LOG_DIR/<workload>)')
    parser.add_argument('-q', '--quiet', action='store_true', help='print nothing on success')
    parser.add_argument('-v', '--verbose', action='store_true', help='print every file written')
    args = parser.parse_args(argv)

    def body() -> int:
        from algorithmic_efficiency.analysis import tensorboard_export

        paths = tensorboard_export.build_from_logs(args.log_dir)
        if args.verbose:
            for path in paths:
                print(path)
        if not args.quiet:
            print(
                f'{len(paths)} event files written under {args.log_dir}; view them with: '
                f'tensorboard --logdir {args.log_dir}'
            )
        return 0

    return run_cli(PROG, body)


if __name__ == '__main__':
    sys.exit(main())
