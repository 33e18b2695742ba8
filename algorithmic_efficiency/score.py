"""``python -m algorithmic_efficiency.score NAME=DIR [NAME=DIR ...] --out OUT``: scores.

Each DIR holds one submission's sweeps (``DIR/<workload>/`` or, with several
studies, ``DIR/study_<k>/<workload>/``). Writes ``OUT/workload_times.csv``,
``OUT/scores.csv``, ``OUT/score_pairs.csv`` and ``OUT/performance_profiles.png`` /
``.svg`` (with ``--html FILE`` also a self-contained HTML report), prints a
table with bootstrap intervals and each pair's significance, then the paths
written. Exit codes: 0, 2 bad input (one line on stderr).
"""

import argparse
import sys

from algorithmic_efficiency.analysis import run_cli
from algorithmic_efficiency.errors import UsageError

PROG = 'score'


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog=f'python -m algorithmic_efficiency.{PROG}',
        description='Score submissions across workloads: time (and energy) to target per '
        'workload, performance profiles, and the score (normalised area under the profile).',
    )
    parser.add_argument(
        'submissions',
        nargs='+',
        metavar='NAME=DIR',
        help="a submission's name and the directory of its sweeps (DIR/<workload>/ or "
        'DIR/study_<k>/<workload>/)',
    )
    parser.add_argument('--out', required=True, metavar='OUT', help='output directory')
    parser.add_argument(
        '--max_ratio',
        default='4',
        metavar='R',
        help='r_max: ratios above it earn nothing (default 4, as the benchmark)',
    )
    parser.add_argument(
        '--confidence',
        default='0.95',
        metavar='C',
        help='level of the bootstrap intervals and of the significance tests (default 0.95)',
    )
    parser.add_argument(
        '--bootstrap',
        default='2000',
        metavar='N',
        help='bootstrap replicates (default 2000; 0: no intervals)',
    )
    parser.add_argument(
        '--seed', default='0', metavar='S', help="the bootstrap's seed (default 0): reruns repeat"
    )
    parser.add_argument(
        '--resample',
        default='studies',
        metavar='WHAT',
        help="studies (default: each study's fastest trial is a unit) or trials (also the "
        'trials within each drawn study: biased upwards, see docs/guides/statistics.md)',
    )
    parser.add_argument(
        '--html',
        metavar='OUT.html',
        help='also write one self-contained HTML report there (opens offline in a browser)',
    )
    parser.add_argument('--noplot', action='store_true', help='write no figures (CSVs only)')
    parser.add_argument('-q', '--quiet', action='store_true', help='print nothing on success')
    args = parser.parse_args(argv)

    def body() -> int:
        # Imported here so that --help and usage errors never wait for pandas.
        from algorithmic_efficiency.analysis import (
            performance_profile,
            score_intervals,
            score_report,
            scoring,
        )

        try:
            max_ratio = performance_profile.check_max_ratio(float(args.max_ratio))
        except ValueError:
            raise UsageError(
                f'--max_ratio must be a finite number above 1, got {args.max_ratio!r}; '
                'the benchmark uses 4'
            ) from None
        settings = score_intervals.settings_from_flags(
            args.confidence, args.bootstrap, args.seed, args.resample
        )
        if args.html:
            score_intervals.check_html_path(args.html, args.out)
            try:
                import matplotlib  # noqa: F401  (the report reuses the plots' column choice)
                import plotly  # noqa: F401  (its JavaScript is embedded in the page)
            except ImportError as e:
                raise UsageError(
                    f"{e}; --html needs the dashboard extra: pip install -e '.[dashboard]'"
                ) from None
        submissions = scoring.parse_submission_args(args.submissions)
        if not args.noplot:
            try:
                import matplotlib  # noqa: F401  (an analysis-only dependency)
            except ImportError as e:
                raise UsageError(
                    f'{e}; install it with: pip install matplotlib (or pass --noplot)'
                ) from None
        times, scores, paths = score_report.score_submissions(
            submissions,
            args.out,
            max_ratio,
            plot=not args.noplot,
            settings=settings,
            html=args.html,
        )
        if not args.quiet:
            print(score_report.format_table(times, scores, max_ratio), end='')
            for line in scores.attrs.get('verdicts', []):
                print(line)
            for path in paths:
                print(path)
        return 0

    return run_cli(PROG, body)


if __name__ == '__main__':
    sys.exit(main())
