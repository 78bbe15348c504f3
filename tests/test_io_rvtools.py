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

# The header rows of an RVTools 4.x export, tab by tab, in RVTools' column order.
HEADERS: dict[str, list[str]] = {
    "vInfo": [
        "VM", "Powerstate", "Template", "SRM Placeholder", "Config status", "DNS Name", "Connection state",
        "Guest state", "Heartbeat", "Consolidation Needed", "PowerOn", "Suspended To Memory", "Suspend time",
        "Suspend Interval", "Creation date", "Change Version", "CPUs", "Overall Cpu Readiness", "Memory",
        "Active Memory", "NICs", "Disks", "Total disk capacity MiB", "Fixed Passthru HotPlug",
        "min Required EVC Mode Key", "Latency Sensitivity", "Op Notification Timeout", "EnableUUID", "CBT",
        "Primary IP Address", "Network #1", "Network #2", "Network #3", "Network #4", "Network #5", "Network #6",
        "Network #7", "Network #8", "Num Monitors", "Video Ram KiB", "Resource pool", "Folder ID", "Folder", "vApp",
        "DAS protection", "FT State", "FT Role", "FT Latency", "FT Bandwidth", "FT Sec. Latency",
        "Vm Failover In Progress", "Provisioned MiB", "In Use MiB", "Unshared MiB", "HA Restart Priority",
        "HA Isolation Response", "HA VM Monitoring", "Cluster rule(s)", "Cluster rule name(s)", "Boot Required",
        "Boot delay", "Boot retry delay", "Boot retry enabled", "Boot BIOS setup", "Reboot PowerOff",
        "EFI Secure boot", "Firmware", "HW version", "HW upgrade status", "HW upgrade policy", "HW target", "Path",
        "Log directory", "Snapshot directory", "Suspend directory", "Annotation", "Backup status",
        "ClusterInvariantVMMId", "Last backup", "Datacenter", "Cluster", "Host",
        "OS according to the configuration file", "OS according to the VMware Tools", "Customization Info",
        "Guest Detailed Data", "VM ID", "SMBIOS UUID", "VM UUID", "VI SDK Server type", "VI SDK API Version",
        "VI SDK Server", "VI SDK UUID",
    ],
    "vCPU": [
        "VM", "Powerstate", "Template", "SRM Placeholder", "CPUs", "Sockets", "Cores p/s", "Max", "Overall", "Level",
        "Shares", "Reservation", "Entitlement", "DRS Entitlement", "Limit", "Hot Add", "Hot Remove",
        "Numa Hotadd Exposed", "Annotation", "Backup status", "ClusterInvariantVMMId", "Last backup", "Datacenter",
        "Cluster", "Host", "Folder", "OS according to the configuration file", "OS according to the VMware Tools",
        "VM ID", "VM UUID", "VI SDK Server", "VI SDK UUID",
    ],
    "vMemory": [
        "VM", "Powerstate", "Template", "SRM Placeholder", "Size MiB", "Memory Reservation Locked To Max",
        "Overhead", "Max", "Consumed", "Consumed Overhead", "Private", "Shared", "Swapped", "Ballooned", "Active",
        "Entitlement", "DRS Entitlement", "Level", "Shares", "Reservation", "Limit", "Hot Add", "Annotation",
        "Backup status", "ClusterInvariantVMMId", "Last backup", "Datacenter", "Cluster", "Host", "Folder",
        "OS according to the configuration file", "OS according to the VMware Tools", "VM ID", "VM UUID",
        "VI SDK Server", "VI SDK UUID",
    ],
    "vHost": [
        "Host", "Datacenter", "Cluster", "Config status", "Compliance Check State", "in Maintenance Mode",
        "in Quarantine Mode", "vSAN Fault Domain Name", "CPU Model", "Speed", "HT Available", "HT Active", "# CPU",
        "Cores per CPU", "# Cores", "CPU usage %", "# Memory", "Memory Tiering Type", "Memory usage %", "Console",
        "# NICs", "# HBAs", "# VMs total", "# VMs", "VMs per Core", "# vCPUs", "vCPUs per Core", "vRAM",
        "VM Used memory", "VM Memory Swapped", "VM Memory Ballooned", "VMotion support", "Storage VMotion support",
        "Current EVC", "Max EVC", "Assigned License(s)", "ATS Heartbeat", "ATS Locking",
        "Current CPU power man. policy", "Supported CPU power man.", "Host Power Policy", "ESX Version",
        "Boot time", "DNS Servers", "DHCP", "Domain", "Domain List", "DNS Search Order", "NTP Server(s)",
        "NTPD running", "Time Zone", "Time Zone Name", "GMT Offset", "Vendor", "Model", "Serial number",
        "Service tag", "OEM specific string", "BIOS Vendor", "BIOS Version", "BIOS Date", "Certificate Issuer",
        "Certificate Start Date", "Certificate Expiry Date", "Certificate Status", "Certificate Subject",
        "Object ID", "AutoDeploy.MachineIdentity", "Backup status", "ClusterInvariantVMMId", "Last backup", "UUID",
        "VI SDK Server", "VI SDK UUID",
    ],
    "vDatastore": [
        "Name", "Config status", "Address", "Accessible", "Type", "# VMs total", "# VMs", "Capacity MiB",
        "Provisioned MiB", "In Use MiB", "Free MiB", "Free %", "SIOC enabled", "SIOC Threshold", "# Hosts", "Hosts",
        "Cluster name", "Cluster capacity MiB", "Cluster free space MiB", "Block size", "Max Blocks", "# Extents",
        "Major Version", "Version", "VMFS Upgradeable", "MHA", "URL", "Object ID", "Backup status",
        "ClusterInvariantVMMId", "Last backup", "VI SDK Server", "VI SDK UUID",
    ],
    "vCluster": [
        "Name", "Config status", "OverallStatus", "NumHosts", "numEffectiveHosts", "TotalCpu", "NumCpuCores",
        "NumCpuThreads", "Effective Cpu", "TotalMemory", "Effective Memory", "Num VMotions", "HA enabled",
        "Failover Level", "AdmissionControlEnabled", "Host monitoring", "HB Datastore Candidate Policy",
        "Isolation Response", "Restart Priority", "Cluster Settings", "Max Failures", "Max Failure Window",
        "Failure Interval", "Min Up Time", "VM Monitoring", "DRS enabled", "DRS default VM behavior",
        "DRS vmotion rate", "DPM enabled", "DPM default behavior", "DPM Host Power Action Rate", "Object ID",
        "Backup status", "ClusterInvariantVMMId", "Last backup", "VI SDK Server", "VI SDK UUID",
    ],
    "vSource": [
        "Name", "OS type", "API type", "API version", "Version", "Patch level", "Build", "Fullname",
        "Product name", "Product version", "Product line", "Vendor", "VI SDK Server", "VI SDK UUID",
    ],
    "vMetaData": ["RVTools major version", "RVTools version", "xlsx creation datetime", "Server"],
}
# RVTools writes more tabs; a workbook with only some of them must load too.
ORDER = ["vInfo", "vCPU", "vMemory", "vDisk", "vHost", "vDatastore", "vCluster", "vSource", "vMetaData"]


def write_export(
    path: Path,
    tabs: Mapping[str, Sequence[Mapping[str, Any]]],
    *,
    headers: Mapping[str, list[str]] = HEADERS,
    rename: Mapping[str, Mapping[str, str]] | None = None,
    drop: Mapping[str, Sequence[str]] | None = None,
    extra: Mapping[str, Sequence[str]] | None = None,
    reverse: bool = False,
) -> Path:
    """An RVTools-like .xlsx: one sheet per tab, the header row, then one row per record
    (values by header name; absent ones left empty). ``rename`` changes header spellings,
    ``drop`` removes columns, ``extra`` appends unknown columns, ``reverse`` reorders them."""
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for tab in sorted(tabs, key=lambda t: ORDER.index(t) if t in ORDER else 99):
        cols = [h for h in headers.get(tab, []) if h not in (drop or {}).get(tab, ())]
        cols += list((extra or {}).get(tab, ()))
        if reverse:
            cols.reverse()
        ws = wb.create_sheet(tab)
        ws.append([(rename or {}).get(tab, {}).get(h, h) for h in cols])
        for rec in tabs[tab]:
            unknown = set(rec) - set(headers.get(tab, [])) - set((extra or {}).get(tab, ()))
            assert not unknown, f"test bug: {tab} has no columns {unknown}"
            ws.append([rec.get(h) for h in cols])
    wb.save(path)
    return path


def host(name: str, cluster: str, oid: str | None, *, dc: str = "DC1", mhz: int = 2600, cpus: int = 2,
         per: int = 12, mem: int = 262144, maintenance: str = "False") -> dict[str, Any]:
    return {"Host": name, "Datacenter": dc, "Cluster": cluster, "in Maintenance Mode": maintenance,
            "in Quarantine Mode": "False", "CPU Model": "Intel(R) Xeon(R) Gold 6126 CPU @ 2.60GHz", "Speed": mhz,
            "# CPU": cpus, "Cores per CPU": per, "# Cores": cpus * per, "# Memory": mem, "ESX Version":
            "VMware ESXi 8.0.2 build-22380479", "Object ID": oid, "VI SDK Server": "vc.lab.local"}


def vm(name: str, host: str | None, ds: str | None, oid: str | None, *, cluster: str = "prod-a", dc: str = "DC1",
       power: str = "poweredOn", **extra: Any) -> dict[str, Any]:
    return {"VM": name, "Powerstate": power, "Template": "False", "SRM Placeholder": "False",
            "CPUs": 2, "Memory": 4096, "Path": f"[{ds}] {name}/{name}.vmx" if ds else None,
            "Datacenter": dc, "Cluster": cluster, "Host": host, "VM ID": oid,
            "VM UUID": f"4210{abs(hash(name)) % 10**8:08d}-0000-0000-0000-000000000000",
            "VI SDK API Version": "8.0.2.0", "VI SDK Server": "vc.lab.local", **extra}


def cpu(name: str, oid: str | None, reservation: int) -> dict[str, Any]:
    return {"VM": name, "Powerstate": "poweredOn", "Template": "False", "CPUs": 2, "Sockets": 1, "Cores p/s": 2,
            "Shares": 2000, "Reservation": reservation, "Limit": -1, "VM ID": oid}


def mem(name: str, oid: str | None, reservation: int, overhead: int | None, *, size: int = 4096,
        locked: str = "False") -> dict[str, Any]:
    return {"VM": name, "Powerstate": "poweredOn", "Template": "False", "Size MiB": size,
            "Memory Reservation Locked To Max": locked, "Overhead": overhead, "Shares": 40960,
            "Reservation": reservation, "Limit": -1, "VM ID": oid}


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

    with pytest.raises(ha.InventoryError, match="no cluster 'prod-b'.*'dev', 'prod-a'"):
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


def test_missing_openpyxl_names_the_extra(lab_xlsx: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "openpyxl", None)
    with pytest.raises(ImportError, match=r"pip install 'hapolicy\[rvtools\]'"):
        io.read_rvtools(lab_xlsx, "prod-a")


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
