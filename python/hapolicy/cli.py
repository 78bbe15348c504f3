"""The ``hapolicy`` command line: shell automation over the Python API.

Every subcommand prints readable text, or JSON with ``--json``. Bad input exits with status 2
and a one-line message on standard error; success exits 0.
"""

from __future__ import annotations

import argparse
import html
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from . import __version__
from .admission import (
    admission_control,
    check_migrate_in,
    check_power_on,
    check_reservation_change,
    heartbeat_datastores,
)
from .election import elect
from .errors import HaPolicyError, InventoryError
from .inventory import Inventory
from .placement import plan_failover
from .simulation import Simulation
from .sweep import SweepResult, sweep

__all__ = ["main"]

EXIT_BAD_INPUT = 2


def _load(path: str) -> Inventory:
    return Inventory.load(path)


def _emit(args: argparse.Namespace, data: Any, text: str) -> None:
    if args.json:
        json.dump(data, sys.stdout, indent=2, sort_keys=False)
        sys.stdout.write("\n")
    else:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")


def cmd_validate(args: argparse.Namespace) -> int:
    inv = _load(args.inventory)
    s = inv.summary()
    warnings = inv.warnings
    lines = [
        f"{args.inventory}: valid — {s['hosts']} hosts, {s['vms']} VMs ({s['powered_on_vms']} powered on), "
        f"{s['datastores']} datastores, {s['rules']} rules",
        *(f"warning: {p}: {m}" for p, m in warnings),
    ]
    _emit(args, {"valid": True, "summary": s, "warnings": [list(w) for w in warnings]}, "\n".join(lines))
    return 0


def cmd_elect(args: argparse.Namespace) -> int:
    inv = _load(args.inventory)
    e = elect(inv, args.hosts, unusable_datastores=args.unusable_datastore or ())
    _emit(args, e.to_dict(), e.explain())
    return 0


# Host-count above which the report sweeps single failures only (pairs grow as n²/2).
REPORT_PAIR_SWEEP_MAX_HOSTS = 400


def cmd_report(args: argparse.Namespace) -> int:
    """The main job: one readable page about the cluster's HA posture."""
    inv = _load(args.inventory)
    s = inv.summary()
    c = inv.config
    e = elect(inv)
    ac = admission_control(inv)
    hb = heartbeat_datastores(inv)
    usable = [h for h in inv.hosts if h.state == "connected" and not h.maintenance and not h.standby]
    k = min(2 if len(usable) <= REPORT_PAIR_SWEEP_MAX_HOSTS else 1, len(usable))
    failures = sweep(inv, k) if k else None
    sections: list[tuple[str, str]] = [
        (
            "Cluster",
            f"{c.name or '(unnamed)'} — vSphere {c.version}, {s['hosts']} hosts, {s['vms']} VMs "
            f"({s['powered_on_vms']} powered on), {s['datastores']} datastores, {s['rules']} rules\n"
            f"admission control: {json.dumps(c.admission_control.to_dict())}; "
            f"isolation response: {c.isolation_response}; default restart priority: {c.restart_priority}",
        ),
        ("Master election (R-ELECT)", e.explain().rstrip()),
        ("Admission control (R-AC)", str(ac).rstrip()),
        ("Heartbeat datastores (R-HBDS)", str(hb).rstrip()),
        ("Host failures (R-PLACE)", _failure_summary(failures)),
    ]
    if inv.warnings:
        sections.append(("Warnings", "\n".join(f"{p}: {m}" for p, m in inv.warnings)))
    text = "\n\n".join(f"== {title}\n{body}" for title, body in sections)
    data = {
        "summary": s, "config": c.to_dict(), "election": e.to_dict(), "admission_control": ac.to_dict(),
        "heartbeat_datastores": hb.to_dict(),
        "host_failures": None if failures is None else {
            "scenarios": failures.scenarios, "max_failures": failures.max_failures,
            "max_failures_tolerated": failures.max_failures_tolerated,
            "worst": [r.to_dict() for r in failures.worst(10) if r.unplaced],
        },
        "warnings": [list(w) for w in inv.warnings],
    }
    if args.html:
        Path(args.html).write_text(_html_page(f"hapolicy report: {c.name or args.inventory}", sections), encoding="utf-8")
    _emit(args, data, text)
    return 0


def _failure_summary(result: SweepResult | None) -> str:
    if result is None:
        return "no usable host: nothing to fail"
    tolerated = result.max_failures_tolerated
    if tolerated is None:
        verdict = "undecided"
    elif tolerated >= result.max_failures:
        verdict = f"every combination of up to {result.max_failures} failed hosts restarts every VM HA attempts"
    else:
        verdict = f"tolerates {tolerated} host failure(s): some {tolerated + 1}-host failure leaves VMs unplaced"
    lines = [f"{result.scenarios} combinations of up to {result.max_failures} failed hosts; {verdict}"]
    worst = [r for r in result.worst(10) if r.unplaced]
    if worst:
        lines.append("worst combinations:")
        for r in worst:
            shown = ", ".join(f"{v} ({why})" for v, why in list(zip(r.unplaced_vms, r.reasons))[:6])
            more = " …" if r.unplaced > 6 else ""
            lines.append(f"  {' + '.join(r.failed_hosts)}: {r.restarted} restart, {r.unplaced} unplaced: {shown}{more}")
    return "\n".join(lines)


def _html_page(title: str, sections: list[tuple[str, str]]) -> str:
    body = "".join(f"<h2>{html.escape(t)}</h2><pre>{html.escape(b)}</pre>" for t, b in sections)
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
            "<style>body{font-family:sans-serif;max-width:70em;margin:2em auto}pre{background:#f6f6f6;"
            f"padding:1em;overflow-x:auto}}</style></head><body><h1>{html.escape(title)}</h1>{body}</body></html>")


def cmd_admission(args: argparse.Namespace) -> int:
    inv = _load(args.inventory)
    r = admission_control(inv, args.fail)
    _emit(args, r.to_dict(), str(r))
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    inv = _load(args.inventory)
    if args.vm_json is not None:
        try:
            vm = json.loads(args.vm_json)
        except json.JSONDecodeError as exc:
            raise InventoryError([("--vm-json", f"line {exc.lineno}, column {exc.colno}: {exc.msg}")]) from exc
        if not isinstance(vm, dict):
            raise InventoryError([("--vm-json", "expected a JSON object (the vm shape)")])
        d = check_migrate_in(inv, vm) if args.migrate else check_power_on(inv, vm)
    else:
        d = check_reservation_change(inv, args.reservation, args.cpu, args.memory)
    _emit(args, d.to_dict(), str(d))
    return 0 if d.allowed else 1


def cmd_heartbeat(args: argparse.Namespace) -> int:
    inv = _load(args.inventory)
    s = heartbeat_datastores(inv, args.unusable_datastore or ())
    _emit(args, s.to_dict(), str(s))
    return 0


def cmd_failover(args: argparse.Namespace) -> int:
    inv = _load(args.inventory)
    plan = plan_failover(inv, args.fail, args.isolate or ())
    text = plan.text()
    if args.explain:
        text += "\n\n" + "\n\n".join(plan.explain(v) for v in args.explain)
    _emit(args, plan.to_dict(), text)
    return 0


def cmd_sweep(args: argparse.Namespace) -> int:
    inv = _load(args.inventory)
    show_progress = not args.no_progress and sys.stderr.isatty()
    result = sweep(inv, args.max_failures, args.hosts, args.threads, progress=show_progress or None,
                   sample=args.sample, seed=args.seed)
    if args.csv:
        import csv

        with open(args.csv, "w", newline="", encoding="utf-8") as f:
            writer = csv.writer(f)
            writer.writerow(["failed_hosts", "restarted", "unplaced", "unplaced_vms", "cpu_left_mhz", "memory_left_mb"])
            for r in result.results:
                writer.writerow([" ".join(r.failed_hosts), r.restarted, r.unplaced, " ".join(r.unplaced_vms),
                                 r.cpu_left_mhz, r.memory_left_mb])
    worst = [r for r in result.worst(args.worst) if r.unplaced]
    lines = [result.summary()]
    if worst:
        lines.append(f"Worst {len(worst)} combinations:")
        lines += [f"  {', '.join(r.failed_hosts)}: {r.unplaced} unplaced ({', '.join(r.unplaced_vms[:8])}"
                  f"{' …' if len(r.unplaced_vms) > 8 else ''})" for r in worst]
    data = {k: v for k, v in result.to_dict().items() if k != "results"}
    data["worst"] = [r.to_dict() for r in worst]
    _emit(args, data, "\n".join(lines))
    return 0


def cmd_simulate(args: argparse.Namespace) -> int:
    sim = Simulation.from_scenario(args.scenario)
    tl = sim.run(args.until)
    states = {h: str(s) for h, s in sim.host_states().items()}
    vms = {v: {"power_state": str(p), "host": h} for v, (p, h) in sim.vm_states().items()}
    end = [f"\n== End state at t={sim.now:g}s (master: {sim.master})"]
    end += [f"{h}: {s}" for h, s in states.items()]
    _emit(args, {"events": tl.to_records(), "master": sim.master, "host_states": states, "vm_states": vms},
          tl.text() + "\n".join(end))
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hapolicy", description="Reproduce VMware vSphere HA (FDM) decisions for a cluster inventory."
    )
    parser.add_argument("--version", action="version", version=f"hapolicy {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    def command(name: str, func: Callable[[argparse.Namespace], int], help: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help, description=help)
        p.add_argument("inventory", metavar="INV", help="inventory file (.json, .yaml, .yml)")
        p.add_argument("--json", action="store_true", help="machine-readable JSON output")
        p.set_defaults(func=func)
        return p

    p = command("report", cmd_report, "one page on the cluster's HA posture (the main job)")
    p.add_argument("--html", metavar="FILE", help="also write the report as an HTML page")
    command("validate", cmd_validate, "check an inventory and list every problem")
    p = command("elect", cmd_elect, "which host becomes HA master, and why (R-ELECT)")
    p.add_argument("--hosts", nargs="+", metavar="HOST", help="only these hosts can talk to each other")
    p.add_argument("--unusable-datastore", action="append", metavar="DS", help="datastore in APD/PDL (repeatable)")
    p = command("admission", cmd_admission, "admission control figures as vCenter shows them (R-AC)")
    p.add_argument("--fail", nargs="+", metavar="HOST", help="treat these hosts as failed")
    p = command("check", cmd_check, "may this VM power on / migrate in / change reservation? (exit 1 when refused)")
    what = p.add_mutually_exclusive_group(required=True)
    what.add_argument("--vm-json", metavar="JSON", help='the VM in the JSON vm shape, e.g. \'{"id": "vm-9", "host": "host-1", ...}\'')
    what.add_argument("--reservation", metavar="VM", help="check a reservation change of this VM")
    p.add_argument("--migrate", action="store_true", help="with --vm-json: a migration into the cluster")
    p.add_argument("--cpu", type=int, metavar="MHZ", help="with --reservation: new CPU reservation")
    p.add_argument("--memory", type=int, metavar="MB", help="with --reservation: new memory reservation")
    p = command("heartbeat", cmd_heartbeat, "heartbeat datastores per host and the warnings (R-HBDS)")
    p.add_argument("--unusable-datastore", action="append", metavar="DS", help="datastore in APD/PDL (repeatable)")
    p = command("failover", cmd_failover, "where every VM restarts if these hosts fail (R-PLACE)")
    p.add_argument("--fail", nargs="+", metavar="HOST", default=[], help="hosts that fail")
    p.add_argument("--isolate", nargs="+", metavar="HOST", help="hosts isolated (their VMs powered off by the response)")
    p.add_argument("--explain", nargs="+", metavar="VM", help="also explain these VMs' placement, host by host")
    p = command("sweep", cmd_sweep, "every combination of up to K failed hosts: what still restarts?")
    p.add_argument("--max-failures", type=int, default=1, metavar="K", help="largest number of hosts failed at once")
    p.add_argument("--hosts", nargs="+", metavar="HOST", help="only these hosts may fail")
    p.add_argument("--threads", type=int, help="worker threads (default: one per core)")
    p.add_argument("--sample", type=int, metavar="N", help="evaluate N random combinations instead of all")
    p.add_argument("--seed", type=int, default=0, help="seed for --sample")
    p.add_argument("--worst", type=int, default=10, metavar="N", help="list the N worst combinations")
    p.add_argument("--csv", metavar="FILE", help="write every combination's figures to FILE")
    p.add_argument("--no-progress", action="store_true", help="no progress bar on a terminal")
    p = sub.add_parser("simulate", help="run a fault scenario on the virtual clock and print the timeline",
                       description="run a fault scenario ({inventory, events, until}) and print the timeline")
    p.add_argument("scenario", metavar="SCENARIO", help="scenario file (.json, .yaml, .yml)")
    p.add_argument("--until", type=float, default=None, help="stop the clock here (default: the scenario's until)")
    p.add_argument("--json", action="store_true", help="machine-readable JSON output")
    p.set_defaults(func=cmd_simulate)
    return parser


def _one_line(exc: BaseException) -> str:
    if isinstance(exc, InventoryError):
        n = len(exc.problems)
        shown = "; ".join(f"{p}: {m}" for p, m in exc.problems[:5])
        more = f"; … {n - 5} more" if n > 5 else ""
        return f"{n} problem{'s' if n != 1 else ''}: {shown}{more}"
    return str(exc).replace("\n", " ")


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        code: int = args.func(args)
        return code
    except HaPolicyError as exc:
        print(f"hapolicy: error: {_one_line(exc)}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except BrokenPipeError:
        # Output piped into `head` and closed early: not an error worth a message.
        sys.stderr.close()
        return 0
    except OSError as exc:
        print(f"hapolicy: error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("hapolicy: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
