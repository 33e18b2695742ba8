"""File names of a sweep's output, shared by the recorder (writes) and analysis (reads).

A module of constants only, so readers can import it without the recorder's
imports (telemetry, psutil).
"""
import re

METADATA_FILE = 'metadata.json'
PACKAGES_FILE = 'packages.txt'
METRICS_FILE = 'metrics.csv'
TRIAL_FILE = 'trial.json'
ERROR_FILE = 'error.txt'
RUN_DIR_RE = re.compile(r'^run_(\d+)$')  # LOG_DIR/<workload>/run_<N>


class LogDirError(ValueError):
    """A log directory that can't be used as asked: it holds no runs (readers), or
    already holds runs, or is not a directory (the recorder). One-line message."""
