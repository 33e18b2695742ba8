"""Recording: what a sweep leaves under ``--log_dir``.

* :mod:`.recorder` joins the telemetry and the writers: metadata.json,
  packages.txt, and per trial metrics.csv, trial.json and error.txt;
* :mod:`.writers` is the one row-writer interface (CSV, TensorBoard, console);
* :mod:`.trial_context` hands the running trial's directory to the submission;
* :mod:`.sysinfo` describes the machine and the packages (no user name, no secrets);
* :mod:`.tb` writes TensorBoard event files (the sweep's, and a submission's ``Logger``).
"""
