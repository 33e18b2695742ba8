"""Storage: how files are written and read safely (CSV rows appended whole, atomic JSON).

Both sides of the flow use it: :mod:`algorithmic_efficiency.recording` writes with
it and :mod:`algorithmic_efficiency.analysis` reads with it.
"""
