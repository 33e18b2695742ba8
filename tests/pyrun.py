"""Running a snippet in a fresh interpreter, as the tests of import costs and isolation do."""
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run_python(code, cwd=ROOT, timeout=60, env=None):
    """``python -c code`` in a new process; returns the CompletedProcess (text, never checked)."""
    return subprocess.run([sys.executable, '-c', code], check=False, capture_output=True,
                          text=True, timeout=timeout, cwd=cwd, env=env)


def run_module(module, *args, timeout=120, cwd=ROOT):
    """``python -m module args...`` in a new process (text, never checked)."""
    return subprocess.run([sys.executable, '-m', module, *map(str, args)], check=False,
                          capture_output=True, text=True, timeout=timeout, cwd=cwd)
