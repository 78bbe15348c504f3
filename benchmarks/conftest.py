from __future__ import annotations

import pytest

import hapolicy as ha


@pytest.fixture(scope="session")
def big() -> ha.Inventory:
    """The vSphere 7/8 cluster maximum: 96 hosts, 10,000 VMs."""
    return ha.generate_inventory(hosts=96, vms=10_000, seed=1)


@pytest.fixture(scope="session")
def big_json(big: ha.Inventory) -> str:
    return big.to_json()
