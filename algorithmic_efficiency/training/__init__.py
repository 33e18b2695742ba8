"""Training: one trial's loop and the sweep over trials.

* :mod:`.trainer`: ``train_once``, the timed loop of one trial (its docstring
  states the timing rules);
* :mod:`.schedule`: when to evaluate and stop, and the submission-time timer;
* :mod:`.rows`: an eval's metrics.csv row, in ``layout``'s schema order;
* :mod:`.results`: ``TrialResult``, ``SweepResult`` and the sweep's score;
* :mod:`.trial_spec`: ``TrialSpec`` (what one trial runs) and ``TrialLimits``;
* :mod:`.executors`: the ``TrialExecutor`` protocol and the in-process executor;
* :mod:`.trials`: ``run_sweep``, the loop over a sweep's trial specs, and
  ``run_trial``, one trial with its recording;
* :mod:`.checkpoint`: a trial checkpoint's files (atomic, the newest K kept);
  :mod:`.checkpointing`: when the loop checkpoints, what of it is saved, how a
  trial continues from one, and preemption (SIGTERM/SIGUSR1).
"""
