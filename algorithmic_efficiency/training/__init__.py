"""Training: one trial's loop and the sweep over trials.

* :mod:`.trainer`: ``train_once``, the timed loop of one trial (its docstring
  states the timing rules);
* :mod:`.schedule`: when to evaluate and stop, and the submission-time timer;
* :mod:`.rows`: an eval's metrics.csv row, in ``layout``'s schema order;
* :mod:`.results`: ``TrialResult``, ``SweepResult`` and the sweep's score;
* :mod:`.trials`: ``score_submission_on_workload``, the loop over a sweep's trials.
"""
