r"""Runs a submission on a workload over a tuning search space.

Example (the guide's command)::

  python3 algorithmic_efficiency/submission_runner.py \
      --framework=jax --workload=mnist_jax \
      --submission_path=baselines/mnist/mnist_jax/submission.py \
      --tuning_search_space=baselines/mnist/tuning_search_space.json \
      --num_tuning_trials=2 --log_dir=$LOG_DIR

Flags are read only here; everything below takes explicit arguments. Exit
codes: 0 all trials ran (diverged trials are results, not failures), and
``--help``; 1 a trial failed (its error is in run_<N>/error.txt), or a bug of
ours (with its traceback); 2 bad input (an ``errors.AEError``: one line).
"""

# Run as a script, Python puts this package's own folder first on sys.path,
# where modules named like top-level packages (datasets, search, ...) would
# shadow them: put the repository root there instead.
import os
import sys

if __name__ == '__main__' and not __package__:
    _here = os.path.dirname(os.path.abspath(__file__))
    if sys.path and os.path.abspath(sys.path[0] or '.') == _here:
        sys.path[0] = os.path.dirname(_here)

from absl import app, flags  # noqa: E402

from algorithmic_efficiency import sweep  # noqa: E402
from algorithmic_efficiency.errors import AEError  # noqa: E402
from algorithmic_efficiency.recording import console, redact  # noqa: E402
from algorithmic_efficiency.search import spaces  # noqa: E402
from algorithmic_efficiency.storage import files  # noqa: E402
from algorithmic_efficiency.training import checkpointing  # noqa: E402
from algorithmic_efficiency.training.results import TrialPreempted  # noqa: E402
from algorithmic_efficiency.workloads import registry  # noqa: E402

flags.DEFINE_enum(
    'framework',
    None,
    list(registry.FRAMEWORKS),
    'Framework of the workload; inferred from --workload when omitted.',
)
flags.DEFINE_string('workload', None, f'Workload name, one of: {", ".join(registry.WORKLOADS)}.')
flags.DEFINE_string('submission_path', None, 'Path to the submission (training algorithm) file.')
flags.DEFINE_enum(
    'tuning_ruleset',
    'external',
    ['external', 'self'],
    'external: trials from --tuning_search_space; self: one trial, no '
    'hyperparameters (the submission tunes itself).',
)
flags.DEFINE_string(
    'tuning_search_space',
    None,
    'JSON search space (see README "Search spaces"); required for external.',
)
flags.DEFINE_integer('num_tuning_trials', 20, 'Number of tuning trials (external ruleset).')
flags.DEFINE_enum(
    'search_algorithm',
    'halton',
    list(spaces.ALGORITHMS),
    'How trials are drawn: scrambled Halton (quasi-random) or uniform random.',
)
flags.DEFINE_string(
    'data_dir',
    None,
    'The data (README "MNIST data", "CIFAR-10 data"); omitted: MNIST\'s embedded 5,000-image '
    'sample (CIFAR-10 requires it).',
)
flags.DEFINE_multi_string(
    'record_extra_metadata',
    [],
    'key=value recorded in metadata.json and as a column of every row; repeatable.',
)
flags.DEFINE_integer(
    'rng_seed', None, 'Sweep seed (drawn and recorded when omitted).', lower_bound=0
)
flags.DEFINE_integer(
    'max_global_steps',
    None,
    'Cap: end every trial after this many steps (demos, tests).',
    lower_bound=1,
)
flags.DEFINE_float(
    'max_submission_time_sec',
    None,
    'Cap: a per-trial budget below the workload\'s max_allowed_runtime_sec.',
)
flags.DEFINE_bool('overwrite', False, 'Delete this workload\'s earlier runs in --log_dir first.')
flags.DEFINE_bool('resume', False, 'Keep finished trials in --log_dir and run the rest.')
flags.DEFINE_bool('fsync', False, 'fsync metrics.csv after every row (safe against power loss).')
flags.DEFINE_float('telemetry_interval_sec', 1.0, 'Background hardware sampling period.')
flags.DEFINE_bool('tensorboard', False, 'Also write TensorBoard event files (scalars per trial, '
                  'the HParams view, the incumbent); needs the tensorboard package.')
flags.DEFINE_bool('summary', True, 'Write LOG_DIR/<workload>/summary/ at the end of the sweep '
                  '(--nosummary: don\'t).')
flags.DEFINE_integer('num_devices', None, 'JAX: use the first N visible devices (default: all), '
                     'data-parallel over a mesh. PyTorch: one device per torchrun process '
                     '(README "Multiple devices").')
# Ray (README "Running on a Ray cluster"); checked in distributed.options.
flags.DEFINE_string('ray_address', None, 'Run the trials on Ray actors: local (start Ray here, '
                    'loopback only), auto or HOST:PORT (join a cluster). Unset: in this process.')
flags.DEFINE_enum('ray_storage', 'shared', ['shared', 'driver'], 'shared: each trial writes its '
                  'run_N/ (same --log_dir path on every node); driver: rows stream back and the '
                  'driver writes every file.')
flags.DEFINE_string('trial_resources', None, 'What each Ray trial asks for, e.g. cpu=1 or '
                    'cpu=8,gpu=1. Default: one GPU per trial if any, else a share of the CPUs.')
flags.DEFINE_integer('max_concurrent_trials', None, 'Trials at once: on Ray (default: as many '
                     'as the cluster holds) or, without --ray_address, in N local capped worker '
                     'processes (docs/guides/concurrency.md).', lower_bound=1)
flags.DEFINE_integer('trial_retries', 1, 'Re-runs of a trial whose worker (Ray or local pool) '
                     'or node died.', lower_bound=0)
flags.DEFINE_integer(
    'num_studies',
    1,
    'Repeat the sweep this many times with seeds derived from --rng_seed, into '
    'LOG_DIR/study_<k>/<workload>/ when above 1 (the score is the median over studies).',
    lower_bound=1,
)
flags.DEFINE_float(
    'progress_interval_sec',
    10.0,
    'Wall seconds between progress lines (step, steps/s, budget used, ETA) between evals; '
    '0: none.',
)
flags.DEFINE_float(
    'eval_period_time_sec',
    None,
    'Override the workload\'s eval period (s of submission time), for demos and debugging; '
    'recorded, and flagged by status and score as not following the workload\'s rules.',
)
flags.DEFINE_float(
    'checkpoint_interval_sec',
    300.0,
    'Wall seconds between a trial\'s checkpoints (run_N/checkpoints/; --resume and Ray retries '
    'continue from the last one); 0: none on a timer. See docs/guides/checkpoints.md.',
)
flags.DEFINE_integer('keep_checkpoints', 1, 'Checkpoints kept per trial (the newest).',
                     lower_bound=1)
flags.DEFINE_boolean('checkpoint_at_eval', False, 'Also checkpoint after every eval.')
FLAGS = flags.FLAGS


# absl flags that ask for absl's own log format (debugging): the compact console steps aside.
ABSL_FORMAT_FLAGS = ('verbosity', 'v', 'logtostderr', 'alsologtostderr')


# Re-exported for scripts that drove the runner in Python before the sweep package existed.
RUNNER_FLAGS = sweep.RUNNER_FLAGS
RunConfig = sweep.RunConfig
run = sweep.run


def main(argv: list[str]) -> int:
    if len(argv) > 1:
        print(
            f'submission_runner: error: unexpected arguments {argv[1:]}; flags look like '
            '--name=value',
            file=sys.stderr,
        )
        return 2
    if not any(name in FLAGS and FLAGS[name].present for name in ABSL_FORMAT_FLAGS):
        console.use_compact_console()
    checkpointing.redeliver_swallowed_interrupts()  # one Ctrl-C stops the run, wherever it lands
    try:
        return sweep.run(sweep.RunConfig(**{name: getattr(FLAGS, name) for name in RUNNER_FLAGS}))
    except AEError as e:  # UsageError, SearchSpaceError, DataError, LogDirError, UserPathError
        print(f'submission_runner: error: {redact.redact_paths(str(e))}', file=sys.stderr)
        return 2
    except OSError as e:
        if not files.is_disk_full(e):
            raise  # not the user's input (theirs became UserPathError where opened): a bug
        print('submission_runner: error: the disk is full (writing '
              f'{redact.display_path(e.filename)}); free '
              'space, then continue the sweep with --resume', file=sys.stderr)
        return 1
    except TrialPreempted:
        # SIGTERM/SIGUSR1: the trial checkpointed and says 'preempted'; 128 + SIGTERM.
        print('submission_runner: preempted; continue the sweep with --resume', file=sys.stderr)
        return 143
    except KeyboardInterrupt:
        # Rows written so far are intact; the interrupted trial's trial.json
        # says 'interrupted', so --resume re-runs it.
        print('submission_runner: interrupted; continue the sweep with --resume',
              file=sys.stderr)
        return 130


# absl's help flags: it prints the help, then exits 1; asking for help is no error.
HELP_FLAGS = ('-?', '--help', '--helpshort', '--helpfull', '--helpxml')


def parse_flags(argv: list[str]) -> list[str]:
    """absl's parsing, but a bad flag is one line and exit 2 like any other bad input,
    and ``--help`` exits 0."""
    try:
        return FLAGS(argv)
    except flags.Error as e:
        print(f'submission_runner: error: {e}; see --helpshort', file=sys.stderr)
        sys.exit(2)
    except SystemExit as e:
        if e.code == 1 and any(arg.split('=')[0] in HELP_FLAGS for arg in argv[1:]):
            sys.exit(0)
        raise


if __name__ == '__main__':
    app.run(main, flags_parser=parse_flags)
