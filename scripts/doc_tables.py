"""What the code does not say about its outputs: meanings and units, read by gen_docs.py.

Names come from the code (layout.py, the recorder, the flags); gen_docs.py
refuses a name here the code lacks and a name of the code missing here, so
adding a column, key or flag means adding its line below, then running
``python scripts/gen_docs.py``.
"""

# Where each README section of old lives now (flag help strings still cite them).
README_SECTIONS = {
    'Search spaces': 'guides/running-sweeps.md#search-spaces',
    'MNIST data': 'guides/workloads-and-data.md#mnist-data',
    'CIFAR-10 data': 'guides/workloads-and-data.md#cifar-10-data',
    'Multiple devices': 'guides/multiple-devices.md',
    'Running on a Ray cluster': 'guides/ray.md',
    'Running AlgoPerf submissions': 'guides/algoperf.md',
}

# ---------------------------------------------------------------------------
# Flags
# ---------------------------------------------------------------------------
FLAG_HELP_OVERRIDES = {
    # absl's own flag ("directory to write logfiles into"), reused by the runner as the guide does.
    'log_dir': 'Output directory (absl\'s own flag, reused as the guide does): '
    'LOG_DIR/<workload>/. Without it the sweep runs and records nothing, at no cost.',
}
FLAG_GUIDES = {
    'framework': 'guides/workloads-and-data.md',
    'workload': 'guides/workloads-and-data.md',
    'submission_path': 'guides/submissions.md',
    'tuning_ruleset': 'guides/running-sweeps.md#search-spaces',
    'tuning_search_space': 'guides/running-sweeps.md#search-spaces',
    'num_tuning_trials': 'guides/running-sweeps.md#search-spaces',
    'search_algorithm': 'guides/running-sweeps.md#search-spaces',
    'data_dir': 'guides/workloads-and-data.md#mnist-data',
    'log_dir': 'reference/output-files.md',
    'record_extra_metadata': 'reference/metadata-json.md',
    'rng_seed': 'guides/running-sweeps.md#seeds',
    'max_global_steps': 'guides/running-sweeps.md#what-is-timed',
    'max_submission_time_sec': 'guides/running-sweeps.md#what-is-timed',
    'overwrite': 'guides/running-sweeps.md#resuming-and-overwriting',
    'resume': 'guides/running-sweeps.md#resuming-and-overwriting',
    'fsync': 'reference/output-files.md#metricscsv',
    'telemetry_interval_sec': 'reference/metrics-csv.md',
    'summary': 'guides/analysis.md#summary-files',
    'tensorboard': 'guides/tensorboard.md',
    'num_devices': 'guides/multiple-devices.md',
    'ray_address': 'guides/ray.md#flags',
    'ray_storage': 'guides/ray.md#flags',
    'trial_resources': 'guides/ray.md#flags',
    'max_concurrent_trials': 'guides/ray.md#flags',
    'trial_retries': 'guides/ray.md#flags',
    'num_studies': 'guides/scoring.md#studies',
    'progress_interval_sec': 'guides/running-sweeps.md#progress-and-the-console',
    'eval_period_time_sec': 'guides/running-sweeps.md#what-is-timed',
    'checkpoint_interval_sec': 'guides/checkpoints.md',
    'keep_checkpoints': 'guides/checkpoints.md',
    'checkpoint_at_eval': 'guides/checkpoints.md',
}
FLAGS_INTRO = """# Runner flags

`python3 algorithmic_efficiency/submission_runner.py --flag=value ...` (or
`python -m algorithmic_efficiency.submission_runner`). Every flag is also a field of
`sweep.RunConfig` with the same name and default, and `metadata.json` records them all under
`flags`. A numeric flag outside its range, an unknown flag or a bad choice is one line on stderr
and exit code 2, before anything is written ([bad input](../guides/bad-input.md)).

"""
FLAGS_OUTRO = """
Boolean flags also take `--name=false`. Without `--overwrite` or `--resume`, a `--log_dir` that
already holds this workload's runs is refused (exit 2); nothing is touched. `--verbosity=0`
(or `-v`, `--logtostderr`, `--alsologtostderr`, absl's own flags) brings back absl's full log
format. Exit codes: [exit codes](exit-codes.md).
"""

# ---------------------------------------------------------------------------
# metrics.csv: layout.METRICS_SCHEMA's columns ...
# ---------------------------------------------------------------------------
COLUMNS = {
    # name: (unit, when, meaning)
    'framework': ('—', 'always', '`jax` or `pytorch`'),
    'workload': ('—', 'always', "the workload's name, e.g. `mnist_jax` (tells rows of "
                 '`all_metrics.csv` apart when one framework has several workloads)'),
    'run_idx': ('—', 'always', 'the trial, N of `run_N` (from 1)'),
    'accumulated_submission_time': ('s', 'always', 'submission time up to this eval '
                                    '([what is timed](../guides/running-sweeps.md#what-is-timed))'),
    'global_step': ('steps', 'always', '`update_params` calls so far'),
    'epoch': ('epochs', 'always', '`global_step × batch_size / num_train_examples` (exact: '
              'batches run across epoch boundaries, nothing dropped)'),
    'batch_size': ('examples', 'always', "from the submission's `get_batch_size`"),
    'steps_per_epoch': ('steps', 'always', '`num_train_examples // batch_size`'),
    'global_start_time': ('Unix s', 'always', 'wall-clock time the trial started'),
    'wall_time': ('Unix s', 'always', "wall-clock time this row's training interval ended (the "
                  'telemetry was read and the eval began): lines rows up with other monitoring'),
    'goal_reached': ('`True`/`False`', 'always', 'this eval met the target (`accuracy >= 0.97` '
                     'for full MNIST, `>= 0.90` on the embedded sample, `>= 0.85` for CIFAR-10 '
                     'on validation)'),
    'eval_time_sec': ('s', 'always', 'wall time of this eval (untimed for the submission)'),
    'status': ('—', 'always', '`running` on every row but the last of a finished trial, which '
               'says `complete` or `diverged` (a failed trial has no closing row: see '
               '[trial.json](trial-json.md))'),
    'checkpoint.seconds': ('s', 'always', 'wall seconds spent writing checkpoints so far in this '
                           'trial (excluded from `accumulated_submission_time`; '
                           '[checkpoints](../guides/checkpoints.md))'),
    'trial.resumed_from_step': ('step', 'after a resume', 'the checkpoint step this attempt '
                                'continued from (empty: the attempt started at step 0)'),
}
# ... and each group's members: (pattern, type, unit, when, meaning).
GROUPS = {
    'eval metrics': [
        ('accuracy', 'float', 'fraction 0–1', 'always', 'on the split the target is on, '
         '`workload.target_split` (MNIST: test; CIFAR-10: validation)'),
        ('loss', 'float', 'nats', 'always', 'mean cross-entropy on that split (padding excluded)'),
        ('train.<metric>', 'float', 'as above', 'CIFAR-10', '`train.accuracy`, `train.loss`: the '
         'same on a fixed subset of the training split the size of validation'),
        ('test.<metric>', 'float', 'as above', 'CIFAR-10', '`test.accuracy`, `test.loss`: the '
         'same on the test split. Any other metric a workload\'s `eval_model` returns becomes a '
         'column of its own here, before `batch_size`'),
    ],
    'hyperparameters': [
        ('hparam.<name>', 'as searched', 'as searched', 'external ruleset',
         'one per hyperparameter of the trial (none with `--tuning_ruleset=self`)'),
    ],
    'workload properties': [
        ('workload.<property>', 'as in metadata', 'as in metadata', 'always', "the workload's "
         'properties, the same keys as [metadata.json](metadata-json.md) (a tuple as the text '
         '`(r, g, b)`)'),
    ],
    'framework memory': [
        ('framework.<i>.mem.in_use_bytes', 'int', 'bytes', 'GPU runs', "memory the framework's "
         'allocator has handed to arrays/tensors on device `i` (JAX `memory_stats()'
         "['bytes_in_use']`, PyTorch `memory_allocated`), read just before the eval"),
        ('framework.<i>.mem.peak_bytes', 'int', 'bytes', 'GPU runs', 'the peak of the above (JAX: '
         'since the process started; PyTorch: since the trial started)'),
        ('framework.<i>.mem.reserved_bytes', 'int', 'bytes', 'PyTorch on CUDA', 'what the caching '
         "allocator holds from the driver (NVML's `gpu.<i>.mem.used` is at least this)"),
        ('framework.<i>.mem.peak_reserved_bytes', 'int', 'bytes', 'PyTorch on CUDA',
         'the peak of the above'),
        ('framework.<i>.mem.limit_bytes', 'int', 'bytes', 'JAX on GPU', "the allocator's limit"),
    ],
    'throughput': [
        ('throughput.examples_per_sec', 'float', 'examples/s', 'always', 'examples (images, '
         'token sequences) trained per second of submission time since the last eval (the first '
         'interval includes compilation)'),
        ('throughput.tokens_per_sec', 'float', 'tokens/s', 'language models', 'the same in tokens '
         '(examples × sequence length)'),
        ('throughput.model_flops_per_step', 'float', 'FLOP', 'language models', "one training "
         "step's model FLOPs, counted analytically: tokens × (6 N + 12 L S D), N parameters "
         '(embeddings included, tied), L layers, S sequence length, D width '
         '([language models](../guides/language-models.md))'),
        ('throughput.mfu', 'float', 'fraction 0–1', 'language models', 'model FLOP/s achieved / '
         'the peak FLOP/s of the devices (`devices.peak_flops` × `devices.count` in '
         '[metadata.json](metadata-json.md))'),
    ],
    'telemetry': [
        ('cpu.util.avg_percent_since_last', 'float', '% (0–100)', 'always', 'system-wide CPU use '
         'averaged over the interval (from `psutil.cpu_times()` deltas)'),
        ('cpu.freq.current', 'float', 'GHz', 'if the OS reports it', 'current CPU frequency'),
        ('temp.<sensor>.current', 'float', '°C', 'with sensors', 'hottest reading of each sensor'),
        ('mem.total', 'int', 'bytes', 'always', 'system memory (`psutil.virtual_memory()`)'),
        ('mem.available', 'int', 'bytes', 'always', 'system memory available'),
        ('mem.used', 'int', 'bytes', 'always', 'system memory used'),
        ('mem.percent_used', 'float', '%', 'always', 'system memory used, in percent'),
        ('disk.read_bytes_since_boot', 'int', 'bytes', 'if psutil has disk counters',
         'system disk I/O counter. **Renamed**: the guide called it `mem.read_bytes_since_boot`'),
        ('disk.write_bytes_since_boot', 'int', 'bytes', 'if psutil has disk counters',
         'system disk I/O counter (the guide\'s `mem.write_bytes_since_boot`)'),
        ('net.bytes_sent_since_boot', 'int', 'bytes', 'if psutil has net counters',
         'system network counter'),
        ('net.bytes_recv_since_boot', 'int', 'bytes', 'if psutil has net counters',
         'system network counter'),
        ('gpu.count', 'int', 'GPUs', 'always', 'visible GPUs (0 without NVML or GPUs)'),
        ('gpu.<i>.compute.util', 'float', 'fraction 0–1', 'GPU runs', "NVML utilisation at the "
         "reading. `i` is the GPU's position in `CUDA_VISIBLE_DEVICES` (the runner sets "
         '`CUDA_DEVICE_ORDER=PCI_BUS_ID` unless you set it, so CUDA\'s and NVML\'s numbering '
         'agree)'),
        ('gpu.<i>.mem.util', 'float', 'fraction 0–1', 'GPU runs', 'GPU memory used / total'),
        ('gpu.<i>.mem.total', 'float', 'MiB', 'GPU runs', 'GPU memory'),
        ('gpu.<i>.mem.used', 'float', 'MiB', 'GPU runs', 'GPU memory used'),
        ('gpu.<i>.mem.free', 'float', 'MiB', 'GPU runs', 'GPU memory free'),
        ('gpu.<i>.temp.current', 'float', '°C', 'GPU runs', 'GPU temperature'),
        ('gpu.<i>.power.current_watts', 'float', 'W', 'GPU runs', 'power draw at the reading'),
        ('gpu.<i>.compute.util.interval_mean', 'float', 'fraction 0–1', 'GPU runs',
         "mean over the interval's samples"),
        ('gpu.<i>.compute.util.interval_max', 'float', 'fraction 0–1', 'GPU runs',
         "max over the interval's samples"),
        ('gpu.<i>.power.interval_mean_watts', 'float', 'W', 'GPU runs',
         "mean over the interval's samples"),
        ('gpu.<i>.power.interval_max_watts', 'float', 'W', 'GPU runs',
         "max over the interval's samples"),
        ('gpu.<i>.energy.trial_joules', 'float', 'J', 'GPU runs', 'energy since the trial started '
         "(evals included), from NVML's total-energy counter (Volta and newer), else integrated "
         'from sampled power'),
        ('gpu.avg.<metric>', 'float', 'as the metric', 'GPU runs', 'mean over the GPUs that '
         'answered in this row, for every `gpu.<i>.<metric>`'),
        ('gpu.total.power.current_watts', 'float', 'W', 'GPU runs',
         'sum over the GPUs that answered'),
        ('gpu.total.energy.trial_joules', 'float', 'J', 'GPU runs',
         'sum over the GPUs that answered'),
        ('cpu.util.interval_mean_percent', 'float', '%', 'always (empty if too short)',
         "mean of the sampler's CPU readings in the interval"),
        ('cpu.util.interval_max_percent', 'float', '%', 'always (empty if too short)',
         "max of the sampler's CPU readings in the interval"),
        ('proc.rss_bytes', 'int', 'bytes', 'always', "this process's resident memory"),
        ('proc.cpu.avg_percent_since_last', 'float', '% of one core', 'always',
         "this process's CPU use over the interval (can exceed 100)"),
        ('proc.num_threads', 'int', 'threads', 'always', "this process's threads"),
        ('energy.submission_joules', 'float', 'J', 'when `energy.sources` is not empty',
         "energy over the trial's **timed intervals** so far (evals excluded, like "
         '`accumulated_submission_time`): GPU energy from NVML plus CPU package energy from RAPL '
         '(wrap-around handled); an interval with a failed reading adds nothing'),
        ('node.id', 'str', '—', 'Ray sweeps', 'anonymous, stable name of the node that ran the '
         "trial (`node-` + 10 hex digits of a SHA-256 of Ray's node id; never a host name or IP)"),
        ('devices.visible', 'str', '—', 'trials run by the local pool or Ray on a machine with '
         'GPUs', "the GPU(s) the trial saw (its `CUDA_VISIBLE_DEVICES`, e.g. `1`): one trial per "
         'GPU, so trials that ran side by side name their own device'),
    ],
    'extra metadata': [
        ('<key>', 'str', '—', 'with `--record_extra_metadata`',
         'one column per `--record_extra_metadata key=value`, after the telemetry'),
    ],
}
METRICS_INTRO = """# metrics.csv columns

`LOG_DIR/<workload>/run_<N>/metrics.csv`: one row per eval, in this order (the order of
`layout.METRICS_SCHEMA`, the one definition the trainer, the recorder and the loader read).
The telemetry columns describe the *training interval since the previous eval*, read just
before this eval started (a background thread samples every `--telemetry_interval_sec`).
A reading this machine can't provide is an **absent column** (or an empty value), never a
made-up number. How the file is written and read: [output files](output-files.md#metricscsv).

"""
METRICS_OUTRO = """
The `framework.*` columns are **absent on the CPU**, where neither XLA's CPU client nor PyTorch
keeps allocator statistics. An NVML error in the middle of a trial empties that GPU's columns
for the row, is logged once, and the trial goes on; later rows retry. A
`--record_extra_metadata` key may not collide with a column above or start with a reserved
prefix (`hparam.` `workload.` `data.` `cpu.` `mem.` `disk.` `net.` `gpu.` `temp.` `proc.`
`framework.` `trial.` `meta.` `node.` `energy.` `study.` `devices.` `distributed.` `train.`
`validation.` `test.`). The analysis loader adds `sweep`, `eval_idx`, `trial.*`, `run_dir` and
`meta.*` to these ([analysis](../guides/analysis.md#in-python)).
"""

# ---------------------------------------------------------------------------
# metadata.json and trial.json
# ---------------------------------------------------------------------------
# Columns the analysis loader adds (recorder.BUILTIN_METADATA_KEYS lists them too).
LOADER_COLUMNS = ('sweep', 'eval_idx', 'run_dir')
METADATA = [
    # (key, when, meaning), in the file's order
    ('workload', 'always', 'as given'),
    ('framework', 'always', 'as given, or the workload\'s'),
    ('log_dir', 'always', 'as given (relative to the working directory, else `~/…`)'),
    ('datetime', 'always', 'local time the sweep started, ISO 8601 (`2026-11-23T16:54:01.226526`)'),
    ('python_version', 'always', '`3.11.7`'),
    ('python_compiler', 'always', '`GCC 12.2.0`'),
    ('os_platform', 'always', '`platform.platform()` (no hostname)'),
    ('git_branch', 'in a git checkout', "the branch of the work tree holding the runner's code; "
     'left out (with a warning) without git, outside a repository, or on a detached HEAD'),
    ('git_commit_hash', 'in a git checkout', 'the commit'),
    ('git_dirty', 'in a git checkout', 'true if `git status --porcelain` lists anything'),
    ('cpu_model_name', 'if found', 'from `/proc/cpuinfo`, else `lscpu`, else '
     '`platform.processor()`'),
    ('cpu_count', 'always', 'logical CPUs'),
    ('cpu_count_physical', 'always', 'physical cores'),
    ('mem_total_bytes', 'always', 'RAM in bytes'),
    ('gpu_count', 'always', 'GPUs this process can see (NVML, honouring `CUDA_VISIBLE_DEVICES`); '
     '0 without NVML'),
    ('gpu_model_name', 'with GPUs', 'different models joined with `, `'),
    ('gpu_driver', 'with GPUs', 'the NVIDIA driver version'),
    ('devices.count', 'always', 'devices the global batch is split over '
     '([multiple devices](../guides/multiple-devices.md))'),
    ('devices.kind', 'always', 'their kind (`cpu`, `NVIDIA H100 80GB HBM3`, ...)'),
    ('devices.peak_flops', 'always', 'peak FLOP/s of one device in `devices.peak_flops_dtype`: '
     'a datasheet table for known GPUs, a NumPy matmul timed at start-up on CPUs'),
    ('devices.peak_flops_source', 'always', 'where `devices.peak_flops` came from (the table '
     'entry, or the matmul micro-benchmark and its size)'),
    ('devices.peak_flops_dtype', 'always', "the workload's compute dtype the peak is for "
     '(`float32`, `bfloat16`)'),
    ('distributed.world_size', 'always', 'processes of the run: `1` (every JAX run, PyTorch '
     "without `torchrun`), else `torchrun`'s count"),
    ('distributed.backend', 'always', '`none`, `gloo` (CPU) or `nccl` (CUDA)'),
    ('energy.sources', 'always', 'what `energy.submission_joules` adds up: `["nvml"]` (GPU energy '
     'counters), `["rapl"]` (CPU package counters, `/sys/class/powercap/intel-rapl:<n>/energy_uj`, '
     'where readable: often root only), both, or `[]` (not measured: the column is absent)'),
    ('workload.<property>', 'always', '`eval_period_time_sec`, `max_allowed_runtime_sec`, '
     '`num_eval_examples`, `num_train_examples`, `target_value`, `train_mean`, `train_stddev`, '
     '`target_metric_name`; CIFAR-10 adds `target_split` (`validation`), '
     '`num_eval_train_examples`, `num_test_examples`, `step_hint`, and its `train_mean`/'
     '`train_stddev` are per-channel (R, G, B) lists ([workloads](workloads.md))'),
    ('framework_versions', 'always', '`{"jax": …, "jaxlib": …, "flax": …, "optax": …}` or '
     '`{"torch": …}`'),
    ('rng_seed', 'always', "the sweep's seed (given or drawn)"),
    ('tuning_ruleset', 'always', 'as run'),
    ('num_tuning_trials', 'always', 'as run'),
    ('search_algorithm', 'always', 'as run'),
    ('search_space', 'always', 'the normalised search space (defaults filled in), or `null` for '
     '`self`'),
    ('submission.api', 'always', '`native`, `algoperf-compat` (an AlgoPerf submission through this '
     "project's layer) or `algoperf <version>` (the real package): see "
     '[AlgoPerf submissions](../guides/algoperf.md)'),
    ('flags', 'always', "every runner flag's value ([flags](flags.md); the Ray flags only for a "
     'Ray sweep)'),
    ('data.source', 'always', 'MNIST `embedded`, `idx`, `tfds`; CIFAR-10 `python`, `archive`, '
     '`tfds`'),
    ('data.description', 'always', 'where the data came from, in words'),
    ('data.path', 'always', 'the files read'),
    ('data.num_train_examples', 'always', 'training examples actually loaded'),
    ('data.num_eval_examples', 'always', 'examples of the target split actually loaded'),
    ('data.num_train_tokens', 'language models', 'tokens of the training split'),
    ('data.num_val_tokens', 'language models', 'tokens of the validation split'),
    ('data.sha256', 'LM offline corpus', "sha256 of the corpus text read (CPython's `pydoc_data` "
     'topics, as bytes)'),
    ('data.calibrated_sha256', 'LM offline corpus', 'sha256 of the corpus the tiny target was '
     'calibrated on: a different value means the target may not carry over'),
    ('data.comparable_to_finewebedu', 'language models', '`false` on the offline corpus (its own '
     'target): never compare it with FineWeb-Edu'),
    ('data.num_eval_train_examples', 'CIFAR-10', 'the fixed training subset evaluated'),
    ('data.num_test_examples', 'CIFAR-10', 'test examples'),
    ('data.comparable_to_full_mnist', 'MNIST', '`false` for the embedded sample (its own target, '
     "0.90): its times to target are not comparable with full MNIST's"),
    ('study.index', '`--num_studies` > 1', "this study's k"),
    ('study.count', '`--num_studies` > 1', 'K'),
    ('study.base_rng_seed', '`--num_studies` > 1', "the seed the studies' seeds derive from "
     "(`rng_seed` is the study's own; `flags` keeps the command line)"),
    ('nodes', 'Ray sweeps', 'one entry per node of the cluster at start-up: `node.id`, '
     '`cpu_model_name`, `cpu_count`, `cpu_count_physical`, `mem_total_bytes`, `gpu_count`, '
     '`gpu_model_name`, `gpu_driver`'),
    ('ray', 'Ray sweeps', '`version`, `storage`, the `trial_resources` each trial got, '
     '`max_concurrent_trials`, `trial_retries`'),
    ('concurrency', '`--max_concurrent_trials` > 1 without Ray', '`executor` (`local_pool`), '
     '`max_concurrent_trials`, `slots` (each slot\'s `cpus`, `threads`, `gpus`), '
     '`max_worker_rss_bytes`, `jax_compilation_cache_dir`: `score` warns when it mixes sweeps '
     'of different concurrency'),
    ('resumed_at', 'after `--resume`', "the `datetime` of each resume (the original file is kept)"),
    ('<key>', 'with `--record_extra_metadata`', 'your keys, as given (strings)'),
]
METADATA_INTRO = """# metadata.json keys

`LOG_DIR/<workload>/metadata.json`: the sweep, written once when it starts (atomically). On
`--resume` the original is kept and the resume time appended to `resumed_at`. Strict JSON: a
non-finite number is `null`. Never recorded: a hostname, a username, a git remote URL, any
environment variable's value, credentials (tested).

"""
METADATA_OUTRO = ''
TRIAL = [
    ('run_idx', 'always', 'the trial, N of `run_N`'),
    ('status', 'always', '{statuses}: `running` while it runs or after it was killed (which '
     '`status` shows as `stale`), `interrupted` after Ctrl-C, `preempted` after SIGTERM/SIGUSR1 '
     '(checkpointed; `--resume` continues it)'),
    ('hyperparameters', 'always', "the trial's hyperparameters (`null` with "
     '`--tuning_ruleset=self`)'),
    ('seed', 'always', "the trial's seed, `derive_seed(rng_seed, 'trial', N)`"),
    ('started', 'always', 'Unix s'),
    ('host_id', 'always', 'the running host as a keyed hash with this sweep\'s salt: equal ids '
     'mean the same host, and the host name cannot be recovered from it'),
    ('host_salt', 'always', 'the random per-sweep salt `host_id` was computed with (lets '
     '`status` recognise its own host\'s dead trials)'),
    ('pid', 'always', 'the process running it'),
    ('heartbeat_interval_sec', 'always', 'how often the heartbeat is rewritten (s of training)'),
    ('heartbeat.step', 'while training', '`update_params` calls so far (the heartbeat is '
     'rewritten atomically every 5 s of training and at every eval)'),
    ('heartbeat.accumulated_submission_time', 'while training', 's of submission time so far'),
    ('heartbeat.wall_time', 'while training', 'Unix s of the look'),
    ('heartbeat.steps_per_sec', 'while training', 'over submission time since the previous look'),
    ('heartbeat.budget_sec', 'while training', "the trial's submission-time budget"),
    ('heartbeat.eta_sec', 'while training', 'the smaller of the budget left and the steps left '
     "(to the step cap or the workload's step hint) at the current rate"),
    ('stop_reason', 'when ended', '{reasons}'),
    ('global_step', 'when ended', 'step reached'),
    ('accumulated_submission_time', 'when ended', 's'),
    ('time_to_target', 'when ended', 's of submission time at the first eval at target, or `null`'),
    ('num_evals', 'when ended', 'rows in `metrics.csv`'),
    ('final_loss', 'when ended', "the last eval's loss"),
    ('final_accuracy', 'when ended', "the last eval's accuracy"),
    ('error', 'when ended', 'type and first line of a failed trial\'s error (full traceback in '
     '`run_N/error.txt`), else `null`'),
    ('finished', 'when ended', 'Unix s'),
    ('<key>_text', 'non-finite numbers', 'a non-finite number is `null` with its text beside it '
     '(`"final_loss": null, "final_loss_text": "nan"`)'),
    ('node.id', 'Ray sweeps', 'the node that ran the trial (as the `node.id` column)'),
    ('attempt', 'Ray sweeps, local pool', '1, 2, ... on retries'),
    ('task_started', 'Ray sweeps', 'when the worker began the trial: for an actor\'s first trial '
     'when the actor began, before importing the framework'),
    ('resumed_from_step', 'after a resume from a checkpoint', 'the checkpoint step the latest '
     'attempt continued from'),
    ('resumes', 'after a resume from a checkpoint', 'one entry per resume: `from_step`, '
     '`checkpoint_wall_time`, `resumed_at` (Unix s); the wall time lost to a kill is '
     '`resumed_at - checkpoint_wall_time`, never counted as submission time'),
    ('compute.slot', 'local pool, Ray sweeps', 'the slot (0..N-1) whose CPUs/GPU the trial had; '
     'on Ray the slot on its node, `null` when every slot of the node was taken'),
    ('compute.cpus', 'local pool, Ray sweeps', 'the CPUs the worker was pinned to '
     '(`sched_setaffinity`); `null`: not pinned'),
    ('compute.threads', 'local pool, Ray sweeps', 'intra-op threads the frameworks were capped to'),
    ('compute.concurrent_trials', 'local pool, Ray sweeps', 'how many trials ran at once (N)'),
    ('compute.env', 'local pool, Ray sweeps', 'the thread variables set before the framework was '
     'imported (`OMP_NUM_THREADS`, `MKL_NUM_THREADS`, `OPENBLAS_NUM_THREADS`, `PJRT_NPROC`)'),
    ('devices.visible', 'local pool, Ray sweeps', '`CUDA_VISIBLE_DEVICES` of the trial (`null`: '
     'not set)'),
    ('worker.pid', 'local pool, Ray sweeps', 'the worker process (Ray: the actor) that ran the '
     'trial'),
    ('worker.trials_served', 'local pool, Ray sweeps', 'trials this worker has run, this one '
     'included (a fresh worker after a failure or above the memory limit)'),
    ('launched', 'local pool, Ray sweeps', 'Unix s when the driver handed the trial to a worker '
     '(launch -> first step is `started`... the first heartbeat)'),
]
TRIAL_INTRO = """# trial.json keys

`LOG_DIR/<workload>/run_<N>/trial.json`: written when the trial starts, rewritten atomically
with a heartbeat while it trains, and completed when it ends. A failed trial's full traceback
is in `run_N/error.txt`. What `status` makes of it: [analysis](../guides/analysis.md#status).

"""
TRIAL_OUTRO = ''

# ---------------------------------------------------------------------------
# Workloads, CLIs, layout
# ---------------------------------------------------------------------------
WORKLOADS_NOTE = (
    'MNIST without `--data_dir` trains on an embedded 5,000-image sample with its own target, '
    'accuracy ≥ {target:.2f}, and an eval every {period:g} s '
    '([data]({prefix}guides/workloads-and-data.md#mnist-data)). '
    'Budgets and eval periods are seconds of submission time.\n'
)
WORKLOADS_INTRO = """# Workloads

Generated from the registry (`algorithmic_efficiency/workloads/registry.py`) and each
workload's properties (full data sets). What the data, models and splits are:
[workloads and data](../guides/workloads-and-data.md).

"""
WORKLOADS_OUTRO = ''
CLIS = [
    ('algorithmic_efficiency.status', 'guides/analysis.md#status'),
    ('algorithmic_efficiency.summary', 'guides/analysis.md#summary-files'),
    ('algorithmic_efficiency.plot', 'guides/analysis.md#plots'),
    ('algorithmic_efficiency.score', 'guides/scoring.md'),
    ('algorithmic_efficiency.tensorboard', 'guides/tensorboard.md'),
    ('algorithmic_efficiency.dashboard', 'guides/dashboard.md'),
    ('algorithmic_efficiency.datasets', 'guides/workloads-and-data.md#mnist-data'),
]
CLI_INTRO = """# Command-line tools

The runner's flags are on [their own page](flags.md). The commands below read files only (no
JAX, no PyTorch) except `datasets`, which downloads. Bad input is one line on stderr and exit
code 2 ([exit codes](exit-codes.md)).
"""
CLI_OUTRO = """
## concatenate_csvs

```bash
python3 -c "from algorithmic_efficiency import logging_utils; \\
logging_utils.concatenate_csvs('LOG_DIR')"
```

writes `LOG_DIR/all_metrics.csv` from every `metrics.csv` below `LOG_DIR`
([output files](output-files.md#joining-the-csvs)).
"""
LAYOUT_INTRO = """# Project layout

Every module of the package and the first paragraph of its docstring. The flow between them and
what each folder may import: [architecture](../ARCHITECTURE.md). Outside the package:
`baselines/` (Adam and SGD-Nesterov submissions for MNIST, SGD-Nesterov for CIFAR-10, their
search spaces), `benchmarks/` ([benchmarks](../benchmarks.md)), `experiments/` (the guide's
worked example, the two-submission comparison), `scripts/` (`setup_env.sh`, `demo.sh`,
`test.sh`, `setup_browser.sh`, `screenshots.sh`, `gen_docs.py`), `Dockerfile` and `docker/`,
`docs/` (this site), `tests/`.

"""
LAYOUT_OUTRO = ''
