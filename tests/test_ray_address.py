"""--ray_address HOST:PORT (distributed.address): a bad port refused with the flags, a
cluster that does not answer is one line within seconds (it hung for minutes)."""

import socket
import time

import pytest
from hostile import args
from sweeps import run_cli

from algorithmic_efficiency.distributed import address, options


def closed_port():
    """A port on 127.0.0.1 that nothing listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


@pytest.mark.parametrize('value', ['127.0.0.1:0', '127.0.0.1:99999', '[::1]:65536'])
def test_port_out_of_range_is_refused_with_the_flags(value):
    with pytest.raises(ValueError, match='the port must be 1-65535'):
        options.check_options(value)


@pytest.mark.parametrize('value', ['127.0.0.1:1', '10.0.0.5:6379', '[::1]:65535', 'local', 'auto'])
def test_ports_in_range_pass(value):
    assert options.check_options(value).address == value


def test_probe_of_a_closed_local_port_is_one_line_at_once():
    start = time.monotonic()
    with pytest.raises(ValueError) as e:
        address.probe(f'127.0.0.1:{closed_port()}', timeout_sec=2.0)
    assert time.monotonic() - start < 2.5
    assert 'no Ray cluster answers (Connection refused)' in str(e.value)


def test_probe_of_a_listening_port_passes():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        s.listen(1)
        address.probe(f'127.0.0.1:{s.getsockname()[1]}', timeout_sec=2.0)


def test_runner_with_a_closed_ray_port_exits_2_in_one_line(tmp_path):
    start = time.monotonic()
    proc = run_cli(args(tmp_path / 'logs', f'--ray_address=127.0.0.1:{closed_port()}'),
                   timeout=180)
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert proc.stderr.strip().splitlines()[-1].startswith(
        "submission_runner: error: --ray_address '127.0.0.1:")
    assert 'Traceback' not in proc.stderr
    assert time.monotonic() - start < 170


FORK_EXEC = (
    'import subprocess, sys, warnings\n'
    'warnings.simplefilter("default")\n'
    'import jax\n'
    'jax.numpy.zeros(1).block_until_ready()  # backends up: JAX\'s fork hook installed\n'
    '{quiet}'
    'subprocess.run(["true"], preexec_fn=lambda: None, check=True)  # as Ray starts its servers\n'
)


def test_jax_fork_warning_is_silenced_for_ray_fork_exec_only():
    from pyrun import run_python

    loud = run_python(FORK_EXEC.format(quiet=''))
    assert 'os.fork() was called' in loud.stderr  # the warning every Ray sweep printed
    quiet = run_python(FORK_EXEC.format(
        quiet='from algorithmic_efficiency.distributed import cluster\ncluster.import_ray()\n'))
    assert quiet.returncode == 0, quiet.stderr
    assert 'os.fork() was called' not in quiet.stderr
    bare = run_python(FORK_EXEC.format(
        quiet='from algorithmic_efficiency.distributed import address\n'
              'address.quiet_fork_exec_warning()\n'
              'import os\nif os.fork() == 0:\n    os._exit(0)\n'))
    assert 'os.fork() was called' in bare.stderr  # a bare fork still warns
