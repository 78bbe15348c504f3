"""The layout of a real RVTools export, for building test workbooks.

The header rows below are those of a real RVTools 4.x export (27 tabs), every column in
RVTools' order, including the many that hapolicy ignores. They were taken from a published
column-by-column comparison against a reference export made by RVTools itself (repository
Yoobuu/Kylow, ``vmware_rvtools_exporter/out/compare/report.md``, "reference: RVTOOLEX.xlsx"),
and agree with what the issue reports of a vCenter 8.0.2 export: booleans are the strings
``True`` / ``False``, vInfo ``Path`` is ``[datastore] dir/vm.vmx``, vDisk ``Disk Path`` holds
the guest's mount points while vDisk ``Path`` holds ``[datastore] dir/disk.vmdk``, vDatastore
``Hosts`` is a ``", "``-joined list of host names, and vCluster has no Datacenter column (its last
columns include a custom attribute, ``com.vmware.vcenter.cluster.edrs.upgradeHostAdded``).

:func:`write_export` writes a workbook from records keyed by these headers; :func:`big_export`
generates a whole-vCenter export (several clusters in two datacenters) for benchmarks.
"""

from __future__ import annotations

import random
import zlib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

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
    "vDisk": [
        "VM", "Powerstate", "Template", "SRM Placeholder", "Disk", "Disk Key", "Disk UUID", "Disk Path",
        "Capacity MiB", "Raw", "Disk Mode", "Sharing mode", "Thin", "Eagerly Scrub", "Split", "Write Through",
        "Level", "Shares", "Reservation", "Limit", "Controller", "Label", "SCSI Unit #", "Unit #", "Shared Bus",
        "Path", "Raw LUN ID", "Raw Comp. Mode", "Internal Sort Column", "Annotation", "Backup status",
        "ClusterInvariantVMMId", "Last backup", "Datacenter", "Cluster", "Host", "Folder",
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
    "vCluster": [
        "Name", "Config status", "OverallStatus", "NumHosts", "numEffectiveHosts", "TotalCpu", "NumCpuCores",
        "NumCpuThreads", "Effective Cpu", "TotalMemory", "Effective Memory", "Num VMotions", "HA enabled",
        "Failover Level", "AdmissionControlEnabled", "Host monitoring", "HB Datastore Candidate Policy",
        "Isolation Response", "Restart Priority", "Cluster Settings", "Max Failures", "Max Failure Window",
        "Failure Interval", "Min Up Time", "VM Monitoring", "DRS enabled", "DRS default VM behavior",
        "DRS vmotion rate", "DPM enabled", "DPM default behavior", "DPM Host Power Action Rate", "Object ID",
        "Backup status", "ClusterInvariantVMMId", "com.vmware.vcenter.cluster.edrs.upgradeHostAdded",
        "Last backup", "VI SDK Server", "VI SDK UUID",
    ],
    "vDatastore": [
        "Name", "Config status", "Address", "Accessible", "Type", "# VMs total", "# VMs", "Capacity MiB",
        "Provisioned MiB", "In Use MiB", "Free MiB", "Free %", "SIOC enabled", "SIOC Threshold", "# Hosts", "Hosts",
        "Cluster name", "Cluster capacity MiB", "Cluster free space MiB", "Block size", "Max Blocks", "# Extents",
        "Major Version", "Version", "VMFS Upgradeable", "MHA", "URL", "Object ID", "Backup status",
        "ClusterInvariantVMMId", "Last backup", "VI SDK Server", "VI SDK UUID",
    ],
    "vSource": [
        "Name", "OS type", "API type", "API version", "Version", "Patch level", "Build", "Fullname",
        "Product name", "Product version", "Product line", "Vendor", "VI SDK Server", "VI SDK UUID",
    ],
    "vMetaData": ["RVTools major version", "RVTools version", "xlsx creation datetime", "Server"],
}

#: RVTools' tab order (the tabs hapolicy reads, and a few it does not, so the reader must skip them).
ORDER = [
    "vInfo", "vCPU", "vMemory", "vDisk", "vPartition", "vNetwork", "vCD", "vUSB", "vSnapshot", "vTools", "vSource",
    "vRP", "vCluster", "vHost", "vHBA", "vNIC", "vSwitch", "vPort", "dvSwitch", "dvPort", "vSC_VMK", "vDatastore",
    "vMultiPath", "vLicense", "vFileInfo", "vHealth", "vMetaData",
]
# Headers of two tabs hapolicy never reads, written so the reader has to pass over them.
OTHER_TABS: dict[str, list[str]] = {
    "vPartition": [
        "VM", "Powerstate", "Template", "SRM Placeholder", "Disk Key", "Disk", "Capacity MiB", "Consumed MiB",
        "Free MiB", "Free %", "Internal Sort Column", "Annotation", "Backup status", "ClusterInvariantVMMId",
        "Last backup", "Datacenter", "Cluster", "Host", "Folder", "OS according to the configuration file",
        "OS according to the VMware Tools", "VM ID", "VM UUID", "VI SDK Server", "VI SDK UUID",
    ],
    "vHealth": ["Name", "Message", "Message type", "VI SDK Server", "VI SDK UUID"],
}


def write_export(
    path: Path,
    tabs: Mapping[str, Sequence[Mapping[str, Any]]],
    *,
    headers: Mapping[str, list[str]] = HEADERS,
    rename: Mapping[str, Mapping[str, str]] | None = None,
    drop: Mapping[str, Sequence[str]] | None = None,
    extra: Mapping[str, Sequence[str]] | None = None,
    reverse: bool = False,
    write_only: bool = False,
) -> Path:
    """An RVTools .xlsx: one sheet per tab in RVTools' order, the header row, then one row per
    record (values by header name; absent ones left empty). ``rename`` changes header spellings,
    ``drop`` removes columns, ``extra`` appends unknown columns, ``reverse`` reorders them."""
    import openpyxl

    wb = openpyxl.Workbook(write_only=write_only)
    if not write_only:
        wb.remove(wb.active)
    all_headers = {**OTHER_TABS, **headers}
    for tab in sorted(tabs, key=lambda t: ORDER.index(t) if t in ORDER else 99):
        cols = [h for h in all_headers.get(tab, []) if h not in (drop or {}).get(tab, ())]
        cols += list((extra or {}).get(tab, ()))
        if reverse:
            cols.reverse()
        ws = wb.create_sheet(tab)
        ws.append([(rename or {}).get(tab, {}).get(h, h) for h in cols])
        known = set(all_headers.get(tab, [])) | set((extra or {}).get(tab, ()))
        for rec in tabs[tab]:
            unknown = set(rec) - known
            assert not unknown, f"test bug: {tab} has no columns {unknown}"
            ws.append([rec.get(h) for h in cols])
    wb.save(path)
    return path


# ---------------------------------------------------------------- records in RVTools' shape

SERVER = "vc01.corp.example"
SDK_UUID = "6a0e1b77-0d2c-4e8f-9a51-3c1f2d4e5a60"


def host(name: str, cluster: str, oid: str | None, *, dc: str = "DC1", mhz: int = 2600, cpus: int = 2,
         per: int = 12, mem: int = 262144, maintenance: str = "False") -> dict[str, Any]:
    return {"Host": name, "Datacenter": dc, "Cluster": cluster, "Config status": "green",
            "in Maintenance Mode": maintenance, "in Quarantine Mode": "False",
            "CPU Model": "Intel(R) Xeon(R) Gold 6126 CPU @ 2.60GHz", "Speed": mhz, "HT Available": "True",
            "HT Active": "True", "# CPU": cpus, "Cores per CPU": per, "# Cores": cpus * per, "CPU usage %": 23,
            "# Memory": mem, "Memory usage %": 41, "# NICs": 4, "# HBAs": 2, "VMotion support": "True",
            "ESX Version": "VMware ESXi 8.0.2 build-22380479", "Vendor": "Dell Inc.", "Model": "PowerEdge R640",
            "Object ID": oid, "UUID": f"4c4c4544-{zlib.crc32(name.encode()) % 10**4:04d}", "VI SDK Server": SERVER,
            "VI SDK UUID": SDK_UUID}


def vm(name: str, host: str | None, ds: str | None, oid: str | None, *, cluster: str = "prod-a", dc: str = "DC1",
       power: str = "poweredOn", **extra: Any) -> dict[str, Any]:
    return {"VM": name, "Powerstate": power, "Template": "False", "SRM Placeholder": "False",
            "Config status": "green", "DNS Name": f"{name}.corp.example", "Connection state": "connected",
            "Guest state": "running" if power == "poweredOn" else "notRunning", "Heartbeat": "green",
            "Consolidation Needed": "False", "CPUs": 2, "Memory": 4096, "NICs": 1, "Disks": 1,
            "Network #1": "VM Network", "Resource pool": "Resources", "Folder": "vm", "FT State": "notConfigured",
            "Provisioned MiB": 45000, "In Use MiB": 20000, "Boot Required": "False", "Firmware": "efi",
            "HW version": "vmx-19", "Path": f"[{ds}] {name}/{name}.vmx" if ds else None,
            "Log directory": f"[{ds}] {name}" if ds else None, "Datacenter": dc, "Cluster": cluster, "Host": host,
            "OS according to the configuration file": "Microsoft Windows Server 2022 (64-bit)", "VM ID": oid,
            "VM UUID": f"4210{zlib.crc32(name.encode()) % 10**8:08d}-0000-0000-0000-000000000000",
            "VI SDK Server type": "VMware vCenter Server", "VI SDK API Version": "8.0.2.0", "VI SDK Server": SERVER,
            "VI SDK UUID": SDK_UUID, **extra}


def disk(name: str, oid: str | None, n: int, ds: str, mount: str, *, cluster: str = "prod-a",
         dc: str = "DC1") -> dict[str, Any]:
    """A vDisk row as RVTools writes it: the guest's mount points in ``Disk Path``, the
    ``[datastore] dir/disk.vmdk`` in ``Path``."""
    suffix = "" if n == 1 else f"_{n - 1}"
    return {"VM": name, "Powerstate": "poweredOn", "Template": "False", "SRM Placeholder": "False",
            "Disk": f"Hard disk {n}", "Disk Key": 2000 + n - 1, "Disk UUID": f"6000C29{n}-{oid}", "Disk Path": mount,
            "Capacity MiB": 40960, "Raw": "False", "Disk Mode": "persistent", "Sharing mode": "sharingNone",
            "Thin": "True", "Eagerly Scrub": "False", "Split": "False", "Write Through": "False", "Level": "normal",
            "Shares": 1000, "Reservation": 0, "Limit": -1, "Controller": "SCSI controller 0", "Label": f"Hard disk {n}",
            "SCSI Unit #": n - 1, "Unit #": n - 1, "Shared Bus": "noSharing", "Path": f"[{ds}] {name}/{name}{suffix}.vmdk",
            "Datacenter": dc, "Cluster": cluster, "VM ID": oid, "VI SDK Server": SERVER, "VI SDK UUID": SDK_UUID}


def cpu(name: str, oid: str | None, reservation: int) -> dict[str, Any]:
    return {"VM": name, "Powerstate": "poweredOn", "Template": "False", "SRM Placeholder": "False", "CPUs": 2,
            "Sockets": 1, "Cores p/s": 2, "Level": "normal", "Shares": 2000, "Reservation": reservation,
            "Limit": -1, "Hot Add": "False", "VM ID": oid, "VI SDK Server": SERVER}


def mem(name: str, oid: str | None, reservation: int, overhead: int | None, *, size: int = 4096,
        locked: str = "False", consumed_overhead: int | None = None) -> dict[str, Any]:
    return {"VM": name, "Powerstate": "poweredOn", "Template": "False", "SRM Placeholder": "False",
            "Size MiB": size, "Memory Reservation Locked To Max": locked, "Overhead": overhead,
            "Consumed Overhead": consumed_overhead, "Level": "normal", "Shares": 40960, "Reservation": reservation,
            "Limit": -1, "Hot Add": "False", "VM ID": oid, "VI SDK Server": SERVER}


def datastore(name: str, hosts: Sequence[str], oid: str | None, *, kind: str = "VMFS", address: str | None = None,
              url: str | None = None) -> dict[str, Any]:
    return {"Name": name, "Config status": "green", "Address": address, "Accessible": "True", "Type": kind,
            "Capacity MiB": 4194304, "In Use MiB": 2097152, "Free MiB": 2097152, "Free %": 50,
            "# Hosts": len(hosts), "Hosts": ", ".join(hosts), "Block size": 1, "Major Version": 6,
            "URL": url or f"ds:///vmfs/volumes/{zlib.crc32((name + '|' + str(oid)).encode()):012x}/", "Object ID": oid,
            "VI SDK Server": SERVER, "VI SDK UUID": SDK_UUID}


def cluster(name: str, oid: str | None, hosts: Sequence[Mapping[str, Any]], **settings: Any) -> dict[str, Any]:
    """A vCluster row whose NumHosts / TotalCpu / TotalMemory are those of ``hosts`` (vHost rows)."""
    row = {"Name": name, "Config status": "green", "OverallStatus": "green", "NumHosts": len(hosts),
           "numEffectiveHosts": len(hosts), "TotalCpu": sum(h["Speed"] * h["# Cores"] for h in hosts),
           "NumCpuCores": sum(h["# Cores"] for h in hosts), "TotalMemory": sum(h["# Memory"] for h in hosts),
           "HA enabled": "True", "Failover Level": 1, "AdmissionControlEnabled": "True",
           "Host monitoring": "enabled", "HB Datastore Candidate Policy": "allFeasibleDsWithUserPreference",
           "Isolation Response": "none", "Restart Priority": "medium", "DRS enabled": "True",
           "DRS default VM behavior": "fullyAutomated", "DPM enabled": "False", "Object ID": oid,
           "VI SDK Server": SERVER, "VI SDK UUID": SDK_UUID}
    row.update(settings)
    return row


def source(version: str = "8.0.2") -> dict[str, Any]:
    return {"Name": SERVER, "OS type": "linux-x64", "API type": "VirtualCenter", "API version": "8.0.2.0",
            "Version": version, "Build": "22385739", "Fullname": f"VMware vCenter Server {version} build-22385739",
            "VI SDK Server": SERVER, "VI SDK UUID": SDK_UUID}


def metadata() -> dict[str, Any]:
    return {"RVTools major version": 4, "RVTools version": "4.6.1.0", "xlsx creation datetime": "2026-11-30 09:12",
            "Server": SERVER}


# ---------------------------------------------------------------- a whole vCenter, generated


def big_export(path: Path, *, vms: int = 7600, clusters: int = 12, hosts_per_cluster: int = 16,
               seed: int = 1) -> Path:
    """A whole-vCenter RVTools export: ``clusters`` clusters in two datacenters (the first two
    share the name ``prod``), ``vms`` VMs with two disks each (the second on another datastore),
    every tab hapolicy reads filled in every column roughly as RVTools fills it."""
    rnd = random.Random(seed)
    tabs: dict[str, list[dict[str, Any]]] = {t: [] for t in
                                             ("vInfo", "vCPU", "vMemory", "vDisk", "vHost", "vCluster",
                                              "vDatastore", "vSource", "vMetaData")}
    names = ["prod", "prod"] + [f"cl-{i:02d}" for i in range(2, clusters)]
    per_cluster = -(-vms // clusters)
    n_vm = 0
    for c, cname in enumerate(names):
        dc = "DC1" if c % 2 == 0 else "DC2"
        hs = [host(f"esx-{c:02d}-{i:02d}.corp.example", cname, f"host-{c * 100 + i}", dc=dc,
                   mem=rnd.choice([524288, 786432])) for i in range(hosts_per_cluster)]
        tabs["vHost"] += hs
        tabs["vCluster"].append(cluster(cname, f"domain-c{c + 7}", hs, **{"Isolation Response": "powerOff"}))
        hnames = [h["Host"] for h in hs]
        ds_names = [f"vmfs-{k:02d}" for k in range(4)]  # the same names in every cluster
        for k, dname in enumerate(ds_names):
            tabs["vDatastore"].append(datastore(dname, hnames, f"datastore-{c * 10 + k}"))
        for _ in range(min(per_cluster, vms - n_vm)):
            n_vm += 1
            name = f"vm{n_vm:05d}"
            oid = f"vm-{1000 + n_vm}"
            on = rnd.random() < 0.9
            home, other = rnd.sample(ds_names, 2)
            h = rnd.choice(hnames) if on else None
            info = vm(name, h, home, oid, cluster=cname, dc=dc, power="poweredOn" if on else "poweredOff",
                      **{"Primary IP Address": f"10.{c}.{n_vm // 250}.{n_vm % 250}", "Disks": 2,
                         "Annotation": f"owner: team-{n_vm % 17}; backup: gold", "PowerOn": "2026-10-01 04:12",
                         "Creation date": "2024-03-11 10:20", "Change Version": f"2026-10-01T04:12:{n_vm % 60:02d}Z",
                         "Active Memory": rnd.randint(200, 4000), "Total disk capacity MiB": 81920,
                         "Network #2": "backup-vlan-120", "Folder ID": f"group-v{c + 3}", "EnableUUID": "True",
                         "CBT": "True", "Num Monitors": 1, "Video Ram KiB": 8192, "Unshared MiB": 19000,
                         "Boot delay": 0, "Boot retry delay": 10000, "Boot retry enabled": "False",
                         "Boot BIOS setup": "False", "Reboot PowerOff": "False", "EFI Secure boot": "True",
                         "HW upgrade policy": "never", "Snapshot directory": f"[{home}] {name}/",
                         "Suspend directory": f"[{home}] {name}/", "ClusterInvariantVMMId": f"{n_vm:08x}",
                         "OS according to the VMware Tools": "Microsoft Windows Server 2022 (64-bit)",
                         "SMBIOS UUID": f"4210{n_vm:04x}-1111-2222-3333-{n_vm:012x}"})
            tabs["vInfo"].append(info)
            recs = [cpu(name, oid, rnd.choice([0, 0, 0, 500, 1000])),
                    mem(name, oid, rnd.choice([0, 0, 1024, 2048]), 0,
                        consumed_overhead=rnd.randint(30, 90) if on else 0),
                    disk(name, oid, 1, home, "/, /boot", cluster=cname, dc=dc),
                    disk(name, oid, 2, other, "/data", cluster=cname, dc=dc)]
            for tab, rec in zip(("vCPU", "vMemory", "vDisk", "vDisk"), recs):
                # RVTools repeats the VM's identity and placement columns on every VM tab.
                rec.update({k: info[k] for k in HEADERS[tab] if k not in rec and info.get(k) is not None})
                tabs[tab].append(rec)
    tabs["vSource"].append(source())
    tabs["vMetaData"].append(metadata())
    return write_export(path, tabs, write_only=True)
