"""Trials fanned out: on Ray (``--ray_address``) or a local pool (``--max_concurrent_trials``).

* :mod:`.options`: the Ray flags checked (standard library only);
* :mod:`.cluster`: importing Ray, starting (loopback) or joining a cluster,
  anonymous node ids and node descriptions;
* :mod:`.task`: the Ray actor that serves several trials of a sweep on its
  node-local slot, streaming each trial's events to the driver;
* :mod:`.scheduler`: :class:`~.scheduler.RayExecutor`, the driver's loop, a
  ``training.executors.TrialExecutor`` (resources, one actor per concurrent
  trial, ``ray.wait``, fresh actors after failures, retries, Ctrl-C,
  ``--ray_storage=driver``);
* :mod:`.local_pool`, :mod:`.pool_worker`: the same without Ray, on this machine;
* :mod:`.compute_caps`: a trial's CPUs, threads and GPUs, set before the framework loads.

It depends on ``training`` (the trial spec, the trial itself), never on
``sweep``: the sweep hands it its submission loader.

Nothing here is imported by an in-process sweep.
"""
