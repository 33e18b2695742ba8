"""A sweep on a 2-node Ray cluster on loopback (ray.cluster_utils.Cluster, 1 CPU per node).

Two single-CPU trials at once can only run one per node, so each node's id
must show up in the rows, and both nodes in metadata.json. The driver
writes the files (``--ray_storage=driver``), as on a cluster without shared
storage.
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
        head_node_args={'num_cpus': 1, 'include_dashboard': False},
    )
    try:
        nodes.add_node(num_cpus=1)
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
