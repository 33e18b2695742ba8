"""The ``finewebedu`` branch of ``python -m algorithmic_efficiency.datasets``.

Exit codes as the other data sets: 0 success, 1 the download or a file write
failed, 2 bad usage or a missing package (one line, nothing written).
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys

from algorithmic_efficiency.workloads.lm import finewebedu_prep


def run(args: argparse.Namespace, prog: str) -> int:
    data_dir = os.path.abspath(os.path.expanduser(args.data_dir))
    if os.path.exists(data_dir) and not os.path.isdir(data_dir):
        print(f'{prog}: error: --data_dir {args.data_dir} is a file, not a directory; '
              'give a directory (it is created if missing)', file=sys.stderr)
        return 2
    try:
        counts = finewebedu_prep.prepare(data_dir, args.val_tokens, args.max_tokens,
                                         progress=lambda line: print(line, file=sys.stderr))
    except finewebedu_prep.PrepError as e:
        print(f'{prog}: error: {e}', file=sys.stderr)
        return 2
    except (OSError, ConnectionError) as e:
        print(f'error: {e}', file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print('interrupted (whole shards only were written)', file=sys.stderr)
        return 130
    print(f"FineWeb-Edu is ready in {data_dir}: {counts['train']:,} training and "
          f"{counts['val']:,} validation tokens. Pass this to submission_runner:", file=sys.stderr)
    print(f'--data_dir={shlex.quote(data_dir)}')
    return 0
