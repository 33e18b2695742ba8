"""``python -m algorithmic_efficiency.summary LOG_DIR``: writes the summary files.

For every sweep below LOG_DIR writes ``<workload>/summary/config_data.csv``,
``run_status.csv``, ``best_loss_trajectory.txt`` and
``best_loss_with_config_trajectory.txt``; with several sweeps also
``LOG_DIR/summary/comparison.csv``. Prints the paths written. Exit codes: 0,
2 bad input (one line on stderr).
"""

import argparse
import sys

from algorithmic_efficiency.analysis import run_cli

PROG = 'summary'


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog=f'python -m algorithmic_efficiency.{PROG}',
        description='Write summary CSVs and best-loss trajectories of the sweeps in LOG_DIR.',
    )
    parser.add_argument('log_dir', help='the --log_dir of a sweep (or one LOG_DIR/<workload>)')
    parser.add_argument('-q', '--quiet', action='store_true', help='print nothing on success')
    args = parser.parse_args(argv)

    def body() -> int:
        # Imported here so that --help and usage errors never wait for pandas.
        from algorithmic_efficiency.analysis import summary

        for path in summary.write_summary(args.log_dir):
            if not args.quiet:
                print(path)
        return 0

    return run_cli(PROG, body)


if __name__ == '__main__':
    sys.exit(main())
