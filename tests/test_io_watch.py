"""hapolicy.io.watch against govmomi's vCenter simulator (tests/vcsim), on loopback.

The simulator is started with ``-notify``: govmomi 0.24 changes maintenance mode, VM
reconfigurations and cluster reconfigurations in place without telling PropertyCollector
waiters (vCenter does tell them); the launcher dispatches those changes through the
simulator's own registry (tests/vcsim/notify.go). Power operations and vMotions are reported
by the simulator itself.

The expected postures below are reasoned from the cluster's figures, not copied from output:
three hosts of 4095 MB (the simulator's), each VM 150 MB of overhead (tests/vcsim/ha.go),
percentage admission control reserving 25 % CPU / 30 % memory, and HA respecting VM-VM
anti-affinity rules (vCenter 6.5, R-PLACE-2).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import hapolicy as ha
from hapolicy import io
from hapolicy.io.watch import posture, target

if os.environ.get("HAPOLICY_REQUIRE_VCSIM"):  # CI: a missing pyVmomi is a failure, not a skip
    import pyVmomi
else:
    pyVmomi = pytest.importorskip("pyVmomi")
from pyVim.task import WaitForTask  # noqa: E402
from pyVmomi import vim  # noqa: E402

from tests.vcsim import launch  # noqa: E402
from tests.vcsim.proxy import Proxy  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def simulator(vcsim_binary: Path) -> Iterator[launch.Simulator]:
    with launch.start(vcsim_binary, "-vms", "4", "-ha", "percentage", "-notify", "-drs-off") as s:
        yield s


def lab(si: Any) -> tuple[Any, list[Any], list[Any]]:
    """S0: vm0 (3000 MB reserved) on H0, vm1 and vm3 on H1, vm2 (3000 MB reserved) on H2, and
    the anti-affinity rule vm0 / vm1; the simulator is started with DRS off (with DRS in full
    automation HA would move vm2 to make room for vm0: R-PLACE-DRS)."""
    cluster, hosts, vms = launch.cluster_objects(si)
    (h0, h1, h2), (vm0, vm1, vm2, vm3) = hosts, vms
    for vm, host, mem in ((vm0, h0, 3000), (vm1, h1, 0), (vm2, h2, 3000), (vm3, h1, 0)):
        WaitForTask(vm.RelocateVM_Task(spec=vim.vm.RelocateSpec(host=host)))
        if mem:
            WaitForTask(vm.ReconfigVM_Task(spec=vim.vm.ConfigSpec(
                memoryAllocation=vim.ResourceAllocationInfo(reservation=mem))))
    WaitForTask(cluster.ReconfigureComputeResource_Task(spec=vim.cluster.ConfigSpecEx(rulesSpec=[
        vim.cluster.RuleSpec(operation="add", info=vim.cluster.AntiAffinityRuleSpec(
            name="apart", enabled=True, vm=[vm0, vm1]))]), modify=True))
    return cluster, hosts, vms


def timed_next(w: io.Watch, limit: float = 1.0) -> tuple[io.Change, float]:
    t = time.monotonic()
    change = next(w)
    return change, time.monotonic() - t


def test_each_kind_of_change_is_seen_within_a_second_and_moves_the_posture(simulator: launch.Simulator) -> None:
    admin = simulator.connect()
    cluster, (h0, h1, h2), (vm0, vm1, vm2, vm3) = lab(admin)
    ids = {o: o._moId for o in (h0, h1, h2, vm0, vm1, vm2, vm3)}
    si = simulator.connect()
    calls = launch.count_calls(si)
    w = io.watch(si, "DC0_C0", duration=60)
    first = next(w)
    assert first.kind == "initial"
    # The same mapping as the one-shot adapter.
    assert first.inventory == io.from_vsphere(admin, "DC0_C0")
    # H0 failing strands vm0: H1 holds its anti-affine partner vm1, H2 has 4095-3150-0 < 3150 MB free.
    assert first.posture.stranded[ids[h0]] == {ids[vm0]: "insufficientResources"} or \
        list(first.posture.stranded[ids[h0]]) == [ids[vm0]]
    # 6,600 MB reserved (with overhead) of 12,285: 46 % free ≥ 30 %.
    assert first.posture.admission_satisfied is True
    setup_calls = dict(calls)

    steps: list[tuple[str, Any, str, Any]] = [
        # (what, action, phrase expected, check of inventory and posture)
        ("power-off", lambda: WaitForTask(vm1.PowerOffVM_Task()), f"{ids[vm1]} (DC0_C0_RP0_VM1) powered off",
         # the rule binds powered-on VMs only: vm0 may now restart on H1
         lambda c: c.inventory.vm(ids[vm1]).power_state == "poweredOff" and c.posture.stranded[ids[h0]] == {}),
        ("power-on", lambda: WaitForTask(vm1.PowerOnVM_Task()), "powered on",
         lambda c: c.posture.stranded[ids[h0]].keys() == {ids[vm0]}),
        ("vMotion", lambda: WaitForTask(vm1.RelocateVM_Task(spec=vim.vm.RelocateSpec(host=h2))),
         f"moved from {ids[h1]} (DC0_C0_H1) to {ids[h2]} (DC0_C0_H2)",
         # vm1 left H1: vm0 fits there (4095-150 free) without meeting vm1
         lambda c: c.inventory.vm(ids[vm1]).host == ids[h2] and c.posture.stranded[ids[h0]] == {}),
        ("maintenance", lambda: WaitForTask(h1.EnterMaintenanceMode_Task(timeout=0)),
         f"{ids[h1]} (DC0_C0_H1) entered maintenance mode",
         # H1 cannot take vm0 any more, H2 has 4095-3150-150 = 795 MB free; 6,450 MB of 8,190 reserved:
         # 21 % free < 30 %
         lambda c: c.inventory.host(ids[h1]).maintenance and c.posture.stranded[ids[h0]].keys() == {ids[vm0]}
         and c.posture.admission_satisfied is False and ids[h1] not in c.posture.stranded),
        ("HA reconfiguration", lambda: WaitForTask(cluster.ReconfigureComputeResource_Task(
            spec=vim.cluster.ConfigSpecEx(dasVmConfigSpec=[vim.cluster.DasVmConfigSpec(
                operation="add", info=vim.cluster.DasVmConfigInfo(
                    key=vm0, dasSettings=vim.cluster.DasVmSettings(restartPriority="disabled")))]), modify=True)),
         f"{ids[vm0]} (DC0_C0_RP0_VM0) restart priority clusterRestartPriority → disabled",
         # HA no longer restarts vm0: nothing left stranded when H0 fails
         lambda c: str(c.inventory.vm(ids[vm0]).restart_priority) == "disabled" and c.posture.stranded[ids[h0]] == {}),
        ("reservation", lambda: WaitForTask(vm2.ReconfigVM_Task(spec=vim.vm.ConfigSpec(
            memoryAllocation=vim.ResourceAllocationInfo(reservation=0)))),
         f"{ids[vm2]} (DC0_C0_RP0_VM2) memory reservation 3000 → 0 MB",
         # at most 3,450 MB of 8,190 reserved: 58 % free ≥ 30 %
         lambda c: c.inventory.vm(ids[vm2]).memory_reservation_mb == 0 and c.posture.admission_satisfied is True),
    ]
    latencies = {}
    for name, action, phrase, check in steps:
        action()
        change, seconds = timed_next(w)
        latencies[name] = seconds
        assert change.kind == "update", (name, change.text())
        assert phrase in change.what, (name, change.what)
        assert check(change), (name, change.text(), change.posture)
        assert change.delta, (name, change.text())  # the posture moved, and the line says how
        assert seconds < 1.0, (name, seconds)
        if name == "maintenance":  # the promise breaks here: verified remedies come with the line
            assert not change.posture.holds and change.remedies, change.text()
            assert "; remedies: " in change.text()
    w.close()

    # Incremental: after the first read, no RetrievePropertiesEx and no new filter — one
    # WaitForUpdatesEx per change (the simulator batches what comes within 250 ms).
    after = calls - Counter(setup_calls)
    assert after["RetrievePropertiesEx"] == 0 and after["CreateFilter"] == 0, after
    # (at most two more: a wait that timed out on a loaded machine)
    assert len(steps) <= after["WaitForUpdatesEx"] <= len(steps) + 2, after
    assert setup_calls["RetrievePropertiesEx"] == 1 and setup_calls["CreateFilter"] == 1, setup_calls
    assert w.stats["WaitForUpdatesEx"] == calls["WaitForUpdatesEx"]
    assert calls["DestroyPropertyCollector"] == 1  # closed on the server, and every view it made
    assert calls["DestroyView"] == calls["CreateContainerView"] == 2


def test_text_line_names_the_change_and_the_posture_move(simulator: launch.Simulator) -> None:
    admin = simulator.connect()
    _, (h0, h1, h2), (vm0, vm1, vm2, vm3) = lab(admin)
    with io.watch(simulator.connect(), "DC0_C0", duration=30) as w:
        next(w)
        WaitForTask(vm1.PowerOffVM_Task())
        line = next(w).text()
    assert line.startswith(f"{vm1._moId} (DC0_C0_RP0_VM1) powered off: ")
    assert f"if {h0._moId} (DC0_C0_H0) failed now, {vm0._moId} (DC0_C0_RP0_VM0) would restart again" in line


def watch_through(proxy: Proxy, **kwargs: Any) -> io.Watch:
    from pyVim.connect import SmartConnect

    si = SmartConnect(protocol="http", host="127.0.0.1", port=proxy.port, user="user", pwd="pass")
    return io.watch(si, "DC0_C0", poll_s=1, duration=60, **kwargs)  # no connect=: a lost session would raise


def cut(proxy: Proxy, then: Any, delay: float) -> Any:
    """Drops the connections 0.3 s into the watch's WaitForUpdatesEx, runs ``then`` ``delay``
    seconds later (in a thread; returns it)."""
    import threading

    def run() -> None:
        time.sleep(0.3)
        proxy.drop()
        time.sleep(delay)
        then()

    t = threading.Thread(target=run)
    t.start()
    return t


def test_a_dropped_connection_resumes_with_the_version_token(simulator: launch.Simulator) -> None:
    """vCenter versions its updates: after a cut the same WaitForUpdatesEx(version) returns
    what came meanwhile. The simulator answers every version with "-", so here its versions
    are made real ones at the stub (v1, v2, … — it ignores what it is sent), and the change
    is made once the simulator's wait from before the cut has timed out (1 s), so that it
    cannot swallow it."""
    admin = simulator.connect()
    _, hosts, vms = launch.cluster_objects(admin)
    with Proxy(simulator.port) as proxy:
        w = watch_through(proxy)
        stub = w.si._stub
        real = stub.InvokeMethod
        n = [0]

        def versioned(mo: Any, info: Any, args: Any) -> Any:
            out = real(mo, info, args)
            if info.wsdlName == "WaitForUpdatesEx" and out is not None:
                n[0] += 1
                out.version = f"v{n[0]}"
            return out

        stub.InvokeMethod = versioned
        assert next(w).kind == "initial"
        WaitForTask(vms[1].PowerOffVM_Task())
        assert next(w).kind == "update"  # the watch has seen the server version its updates
        t = cut(proxy, lambda: WaitForTask(vms[0].PowerOffVM_Task()), delay=1.5)
        change = next(w)
        t.join()
        w.close()
    assert proxy.drops >= 1 and w.stats["retry"] >= 1, (w.stats, w.log)
    assert change.kind == "update" and "powered off" in change.what  # not lost, and not a re-read
    assert w.stats["resync"] == 0
    assert any("connection dropped" in line and "waiting again with version 'v2'" in line for line in w.log)


def test_a_dropped_connection_to_a_server_without_versions_is_re_read(simulator: launch.Simulator) -> None:
    """The simulator's own behaviour: a change made right after the cut may be swallowed by
    its wait from before the cut, and its version token cannot ask for it again: the watch
    reads everything again (recorded), and the change is not lost."""
    admin = simulator.connect()
    _, hosts, vms = launch.cluster_objects(admin)
    with Proxy(simulator.port) as proxy:
        w = watch_through(proxy)
        assert next(w).kind == "initial"
        t = cut(proxy, lambda: WaitForTask(vms[0].PowerOffVM_Task()), delay=0.0)
        changes = [next(w)]
        t.join()
        for _ in range(5):  # bounded: the change is in the re-read or comes right after it
            if any("powered off" in c.what for c in changes):
                break
            changes.append(next(w))
        w.close()
    assert changes[0].kind == "resync", [c.text() for c in changes]
    assert "has not shown that it versions its updates; full re-read" in changes[0].what
    assert any("powered off" in c.what for c in changes)
    assert changes[-1].inventory.vm(vms[0]._moId).power_state == "poweredOff"
    assert w.stats["resync"] == 1 and len(w.log) == 1


def test_a_lost_session_is_re_read_in_full_and_recorded(simulator: launch.Simulator) -> None:
    admin = simulator.connect()
    _, hosts, vms = launch.cluster_objects(admin)
    si = simulator.connect()
    w = io.watch(si, "DC0_C0", connect=simulator.connect, duration=60)
    next(w)
    si.content.sessionManager.Logout()  # the watch's session, collector and filter are gone
    WaitForTask(vms[1].PowerOffVM_Task())  # changed meanwhile, through another session
    change = next(w)
    w.close()
    assert change.kind == "resync"
    assert f"{vms[1]._moId} ({vms[1].name}) powered off" in change.what  # the re-read says what moved
    assert change.inventory.vm(vms[1]._moId).power_state == "poweredOff"
    assert w.stats["resync"] == 1 and w.stats["reconnect"] == 1
    assert len(w.log) == 1 and "NotAuthenticated" in w.log[0]


def test_a_lost_session_without_connect_is_an_error_not_silence(simulator: launch.Simulator) -> None:
    si = simulator.connect()
    w = io.watch(si, "DC0_C0", duration=30)
    next(w)
    si.content.sessionManager.Logout()
    with pytest.raises(ConnectionError, match="session was lost .* no connect="):
        next(w)


# ---------------------------------------------------------------- the command line


def run_cli(simulator: launch.Simulator, *args: str, env: dict[str, str] | None = None,
            after: Any = None, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("GOVC_")}
    base.update({"GOVC_URL": f"http://127.0.0.1:{simulator.port}/sdk", "GOVC_USERNAME": "user",
                 "GOVC_PASSWORD": "pass"})
    base.update(env or {})
    p = subprocess.Popen([sys.executable, "-m", "hapolicy", *args], env=base, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True)
    if after is not None:
        after(p)
    out, err = p.communicate(timeout=timeout)
    return subprocess.CompletedProcess(p.args, p.returncode, out, err)


def wait_for_first_line(p: subprocess.Popen[str]) -> str:
    assert p.stdout is not None
    return p.stdout.readline()


def test_cli_check_exits_1_when_the_promise_breaks(simulator: launch.Simulator) -> None:
    admin = simulator.connect()
    _, (h0, h1, h2), vms = launch.cluster_objects(admin)
    lines: list[str] = []

    def act(p: subprocess.Popen[str]) -> None:
        lines.append(wait_for_first_line(p))
        WaitForTask(h1.EnterMaintenanceMode_Task(timeout=0))
        WaitForTask(h2.EnterMaintenanceMode_Task(timeout=0))  # one usable host: no failure is survived

    done = run_cli(simulator, "watch", "--cluster", "DC0_C0", "--check", "--duration", "30", after=act)
    assert done.returncode == 1, done.stderr
    assert "the promise holds" in lines[0]
    assert "entered maintenance mode" in done.stdout and "the promise breaks" in done.stdout
    assert "Traceback" not in done.stderr


def test_cli_json_lines_and_ctrl_c_ends_cleanly(simulator: launch.Simulator) -> None:
    import json

    admin = simulator.connect()
    _, hosts, vms = launch.cluster_objects(admin)
    first: list[str] = []

    def act(p: subprocess.Popen[str]) -> None:
        first.append(wait_for_first_line(p))
        WaitForTask(vms[0].PowerOffVM_Task())
        time.sleep(1.0)
        p.send_signal(signal.SIGINT)

    done = run_cli(simulator, "watch", "--cluster", "DC0_C0", "--json", "--duration", "30", after=act)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr and "watch ended" in done.stderr
    docs = [json.loads(line) for line in [*first, *done.stdout.splitlines()] if line.strip()]
    assert docs[0]["kind"] == "initial" and docs[0]["schema_version"] == 1
    assert any("powered off" in d["what"] for d in docs[1:])


def test_cli_refuses_a_password_on_the_command_line(simulator: launch.Simulator) -> None:
    done = run_cli(simulator, "watch", "--server", f"http://user:secret@127.0.0.1:{simulator.port}/sdk",
                   "--cluster", "DC0_C0", "--duration", "1")
    assert done.returncode == 2
    assert "never put a password on the command line" in done.stderr


def test_cli_without_password_and_no_terminal_says_so(simulator: launch.Simulator) -> None:
    done = run_cli(simulator, "watch", "--cluster", "DC0_C0", "--duration", "1", env={"GOVC_PASSWORD": ""})
    assert done.returncode == 2 and "no password: set GOVC_PASSWORD" in done.stderr


def test_cli_unreachable_server_is_one_line(simulator: launch.Simulator) -> None:
    done = run_cli(simulator, "watch", "--cluster", "DC0_C0", "--duration", "1",
                   env={"GOVC_URL": "http://127.0.0.1:9/sdk"})  # the discard port: nothing listens
    assert done.returncode == 2 and done.stderr.startswith("hapolicy: error: ") and "Traceback" not in done.stderr
    assert len(done.stderr.splitlines()) == 1


def test_cli_vcenter_faults_are_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    # govmomi's simulator logs in any non-empty user and password: a refused login is raised here.
    from hapolicy import cli

    def refuse(args: Any) -> int:
        raise vim.fault.InvalidLogin(msg="Cannot complete login due to an incorrect user name or password.")

    assert cli._live(refuse)(None) == 2  # type: ignore[arg-type]
    assert capsys.readouterr().err == ("hapolicy: error: vCenter: vim.fault.InvalidLogin: Cannot complete login "
                                       "due to an incorrect user name or password.\n")


# ---------------------------------------------------------------- govc's conventions, offline


def test_target_follows_govc() -> None:
    t, pwd = target(None, env={"GOVC_URL": "vc.example.com", "GOVC_USERNAME": "ro", "GOVC_PASSWORD": "pw"})
    assert (t.scheme, t.host, t.port, t.path, t.user, t.insecure, pwd) == ("https", "vc.example.com", 443, "/sdk",
                                                                          "ro", False, "pw")
    t, pwd = target(None, env={"GOVC_URL": "https://me:p%40ss@vc:8443/sdk", "GOVC_INSECURE": "1"})
    assert (t.user, pwd, t.port, t.insecure) == ("me", "p@ss", 8443, True)
    t, pwd = target("http://127.0.0.1:8989", "user", env={})
    assert (t.scheme, t.port, pwd) == ("http", 8989, None)  # a simulator; the password will be asked for
    with pytest.raises(ha.ArgumentError, match="never put a password on the command line"):
        target("https://me:secret@vc", env={})
    with pytest.raises(ha.ArgumentError, match="GOVC_URL"):
        target(None, env={})
    with pytest.raises(ha.ArgumentError, match="http:// or https://"):
        target("ftp://vc", "u", env={})


def test_posture_of_the_bundled_lab_matches_the_report() -> None:
    inv = ha.Inventory.load(ROOT / "examples" / "lab.json")
    p = posture(inv)
    # The README: slot policy not satisfied, every 1- and 2-host failure restarts every VM.
    assert p.admission_satisfied is False and p.failures_survived == 2 and p.failures == 2
    assert all(v == {} for v in p.stranded.values()) and not p.holds


def test_jupyter_script_follows_a_watch(simulator: launch.Simulator) -> None:
    """examples/watch_in_jupyter.py, outside Jupyter (it prints) and its table as Jupyter shows it."""
    import threading

    sys.path.insert(0, str(ROOT))
    from examples.watch_in_jupyter import follow

    admin = simulator.connect()
    _, hosts, vms = launch.cluster_objects(admin)
    t = threading.Timer(1.5, lambda: WaitForTask(hosts[1].EnterMaintenanceMode_Task(timeout=0)))
    t.start()
    shown = follow(simulator.connect, "DC0_C0", duration=4)
    t.join()
    assert shown[0].kind == "initial" and any("entered maintenance mode" in c.what for c in shown[1:])
    html = shown[-1]._repr_html_()
    assert "<table>" in html and f"{hosts[0]._moId} (DC0_C0_H0)" in html
    assert f"{hosts[1]._moId} (DC0_C0_H1)" not in html.split("<table>")[1]  # in maintenance: not a row
