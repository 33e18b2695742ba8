"""A sweep on a 2-node Ray cluster on loopback (ray.cluster_utils.Cluster, 1 CPU per node).

Two single-CPU trials at once can only run one per node, so each node's id
must show up in the rows, and both nodes in metadata.json. The driver
writes the files (``--ray_storage=driver``), as on a cluster without shared
storage.

Each node also declares one GPU. This machine has none: the GPUs are Ray's
bookkeeping only, faked at the boundary where Ray hands a GPU id to an actor
(``CUDA_VISIBLE_DEVICES``); JAX on CPU ignores it, the rows must not.
"""

import pytest
import ray_helpers as h

from algorithmic_efficiency import sweep
from algorithmic_efficiency.distributed import cluster


@pytest.fixture(scope='module')
def two_nodes():
    cluster.loopback_only()
    from ray.cluster_utils import Cluster

    nodes = Cluster(
        initialize_head=True,
        connect=True,
        head_node_args={'num_cpus': 1, 'num_gpus': 1, 'include_dashboard': False},
    )
    try:
        nodes.add_node(num_cpus=1, num_gpus=1)
        nodes.wait_for_nodes()
        yield nodes
    finally:
        import ray

        ray.shutdown()
        nodes.shutdown()


def test_trials_spread_over_two_nodes(tmp_path, two_nodes):
    log_dir = tmp_path / 'logs'
    code = sweep.run(
        h.config(
            log_dir,
            trials=2,
            steps=10,
            ray_address=two_nodes.address,
            trial_resources='cpu=1',
            ray_storage='driver',
        )
    )
    assert code == 0
    listed = {n['node.id'] for n in h.metadata(log_dir)['nodes']}
    assert len(listed) == 2
    used = set()
    for idx in (1, 2):
        frame = h.rows(log_dir, idx)
        assert len(frame) == 2 and frame['global_step'].iloc[-1] == 10
        assert len(set(frame['node.id'])) == 1
        used |= set(frame['node.id'])
    assert used == listed
    assert h.metadata(log_dir)['ray']['max_concurrent_trials'] == 2
    assert h.leaked_names(log_dir) == []


def test_one_trial_per_gpu_by_default_and_rows_name_it(tmp_path, two_nodes):
    # No --trial_resources: with GPUs in the cluster, each trial gets one GPU (and the
    # CPUs per GPU), so the two trials run at once, one per node's GPU.
    log_dir = tmp_path / 'logs'
    assert sweep.run(h.config(log_dir, trials=2, steps=3, ray_address=two_nodes.address)) == 0
    ray_meta = h.metadata(log_dir)['ray']
    assert ray_meta['trial_resources'] == {'cpu': 1.0, 'gpu': 1.0}
    assert ray_meta['max_concurrent_trials'] == 2
    nodes = set()
    for idx in (1, 2):
        info = h.trial_json(log_dir, idx)
        assert info['devices.visible'] == '0'  # each node's only GPU
        frame = h.rows(log_dir, idx)
        assert frame['devices.visible'].astype(str).tolist() == ['0'] * len(frame)
        nodes |= set(frame['node.id'])
    assert len(nodes) == 2
