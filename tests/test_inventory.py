"""Inventory loading, export, immutability, what-if copies (docs/inventory.rst, docs/api.rst "Inventory")."""

from __future__ import annotations

import dataclasses
import json
import pickle
from pathlib import Path

import pytest

import hapolicy as ha

from .conftest import doc, host, vm


def test_load_json_and_contents(lab: ha.Inventory) -> None:
    assert len(lab.hosts) == 4 and len(lab.vms) == 20 and len(lab.datastores) == 3
    h = lab.host("host-21")
    assert (h.cpu_mhz, h.memory_mb, h.state) == (48000, 262144, ha.ConnectionState.CONNECTED)
    v = lab.vm("vm-100")
    assert v.restart_priority == "highest" and v.restart_priority is ha.RestartPriority.HIGHEST
    assert v.datastores == ("datastore-11",)  # defaults to [home_datastore]
    assert lab.vm("vm-118").protected is False  # powered off: unprotected by default
    assert lab.vm("vm-100").protected is True
    assert lab.config.admission_control.policy == ha.AdmissionPolicy.SLOT
    assert lab.config.isolation_response == ha.IsolationResponse.POWER_OFF
    assert lab.rules[0].type == ha.RuleKind.VM_ANTI_AFFINITY and lab.rules[0].vms == ("vm-102", "vm-103")


def test_unknown_ids_raise_key_error(lab: ha.Inventory) -> None:
    with pytest.raises(KeyError):
        lab.host("host-99")
    with pytest.raises(ha.UnknownIdError) as info:
        lab.vm("vm-9999")
    assert str(info.value) == "unknown vm 'vm-9999'"
    assert isinstance(info.value, ha.HaPolicyError)


def test_round_trips(lab: ha.Inventory) -> None:
    assert ha.Inventory.from_dict(lab.to_dict()) == lab
    assert ha.Inventory.from_json(lab.to_json()) == lab
    assert ha.Inventory.from_json(lab.to_json(indent=2)) == lab
    assert pickle.loads(pickle.dumps(lab)) == lab
    assert hash(pickle.loads(pickle.dumps(lab))) == hash(lab)
    # The document is complete: defaults are explicit.
    d = lab.to_dict()
    assert d["cluster"]["restart_priority"] == "medium"
    assert d["vms"][0]["isolation_response"] == "clusterIsolationResponse"


def test_yaml_loads_the_same(lab: ha.Inventory, tmp_path: Path) -> None:
    yaml_text = json.dumps(lab.to_dict(), indent=1)  # JSON is YAML
    p = tmp_path / "inv.yaml"
    p.write_text(yaml_text)
    assert ha.Inventory.load(p) == lab
    text = "cluster: {name: y, version: 6.0}\nhosts:\n  - {id: host-1, cpu_mhz: 1000, memory_mb: 2048}\n"
    inv = ha.Inventory.from_yaml(text)
    assert inv.config.version == ha.Version.V6_0  # YAML's number 6.0 means "6.0"
    # Before 6.5 the default admission policy is the slot policy with one failure.
    assert inv.config.admission_control.policy == ha.AdmissionPolicy.SLOT


def test_default_admission_by_version() -> None:
    inv = ha.Inventory.from_dict(doc([host("h1")], cluster={"version": "8.0"}))
    ac = inv.config.admission_control
    assert (ac.policy, ac.host_failures) == (ha.AdmissionPolicy.PERCENTAGE, 1)


def test_immutable(lab: ha.Inventory) -> None:
    with pytest.raises(AttributeError):
        lab.hosts = ()  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        lab.hosts[0].cpu_mhz = 1  # type: ignore[misc]


def test_replace_validates_again(lab: ha.Inventory) -> None:
    bigger = lab.replace(hosts=[*lab.hosts, ha.Host("host-99", cpu_mhz=40000, memory_mb=131072, datastores=("datastore-11",))])
    assert len(bigger.hosts) == 5 and bigger != lab
    assert len(lab.hosts) == 4  # the original is untouched
    # A maintenance host may not run powered-on VMs: replace validates the copy again.
    with pytest.raises(ha.InventoryError, match="maintenance"):
        lab.replace(hosts=[dataclasses.replace(h, maintenance=True) if h.id == "host-21" else h for h in lab.hosts])

def test_replace_reports_problems(lab: ha.Inventory) -> None:
    with pytest.raises(ha.InventoryError) as info:
        lab.replace(hosts=[h for h in lab.hosts if h.id != "host-21"])
    paths = {p for p, _ in info.value.problems}
    # Every VM that ran on host-21 now names an unknown host.
    expected = {f"vms[{i}].host" for i, v in enumerate(lab.vms) if v.host == "host-21"}
    assert expected <= paths and expected


def test_enum_members_and_value_objects_accepted_as_input() -> None:
    d = doc([host("h1")], [vm("v1", "h1", restart_priority=ha.RestartPriority.HIGH)])
    d["hosts"][0]["state"] = ha.ConnectionState.CONNECTED
    inv = ha.Inventory.from_dict(d)
    assert inv.vm("v1").restart_priority == ha.RestartPriority.HIGH
    inv2 = ha.Inventory.from_dict({**d, "hosts": [ha.Host("h1", cpu_mhz=10000, memory_mb=16384, datastores=("ds-1",))]})
    assert inv2 == inv


def test_warnings_keep_unknown_options_and_fields() -> None:
    d = doc([host("h1", colour="blue")], cluster={"advanced_options": {"das.somethingNew": "1", "das.vmCpuMinMHz": "64"}})
    inv = ha.Inventory.from_dict(d)
    assert ("cluster.advanced_options['das.somethingNew']" in dict(inv.warnings))
    assert "hosts[0].colour" in dict(inv.warnings)
    # Kept, as typed, and visible in the export.
    assert inv.config.advanced_options["das.somethingNew"] == "1"
    assert inv.to_dict()["cluster"]["advanced_options"]["das.somethingNew"] == "1"
    assert inv.options["das.vmCpuMinMHz"] == 64


def test_option_defaults_follow_version() -> None:
    v50 = ha.Inventory.from_dict(doc([host("h1")], cluster={"version": "5.0"}))
    v51 = ha.Inventory.from_dict(doc([host("h1")], cluster={"version": "5.1"}))
    assert v50.options["das.maskCleanShutdownEnabled"] is False
    assert v51.options["das.maskCleanShutdownEnabled"] is True
    assert v50.options["das.config.fdm.isolationPolicyDelaySec"] == 0
    assert v51.options["das.config.fdm.isolationPolicyDelaySec"] == 30


def test_repr_and_html(lab: ha.Inventory) -> None:
    assert "hosts=4" in repr(lab) and "vms=20" in repr(lab)
    assert "<table>" in lab._repr_html_()


def test_load_unsupported_suffix(tmp_path: Path) -> None:
    p = tmp_path / "inv.txt"
    p.write_text("{}")
    with pytest.raises(ha.InventoryError, match="unsupported file type"):
        ha.Inventory.load(p)


def test_generate_inventory_is_deterministic_and_valid() -> None:
    a = ha.generate_inventory(hosts=8, vms=200, seed=7)
    b = ha.generate_inventory(hosts=8, vms=200, seed=7)
    c = ha.generate_inventory(hosts=8, vms=200, seed=8)
    assert a == b and a != c
    assert (len(a.hosts), len(a.vms)) == (8, 200)
    assert ha.Inventory.from_json(a.to_json()) == a and not a.warnings
    # Every powered-on VM's reservation fits on its host with all the others there.
    for h in a.hosts:
        on = [v for v in a.vms if v.host == h.id and v.power_state == ha.PowerState.POWERED_ON]
        assert sum(v.cpu_reservation_mhz for v in on) <= h.cpu_mhz
        assert sum(v.memory_reservation_mb + v.memory_overhead_mb for v in on) <= h.memory_mb
    with pytest.raises(ha.ArgumentError, match="unknown version"):
        ha.generate_inventory(hosts=2, vms=2, version="9.9")


@pytest.mark.parametrize(
    ("hosts", "vms", "seed", "digest"),
    [
        # Digests of the JSON text the first release of the generator produced: the docs promise
        # the same inventory for a spec across releases that keep the generator unchanged, and
        # the generator's speed-ups (binary-searched weights, per-host datastore lists) must not
        # change a single draw.
        (96, 10_000, 1, "ceedb88f1e202d28"),
        (2_000, 200_000, 3, "ac9538f21645c941"),
        (3, 10, 5, "d4da340e17a9ed15"),
        (0, 5, 1, "03762d8a5fe91fc0"),
    ],
)
def test_generated_inventories_stay_the_same_across_releases(hosts: int, vms: int, seed: int, digest: str) -> None:
    import hashlib

    text = ha.generate_inventory(hosts=hosts, vms=vms, seed=seed).to_json()
    assert hashlib.sha256(text.encode()).hexdigest()[:16] == digest


def test_sections_are_the_parts_of_the_document() -> None:
    """``inv.hosts`` and friends read one section from the core, not the whole document (a
    million-VM inventory's hosts without writing a single VM); the parts equal the whole."""
    inv = ha.generate_inventory(hosts=6, vms=120, seed=4)
    whole = inv.to_dict()
    assert {name: inv._core.section(name) for name in whole} == whole
    assert [h.id for h in inv.hosts] == [h["id"] for h in whole["hosts"]]
    with pytest.raises(ha.ArgumentError, match="no section 'nope'"):
        inv._core.section("nope")
