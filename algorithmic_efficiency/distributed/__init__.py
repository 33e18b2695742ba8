"""Trials fanned out on Ray (``--ray_address``): one fresh worker process per trial.

* :mod:`.options`: the Ray flags checked (standard library only);
* :mod:`.cluster`: importing Ray, starting (loopback) or joining a cluster,
  anonymous node ids and node descriptions;
* :mod:`.task`: one trial as a Ray task, streaming its events to the driver;
* :mod:`.scheduler`: :class:`~.scheduler.RayExecutor`, the driver's loop, a
  ``training.executors.TrialExecutor`` (resources, ``ray.wait``, retries,
  Ctrl-C, ``--ray_storage=driver``).

It depends on ``training`` (the trial spec, the trial itself), never on
``sweep``: the sweep hands it its submission loader.

Nothing here is imported by an in-process sweep.
"""
