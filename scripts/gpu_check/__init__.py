"""The GPU check (``scripts/gpu_check.sh``): proves the GPU path end to end on one NVIDIA GPU.

Modules: :mod:`.smi` (nvidia-smi), :mod:`.runs` (the sweeps and how a command is run),
:mod:`.probes` (framework-side jobs run in a GPU venv), :mod:`.checks` (the pass/fail
rules), :mod:`.report` (report.md), :mod:`.main` (the order of it all). See
docs/guides/gpu-check.md.
"""
