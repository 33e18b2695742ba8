"""Ray itself: importing it, starting or joining a cluster, naming and describing its nodes.

``--ray_address=local`` starts Ray on this machine with every server bound to
the loopback interface and the dashboard and usage statistics off;
``auto``/``HOST:PORT`` joins a cluster started with ``ray start --head``.
Nodes are named by :func:`anonymous_node_id`, a hash of Ray's node id, so no
host name or IP address reaches a sweep's files.
"""

from __future__ import annotations

import contextlib
import hashlib
import ipaddress
import logging
import os
from collections.abc import Iterator
from typing import Any

from algorithmic_efficiency.distributed import address as ray_address
from algorithmic_efficiency.errors import UsageError

INSTALL_HINT = "pip install -c constraints.txt -e '.[ray]'"
NODE_ID_COLUMN = 'node.id'
# The hardware of a node as metadata.json's "nodes" lists it (sysinfo's and gpu_info's keys).
NODE_INFO_KEYS = (
    'cpu_model_name',
    'cpu_count',
    'cpu_count_physical',
    'mem_total_bytes',
    'gpu_count',
    'gpu_model_name',
    'gpu_driver',
)
# The variable Ray reads, at import, to decide whether it may form a multi-node
# cluster; off, every address it picks for this machine is the loopback one.
_CLUSTER_ENV = 'RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER'


def import_ray() -> Any:
    """The ``ray`` module, or a one-line ``ValueError`` naming the install command."""
    ray_address.quiet_fork_exec_warning()  # Ray's fork+exec is not the fork JAX warns of
    try:
        import ray  # noqa: PLC0415  (only Ray sweeps need it)
    except ModuleNotFoundError as e:
        raise ValueError(
            f"--ray_address needs the 'ray' package ({e.name} is missing); install it with: "
            f'{INSTALL_HINT}'
        ) from e
    return ray


def anonymous_node_id(ray_node_id: str) -> str:
    """A stable, anonymous name for a Ray node: ``node-`` and 10 hex digits of a SHA-256."""
    return 'node-' + hashlib.sha256(ray_node_id.encode('ascii')).hexdigest()[:10]


def loopback_only() -> None:
    """Makes Ray started from this process use 127.0.0.1 only (call before starting it).

    Ray replaces a loopback node address by the machine's routable one unless
    multi-node clusters are disabled; that switch is read from the environment
    when ``ray`` is imported, so it is set there (for Ray's own processes) and,
    if ``ray`` was imported already, on the constant it became.
    """
    os.environ[_CLUSTER_ENV] = '0'
    os.environ.setdefault('RAY_USAGE_STATS_ENABLED', '0')
    ray = import_ray()
    constants = getattr(getattr(ray, '_private', None), 'ray_constants', None)
    if constants is not None and hasattr(constants, 'ENABLE_RAY_CLUSTER'):
        constants.ENABLE_RAY_CLUSTER = False


def start_local(num_cpus: int | None = None, num_gpus: int | None = None) -> Any:
    """Starts a Ray instance on this machine (loopback, no dashboard); returns ``ray``."""
    loopback_only()
    ray = import_ray()
    ray.init(
        address='local',
        num_cpus=num_cpus,
        num_gpus=num_gpus,
        include_dashboard=False,
        logging_level=logging.WARNING,
        log_to_driver=True,
    )
    return ray


def _is_loopback_address(address: str) -> bool:
    host = address.rsplit(':', 1)[0].strip('[]')
    if host == 'localhost':
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@contextlib.contextmanager
def connect(address: str) -> Iterator[Any]:
    """``with connect(address) as ray:`` -- Ray connected for the block.

    An already initialised Ray (a program or test that started it) is used as
    it is and left running; otherwise ``local`` starts one (stopped at the
    end) and ``auto``/``HOST:PORT`` joins a running cluster (disconnected at
    the end).

    Raises:
      ValueError: Ray is not installed, or no cluster answers at `address`.
    """
    ray = import_ray()
    if ray.is_initialized():
        yield ray
        return
    os.environ.setdefault('RAY_USAGE_STATS_ENABLED', '0')
    if address == 'local':
        start_local()
    else:
        if address != 'auto':
            ray_address.probe(address)  # seconds, not Ray's minutes of retries
        if _is_loopback_address(address):
            loopback_only()
        try:
            ray.init(address=address, logging_level=logging.WARNING, log_to_driver=True)
        except ConnectionError as e:
            first = (str(e).strip().splitlines() or [''])[0]
            raise UsageError(
                f"--ray_address '{address}': no Ray cluster answers ({first}); start one "
                'with: ray start --head, or use --ray_address=local'
            ) from e
    try:
        yield ray
    finally:
        ray.shutdown()


def cluster_totals(ray: Any) -> tuple[float, float]:
    """The cluster's CPUs and GPUs (Ray's resource bookkeeping, not a measurement)."""
    resources = ray.cluster_resources()
    return float(resources.get('CPU', 0.0)), float(resources.get('GPU', 0.0))


def describe_this_node() -> dict[str, Any]:
    """This node's hardware, under :data:`NODE_INFO_KEYS` (no host name, no address)."""
    # pylint: disable=import-outside-toplevel
    from algorithmic_efficiency.recording import sysinfo
    from algorithmic_efficiency.telemetry import nvml

    info = {**sysinfo.system_metadata(None), **nvml.gpu_info()}
    return {key: info[key] for key in NODE_INFO_KEYS if key in info}


def _probe_node() -> dict[str, Any]:
    """Runs on a node: its anonymous id and hardware (every GPU of the node, not a task's)."""
    import ray  # noqa: PLC0415

    # A task asking no GPU may be shown none; the node's description lists them all.
    os.environ.pop('CUDA_VISIBLE_DEVICES', None)
    return {
        NODE_ID_COLUMN: anonymous_node_id(ray.get_runtime_context().get_node_id()),
        **describe_this_node(),
    }


def probe_nodes(ray: Any) -> list[dict[str, Any]]:
    """Every alive node's description, one task pinned to each (asking no resources)."""
    # pylint: disable=import-outside-toplevel
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    probe = ray.remote(num_cpus=0, max_calls=1, max_retries=0)(_probe_node)
    refs = []
    for node in ray.nodes():
        if not node.get('Alive'):
            continue
        strategy = NodeAffinitySchedulingStrategy(node_id=node['NodeID'], soft=False)
        refs.append(probe.options(scheduling_strategy=strategy).remote())
    described = []
    for ref in refs:
        try:
            described.append(ray.get(ref, timeout=120))
        except Exception as e:  # noqa: BLE001  (a node lost now is not the sweep's failure)
            logging.warning('Could not describe a Ray node: %s', type(e).__name__)
    return sorted(described, key=lambda n: n[NODE_ID_COLUMN])
