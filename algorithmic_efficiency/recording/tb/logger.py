"""A TensorBoard ``Logger`` for submissions and scripts (no TensorFlow, no PyTorch).

The API of the peer wrapper users know (ANNarchy's, on ``tensorboardX``)::

    from algorithmic_efficiency.tensorboard import Logger

    with Logger() as logger:                        # runs/<Mon><DD>_<HH-MM-SS>_<8 random hex>/
        for trial in range(100):
            logger.add_scalar('Accuracy/Train', train_acc, trial)
            logger.add_scalars('Accuracy', {'train': train_acc, 'test': test_acc}, trial)
            logger.add_image('Population/Firing rate', rates.reshape(10, 10), trial,
                             equalize=True)
            logger.add_images('Projection/Receptive fields', w.reshape(100, 10, 10), trial,
                              equalize=True, equalize_per_image=True)
            logger.add_histogram('Weight distribution', w.flatten(), trial)
            logger.add_figure('Activity', fig, trial)        # closes the figure
        logger.add_parameters({'learning_rate': lr, 'tau': tau}, {'accuracy': acc})

``Logger(logdir='/tmp/annarchy', experiment='trial1')`` writes into
``/tmp/annarchy/trial1``. Inside a runner trial, ``Logger.for_trial()`` writes
into the trial's directory (``run_<N>/submission/``), next to the runner's own
TensorBoard output, and never stops the trial on an I/O error.

Bad input raises at once with what was expected (``ValueError`` for shapes and
value ranges, ``TypeError`` for non-numeric data), also from a trial logger:
those are bugs in the caller, not TensorBoard failures. Arrays become images
in :mod:`.images`; events are encoded by :mod:`.events`.
"""

from __future__ import annotations

import datetime
import io
import logging
import os
import secrets
import sys
import time
from collections.abc import Mapping
from typing import Any

import numpy as np
from tensorboard.compat.proto import summary_pb2
from tensorboard.plugins.histogram import metadata as histogram_metadata
from tensorboard.util import tensor_util

from algorithmic_efficiency.recording import trial_context
from algorithmic_efficiency.recording.tb import events as tb_writer
from algorithmic_efficiency.recording.tb import hparams, images

_log = logging.getLogger(__name__)

TRIAL_LOGGER_DIR = 'submission'


class _EventFile:
    """One run's event file, every event flushed at once (TensorBoard sees it live)."""

    _counter = 0

    def __init__(self, directory: str):
        os.makedirs(directory, exist_ok=True)
        _EventFile._counter += 1
        now = time.time()
        name = f'events.out.tfevents.{int(now):010d}.{os.getpid()}.{_EventFile._counter}.logger'
        self.path = os.path.join(directory, name)
        self._f = open(self.path, 'ab')  # noqa: SIM115  (closed by close())
        self.write([tb_writer.file_version_event(now)])

    def write(self, events) -> None:
        tb_writer.write_events(self._f, events)
        self._f.flush()

    def close(self) -> None:
        self._f.close()


class Logger:
    """Writes TensorBoard scalars, images, histograms, figures and hparams for one run.

    Args:
      logdir: the parent directory (default ``runs``).
      experiment: the run's sub-directory; default ``<Mon><DD>_<HH-MM-SS>_<8 random hex>``
        (e.g. ``runs/Nov23_17-22-01_machine``).

    Every ``step`` is optional: without it a tag's values get steps 0, 1, 2, ...
    Use it as a context manager, or call :meth:`close`.
    """

    def __init__(self, logdir: str = 'runs', experiment: str | None = None):
        if experiment is None:
            stamp = datetime.datetime.now().strftime('%b%d_%H-%M-%S')
            # A random suffix, not the host name (SummaryWriter's): no file names the machine.
            experiment = f'{stamp}_{secrets.token_hex(4)}'
        self._setup(os.path.join(logdir, experiment), trial=False)
        self._file('')  # like SummaryWriter: the run exists from the start

    def _setup(self, logdir: str | None, trial: bool) -> None:
        self.logdir = logdir  # None: check input, write nothing
        self._trial = trial  # a trial's Logger: I/O errors warn once and disable it
        self._closed = False
        self._files: dict[str, _EventFile] = {}
        self._next_step: dict[str, int] = {}
        self._max_step = 0
        self._parameters_logged = False

    @property
    def closed(self) -> bool:
        return self._closed

    # --- Trials.
    @classmethod
    def for_trial(cls, run_dir: str | None = None, name: str = TRIAL_LOGGER_DIR) -> Logger:
        """The Logger of the running trial, writing into ``<run_dir>/<name>/``.

        `run_dir` defaults to the current trial's directory, which the runner
        hands over for the duration of each trial (see
        :mod:`algorithmic_efficiency.recording.trial_context`; in a child
        process, the ``AE_TRIAL_DIR`` environment variable). Without either
        (no ``--log_dir``) the Logger checks its input and writes nothing. The
        same trial gets the same Logger back (call it wherever convenient); the
        runner closes it when the trial ends. Its I/O errors are logged once and
        never raised, so TensorBoard never stops a trial.
        """
        trial = trial_context.current(run_dir)
        if trial is None:
            return cls._trial_logger(None)
        return trial.resource(
            f'Logger {name}', lambda: cls._trial_logger(os.path.join(trial.run_dir, name))
        )

    @classmethod
    def _trial_logger(cls, logdir: str | None) -> Logger:
        logger = cls.__new__(cls)
        logger._setup(logdir, trial=True)
        return logger

    # --- Plumbing.
    def _file(self, run: str) -> _EventFile | None:
        if run not in self._files and self.logdir is not None:
            self._files[run] = _EventFile(os.path.join(self.logdir, run) if run else self.logdir)
        return self._files.get(run)

    def _step(self, key: str, step: int | None) -> int:
        step = self._next_step.get(key, 0) if step is None else _int_step(step)
        self._next_step[key] = step + 1
        self._max_step = max(self._max_step, step)
        return step

    def _check_open(self) -> None:
        if self._closed:
            raise ValueError(f'this Logger ({self.logdir}) is closed')

    def _write(self, summary: summary_pb2.Summary, step: int, run: str = '') -> None:
        self._check_open()
        if self.logdir is None:
            return
        try:
            self._file(run).write([tb_writer.summary_event(summary, step, time.time())])
        except OSError as e:
            if not self._trial:
                raise
            _log.warning('TensorBoard logging into %s stopped: %s', self.logdir, e)
            self.logdir = None

    # --- The API.
    def add_scalar(self, tag: str, value: float, step: int | None = None) -> None:
        """Logs one number (a 2-level tag such as ``'Accuracy/Train'`` groups plots)."""
        value = _scalar(f'add_scalar({tag!r})', value)
        self._write(tb_writer.scalars_summary({tag: value}), self._step(tag, step))

    def add_scalars(
        self, main_tag: str, tag_scalar_dict: Mapping[str, float], step: int | None = None
    ) -> None:
        """Logs several numbers on one plot: a run ``<main_tag>_<key>`` per key, tag `main_tag`."""
        if not isinstance(tag_scalar_dict, Mapping) or not tag_scalar_dict:
            raise ValueError(f'add_scalars({main_tag!r}): expected a non-empty dict of numbers')
        values = {
            str(k): _scalar(f'add_scalars({main_tag!r})[{k!r}]', v)
            for k, v in tag_scalar_dict.items()
        }
        step = self._step(main_tag, step)
        for key, value in values.items():
            run = f'{main_tag}_{key}'.replace('/', '_')
            self._write(tb_writer.scalars_summary({main_tag: value}), step, run)

    def add_image(
        self, tag: str, img: Any, step: int | None = None, equalize: bool = False
    ) -> None:
        """Logs an image: (H, W) grey or (H, W, C) with C = 1, 3 (RGB) or 4 (RGBA).

        Values are floats in [0, 1] or integers in [0, 255]; ``equalize=True``
        rescales min..max to [0, 1] first (a constant image becomes black).
        """
        what = f'add_image({tag!r})'
        tiles = images.to_uint8(
            what, images.images_nhwc(what, images.numeric(what, img), False), equalize, False
        )
        self._write_image(tag, tiles[0], step)

    def add_images(
        self,
        tag: str,
        imgs: Any,
        step: int | None = None,
        equalize: bool = False,
        equalize_per_image: bool = False,
    ) -> None:
        """Logs N images as one grid image: (N, H, W) or (N, H, W, C).

        The grid has ceil(sqrt(N)) columns, filled row by row, with 1 px of
        black between images. ``equalize=True`` applies one min..max scaling
        to all images; ``equalize_per_image=True`` scales each on its own.
        """
        what = f'add_images({tag!r})'
        tiles = images.images_nhwc(what, images.numeric(what, imgs), True)
        self._write_image(
            tag, images.image_grid(images.to_uint8(what, tiles, equalize, equalize_per_image)), step
        )

    def _write_image(self, tag: str, pixels: np.ndarray, step: int | None) -> None:
        self._check_open()
        step = self._step(tag, step)
        if self.logdir is None:
            return
        summary = images.image_summary(tag, images.png(pixels), pixels.shape[1], pixels.shape[0])
        self._write(summary, step)

    def add_histogram(self, tag: str, values: Any, step: int | None = None, bins: int = 30) -> None:
        """Logs the distribution of `values` (any shape, flattened) in `bins` equal buckets."""
        what = f'add_histogram({tag!r})'
        data = images.numeric(what, values).astype(np.float64).ravel()
        if not np.isfinite(data).all():  # ints are always finite; floats were checked
            raise ValueError(f'{what}: values must be finite')
        if isinstance(bins, bool) or not isinstance(bins, (int, np.integer)) or bins < 1:
            raise ValueError(f'{what}: bins must be a positive integer, got {bins!r}')
        lo, hi = float(data.min()), float(data.max())
        if lo == hi:  # TensorBoard's convention: every value in the last bucket
            left = right = np.full(bins, lo)
            counts = np.zeros(bins)
            counts[-1] = data.size
        else:
            counts, edges = np.histogram(data, bins=int(bins), range=(lo, hi))
            left, right = edges[:-1], edges[1:]
        buckets = np.stack([left, right, counts.astype(np.float64)], axis=1)
        summary = summary_pb2.Summary()
        summary.value.add(
            tag=tag,
            metadata=histogram_metadata.create_summary_metadata(
                display_name=None, description=None
            ),
            tensor=tensor_util.make_tensor_proto(buckets, dtype=np.float64),
        )
        self._write(summary, self._step(tag, step))

    def add_figure(
        self, tag: str, figure: Any, step: int | None = None, close: bool = True
    ) -> None:
        """Logs a matplotlib figure as a PNG image, then closes it (``close=False`` keeps it)."""
        from matplotlib.figure import Figure

        if not isinstance(figure, Figure):
            raise TypeError(
                f'add_figure({tag!r}): expected a matplotlib Figure, got {type(figure).__name__}'
            )
        try:
            buf = io.BytesIO()
            figure.savefig(buf, format='png')
        finally:
            if close:
                pyplot = sys.modules.get('matplotlib.pyplot')
                if pyplot is not None:  # a pyplot figure: let pyplot forget it
                    pyplot.close(figure)
        png = buf.getvalue()
        width, height = images.png_size(png)
        step = self._step(tag, step)
        self._write(images.image_summary(tag, png, width, height), step)

    def add_parameters(
        self, params: Mapping[str, Any], metrics: Mapping[str, float], step: int | None = None
    ) -> None:
        """Logs this run's hyperparameters and results for the HParams tab, once per run.

        `params` values are numbers, bools or strings; `metrics` (at least one:
        the HParams tab hides runs without a metric) are numbers, written as
        scalars of this run at `step` (default: the highest step logged so
        far). Each run is its own row, even with the same params.
        """
        if self._trial:
            raise ValueError(
                'add_parameters: the runner already records this trial\'s hyperparameters; '
                'log metrics with add_scalar'
            )
        if self._parameters_logged:
            raise ValueError(
                f'add_parameters was already called for {self.logdir}; call it once per run '
                '(use one Logger per run)'
            )
        if not isinstance(params, Mapping) or not params:
            raise ValueError('add_parameters: params must be a non-empty dict of name -> value')
        if not isinstance(metrics, Mapping) or not metrics:
            raise ValueError(
                'add_parameters: give at least one metric (e.g. {"accuracy": acc}); the HParams '
                'tab shows nothing for a run without a metric (tensorboard issue 5476)'
            )
        values = {}
        for key, value in params.items():
            v = hparams.hparam_value(value)
            if not isinstance(v, (bool, int, float)) and not isinstance(value, str):
                raise TypeError(
                    f'add_parameters: params[{key!r}] = {value!r}; values must be numbers, '
                    'bools or strings'
                )
            values[str(key)] = v
        scalars = {str(k): _scalar(f'add_parameters metrics[{k!r}]', v) for k, v in metrics.items()}
        step = self._max_step if step is None else _int_step(step)
        # The run's name first (the HParams table shows a trial id's start), then where.
        head, name = os.path.split(os.path.normpath(self.logdir or ''))
        trial_id = f'{name} ({head})' if head else name
        start = time.time()
        self._write(hparams.session_start_summary(values, trial_id, start), 0)
        self._write(tb_writer.scalars_summary(scalars), step)
        self._parameters_logged = True

    def flush(self) -> None:
        """Nothing to do: every event is flushed when written (kept for SummaryWriter users)."""

    def close(self) -> None:
        """Closes the event files (again: nothing)."""
        if self._closed:
            return
        self._closed = True
        for f in self._files.values():
            try:
                f.close()
            except OSError as e:
                if not self._trial:
                    raise
                _log.warning('TensorBoard logging into %s: %s', self.logdir, e)
        self._files.clear()

    def __enter__(self) -> Logger:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _int_step(step: Any) -> int:
    if isinstance(step, bool) or not isinstance(step, (int, np.integer)):
        raise TypeError(f'step must be an integer, got {step!r}')
    return int(step)


def _scalar(what: str, value: Any) -> float:
    arr = np.asarray(value)
    if arr.shape != () or arr.dtype.kind not in 'biuf':
        raise TypeError(f'{what}: expected one number, got {value!r}')
    return float(arr)
