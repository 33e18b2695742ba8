"""``python -m algorithmic_efficiency.status LOG_DIR [--watch SECONDS]``: the sweeps' status.

Prints, per sweep, a table of trials (status, current step, best loss,
accuracy, submission time, time to target), the best config and the
failures with their error's first line; works while a sweep is still
writing. ``--watch`` redraws it every SECONDS until Ctrl-C. Exit codes: 0,
2 bad input (one line on stderr).
"""

import argparse
import sys
import time

from algorithmic_efficiency.analysis import run_cli

PROG = 'status'
CLEAR = '\x1b[H\x1b[2J'  # cursor home, clear screen (ANSI)
MAX_WATCH_SEC = 86_400.0


def _positive(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a number of seconds") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f'must be positive, got {text}')
    if value > MAX_WATCH_SEC:  # time.sleep overflows past ~9e9 s; a day is plenty
        raise argparse.ArgumentTypeError(f'at most {MAX_WATCH_SEC:g} s (a day), got {text}')
    return value


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog=f'python -m algorithmic_efficiency.{PROG}',
        description='Show the trials of the sweeps in LOG_DIR: status, best loss, '
        'time to target, the best config and the failures.',
    )
    parser.add_argument('log_dir', help='the --log_dir of a sweep (or one LOG_DIR/<workload>)')
    parser.add_argument(
        '--watch',
        type=_positive,
        metavar='SECONDS',
        help='refresh every SECONDS until Ctrl-C (or --count refreshes)',
    )
    parser.add_argument(
        '--count', type=int, metavar='N', help='with --watch: stop after N refreshes'
    )
    args = parser.parse_args(argv)
    if args.count is not None and (args.watch is None or args.count < 1):
        parser.error('--count needs --watch and a positive N')

    def body() -> int:
        from algorithmic_efficiency.analysis import status

        if args.watch is None:
            sys.stdout.write(status.format_status(args.log_dir))
            return 0
        # Clear the screen only on a terminal, so `--watch ... > file` stays readable.
        clear = CLEAR if sys.stdout.isatty() else ''
        n = 0
        while True:
            try:
                text = status.format_status(args.log_dir)
            except (ValueError, OSError) as e:
                # Watching may start before the sweep writes anything, or see
                # --overwrite remove it: keep watching instead of exiting.
                text = f'waiting: {e}\n'
            stamp = time.strftime('%H:%M:%S')
            sys.stdout.write(f'{clear}{stamp}  every {args.watch:g} s, Ctrl-C to stop\n\n{text}')
            sys.stdout.flush()
            n += 1
            if args.count is not None and n >= args.count:
                return 0
            time.sleep(args.watch)

    code = run_cli(PROG, body)
    return 0 if code == 130 and args.watch is not None else code


if __name__ == '__main__':
    sys.exit(main())
