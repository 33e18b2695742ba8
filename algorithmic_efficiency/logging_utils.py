"""The guide's spelling: ``from algorithmic_efficiency import logging_utils``.

``logging_utils.concatenate_csvs(LOG_DIR)`` joins every ``metrics.csv`` under
LOG_DIR into ``LOG_DIR/all_metrics.csv`` (see
:mod:`algorithmic_efficiency.storage.csv_io`). The recorder itself lives in
:mod:`algorithmic_efficiency.recording.recorder`.
"""

from algorithmic_efficiency.storage.csv_reader import concatenate_csvs

__all__ = ['concatenate_csvs']
