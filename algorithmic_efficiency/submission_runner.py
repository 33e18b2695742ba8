r"""Runs a submission on a workload over a tuning search space.

Example (the guide's command)::

  python3 algorithmic_efficiency/submission_runner.py \
      --framework=jax --workload=mnist_jax \
      --submission_path=baselines/mnist/mnist_jax/submission.py \
      --tuning_search_space=baselines/mnist/tuning_search_space.json \
      --num_tuning_trials=2 --log_dir=$LOG_DIR

Flags are read only here; everything below takes explicit arguments. Exit
codes: 0 all trials ran (diverged trials are results, not failures), 1 a
trial failed (its error is in run_<N>/error.txt), 2 bad input.
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

import importlib.metadata  # noqa: E402
import importlib.util  # noqa: E402
import math  # noqa: E402
from typing import Any, Dict, List, Optional  # noqa: E402

from absl import app, flags  # noqa: E402
from absl import logging  # noqa: E402

from algorithmic_efficiency import random_utils, search, spec  # noqa: E402
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
    list(search.ALGORITHMS),
    'How trials are drawn: scrambled Halton (quasi-random) or uniform random.',
)
flags.DEFINE_string(
    'data_dir',
    None,
    'MNIST IDX files or a tensorflow-datasets build; omitted: the embedded 5,000-image sample.',
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
FLAGS = flags.FLAGS

RUNNER_FLAGS = (
    'framework',
    'workload',
    'submission_path',
    'tuning_ruleset',
    'tuning_search_space',
    'num_tuning_trials',
    'search_algorithm',
    'data_dir',
    'log_dir',
    'record_extra_metadata',
    'rng_seed',
    'max_global_steps',
    'max_submission_time_sec',
    'overwrite',
    'resume',
    'fsync',
    'telemetry_interval_sec',
    'summary',
    'tensorboard',
)
FRAMEWORK_PACKAGES = {'jax': ('jax', 'jaxlib', 'flax', 'optax'), 'pytorch': ('torch',)}


class UsageError(ValueError):
    """Bad input: printed as one line, exit code 2."""


def load_submission(path: str) -> Any:
    """Imports a submission file and checks it defines the four functions."""
    if not path:
        raise UsageError(
            '--submission_path is required (e.g. baselines/mnist/mnist_jax/submission.py)'
        )
    if not os.path.isfile(path):
        raise UsageError(f"--submission_path '{path}' is not a file")
    module_spec = importlib.util.spec_from_file_location('submission', path)
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)
    missing = [f for f in spec.SUBMISSION_FUNCTIONS if not callable(getattr(module, f, None))]
    if missing:
        raise UsageError(
            f"submission '{path}' does not define {', '.join(missing)}; a submission "
            f"defines {', '.join(spec.SUBMISSION_FUNCTIONS)}"
        )
    return module


def package_versions(names) -> Dict[str, str]:
    versions = {}
    for name in names:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            pass
    return versions


def _trials(
    search_space: Optional[search.SearchSpace],
    ruleset: str,
    num_trials: int,
    seed: int,
    algorithm: str,
) -> List[Optional[Dict[str, Any]]]:
    if ruleset == 'self':
        return [None]
    return search.generate_trials(
        search_space, num_trials, random_utils.derive_seed(seed, 'search'), algorithm
    )


def run(argv_flags: Dict[str, Any]) -> int:
    """The whole run from plain values (a dict of the runner's flags); returns the exit code."""
    # pylint: disable=import-outside-toplevel
    from algorithmic_efficiency import logging_utils, trainer

    f = argv_flags
    if f['overwrite'] and f['resume']:
        raise UsageError('--overwrite and --resume exclude each other; pick one')
    if not f['workload']:
        raise UsageError(f"--workload is required; known: {', '.join(registry.WORKLOADS)}")
    framework = (
        f['framework']
        or registry.WORKLOADS.get(f['workload'], registry.WorkloadEntry('', 'jax')).framework
    )
    registry.check_workload(f['workload'], framework)
    search_space = None
    if f['tuning_ruleset'] == 'external':
        if not f['tuning_search_space']:
            raise UsageError(
                '--tuning_search_space is required with --tuning_ruleset=external '
                '(e.g. baselines/mnist/tuning_search_space.json)'
            )
        if f['num_tuning_trials'] < 1:
            raise UsageError(
                f"--num_tuning_trials must be at least 1, got {f['num_tuning_trials']}"
            )
        search_space = search.load_search_space(f['tuning_search_space'])
    elif f['tuning_search_space']:
        raise UsageError(
            '--tuning_search_space is for --tuning_ruleset=external; with self the '
            'submission tunes itself'
        )
    if f['max_submission_time_sec'] is not None and f['max_submission_time_sec'] <= 0:
        raise UsageError(
            f"--max_submission_time_sec must be positive, got {f['max_submission_time_sec']}"
        )
    if f['telemetry_interval_sec'] <= 0:
        raise UsageError(
            f"--telemetry_interval_sec must be positive, got {f['telemetry_interval_sec']}"
        )
    extra = logging_utils.parse_extra_metadata(f['record_extra_metadata'])
    # CUDA numbers GPUs fastest-first by default, NVML by PCI bus: with this the
    # gpu.<i> columns and the framework's device i are the same card.
    os.environ.setdefault('CUDA_DEVICE_ORDER', 'PCI_BUS_ID')
    if framework == 'jax':
        # Before anything imports JAX (the submission does). JAX would grab
        # ~75 % of GPU memory up front, which makes the memory columns
        # meaningless; allocate on demand unless the user decided otherwise.
        os.environ.setdefault('XLA_PYTHON_CLIENT_PREALLOCATE', 'false')
    submission = load_submission(f['submission_path'])

    tensorboard_hparams = None
    if f['tensorboard']:
        if not f['log_dir']:
            raise UsageError('--tensorboard writes into --log_dir; give a --log_dir')
        try:
            from algorithmic_efficiency import tb_writer
        except ModuleNotFoundError as e:
            raise UsageError(f"--tensorboard needs the '{e.name}' package; install it with: "
                             "pip install -e '.[tensorboard]'") from e
        tensorboard_hparams = tb_writer.searched_hparams(
            search_space.to_json() if search_space else None)
    recorder, skip, rng_seed = None, set(), f['rng_seed']
    if f['log_dir']:
        mode = 'overwrite' if f['overwrite'] else 'resume' if f['resume'] else 'new'
        recorder = logging_utils.Recorder(
            f['log_dir'],
            f['workload'],
            mode=mode,
            fsync=f['fsync'],
            telemetry_interval_sec=f['telemetry_interval_sec'],
            extra_metadata=extra,
            tensorboard_hparams=tensorboard_hparams,
        )
        previous = recorder.previous_metadata() if mode == 'resume' else None
        if previous is not None:
            if rng_seed is not None and rng_seed != previous.get('rng_seed'):
                raise UsageError(
                    f"--rng_seed={rng_seed} differs from the resumed sweep's "
                    f"{previous.get('rng_seed')}; omit --rng_seed to resume it"
                )
            if search_space is not None and previous.get('search_space') != search_space.to_json():
                raise UsageError(
                    f"--tuning_search_space {f['tuning_search_space']} differs from the "
                    'resumed sweep\'s; resume with the same file or use a new --log_dir'
                )
            rng_seed = previous.get('rng_seed')
        recorder.check()
    if rng_seed is None:
        rng_seed = random_utils.draw_seed()
        logging.info('No --rng_seed given: drew %d (recorded in metadata.json)', rng_seed)
    trials = _trials(
        search_space, f['tuning_ruleset'], f['num_tuning_trials'], rng_seed, f['search_algorithm']
    )

    workload = registry.load_workload(f['workload'], framework)
    data_info = workload.prepare_data(f['data_dir'])
    logging.info('Data: %s', data_info.get('data.description'))

    if recorder is not None:
        skip = recorder.prepare()  # only now, after every input was checked, touch the disk
        recorder.write_metadata(
            sweep_metadata(
                f, framework, workload, rng_seed, len(trials), search_space, data_info, extra
            )
        )
        recorder.write_packages()
        if f['tensorboard']:
            from algorithmic_efficiency import tensorboard

            tensorboard.write_experiment_config(recorder.workload_dir)

    sweep = trainer.score_submission_on_workload(
        workload,
        f['workload'],
        framework,
        submission,
        trials,
        rng_seed,
        data_dir=f['data_dir'],
        recorder=recorder,
        skip=skip,
        max_submission_time_sec=f['max_submission_time_sec'],
        max_global_steps=f['max_global_steps'],
    )
    print(format_summary(f['workload'], sweep), flush=True)
    if recorder is not None and f['summary']:
        from algorithmic_efficiency.analysis import summary  # pandas: only now

        for path in summary.write_summaries(recorder.workload_dir):
            logging.info('Summary: %s', path)
    if recorder is not None and f['tensorboard']:
        from algorithmic_efficiency import tensorboard

        tensorboard.write_incumbent(recorder.workload_dir)
        logging.info('TensorBoard: tensorboard --logdir %s', f['log_dir'])
    return 1 if sweep.failed else 0


def sweep_metadata(
    f: Dict[str, Any],
    framework: str,
    workload: spec.Workload,
    rng_seed: int,
    num_trials: int,
    search_space: Optional[search.SearchSpace],
    data_info: Dict[str, Any],
    extra: Dict[str, str],
) -> Dict[str, Any]:
    """metadata.json: the guide's keys, then what makes the sweep reproducible."""
    # pylint: disable=import-outside-toplevel
    from algorithmic_efficiency import sysinfo, telemetry

    return {
        'workload': f['workload'],
        'framework': framework,
        'log_dir': f['log_dir'],
        **sysinfo.system_metadata(None),  # git of this code's checkout
        **telemetry.gpu_info(),
        **workload.properties(),
        'framework_versions': package_versions(FRAMEWORK_PACKAGES[framework]),
        'rng_seed': rng_seed,
        'tuning_ruleset': f['tuning_ruleset'],
        'num_tuning_trials': num_trials,
        'search_algorithm': f['search_algorithm'],
        'search_space': search_space.to_json() if search_space else None,
        'flags': {k: f[k] for k in RUNNER_FLAGS},
        **data_info,
        **extra,
    }


def format_summary(workload_name: str, sweep: Any) -> str:
    """A plain table of the trials and the sweep's score, for the console."""
    lines = [
        f'{workload_name}: {len(sweep.trials)} trial(s)',
        f"{'trial':>5}  {'status':<9} {'steps':>6} {'time_s':>7} {'loss':>8} "
        f"{'accuracy':>8} {'to_target_s':>11}  note",
    ]
    for t in sweep.trials:
        final = t.final_eval
        fmt = lambda v, spec_: format(v, spec_) if isinstance(v, (int, float)) else '-'
        lines.append(
            f'{t.run_idx:>5}  {t.status:<9} {t.global_step:>6} '
            f'{t.accumulated_submission_time:>7.1f} {fmt(final.get("loss"), ">8.4f")} '
            f'{fmt(final.get("accuracy"), ">8.4f")} {fmt(t.time_to_target, ">11.1f")}  '
            f'{t.error or t.stop_reason}'
        )
    score = sweep.score
    lines.append(
        'score (fastest time to target): '
        + (f'{score:.2f} s' if math.isfinite(score) else 'inf (no trial reached the target)')
    )
    return '\n'.join(lines)


def main(argv: List[str]) -> int:
    if len(argv) > 1:
        print(
            f'submission_runner: error: unexpected arguments {argv[1:]}; flags look like '
            '--name=value',
            file=sys.stderr,
        )
        return 2
    try:
        return run({name: getattr(FLAGS, name) for name in RUNNER_FLAGS})
    except ValueError as e:  # UsageError, SearchSpaceError, DataError, LogDirError, ...
        print(f'submission_runner: error: {e}', file=sys.stderr)
        return 2
    except OSError as e:  # e.g. a --log_dir this user can't write
        print(f'submission_runner: error: {e}; check the path exists and is writable',
              file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        # Rows written so far are intact; the interrupted trial's trial.json
        # still says 'running', so --resume re-runs it.
        print('submission_runner: interrupted; continue the sweep with --resume',
              file=sys.stderr)
        return 130


def parse_flags(argv: List[str]) -> List[str]:
    """absl's parsing, but a bad flag is one line and exit 2 like any other bad input."""
    try:
        return FLAGS(argv)
    except flags.Error as e:
        print(f'submission_runner: error: {e}; see --helpshort', file=sys.stderr)
        sys.exit(2)


if __name__ == '__main__':
    app.run(main, flags_parser=parse_flags)
