"""The real runner, with deterministic kills and checkpoint steps for the checkpoint tests.

What a test cannot get from this machine deterministically is *when*: a wall-time
checkpoint interval and a SIGKILL from outside land at machine-dependent steps. So
this wrapper fixes them by step, at the boundary (nothing of the trial is faked):

* ``AE_CKPT_EVERY=N``: of the checkpoints the runner asks for (run it with
  ``--checkpoint_at_eval``), only those at steps divisible by N are written, as if
  the wall-time interval had elapsed at those steps;
* ``AE_KILL_MARKER=PATH``: the process SIGKILLs itself as it draws batch K if the
  file ``PATH.K`` exists (removed first: a resumed run goes on);
* ``AE_KILL_IN_WRITE=PATH``: SIGKILL in the middle of writing the checkpoint of
  step K (its model written, not yet renamed into place) if ``PATH.K`` exists.
"""

import os
import signal

from absl import app

from algorithmic_efficiency import submission_runner
from algorithmic_efficiency.training import checkpoint, checkpointing


def _kill_if(marker_prefix, k):
    if marker_prefix and os.path.exists(f'{marker_prefix}.{k}'):
        os.remove(f'{marker_prefix}.{k}')
        os.kill(os.getpid(), signal.SIGKILL)


def _patch():
    every = int(os.environ.get('AE_CKPT_EVERY', '0'))
    if every:
        save = checkpointing.TrialCheckpoints.save

        def save_every(self, running, *args):
            if running.state.step % every == 0 or checkpointing.preemption_requested():
                save(self, running, *args)

        checkpointing.TrialCheckpoints.save = save_every
    kill_marker = os.environ.get('AE_KILL_MARKER')
    if kill_marker:
        next_batch = checkpoint.CountingQueue.__next__

        def counting_next(self):
            _kill_if(kill_marker, self.drawn + 1)
            return next_batch(self)

        checkpoint.CountingQueue.__next__ = counting_next
    write_marker = os.environ.get('AE_KILL_IN_WRITE')
    if write_marker:
        save_model = checkpoint.save_model

        def save_then_die(framework, path, *args):
            save_model(framework, path, *args)
            step = os.path.basename(path).split('-')[1].removeprefix('step_')
            _kill_if(write_marker, step)

        checkpoint.save_model = save_then_die


if __name__ == '__main__':
    _patch()
    app.run(submission_runner.main, flags_parser=submission_runner.parse_flags)
