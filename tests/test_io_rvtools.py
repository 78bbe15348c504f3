"""RVTools adapter (hapolicy.io.rvtools): workbooks built here with RVTools 4.x header rows."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

import hapolicy as ha
from hapolicy import io

openpyxl = pytest.importorskip("openpyxl")

from .rvtools_layout import HEADERS, cluster, cpu, datastore, disk, host, mem, metadata, source, vm, write_export

def lab_tabs() -> dict[str, list[dict[str, Any]]]:
    """One cluster 'prod-a' (3 hosts) plus a second cluster 'dev' (1 host) in one export."""
    return {
        "vInfo": [
            vm("db01", "esx-01.lab.local", "vmfs-01", "vm-100", **{"HA Restart Priority": "high"}),
            vm("app01", "esx-02.lab.local", "vmfs-01", "vm-101"),
            vm("web01", "esx-02.lab.local", "nfs-01", "vm-102", **{"HA Isolation Response": "shutdown"}),
            vm("old01", None, "vmfs-01", "vm-103", power="poweredOff"),
            vm("tmpl-w2k22", "esx-01.lab.local", "vmfs-01", "vm-104", power="poweredOff", Template="True"),
            vm("srm-ph01", "esx-03.lab.local", "vmfs-01", "vm-105", power="poweredOff",
               **{"SRM Placeholder": "True"}),
            vm("dev01", "esx-09.lab.local", "dev-ds", "vm-200", cluster="dev"),
        ],
        "vCPU": [cpu("db01", "vm-100", 2000), cpu("app01", "vm-101", 0), cpu("web01", "vm-102", 500),
                 cpu("old01", "vm-103", 0), cpu("dev01", "vm-200", 100)],
        "vMemory": [mem("db01", "vm-100", 8192, 121), mem("app01", "vm-101", 0, 60, size=4096, locked="True"),
                    mem("web01", "vm-102", 1024, 40), mem("old01", "vm-103", 0, None),
                    mem("dev01", "vm-200", 0, 30)],
        "vHost": [host("esx-01.lab.local", "prod-a", "host-21"), host("esx-02.lab.local", "prod-a", "host-22"),
                  host("esx-03.lab.local", "prod-a", "host-23", maintenance="True"),
                  host("esx-09.lab.local", "dev", "host-90", mem=65536)],
        "vDatastore": [
            {"Name": "vmfs-01", "Accessible": "True", "Type": "VMFS", "# Hosts": 3,
             "Hosts": "esx-01.lab.local, esx-02.lab.local, esx-03.lab.local", "Object ID": "datastore-11"},
            {"Name": "nfs-01", "Accessible": "True", "Type": "NFS", "Address": "filer-b.lab.local:/vol/nfs01",
             "# Hosts": 2, "Hosts": "esx-01.lab.local, esx-02.lab.local", "Object ID": "datastore-12"},
            {"Name": "dev-ds", "Accessible": "True", "Type": "VMFS", "# Hosts": 1, "Hosts": "esx-09.lab.local",
             "Object ID": "datastore-90"},
        ],
        "vCluster": [
            {"Name": "prod-a", "NumHosts": 3, "HA enabled": "True", "Failover Level": 1,
             "AdmissionControlEnabled": "True", "Host monitoring": "enabled",
             "HB Datastore Candidate Policy": "allFeasibleDsWithUserPreference", "Isolation Response": "powerOff",
             "Restart Priority": "medium", "Max Failures": 3, "Max Failure Window": 3600, "Failure Interval": 30,
             "Min Up Time": 120, "VM Monitoring": "vmMonitoringOnly", "DRS enabled": "True",
             "Object ID": "domain-c7"},
            {"Name": "dev", "NumHosts": 1, "HA enabled": "False", "AdmissionControlEnabled": "False",
             "Object ID": "domain-c9"},
        ],
        "vSource": [{"Name": "vc.lab.local", "API type": "VirtualCenter", "API version": "8.0.2.0",
                     "Version": "8.0.2", "Build": "22385739"}],
        "vMetaData": [{"RVTools major version": 4, "RVTools version": "4.6.1.0", "Server": "vc.lab.local"}],
    }


def paths(assumptions: Sequence[io.Assumption]) -> set[str]:
    return {a.path for a in assumptions}


def text(assumptions: Sequence[io.Assumption]) -> str:
    return "\n".join(str(a) for a in assumptions)


@pytest.fixture
def lab_xlsx(tmp_path: Path) -> Path:
    return write_export(tmp_path / "RVTools_export_all.xlsx", lab_tabs())


# ---------------------------------------------------------------- one cluster


def test_one_cluster(lab_xlsx: Path) -> None:
    inv, assumptions = io.read_rvtools(lab_xlsx, "prod-a")
    assert [h.id for h in inv.hosts] == ["host-21", "host-22", "host-23"]
    h = inv.host("host-21")
    assert h.name == "esx-01.lab.local"
    assert (h.cpu_mhz, h.memory_mb) == (2600 * 24, 262144)
    assert set(h.datastores) == {"datastore-11", "datastore-12"}
    assert inv.host("host-23").datastores == ("datastore-11",)
    assert inv.host("host-23").maintenance is True
    assert str(h.state) == "connected"

    assert [d.id for d in inv.datastores] == ["datastore-11", "datastore-12"]  # dev-ds belongs to 'dev'
    nfs = inv.datastore("datastore-12")
    assert (str(nfs.type), nfs.name, nfs.backing) == ("NFS", "nfs-01", "filer-b.lab.local")

    assert sorted(v.id for v in inv.vms) == ["vm-100", "vm-101", "vm-102", "vm-103"]  # no template, no SRM
    db = inv.vm("vm-100")
    assert (db.host, str(db.power_state), db.home_datastore) == ("host-21", "poweredOn", "datastore-11")
    assert (db.cpu_reservation_mhz, db.memory_reservation_mb, db.memory_overhead_mb) == (2000, 8192, 121)
    assert str(db.restart_priority) == "high"
    assert str(inv.vm("vm-102").isolation_response) == "shutdown"
    assert inv.vm("vm-102").home_datastore == "datastore-12"
    assert inv.vm("vm-101").memory_reservation_mb == 4096  # locked to max: the configured size
    old = inv.vm("vm-103")
    assert (old.host, str(old.power_state)) == (None, "poweredOff")

    cfg = inv.config
    assert (cfg.name, str(cfg.version)) == ("prod-a", "8.0")
    assert (str(cfg.isolation_response), str(cfg.restart_priority), cfg.host_monitoring) == ("powerOff", "medium", True)
    assert cfg.admission_control.to_dict() == {"policy": "percentage", "host_failures": 1}
    assert cfg.vm_monitoring["mode"] == "vmMonitoringOnly" and cfg.vm_monitoring["sensitivity"] == "high"
    assert str(cfg.heartbeat_datastores.policy) == "allFeasibleDsWithUserPreference"

    # RVTools cannot tell the policy type: the loader says what it assumed.
    assert "cluster.admission_control" in paths(assumptions)
    assert "tmpl-w2k22" in text(assumptions) and "srm-ph01" in text(assumptions)
    assert "cluster.advanced_options" in paths(assumptions)
    # The result is a working inventory.
    assert ha.elect(inv).master in {"host-21", "host-22"}


def test_from_rvtools_returns_the_inventory_and_logs_assumptions(
    lab_xlsx: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="hapolicy.io"):
        inv = io.from_rvtools(lab_xlsx, cluster="prod-a")
    assert isinstance(inv, ha.Inventory)
    assert inv == io.read_rvtools(lab_xlsx, "prod-a").inventory
    assert any("admission-control policy" in r.getMessage() for r in caplog.records)


def test_single_cluster_export_needs_no_name(tmp_path: Path) -> None:
    tabs = lab_tabs()
    tabs["vInfo"] = [r for r in tabs["vInfo"] if r["Cluster"] == "prod-a"]
    tabs["vHost"] = [r for r in tabs["vHost"] if r["Cluster"] == "prod-a"]
    tabs["vCluster"] = tabs["vCluster"][:1]
    inv = io.from_rvtools(write_export(tmp_path / "one.xlsx", tabs))
    assert inv.config.name == "prod-a" and len(inv.hosts) == 3


def test_arguments_and_defaults_replace_what_rvtools_lacks(lab_xlsx: Path) -> None:
    inv, assumptions = io.read_rvtools(
        lab_xlsx, "prod-a",
        admission_control={"policy": "slot", "host_failures": 1, "slot_cpu_mhz": 500, "slot_memory_mb": 1024},
        version="6.7.0",
        defaults={"cluster": {"advanced_options": {"das.respectVmVmAntiAffinityRules": "true"}}},
    )
    assert inv.config.admission_control.to_dict() == {
        "policy": "slot", "host_failures": 1, "slot_cpu_mhz": 500, "slot_memory_mb": 1024}
    assert str(inv.config.version) == "6.7"
    assert inv.config.advanced_options == {"das.respectVmVmAntiAffinityRules": "true"}
    assert "cluster.admission_control" not in paths(assumptions)
    assert "cluster.advanced_options" not in paths(assumptions)

    inv2, a2 = io.read_rvtools(lab_xlsx, "prod-a", defaults=io.Defaults(
        admission_control={"policy": "percentage", "cpu_percent": 25, "memory_percent": 25}))
    assert inv2.config.admission_control.to_dict() == {"policy": "percentage", "cpu_percent": 25, "memory_percent": 25}
    assert "Defaults.admission_control" in text(a2)

    with pytest.raises(ha.ArgumentError, match="unknown defaults nope"):
        io.read_rvtools(lab_xlsx, "prod-a", defaults={"nope": 1})
    with pytest.raises(ha.ArgumentError, match="not a vSphere version"):
        io.read_rvtools(lab_xlsx, "prod-a", version="latest")


def test_admission_control_disabled_and_old_versions(tmp_path: Path) -> None:
    tabs = lab_tabs()
    inv = io.from_rvtools(write_export(tmp_path / "a.xlsx", tabs), "dev")
    assert inv.config.admission_control.to_dict() == {"policy": "disabled"}

    tabs["vSource"][0]["Version"] = "6.0.0"
    tabs["vCluster"][0]["Failover Level"] = 2
    inv, assumptions = io.read_rvtools(write_export(tmp_path / "b.xlsx", tabs), "prod-a")
    assert str(inv.config.version) == "6.0"
    assert inv.config.admission_control.to_dict() == {"policy": "slot", "host_failures": 2}
    assert "failover level 2" in text(assumptions)


# ---------------------------------------------------------------- several clusters


def test_several_clusters_choose_by_name(lab_xlsx: Path) -> None:
    with pytest.raises(ha.InventoryError) as err:
        io.read_rvtools(lab_xlsx)
    (path, message), = err.value.problems
    assert path == str(lab_xlsx)
    assert "2 clusters" in message and "'dev'" in message and "'prod-a'" in message

    with pytest.raises(ha.InventoryError, match="no cluster 'prod-b'.*'dev' in datacenter 'DC1', 'prod-a' in datacenter"):
        io.read_rvtools(lab_xlsx, "prod-b")

    dev = io.from_rvtools(lab_xlsx, "dev")
    assert [h.id for h in dev.hosts] == ["host-90"] and [v.id for v in dev.vms] == ["vm-200"]
    assert [d.id for d in dev.datastores] == ["datastore-90"]
    assert io.from_rvtools(lab_xlsx, "PROD-A").config.name == "prod-a"  # case-insensitive when unique


def test_same_cluster_name_in_two_datacenters(tmp_path: Path) -> None:
    tabs = lab_tabs()
    tabs["vHost"].append(host("esx-51.lab.local", "prod-a", "host-51", dc="DC2"))
    tabs["vInfo"].append(vm("dr01", "esx-51.lab.local", "vmfs-51", "vm-500", dc="DC2"))
    tabs["vDatastore"].append({"Name": "vmfs-51", "Type": "VMFS", "Hosts": "esx-51.lab.local", "Object ID": "datastore-51"})
    path = write_export(tmp_path / "two-dc.xlsx", tabs)
    with pytest.raises(ha.InventoryError, match="several datacenters.*'DC1/prod-a', 'DC2/prod-a'"):
        io.read_rvtools(path, "prod-a")
    dr = io.from_rvtools(path, "DC2/prod-a")
    assert [h.id for h in dr.hosts] == ["host-51"] and [v.id for v in dr.vms] == ["vm-500"]
    assert [h.id for h in io.from_rvtools(path, "DC1/prod-a").hosts] == ["host-21", "host-22", "host-23"]
    with pytest.raises(ha.InventoryError, match="not in datacenter 'DC3'"):
        io.read_rvtools(path, "DC3/prod-a")


# ---------------------------------------------------------------- column tolerance


def test_missing_optional_columns_and_tabs(tmp_path: Path) -> None:
    tabs = lab_tabs()
    del tabs["vCluster"], tabs["vSource"], tabs["vCPU"]
    path = write_export(tmp_path / "sparse.xlsx", tabs, drop={
        "vInfo": ["VM ID", "VM UUID", "HA Restart Priority", "VI SDK API Version"],
        "vHost": ["Object ID", "Cores per CPU"],
        "vDatastore": ["Hosts", "Object ID", "Address"],
        "vMemory": ["Overhead", "VM ID"],
    })
    inv, assumptions = io.read_rvtools(path, "prod-a", defaults=io.Defaults(
        memory_overhead_mb=100, isolation_response="powerOff", version="7.0"))
    assert [h.id for h in inv.hosts] == ["host-esx-01.lab.local", "host-esx-02.lab.local", "host-esx-03.lab.local"]
    assert inv.host("host-esx-01.lab.local").cpu_mhz == 2600 * 24
    db = inv.vm("vm-db01")
    assert (db.host, db.cpu_reservation_mhz, db.memory_reservation_mb, db.memory_overhead_mb) == (
        "host-esx-01.lab.local", 0, 8192, 100)
    assert str(db.restart_priority) == "clusterRestartPriority"
    # Without a 'Hosts' column every cluster host is assumed to reach every datastore.
    assert all(set(h.datastores) == {"datastore-vmfs-01", "datastore-nfs-01"} for h in inv.hosts)
    assert str(inv.config.version) == "7.0" and str(inv.config.isolation_response) == "powerOff"
    p = paths(assumptions)
    for expected in ("hosts[*].id", "vms[*].id", "datastores[*].id", "hosts[*].datastores",
                     "vms[*].memory_overhead_mb", "vms[*].cpu_reservation_mhz", "cluster.version",
                     "cluster.isolation_response", "cluster.restart_priority", "cluster.host_monitoring", "cluster"):
        assert expected in p, expected
    assert "100 MB" in text(assumptions)


def test_extra_and_reordered_columns_change_nothing(tmp_path: Path, lab_xlsx: Path) -> None:
    extra = {tab: ["Custom Attribute: Owner", "Notes 2", "Backup Policy"] for tab in HEADERS}
    rows = lab_tabs()
    for tab, recs in rows.items():
        for r in recs:
            r.update({"Custom Attribute: Owner": "team-x", "Notes 2": 42, "Backup Policy": "gold"})
    path = write_export(tmp_path / "extra.xlsx", rows, extra=extra, reverse=True)
    assert io.from_rvtools(path, "prod-a") == io.from_rvtools(lab_xlsx, "prod-a")


CSV_STYLE = {
    "vInfo": {"VM": "vInfoVMName", "Powerstate": "vInfoPowerstate", "Template": "vInfoTemplate",
              "SRM Placeholder": "vInfoSRMPlaceHolder", "Host": "vInfoHost", "Cluster": "vInfoCluster",
              "Datacenter": "vInfoDataCenter", "Path": "vInfoPath", "VM ID": "vInfoVMID",
              "HA Restart Priority": "vInfoHARestartPriority", "HA Isolation Response": "VINFO_HA_ISOLATION_RESPONSE"},
    "vHost": {"Host": "vHostName", "Cluster": "vHostCluster", "Datacenter": "vHostDatacenter",
              "Speed": "vHostCpuMhz", "# CPU": "vHostNumCpu", "# Cores": "vHostNumCpuCores",
              "# Memory": "vHostMemorySize", "in Maintenance Mode": "vHostInMaintenanceMode",
              "Object ID": "vHostObjectID"},
    "vDatastore": {"Name": "vDatastoreName", "Type": "vDatastoreType", "Hosts": "vDatastoreHosts",
                   "Object ID": "vDatastoreObjectID", "Address": "vDatastoreAddress"},
    "vCPU": {"VM": "vCPUVMName", "Reservation": "vCPUReservation", "VM ID": "vCPUVMID"},
    "vMemory": {"VM": "vMemoryVMName", "Reservation": "vMemoryReservation", "Overhead": "vMemoryOverhead",
                "Size MiB": "vMemorySizeMiB", "Memory Reservation Locked To Max": "vMemoryReservationLockedToMax",
                "VM ID": "vMemoryVMID"},
    "vCluster": {"Name": "vClusterName", "Failover Level": "failover_level",
                 "AdmissionControlEnabled": "ADMISSION CONTROL ENABLED", "Isolation Response": "isolation-response"},
}


def test_csv_style_headers(tmp_path: Path, lab_xlsx: Path) -> None:
    path = write_export(tmp_path / "csvstyle.xlsx", lab_tabs(), rename=CSV_STYLE)
    assert io.from_rvtools(path, "prod-a") == io.from_rvtools(lab_xlsx, "prod-a")


def test_directory_of_csv_exports(tmp_path: Path, lab_xlsx: Path) -> None:
    import csv

    out = tmp_path / "csv"
    out.mkdir()
    for tab, recs in lab_tabs().items():
        with open(out / f"RVTools_tab{tab}.csv", "w", newline="", encoding="utf-8-sig") as f:
            w = csv.writer(f)
            w.writerow(HEADERS[tab])
            for r in recs:
                w.writerow(["" if r.get(h) is None else r.get(h) for h in HEADERS[tab]])
    assert io.from_rvtools(out, "prod-a") == io.from_rvtools(lab_xlsx, "prod-a")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ha.InventoryError, match="no RVTools CSV exports"):
        io.read_rvtools(empty, "prod-a")


def test_units_and_cell_formats(tmp_path: Path) -> None:
    tabs = lab_tabs()
    tabs["vHost"][0].update({"Speed": "2,600", "# Cores": "24", "# Memory": "262,144 MB", "in Maintenance Mode": False})
    tabs["vMemory"][0].update({"Reservation": "8192", "Overhead": 121.4})
    tabs["vInfo"][0].update({"Powerstate": "PoweredOn", "Template": False})
    inv = io.from_rvtools(write_export(tmp_path / "fmt.xlsx", tabs), "prod-a")
    assert inv.host("host-21").cpu_mhz == 2600 * 24 and inv.host("host-21").memory_mb == 262144
    assert (inv.vm("vm-100").memory_reservation_mb, inv.vm("vm-100").memory_overhead_mb) == (8192, 121)


# ---------------------------------------------------------------- reservations, power states, HA fields


def test_reservations_join_vcpu_and_vmemory_by_vm_id(tmp_path: Path) -> None:
    tabs = lab_tabs()
    # Two VMs called 'app01' (different folders): the VM ID tells their rows apart.
    tabs["vInfo"].append(vm("app01", "esx-01.lab.local", "vmfs-01", "vm-110"))
    tabs["vCPU"].append(cpu("app01", "vm-110", 1200))
    tabs["vMemory"].append(mem("app01", "vm-110", 2048, 50))
    tabs["vInfo"].append(vm("lost01", "esx-01.lab.local", "vmfs-01", "vm-111"))  # in neither vCPU nor vMemory
    inv, assumptions = io.read_rvtools(write_export(tmp_path / "r.xlsx", tabs), "prod-a")
    assert (inv.vm("vm-101").cpu_reservation_mhz, inv.vm("vm-110").cpu_reservation_mhz) == (0, 1200)
    assert (inv.vm("vm-110").memory_reservation_mb, inv.vm("vm-110").memory_overhead_mb) == (2048, 50)
    lost = inv.vm("vm-111")
    assert (lost.cpu_reservation_mhz, lost.memory_reservation_mb) == (0, 0)
    assert "VM not found in vCPU" in text(assumptions) and "lost01" in text(assumptions)


def test_ha_and_ft_fields_per_vm(tmp_path: Path) -> None:
    tabs = lab_tabs()
    tabs["vInfo"] += [
        vm("ft01", "esx-01.lab.local", "vmfs-01", "vm-120", **{"FT State": "running", "FT Role": 1}),
        vm("ft01", "esx-02.lab.local", "vmfs-01", "vm-121", **{"FT State": "running", "FT Role": 2}),
        vm("batch01", "esx-01.lab.local", "vmfs-01", "vm-122", **{
            "HA Restart Priority": "disabled", "HA Isolation Response": "Leave powered on",
            "HA VM Monitoring": "vmMonitoringDisabled", "DAS protection": "False"}),
        vm("odd01", "esx-01.lab.local", "vmfs-01", "vm-123", **{"HA Restart Priority": "urgent"}),
        vm("susp01", "esx-02.lab.local", "vmfs-01", "vm-124", power="suspended"),
    ]
    inv, assumptions = io.read_rvtools(write_export(tmp_path / "ha.xlsx", tabs), "prod-a")
    assert (str(inv.vm("vm-120").role), str(inv.vm("vm-121").role)) == ("ftPrimary", "ftSecondary")
    b = inv.vm("vm-122")
    assert (str(b.restart_priority), str(b.isolation_response), b.protected) == ("disabled", "none", False)
    assert b.vm_monitoring == {"mode": "vmMonitoringDisabled", "sensitivity": None}
    assert str(inv.vm("vm-123").restart_priority) == "clusterRestartPriority"
    assert "unknown HA Restart Priority 'urgent'" in text(assumptions)
    assert (inv.vm("vm-124").host, str(inv.vm("vm-124").power_state)) == ("host-22", "suspended")


def test_powered_off_vm_on_another_clusters_host_has_no_host(tmp_path: Path) -> None:
    tabs = lab_tabs()
    tabs["vInfo"].append(vm("moved01", "esx-09.lab.local", "vmfs-01", "vm-130", power="poweredOff"))
    inv = io.from_rvtools(write_export(tmp_path / "p.xlsx", tabs), "prod-a")
    assert inv.vm("vm-130").host is None


def test_powered_on_vm_without_host_is_an_error_at_its_cell(tmp_path: Path) -> None:
    tabs = lab_tabs()
    tabs["vInfo"].insert(0, vm("ghost01", None, "vmfs-01", "vm-140"))
    tabs["vInfo"].insert(1, vm("ghost02", "esx-77.lab.local", "vmfs-01", "vm-141"))
    path = write_export(tmp_path / "ghost.xlsx", tabs)
    with pytest.raises(ha.InventoryError) as err:
        io.read_rvtools(path, "prod-a")
    letter = openpyxl.utils.get_column_letter(HEADERS["vInfo"].index("Host") + 1)
    assert err.value.problems == [
        (f"ghost.xlsx:vInfo!{letter}2", "powered-on VM 'ghost01' has no host"),
        (f"ghost.xlsx:vInfo!{letter}3",
         "powered-on VM 'ghost02' is on host 'esx-77.lab.local', which is not a host of the cluster in vHost"),
    ]


def test_core_validation_problems_point_at_the_row(tmp_path: Path) -> None:
    tabs = lab_tabs()
    tabs["vCPU"][0]["Reservation"] = 10**7  # more than any host has
    with pytest.raises(ha.InventoryError) as err:
        io.read_rvtools(write_export(tmp_path / "big.xlsx", tabs), "prod-a")
    assert any(p.startswith("big.xlsx:vInfo row 2 'db01' (vms[") for p, _ in err.value.problems), err.value.problems


# ---------------------------------------------------------------- bad files


def test_not_an_xlsx_file(tmp_path: Path) -> None:
    bad = tmp_path / "export.xlsx"
    bad.write_text("VM,Powerstate\ndb01,poweredOn\n")
    with pytest.raises(ha.InventoryError) as err:
        io.read_rvtools(bad)
    (path, message), = err.value.problems
    assert path == str(bad) and "not a readable .xlsx workbook" in message


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ha.InventoryError, match="no such file"):
        io.read_rvtools(tmp_path / "nope.xlsx")


def test_missing_vinfo_tab(tmp_path: Path) -> None:
    tabs = lab_tabs()
    del tabs["vInfo"]
    with pytest.raises(ha.InventoryError) as err:
        io.read_rvtools(write_export(tmp_path / "novinfo.xlsx", tabs), "prod-a")
    assert err.value.problems == [("novinfo.xlsx:vInfo", "the export has no 'vInfo' tab")]


def test_missing_required_columns(tmp_path: Path) -> None:
    path = write_export(tmp_path / "cols.xlsx", lab_tabs(), drop={"vInfo": ["Powerstate"], "vHost": ["Speed"]})
    with pytest.raises(ha.InventoryError) as err:
        io.read_rvtools(path, "prod-a")
    assert ("cols.xlsx:vInfo", "no 'Powerstate' / 'Power State' column") in err.value.problems
    assert any(p == "cols.xlsx:vHost" and "CPU capacity" in m for p, m in err.value.problems)


def test_bad_cells_are_reported_together(tmp_path: Path) -> None:
    tabs = lab_tabs()
    tabs["vInfo"][1]["Powerstate"] = "exploded"
    tabs["vCPU"][0]["Reservation"] = "lots"
    with pytest.raises(ha.InventoryError) as err:
        io.read_rvtools(write_export(tmp_path / "cells.xlsx", tabs), "prod-a")
    msgs = dict(err.value.problems)
    assert msgs["cells.xlsx:vInfo!B3"] == "unknown power state 'exploded'"
    assert msgs["cells.xlsx:vCPU!L2"] == "not a number: 'lots'"


def test_missing_readers_name_the_extra(lab_xlsx: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "openpyxl", None)
    monkeypatch.setitem(sys.modules, "python_calamine", None)
    with pytest.raises(ImportError, match=r"pip install python-calamine openpyxl"):
        io.read_rvtools(lab_xlsx, "prod-a")
    with pytest.raises(ImportError, match=r"reader='calamine' needs python-calamine"):
        io.read_rvtools(lab_xlsx, "prod-a", reader="calamine")
    with pytest.raises(ha.ArgumentError, match="reader='xlrd' is not an .xlsx reader; choose one of calamine, openpyxl"):
        io.read_rvtools(lab_xlsx, "prod-a", reader="xlrd")


def test_inventory_load_dispatches_xlsx(lab_xlsx: Path, tmp_path: Path) -> None:
    tabs = lab_tabs()
    tabs["vInfo"] = [r for r in tabs["vInfo"] if r["Cluster"] == "prod-a"]
    tabs["vHost"] = [r for r in tabs["vHost"] if r["Cluster"] == "prod-a"]
    tabs["vCluster"] = tabs["vCluster"][:1]
    one = write_export(tmp_path / "one.xlsx", tabs)
    try:
        inv = ha.Inventory.load(one)
    except ha.InventoryError as exc:
        if "unsupported file type" in str(exc):
            pytest.skip("Inventory.load does not dispatch .xlsx to hapolicy.io yet")
        raise
    assert inv == io.from_rvtools(one)


# ---------------------------------------------------------------- a whole vCenter, as real exports are
# Two datacenters, each with a cluster 'prod' and a datastore 'vmfs-01' (names are unique only
# within a datacenter), VMs whose second disk is on another datastore than their home, vDisk
# rows with the guest's mount points in 'Disk Path', Overhead 0 with 'Consumed Overhead' set.

AMS, ZRH = "Amsterdam", "Zürich"


def vcenter_tabs(*, zrh_like_ams: bool = False) -> dict[str, list[dict[str, Any]]]:
    """``zrh_like_ams``: Zürich's prod has three hosts of the same size as Amsterdam's, so
    the two vCluster rows 'prod' cannot be told apart by NumHosts / TotalCpu / TotalMemory."""
    ams = [host(f"ams-esx-0{i}.corp.example", "prod", f"host-{10 + i}", dc=AMS) for i in (1, 2, 3)]
    dev = [host("ams-esx-09.corp.example", "dev", "host-19", dc=AMS, mem=65536)]
    if zrh_like_ams:
        zrh = [host(f"zrh-esx-0{i}.corp.example", "prod", f"host-{50 + i}", dc=ZRH) for i in (1, 2, 3)]
    else:
        zrh = [host(f"zrh-esx-0{i}.corp.example", "prod", f"host-{50 + i}", dc=ZRH, mem=524288, mhz=3000)
               for i in (1, 2)]
    ams_names, zrh_names = [h["Host"] for h in ams], [h["Host"] for h in zrh]
    return {
        "vInfo": [
            vm("db01", ams_names[0], "vmfs-01", "vm-100", cluster="prod", dc=AMS, Disks=2),
            vm("web01", ams_names[1], "nfs-01", "vm-101", cluster="prod", dc=AMS),
            vm("dev01", "ams-esx-09.corp.example", "dev-ds", "vm-190", cluster="dev", dc=AMS),
            vm("zdb01", zrh_names[0], "vmfs-01", "vm-500", cluster="prod", dc=ZRH, Disks=2),
            vm("zapp01", zrh_names[1], "vmfs-01", "vm-501", cluster="prod", dc=ZRH),
        ],
        "vCPU": [cpu("db01", "vm-100", 1000), cpu("web01", "vm-101", 0), cpu("dev01", "vm-190", 0),
                 cpu("zdb01", "vm-500", 2000), cpu("zapp01", "vm-501", 0)],
        "vMemory": [
            mem("db01", "vm-100", 4096, 0, consumed_overhead=57),  # Overhead 0, as 8.0.2 writes it
            mem("web01", "vm-101", 0, 0),  # neither figure: Defaults.memory_overhead_mb
            mem("dev01", "vm-190", 0, 31),
            mem("zdb01", "vm-500", 8192, 0, consumed_overhead=88),
            mem("zapp01", "vm-501", 0, 45, consumed_overhead=44),  # Overhead given: used as it is
        ],
        "vDisk": [
            disk("db01", "vm-100", 1, "vmfs-01", "/, /boot", cluster="prod", dc=AMS),
            disk("db01", "vm-100", 2, "vmfs-02", "/var/lib/pgsql", cluster="prod", dc=AMS),
            disk("web01", "vm-101", 1, "nfs-01", "C:\\", cluster="prod", dc=AMS),
            disk("dev01", "vm-190", 1, "dev-ds", "/", cluster="dev", dc=AMS),
            disk("zdb01", "vm-500", 1, "vmfs-01", "/, /boot", cluster="prod", dc=ZRH),
            disk("zdb01", "vm-500", 2, "zrh-data", "/data", cluster="prod", dc=ZRH),
            disk("zapp01", "vm-501", 1, "vmfs-01", "/", cluster="prod", dc=ZRH),
        ],
        "vHost": ams + dev + zrh,
        "vDatastore": [
            datastore("vmfs-01", ams_names, "datastore-11"),
            datastore("vmfs-02", ams_names, "datastore-12"),
            datastore("nfs-01", ams_names[:2], "datastore-13", kind="NFS", address="filer-a.corp.example:/vol/nfs01",
                      url="ds:///vmfs/volumes/0a1b2c3d-nfs01/"),
            datastore("dev-ds", ["ams-esx-09.corp.example"], "datastore-19"),
            datastore("vmfs-01", zrh_names, "datastore-51"),
            datastore("zrh-data", zrh_names, "datastore-52"),
        ],
        "vCluster": [  # no Datacenter column in RVTools' vCluster
            cluster("prod", "domain-c7", ams, **{"Isolation Response": "powerOff", "Restart Priority": "high"}),
            cluster("dev", "domain-c9", dev, **{"HA enabled": "False", "AdmissionControlEnabled": "False"}),
            cluster("prod", "domain-c51", zrh, **{"Isolation Response": "shutdown", "Restart Priority": "low",
                                                  "Failover Level": 1}),
        ],
        "vSource": [source()],
        "vMetaData": [metadata()],
        "vPartition": [{"VM": "db01", "Disk": "/", "Capacity MiB": 20000}],
        "vHealth": [{"Name": "vmfs-01", "Message": "Datastore has less than 10% free", "Message type": "Storage"}],
    }


@pytest.fixture
def vcenter_xlsx(tmp_path: Path) -> Path:
    return write_export(tmp_path / "RVTools_export_all_vc01.xlsx", vcenter_tabs())


def test_vdisk_datastore_is_read_from_path_not_disk_path(vcenter_xlsx: Path) -> None:
    """vDisk 'Disk Path' holds the guest's mount points ('/, /boot'); the datastore of each
    disk is in 'Path'. db01's second disk is the only user of vmfs-02."""
    inv, assumptions = io.read_rvtools(vcenter_xlsx, f"{AMS}/prod")
    db = inv.vm("vm-100")
    assert db.home_datastore == "datastore-11"
    assert db.datastores == ("datastore-11", "datastore-12")
    assert "datastore-12" in {d.id for d in inv.datastores}
    assert all("datastore-12" in inv.host(h).datastores for h in ("host-11", "host-12", "host-13"))
    zrh = io.from_rvtools(vcenter_xlsx, f"{ZRH}/prod")
    assert zrh.vm("vm-500").datastores == ("datastore-51", "datastore-52")
    assert "not known" not in text(assumptions)


def test_vdisk_row_without_a_datastore_is_an_assumption(tmp_path: Path) -> None:
    tabs = vcenter_tabs()
    tabs["vDisk"][1]["Path"] = None  # db01's second disk: nowhere to tell its datastore
    inv, assumptions = io.read_rvtools(write_export(tmp_path / "x.xlsx", tabs), f"{AMS}/prod")
    assert inv.vm("vm-100").datastores == ("datastore-11",)
    assert "that disk's datastore is not known (1 object: db01)" in text(assumptions)


def test_same_named_datastores_in_two_datacenters_are_told_apart_by_their_hosts(vcenter_xlsx: Path) -> None:
    zrh, assumptions = io.read_rvtools(vcenter_xlsx, f"{ZRH}/prod")
    assert {d.id for d in zrh.datastores} == {"datastore-51", "datastore-52"}
    assert zrh.datastore("datastore-51").name == "vmfs-01"
    assert zrh.vm("vm-500").home_datastore == "datastore-51" and zrh.vm("vm-501").home_datastore == "datastore-51"
    assert all(set(h.datastores) == {"datastore-51", "datastore-52"} for h in zrh.hosts)
    assert "assumed to reach" not in text(assumptions)
    ams = io.from_rvtools(vcenter_xlsx, f"{AMS}/prod")
    assert ams.vm("vm-100").home_datastore == "datastore-11"
    assert "datastore-51" not in {d.id for d in ams.datastores}


def test_same_named_datastores_without_object_ids_get_distinct_ids(tmp_path: Path) -> None:
    tabs = vcenter_tabs()
    for d in tabs["vDatastore"]:
        d["Object ID"] = None
    zrh, assumptions = io.read_rvtools(write_export(tmp_path / "noid.xlsx", tabs), f"{ZRH}/prod")
    assert "assumed to reach" not in text(assumptions)  # Zürich's vmfs-01 row, with its hosts
    assert "id derived from the name (2 objects: vmfs-01, zrh-data)" in text(assumptions)
    assert zrh.vm("vm-500").home_datastore == "datastore-vmfs-01"
    assert set(zrh.host("host-51").datastores) == {"datastore-vmfs-01", "datastore-zrh-data"}


def test_same_named_clusters_get_their_own_ha_settings(vcenter_xlsx: Path) -> None:
    zrh, za = io.read_rvtools(vcenter_xlsx, f"{ZRH}/prod")
    assert (str(zrh.config.isolation_response), str(zrh.config.restart_priority)) == ("shutdown", "low")
    ams, aa = io.read_rvtools(vcenter_xlsx, f"{AMS}/prod")
    assert (str(ams.config.isolation_response), str(ams.config.restart_priority)) == ("powerOff", "high")
    # Which row was used, and why, is said.
    assert "row 4 (domain-c51) used" in text(za) and f"fit {ZRH}/prod's hosts and no other cluster's" in text(za)
    assert "row 2 (domain-c7) used" in text(aa)


def test_same_named_clusters_that_cannot_be_told_apart_are_refused(tmp_path: Path) -> None:
    path = write_export(tmp_path / "twins.xlsx", vcenter_tabs(zrh_like_ams=True))
    for choice in (f"{AMS}/prod", f"{ZRH}/prod"):
        with pytest.raises(ha.InventoryError) as err:
            io.read_rvtools(path, choice)
        (where, message), = err.value.problems
        assert where == "twins.xlsx:vCluster"
        assert f"cannot tell which vCluster row holds the HA settings of {choice}" in message
        assert "does not use another cluster's settings" in message


def test_indistinguishable_cluster_rows_with_the_same_settings_are_used(tmp_path: Path) -> None:
    tabs = vcenter_tabs(zrh_like_ams=True)
    tabs["vCluster"][2].update({"Isolation Response": "powerOff", "Restart Priority": "high"})
    inv, assumptions = io.read_rvtools(write_export(tmp_path / "twins.xlsx", tabs), f"{ZRH}/prod")
    assert str(inv.config.isolation_response) == "powerOff"
    assert "hold the same HA settings" in text(assumptions)


def test_another_clusters_vcluster_row_is_not_used(tmp_path: Path) -> None:
    tabs = vcenter_tabs()
    del tabs["vCluster"][2]  # Zürich's row missing: Amsterdam's 'prod' row is not Zürich's
    inv, assumptions = io.read_rvtools(write_export(tmp_path / "one.xlsx", tabs), f"{ZRH}/prod",
                                       defaults={"isolation_response": "none"})
    assert str(inv.config.isolation_response) == "none"
    assert (f"vCluster has no Datacenter column and 1 row(s) named 'prod' (row 2 (domain-c7)), none of which "
            f"fits {ZRH}/prod's 2 host(s)") in text(assumptions)
    assert "HA settings from Defaults" in text(assumptions)


def test_overhead_zero_falls_back_to_consumed_overhead(vcenter_xlsx: Path) -> None:
    inv, assumptions = io.read_rvtools(vcenter_xlsx, f"{AMS}/prod", defaults={"memory_overhead_mb": 70})
    assert inv.vm("vm-100").memory_overhead_mb == 57  # Overhead 0, Consumed Overhead 57
    assert inv.vm("vm-101").memory_overhead_mb == 70  # both 0: Defaults, said
    t = text(assumptions)
    assert "'Consumed Overhead' figure used (1 object: db01)" in t
    assert "memory overhead assumed 70 MB (Defaults.memory_overhead_mb) (1 object: web01)" in t
    zrh = io.from_rvtools(vcenter_xlsx, f"{ZRH}/prod")
    assert (zrh.vm("vm-500").memory_overhead_mb, zrh.vm("vm-501").memory_overhead_mb) == (88, 45)


def test_whole_vcenter_export_lists_its_clusters_with_datacenters(vcenter_xlsx: Path) -> None:
    with pytest.raises(ha.InventoryError) as err:
        io.read_rvtools(vcenter_xlsx)
    (_, message), = err.value.problems
    assert message == (
        f"the export holds 3 clusters ('dev' in datacenter '{AMS}', '{AMS}/prod', '{ZRH}/prod'): "
        "choose one with cluster=… (Python) or --cluster … (CLI)"
    )
    with pytest.raises(ha.InventoryError) as err:
        io.read_rvtools(vcenter_xlsx, "prod")
    (_, message), = err.value.problems
    assert message == (
        f"cluster 'prod' exists in several datacenters: choose one of '{AMS}/prod', '{ZRH}/prod' "
        "with cluster=… (Python) or --cluster … (CLI)"
    )
    assert io.from_rvtools(vcenter_xlsx, "dev").config.name == "dev"
    assert io.from_rvtools(vcenter_xlsx, "zürich/PROD").vm("vm-500").host == "host-51"  # case folded


def test_calamine_and_openpyxl_give_the_same_inventories(vcenter_xlsx: Path, lab_xlsx: Path) -> None:
    pytest.importorskip("python_calamine")
    for path, choice in ((vcenter_xlsx, f"{AMS}/prod"), (vcenter_xlsx, f"{ZRH}/prod"), (vcenter_xlsx, "dev"),
                         (lab_xlsx, "prod-a"), (lab_xlsx, "dev")):
        a = io.read_rvtools(path, choice, reader="calamine")
        b = io.read_rvtools(path, choice, reader="openpyxl")
        assert a.inventory == b.inventory, choice
        assert a.assumptions == b.assumptions, choice
        assert a.inventory.to_dict() == b.inventory.to_dict()


def test_calamine_problems_point_at_the_same_cells(tmp_path: Path) -> None:
    pytest.importorskip("python_calamine")
    tabs = vcenter_tabs()
    tabs["vInfo"][1]["Powerstate"] = "exploded"
    tabs["vCPU"][0]["Reservation"] = "lots"
    path = write_export(tmp_path / "cells.xlsx", tabs)
    problems = []
    for reader in ("calamine", "openpyxl"):
        with pytest.raises(ha.InventoryError) as err:
            io.read_rvtools(path, f"{AMS}/prod", reader=reader)
        problems.append(err.value.problems)
    assert problems[0] == problems[1]
    assert ("cells.xlsx:vInfo!B3", "unknown power state 'exploded'") in problems[0]


def test_sheets_calamine_cannot_hold_safely_are_read_by_openpyxl(tmp_path: Path) -> None:
    """python-calamine holds a sheet as one block from its first to its last cell: one cell far
    right (column JA) or far down (row 999,999) makes a few KB of XML ask for hundreds of
    millions of cells. Such sheets go to openpyxl, which streams."""
    pytest.importorskip("python_calamine")
    from hapolicy.io.rvtools import _calamine_safe

    path = write_export(tmp_path / "ok.xlsx", vcenter_tabs())
    assert _calamine_safe(path, ["vInfo", "vHost", "vDisk"])
    wb = openpyxl.load_workbook(path)
    wb["vHost"].cell(row=2, column=261, value="far right")  # column JA
    wb["vInfo"].cell(row=999_999, column=200, value="far down")
    far = tmp_path / "far.xlsx"
    wb.save(far)
    assert not _calamine_safe(far, ["vHost"]) and not _calamine_safe(far, ["vInfo"])
    assert _calamine_safe(far, ["vCPU"])
    a = io.read_rvtools(far, f"{ZRH}/prod", reader="calamine")
    assert a.inventory == io.from_rvtools(path, f"{ZRH}/prod", reader="openpyxl")


def test_calamine_alone_reads_an_export(vcenter_xlsx: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """With python-calamine installed, openpyxl is needed only for sheets calamine cannot hold."""
    pytest.importorskip("python_calamine")
    import sys

    expected = io.from_rvtools(vcenter_xlsx, f"{ZRH}/prod", reader="openpyxl")
    monkeypatch.setitem(sys.modules, "openpyxl", None)
    assert io.from_rvtools(vcenter_xlsx, f"{ZRH}/prod") == expected


def test_a_datastore_mounted_only_on_other_hosts_is_not_this_clusters(tmp_path: Path) -> None:
    tabs = vcenter_tabs()
    del tabs["vDatastore"][4]  # Zürich's vmfs-01: only Amsterdam's (on Amsterdam's hosts) is left
    zrh, assumptions = io.read_rvtools(write_export(tmp_path / "x.xlsx", tabs), f"{ZRH}/prod")
    assert zrh.vm("vm-500").home_datastore == "datastore-vmfs-01"
    assert "datastore-11" not in {d.id for d in zrh.datastores}
    assert "vDatastore has no 'vmfs-01' mounted on a host of this cluster (its row(s) 2 of that name are " \
           "datastores mounted on other clusters' hosts only)" in text(assumptions)
    assert "assumed to reach" not in text(assumptions)


def test_one_datastore_listed_twice_is_one_datastore(tmp_path: Path) -> None:
    """Rows with the same URL are one datastore (e.g. two exports of one vCenter merged): the
    hosts of both rows reach it."""
    tabs = vcenter_tabs()
    zrh_vmfs = tabs["vDatastore"][4]
    tabs["vDatastore"][4] = {**zrh_vmfs, "Hosts": "zrh-esx-01.corp.example", "# Hosts": 1}
    tabs["vDatastore"].append({**zrh_vmfs, "Hosts": "zrh-esx-02.corp.example", "# Hosts": 1})
    zrh = io.from_rvtools(write_export(tmp_path / "twice.xlsx", tabs), f"{ZRH}/prod")
    assert [d.id for d in zrh.datastores if d.name == "vmfs-01"] == ["datastore-51"]
    assert all("datastore-51" in h.datastores for h in zrh.hosts)


def test_current_demand_from_vcpu_overall_and_vmemory_active(tmp_path: Path) -> None:
    """R-AC-PERF: vCPU 'Overall' (CPU usage, MHz) → cpu_usage_mhz; vMemory 'Active' (active guest
    memory, MiB) → memory_usage_mb; only for powered-on VMs; absent cells stay unknown."""
    tabs = lab_tabs()
    tabs["vCPU"][0]["Overall"] = 1500  # db01
    tabs["vMemory"][0]["Active"] = 3072
    tabs["vCPU"][3]["Overall"] = 900  # old01 is powered off: not its demand
    inv = io.from_rvtools(write_export(tmp_path / "u.xlsx", tabs), "prod-a")
    assert (inv.vm("vm-100").cpu_usage_mhz, inv.vm("vm-100").memory_usage_mb) == (1500, 3072)
    assert (inv.vm("vm-101").cpu_usage_mhz, inv.vm("vm-101").memory_usage_mb) == (None, None)
    assert inv.vm("vm-103").cpu_usage_mhz is None
