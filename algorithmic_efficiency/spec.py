"""The contract between the runner, workloads and submissions.

A *workload* (model + data + loss + target) implements :class:`Workload`. A
*submission* (a training algorithm) is a Python file defining the four
functions typed below (:data:`InitOptimizerStateFn`, :data:`UpdateParamsFn`,
:data:`DataSelectionFn`, :data:`GetBatchSizeFn`) and optionally
``prepare_for_eval`` (:data:`PrepareForEvalFn`). The runner times only
``data_selection`` + ``update_params`` (+ ``prepare_for_eval``); evaluation is
untimed.

The API is the peer's (MLCommons AlgoPerf) where that costs our users
nothing: the names below include every one of its ``algoperf.spec`` (which
``compat.algoperf.spec`` re-exports), ``loss_fn`` returns its dict,
``model_fn`` takes ``dropout_rate``, workloads carry ``step_hint``,
``param_shapes``, ``model_params_types`` and ``metrics_logger``.

This module imports neither JAX nor PyTorch: parameter containers, batches
and RNG keys are framework-native objects typed here as ``Any``.
"""

from __future__ import annotations

import abc
import enum
from collections.abc import Callable, Iterator, Mapping
from typing import Any

# Framework-native containers. JAX: pytrees of arrays and a PRNG key array.
# PyTorch: the ``torch.nn.Module`` itself (its parameters are the params) and
# an ``int`` seed.
ParameterContainer = Any
ModelAuxiliaryState = Any
OptimizerState = Any
RandomState = Any
Batch = dict[str, Any]
# A trial's hyperparameters: read as attributes (hp.learning_rate) or as a mapping
# (hp['learning_rate']); compat.Hyperparameters. None for self-tuning.
Hyperparameters = Mapping[str, Any] | None
EvalResults = list[tuple[int, dict[str, float]]]  # (global_step, metrics) per eval so far
Tensor = Any  # a framework array (jax.Array, torch.Tensor, numpy.ndarray)

# A workload's registered name ends in ``_<framework>`` (``workloads/registry.py``).
FRAMEWORKS = ('jax', 'pytorch')
# Where the peer's (AlgoPerf) name for a workload differs from ours without the framework.
_PEER_NAMES = {'cifar10': 'cifar'}


def submission_workload_name(name: str) -> str:
    """The framework-free name a submission's ``get_batch_size`` gets, the peer's:
    ``mnist_jax`` -> ``mnist``, ``cifar10_pytorch`` -> ``cifar``."""
    for framework in FRAMEWORKS:
        if name.endswith('_' + framework):
            name = name[: -len(framework) - 1]
            break
    return _PEER_NAMES.get(name, name)
ParameterKey = str
Timing = float
Steps = int
ModelInitState = tuple[ParameterContainer, ModelAuxiliaryState]


class LossType(enum.Enum):
    SOFTMAX_CROSS_ENTROPY = 0
    SIGMOID_CROSS_ENTROPY = 1
    MEAN_SQUARED_ERROR = 2
    CTC_LOSS = 3
    MEAN_ABSOLUTE_ERROR = 4


class ForwardPassMode(enum.Enum):
    TRAIN = 0
    EVAL = 1


def is_train(mode: Any) -> bool:
    """Whether ``mode`` is TRAIN, also for the real ``algoperf``'s enum when that is installed."""
    return getattr(mode, 'name', mode) == 'TRAIN'


class ParameterType(enum.Enum):
    """What a parameter is (``Workload.model_params_types``), for per-kind update rules."""

    WEIGHT = 0
    BIAS = 1
    CONV_WEIGHT = 2
    BATCH_NORM_SCALE = 3
    BATCH_NORM_BIAS = 4
    LAYER_NORM_SCALE = 5
    LAYER_NORM_BIAS = 6
    EMBEDDING = 7
    ATTENTION_Q = 8
    ATTENTION_K = 9
    ATTENTION_V = 10
    ATTENTION_OUT = 11
    ATTENTION_QKV = 12
    ATTENTION_KV = 13
    ATTENTION_BIAS = 14


class ShapeTuple:
    """A parameter's shape as one pytree *leaf* (a bare tuple would be walked into).

    ``Workload.param_shapes`` has the parameters' tree structure with these at
    the leaves, so ``jax.tree.map(lambda s: jnp.zeros(s.shape_tuple),
    workload.param_shapes)`` builds zeros shaped like the parameters.
    """

    __slots__ = ('shape_tuple',)

    def __init__(self, shape_tuple: tuple[int, ...]):
        self.shape_tuple = tuple(shape_tuple)

    def __repr__(self) -> str:
        return f'ShapeTuple({self.shape_tuple})'

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ShapeTuple) and self.shape_tuple == other.shape_tuple

    def __hash__(self) -> int:
        return hash(self.shape_tuple)


Shape = tuple[int, ...] | ShapeTuple
ParameterShapeTree = dict[str, Any]  # the parameters' structure, ShapeTuple leaves
ParameterTypeTree = dict[str, Any]  # the parameters' structure, ParameterType leaves


class _StrEnum(str, enum.Enum):  # noqa: UP042  (enum.StrEnum is Python 3.11+; 3.10 is supported)
    """A string enum that prints and formats as its value (what the files hold)."""

    def __str__(self) -> str:
        return self.value

    def __format__(self, format_spec: str) -> str:
        return format(self.value, format_spec)


class TrialStatus(_StrEnum):
    """A trial's state, as written in ``trial.json``, ``metrics.csv`` and the summaries."""

    RUNNING = 'running'  # in progress (or killed: the loader's 'stale' tells which)
    COMPLETE = 'complete'  # ran to a stop rule
    DIVERGED = 'diverged'  # stopped on a non-finite eval loss (a result, not a failure)
    FAILED = 'failed'  # an exception in the submission or the workload
    INTERRUPTED = 'interrupted'  # stopped by Ctrl-C (SIGINT); --resume re-runs it
    PREEMPTED = 'preempted'  # SIGTERM/SIGUSR1: checkpointed; --resume continues it


# Finished trials: --resume keeps them; the others are re-run.
FINISHED_STATUSES = (TrialStatus.COMPLETE, TrialStatus.DIVERGED)
# Never the incumbent (best trial): their last loss is not a result.
NOT_CANDIDATES = (TrialStatus.FAILED, TrialStatus.DIVERGED)


class StopReason(_StrEnum):
    """Why a trial stopped (``trial.json``'s ``stop_reason``)."""

    TARGET = 'target'  # the eval metric reached the workload's target
    BUDGET = 'budget'  # submission time reached the budget
    MAX_STEPS = 'max_steps'  # --max_global_steps
    TRAINING_COMPLETE = 'training_complete'  # the submission raised TrainingCompleteError
    DIVERGED = 'diverged'  # non-finite eval loss
    ERROR = 'error'  # an exception
    DISK_FULL = 'disk_full'  # ENOSPC/EDQUOT writing a file: the sweep stops, --resume continues
    INTERRUPTED = 'interrupted'  # Ctrl-C (SIGINT)
    PREEMPTED = 'preempted'  # SIGTERM/SIGUSR1 (after a checkpoint)


class TrainingCompleteError(Exception):
    """Raised by a submission to end its trial early and cleanly (not a failure)."""


class Workload(abc.ABC):
    """A model, its data, its loss and the target a submission must reach.

    Workloads are small classes of pure functions with no logging inside. The
    runner calls :meth:`prepare_data` once, then per trial ``init_model_fn``,
    ``build_input_queue`` and, at every eval, ``eval_model``.

    ``init_model_fn`` sets ``_param_shapes`` and ``_param_types`` (read through
    :attr:`param_shapes` and :attr:`model_params_types`). During a recorded
    trial the runner attaches :attr:`metrics_logger`, through which a
    submission logs its own scalars.
    """

    # Set by init_model_fn: the parameters' tree with ShapeTuple / ParameterType leaves.
    _param_shapes: ParameterShapeTree | None = None
    _param_types: ParameterTypeTree | None = None
    # The trial's recording.submission_metrics.SubmissionMetricsLogger, or None
    # (no --log_dir); submissions call metrics_logger.append_scalar_metrics(dict, step).
    metrics_logger: Any = None

    def attach_metrics_logger(self, metrics_logger: Any) -> None:
        """Attaches (or, with ``None``, detaches) the trial's metrics logger."""
        self.metrics_logger = metrics_logger

    # --- Properties recorded as ``workload.*`` in metadata.json and metrics.csv.
    @property
    @abc.abstractmethod
    def target_value(self) -> float:
        """Value of :attr:`target_metric_name` on the eval split that counts as reached."""

    @property
    def target_metric_name(self) -> str:
        """Eval metric compared with :attr:`target_value` (e.g. ``'accuracy'``)."""
        return 'accuracy'

    @property
    @abc.abstractmethod
    def loss_type(self) -> LossType:
        """The kind of loss ``loss_fn`` computes."""

    @property
    @abc.abstractmethod
    def num_train_examples(self) -> int:
        """Training examples in the data actually loaded (after :meth:`prepare_data`)."""

    @property
    @abc.abstractmethod
    def num_eval_examples(self) -> int:
        """Eval examples in the data actually loaded (after :meth:`prepare_data`)."""

    @property
    @abc.abstractmethod
    def train_mean(self) -> float:
        """Per-pixel mean used to normalise inputs."""

    @property
    @abc.abstractmethod
    def train_stddev(self) -> float:
        """Per-pixel standard deviation used to normalise inputs."""

    @property
    @abc.abstractmethod
    def max_allowed_runtime_sec(self) -> float:
        """Budget of submission time (seconds) for one trial."""

    @property
    @abc.abstractmethod
    def eval_period_time_sec(self) -> float:
        """Submission time (seconds) between the end of one eval and the next."""

    @property
    def step_hint(self) -> int:
        """Roughly the steps a baseline takes in the budget; schedules scale by it."""
        # AttributeError: hasattr()/getattr(w, 'step_hint', None) see a workload without one.
        raise AttributeError(f'{type(self).__name__} defines no step_hint')

    @property
    def param_shapes(self) -> ParameterShapeTree:
        """The parameters' tree with :class:`ShapeTuple` leaves (after ``init_model_fn``)."""
        if self._param_shapes is None:
            raise ValueError('workload.param_shapes is set by init_model_fn(), which has not run')
        return self._param_shapes

    @property
    def model_params_types(self) -> ParameterTypeTree:
        """The parameters' tree with :class:`ParameterType` leaves; ``update_params`` gets it
        as ``current_params_types``."""
        if self._param_types is None:
            raise ValueError(
                'workload.model_params_types is set by init_model_fn(), which has not run'
            )
        return self._param_types

    # --- Data.
    @abc.abstractmethod
    def prepare_data(self, data_dir: str | None) -> dict[str, Any]:
        """Loads the data once per sweep.

        Returns:
          Facts for metadata.json with ``data.`` keys, e.g. ``{'data.source':
          'embedded', 'data.num_train_examples': 4000, ...}``.

        Raises:
          ValueError: with a one-line message naming the bad file or directory.
        """

    @abc.abstractmethod
    def build_input_queue(
        self, data_rng: int, split: str, data_dir: str | None, global_batch_size: int
    ) -> Iterator[Batch]:
        """An endless iterator of training batches, reshuffled every epoch.

        ``data_rng`` is an int seed: input pipelines shuffle on the host.
        """

    def release_data(self) -> None:
        """Drops the data and device buffers held since ``prepare_data`` (which loads them again).

        The runner calls it after the last trial, before the end-of-sweep
        summary: the analysis libraries that write it (pandas, pyarrow) then
        reuse that memory instead of adding to the process's peak.
        """
        return None

    # --- Model.
    @abc.abstractmethod
    def init_model_fn(self, rng: RandomState) -> tuple[ParameterContainer, ModelAuxiliaryState]:
        """Fresh parameters (and model state such as batch-norm statistics)."""

    @abc.abstractmethod
    def model_fn(
        self,
        params: ParameterContainer,
        augmented_and_preprocessed_input_batch: Batch,
        model_state: ModelAuxiliaryState,
        mode: ForwardPassMode,
        rng: RandomState,
        update_batch_norm: bool,
        dropout_rate: float = 0.0,
    ) -> tuple[Any, ModelAuxiliaryState]:
        """Forward pass: returns ``(logits, new_model_state)``.

        ``dropout_rate`` applies in TRAIN mode to models with dropout (the
        MNIST MLP has none and ignores it).
        """

    @abc.abstractmethod
    def loss_fn(
        self,
        label_batch: Any,
        logits_batch: Any,
        mask_batch: Any | None = None,
        label_smoothing: float = 0.0,
    ) -> dict[str, Any]:
        """The (masked, optionally label-smoothed) loss, differentiable, not reduced across devices.

        Returns:
          ``{'summed': sum of the per-example losses, 'n_valid_examples':
          examples counted (mask sum, else the batch size), 'per_example':
          the losses, zero where mask_batch is 0}``. The mean loss is
          ``summed / n_valid_examples``.
        """

    @abc.abstractmethod
    def eval_model(
        self, params: ParameterContainer, model_state: ModelAuxiliaryState, rng: RandomState
    ) -> dict[str, float]:
        """Evaluates on the eval split: host floats, at least ``loss`` and the target metric.

        Every key becomes a ``metrics.csv`` column (``accuracy`` and ``loss``
        first: ``layout.EVAL_METRICS``).
        """

    def has_reached_goal(self, eval_result: Mapping[str, float]) -> bool:
        """Whether an eval result meets the target (higher is better for accuracy)."""
        value = eval_result.get(self.target_metric_name)
        return value is not None and value >= self.target_value

    # --- Runner hooks.
    def use_devices(self, num_devices: int | None, processes: Any = None) -> dict[str, Any]:
        """Chooses the devices the trials run on, once per sweep before any trial.

        Args:
          num_devices: how many of the visible devices to use (``None``: all).
          processes: the run's processes (``training.processes``): one, or
            several started by ``torchrun``, one device each.

        Returns:
          metadata.json's ``devices.count``, ``devices.kind``,
          ``distributed.world_size`` and ``distributed.backend``.

        Raises:
          ValueError: one line, when the devices asked for can't be had.
        """
        world_size = getattr(processes, 'world_size', 1)
        if (num_devices or 1) != 1 or world_size != 1:
            raise ValueError(
                f'workload {type(self).__name__} runs on one device only; '
                'leave out --num_devices and torchrun'
            )
        return {
            'devices.count': 1,
            'devices.kind': 'unknown',
            'distributed.world_size': 1,
            'distributed.backend': 'none',
        }

    @property
    def device_count(self) -> int:
        """Devices a global batch is split across; it must divide by this."""
        return 1

    def rng_from_seed(self, seed: int) -> RandomState:
        """The framework-native RNG for an int seed (JAX: a PRNG key; PyTorch: the int)."""
        return seed

    def sync_device(self, params: ParameterContainer) -> None:
        """Blocks until all work queued on the device for ``params`` has finished.

        The runner calls this before every clock reading that is accounted as
        submission time, so asynchronous dispatch can't hide work. It is *not*
        called per step: between evals the loop reads an unsynchronised clock
        only to decide when to synchronise.
        """
        return None  # a synchronous device (the CPU) has nothing to wait for

    def memory_stats(self) -> dict[str, int]:
        """The framework allocator's view of device memory, as ``framework.<i>.mem.*`` columns.

        Read just before each eval (so it describes training). Empty where the
        framework keeps no statistics (both frameworks on the CPU).
        """
        return {}

    def properties(self) -> dict[str, Any]:
        """The primitive properties as ``workload.<name>`` keys: the guide's (sorted), then ours."""
        names = [
            'eval_period_time_sec',
            'max_allowed_runtime_sec',
            'num_eval_examples',
            'num_train_examples',
            'target_value',
            'train_mean',
            'train_stddev',
            'target_metric_name',
        ]
        return {f'workload.{name}': getattr(self, name) for name in names}


# --- The submission API (functions defined in a submission file).

InitOptimizerStateFn = Callable[
    [Workload, ParameterContainer, ModelAuxiliaryState, Hyperparameters, RandomState],
    OptimizerState,
]
"""``init_optimizer_state(workload, model_params, model_state, hyperparameters, rng)``."""
InitOptimizerFn = InitOptimizerStateFn  # the peer's name

UpdateReturn = tuple[OptimizerState, ParameterContainer, ModelAuxiliaryState]

UpdateParamsFn = Callable[
    [
        Workload,
        ParameterContainer,
        ParameterTypeTree,
        ModelAuxiliaryState,
        Hyperparameters,
        Batch,
        LossType,
        OptimizerState,
        EvalResults,
        int,
        RandomState,
        Mapping[str, Any] | None,
    ],
    UpdateReturn,
]
"""``update_params(workload, current_param_container, current_params_types, model_state,
hyperparameters, batch, loss_type, optimizer_state, eval_results, global_step, rng,
train_state=None)`` returns ``(optimizer_state, params, model_state)``.

``current_params_types`` is ``workload.model_params_types``. ``train_state``
is passed only to an ``update_params`` that declares it: a read-only mapping
with the peer's keys (``accumulated_submission_time``, ``is_time_remaining``,
``training_complete``, ``validation_goal_reached``, ``test_goal_reached``,
``last_eval_time``, ``accumulated_eval_time``, ``accumulated_logging_time``,
``last_step_end_time``); between evals ``accumulated_submission_time`` is the
loop's unsynchronised reading (exact at every eval).

``rng`` is the trial's update key, the same at every step: derive per-step
randomness inside the compiled step (e.g. ``jax.random.fold_in(rng, global_step)``)
so the runner adds no per-step RNG dispatch. Fetching values to the host here
(``float(loss)``) forces a device sync every step: avoid it.
"""

PrepareForEvalFn = Callable[
    [
        Workload,
        ParameterContainer,
        ParameterTypeTree,
        ModelAuxiliaryState,
        Hyperparameters,
        LossType,
        OptimizerState,
        EvalResults,
        int,
        RandomState,
    ],
    UpdateReturn,
]
"""Optional: ``prepare_for_eval(workload, current_param_container, current_params_types,
model_state, hyperparameters, loss_type, optimizer_state, eval_results, global_step, rng)``
returns ``(optimizer_state, params, model_state)``.

Called before every eval; what it returns is evaluated *and* trained on
afterwards. Its time counts as submission time, as on the peer's runner.
"""

DataSelectionFn = Callable[
    [
        Workload,
        Iterator[Batch],
        OptimizerState,
        ParameterContainer,
        ModelAuxiliaryState,
        Hyperparameters,
        int,
        RandomState,
    ],
    Batch,
]
"""``data_selection(workload, input_queue, optimizer_state, current_param_container,
model_state, hyperparameters, global_step, rng)`` returns the next batch."""

GetBatchSizeFn = Callable[[str], int]
"""``get_batch_size(workload_name)`` returns the global batch size. It gets the
framework-free name (``'mnist'`` for ``mnist_jax`` and ``mnist_pytorch``), as on the
peer's runner; if that raises ``KeyError`` or ``ValueError`` the runner retries with
the full name (what it passed before)."""

SUBMISSION_FUNCTIONS = ('init_optimizer_state', 'update_params', 'data_selection', 'get_batch_size')
OPTIONAL_SUBMISSION_FUNCTIONS = ('prepare_for_eval',)
