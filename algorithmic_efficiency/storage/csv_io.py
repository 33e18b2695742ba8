"""The metrics CSV API in one import: ``from algorithmic_efficiency.storage import csv_io``.

* :class:`MetricsCsvWriter` (:mod:`.csv_writer`) appends one row per eval;
* :func:`read_metrics_csv` and :func:`concatenate_csvs` (:mod:`.csv_reader`)
  read one file into pandas and join many into ``all_metrics.csv``.

The bytes both sides agree on are defined in :mod:`.csv_format`. Importing
this module imports neither pandas nor pyarrow.
"""

from algorithmic_efficiency.storage.csv_reader import concatenate_csvs, read_metrics_csv
from algorithmic_efficiency.storage.csv_writer import MetricsCsvWriter

__all__ = ['MetricsCsvWriter', 'concatenate_csvs', 'read_metrics_csv']
