"""``--ray_address=HOST:PORT`` checked before Ray is asked to join it.

Ray retries a cluster that does not answer for minutes (printing its GCS
retries) and then takes half a minute to stop on SIGTERM. So:

* :func:`check_port` refuses a port outside 1..65535 with the flags (exit 2,
  nothing written);
* :func:`probe` opens one TCP connection to the address, bounded by
  :data:`CONNECT_TIMEOUT_SEC`, before ``ray.init``: a closed port, an unknown
  host or a silent one is one line within seconds. An address that accepts
  TCP but is not a Ray head is left to Ray.

Standard library only.
"""

from __future__ import annotations

import socket

from algorithmic_efficiency.errors import UsageError

# How long joining a cluster may take to open its first connection (s).
CONNECT_TIMEOUT_SEC = 5.0


def split(address: str) -> tuple[str, str]:
    """``'host:port'`` / ``'[::1]:port'`` -> (host, port text)."""
    host, _, port = address.rpartition(':')
    return host.strip('[]'), port


def check_port(address: str) -> None:
    """Raises UsageError unless a HOST:PORT address has a port in 1..65535."""
    if address in ('local', 'auto') or address.startswith('ray://'):
        return
    _, port = split(address)
    if not port.isdigit() or not 1 <= int(port) <= 65535:
        raise UsageError(
            f"--ray_address '{address}': the port must be 1-65535 (Ray's default is 6379, "
            'e.g. --ray_address=10.0.0.5:6379)'
        )


def probe(address: str, timeout_sec: float = CONNECT_TIMEOUT_SEC) -> None:
    """Raises UsageError (one line) when nothing accepts a connection at HOST:PORT in time."""
    host, port = split(address)
    try:
        with socket.create_connection((host, int(port)), timeout=timeout_sec):
            return
    except TimeoutError:
        why = f'no answer within {timeout_sec:g} s'
    except OSError as e:
        why = e.strerror or type(e).__name__
    raise UsageError(
        f"--ray_address '{address}': no Ray cluster answers ({why}); start one with: "
        'ray start --head, or use --ray_address=local'
    )


def quiet_fork_exec_warning() -> None:
    """Silences JAX's "os.fork() was called" warning for a fork that execs at once.

    Ray starts its processes with ``subprocess`` and a ``preexec_fn``, which
    runs Python's fork hooks, and JAX's hook warns of a deadlock on every Ray
    sweep. A fork followed by ``exec`` runs no JAX code in the child, so the
    warning is wrong there; it is silenced only when raised from
    ``subprocess`` (a bare ``os.fork`` elsewhere still warns).
    """
    import warnings  # pylint: disable=import-outside-toplevel

    warnings.filterwarnings('ignore', message=r'os\.fork\(\) was called', category=RuntimeWarning,
                            module='subprocess')
