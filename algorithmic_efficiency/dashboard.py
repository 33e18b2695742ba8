"""``python -m algorithmic_efficiency.dashboard PATH...``: the runs dashboard in a browser.

Starts Streamlit on ``http://127.0.0.1:8501`` (``--port``, ``--address``)
with :mod:`algorithmic_efficiency.analysis.dashboard.app`, reading every ``PATH``: a
``--log_dir``, a Hydra ``multirun/`` folder, or a folder holding them. The
process *becomes* the server (``exec``), so its PID is the server's: stop it
with Ctrl-C or ``kill PID``. Usage statistics are off and no browser is
opened; the page needs no network. Exit code 2 for bad usage (one line on
stderr), otherwise Streamlit's.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import socket
import sys

PROG = 'python -m algorithmic_efficiency.dashboard'
APP = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'analysis', 'dashboard', 'app.py')
DEFAULT_PORT = 8501
DEFAULT_REFRESH_SEC = 10.0


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a port number") from None
    if not 1 <= value <= 65535:
        raise argparse.ArgumentTypeError(f'must be 1..65535, got {text}')
    return value


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a number of seconds") from None
    if not value >= 0:
        raise argparse.ArgumentTypeError(f'must be 0 (off) or positive, got {text}')
    return value


def port_error(address: str, port: int) -> str | None:
    """Why `address`:`port` can't be served (taken, or no such interface), or None."""
    try:
        infos = socket.getaddrinfo(address, port, type=socket.SOCK_STREAM)
    except OSError as e:
        return f"--address '{address}' is not an address of this machine ({e})"
    family, kind, proto, _, sockaddr = infos[0]
    with socket.socket(family, kind, proto) as s:
        # As the server binds: SO_REUSEADDR lets a port in TIME_WAIT through, not a live one.
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(sockaddr)
        except OSError as e:
            return (
                f'port {port} on {address} is not free ({e.strerror or e}); another dashboard '
                'or server uses it: stop it or pass --port N'
            )
    return None


def build_command(args: argparse.Namespace) -> list[str]:
    """The ``python -m streamlit run`` command line that serves the app for `args`."""
    cmd = [
        sys.executable,
        '-m',
        'streamlit',
        'run',
        APP,
        '--server.address',
        args.address,
        '--server.port',
        str(args.port),
        '--server.headless',
        'true',
        '--browser.gatherUsageStats',
        'false',
        # The app's source never changes under a user: no file watcher threads.
        '--server.fileWatcherType',
        'none',
        '--server.runOnSave',
        'false',
        '--global.developmentMode',
        'false',
        '--client.toolbarMode',
        'viewer',
        '--',
    ]
    cmd += [os.path.abspath(p) for p in args.paths]
    for q in args.query:
        cmd += ['--query', q]
    cmd += ['--refresh', repr(args.refresh)]
    return cmd


def main(argv: list[str] | None = None) -> int:
    """Parses the arguments and replaces this process with the Streamlit server."""
    parser = argparse.ArgumentParser(
        prog=PROG,
        description='Browse runs of --log_dir sweeps and Hydra multiruns: parallel '
        'coordinates, curves, telemetry, a trial table (Streamlit + Plotly).',
    )
    parser.add_argument(
        'paths',
        nargs='+',
        metavar='PATH',
        help='a --log_dir, a Hydra multirun/ folder, or a folder holding them',
    )
    parser.add_argument('--port', type=_port, default=DEFAULT_PORT, help=f'default {DEFAULT_PORT}')
    parser.add_argument(
        '--address',
        default='127.0.0.1',
        help='interface to listen on (default 127.0.0.1: this machine only)',
    )
    parser.add_argument(
        '--query',
        action='append',
        default=[],
        metavar='GLOB',
        help="files to list per run as 'path' rows, e.g. '*.npy' (repeatable)",
    )
    parser.add_argument(
        '--refresh',
        type=_seconds,
        default=DEFAULT_REFRESH_SEC,
        metavar='SECONDS',
        help='check the folders for new results this often (default 10; 0 = off)',
    )
    args = parser.parse_args(argv)
    if importlib.util.find_spec('streamlit') is None or importlib.util.find_spec('plotly') is None:
        print(
            f"{PROG}: error: streamlit and plotly are not installed; "
            "install them with: pip install -e '.[dashboard]'",
            file=sys.stderr,
        )
        return 2
    for p in args.paths:
        if not os.path.exists(p):
            # Not fatal: a sweep may create it later; the page says so meanwhile.
            print(f'{PROG}: warning: {p} does not exist (yet)', file=sys.stderr)
    error = port_error(args.address, args.port)
    if error:
        print(f'{PROG}: error: {error}', file=sys.stderr)
        return 2
    cmd = build_command(args)
    print(f'{PROG}: serving on http://{args.address}:{args.port} (pid {os.getpid()})', flush=True)
    sys.stderr.flush()
    os.execv(cmd[0], cmd)
    return 0  # not reached


if __name__ == '__main__':
    sys.exit(main())
