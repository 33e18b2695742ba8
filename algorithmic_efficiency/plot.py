"""``python -m algorithmic_efficiency.plot LOG_DIR``: PNG plots of the sweeps in LOG_DIR.

Writes ``loss_vs_step.png``, ``accuracy_vs_time.png``,
``best_loss_vs_evals.png`` and ``hardware.png`` into ``LOG_DIR/plots/`` (or
``--out``) and prints their paths. Needs matplotlib, no display. Exit codes:
0, 2 bad input (one line on stderr).
"""

import argparse
import sys

from algorithmic_efficiency.analysis import run_cli
from algorithmic_efficiency.errors import UsageError

PROG = 'plot'
MIN_DPI, MAX_DPI = 10, 1200  # 1200 dpi: print quality; more only exhausts memory


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog=f'python -m algorithmic_efficiency.{PROG}',
        description='Plot loss vs step, accuracy vs submission time (with the target), '
        'the best loss vs evaluations and the hardware, for the sweeps in LOG_DIR.',
    )
    parser.add_argument('log_dir', help='the --log_dir of a sweep (or one LOG_DIR/<workload>)')
    parser.add_argument('-o', '--out', metavar='DIR', help='output directory (LOG_DIR/plots)')
    parser.add_argument('--logx', action='store_true', help='log x axes (symlog: 0 stays)')
    parser.add_argument('--logy', action='store_true', help='log y axes (loss, accuracy)')
    parser.add_argument('--dpi', type=int, default=120, help='resolution (default 120)')
    args = parser.parse_args(argv)
    if not MIN_DPI <= args.dpi <= MAX_DPI:
        parser.error(f'--dpi must be in [{MIN_DPI}, {MAX_DPI}], got {args.dpi}')

    def body() -> int:
        try:
            from algorithmic_efficiency.analysis import plot
        except ImportError as e:  # matplotlib is an analysis-only dependency
            raise UsageError(f'{e}; install it with: pip install matplotlib') from None
        for path in plot.plot_log_dir(args.log_dir, args.out, args.logx, args.logy, args.dpi):
            print(path)
        return 0

    return run_cli(PROG, body)


if __name__ == '__main__':
    sys.exit(main())
