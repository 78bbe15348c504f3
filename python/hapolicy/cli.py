"""The ``hapolicy`` command line: shell automation over the Python API.

Every subcommand prints readable text, or JSON with ``--json`` (an object with
``"schema_version": 1`` at the top). What an adapter assumed while reading the inventory
(an RVTools export cannot tell everything) is listed on standard error in text mode, one
``assumption: PATH: MESSAGE`` line each after a count line, and as ``"assumptions"``
(``[{"path", "message"}]``) in JSON.

Exit status: 0 done; 1 the inventory is invalid (``validate``), a ``check`` is refused, or
``--check`` was given and the promise does not hold; 2 a usage error or unreadable input, with
a one-line message on standard error.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, NoReturn

from . import __version__
from .admission import (
    admission_control,
    check_enter_maintenance,
    check_migrate_in,
    check_power_on,
    check_reservation_change,
    heartbeat_datastores,
)
from .election import elect
from .errors import ArgumentError, HaPolicyError, InventoryError
from .inventory import Inventory, input_path
from .placement import plan_failover
from .simulation import Simulation
from .sweep import SweepResult, failures_tolerated, sweep

__all__ = ["main"]

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_BAD_INPUT = 2
SCHEMA_VERSION = 1
# Problems shown in a one-line error before "… N more".
SHOWN_PROBLEMS = 5

INV_HELP = "inventory: .json, .yaml/.yml, an RVTools .xlsx export, or a directory of RVTools CSV files"


def _count(text: str) -> int:
    """argparse type: a whole number ≥ 0."""
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number ≥ 0, got {text!r}") from None
    if n < 0:
        raise argparse.ArgumentTypeError(f"expected a whole number ≥ 0, got {n}")
    return n


def _plural(n: int, word: str, plural: str | None = None) -> str:
    return f"{n} {word if n == 1 else (plural or word + 's')}"


class _Parser(argparse.ArgumentParser):
    """argparse with one-line usage errors: ``hapolicy: error: …; see hapolicy COMMAND --help``."""

    def error(self, message: str) -> NoReturn:
        message = message.replace("\r", "\\r").replace("\n", "\\n")  # an argument may hold line breaks
        sys.stderr.write(f"hapolicy: error: {message}; see {self.prog} --help\n")
        raise SystemExit(EXIT_BAD_INPUT)


# ---------------------------------------------------------------- loading and output


def _load(args: argparse.Namespace) -> Inventory:
    return Inventory.load(args.inventory, cluster=args.cluster)


def _label(inv: Inventory, id: str) -> str:  # noqa: A002
    return inv.label(id)


def _assumptions(inv: Inventory | None) -> list[dict[str, str]]:
    return [] if inv is None else [{"path": a.path, "message": a.message} for a in inv.assumptions]


def _emit(args: argparse.Namespace, data: dict[str, Any], text: str, inv: Inventory | None = None) -> None:
    """Writes the result: JSON (``schema_version`` first, ``assumptions`` when an inventory was
    read) or the text, then — in text mode — the assumptions on standard error."""
    if args.json:
        out: dict[str, Any] = {"schema_version": SCHEMA_VERSION, **data}
        if inv is not None:
            out.setdefault("source", inv.source)
            out.setdefault("assumptions", _assumptions(inv))
        json.dump(out, sys.stdout, indent=2)
        sys.stdout.write("\n")
        return
    sys.stdout.write(text if text.endswith("\n") else text + "\n")
    sys.stdout.flush()
    if inv is not None and inv.assumptions:
        n = len(inv.assumptions)
        head = f"{_plural(n, 'assumption')} made reading {inv.source or 'the inventory'} (values the source does not give)"
        sys.stderr.write(head + ":\n" + "".join(f"assumption: {a.path}: {a.message}\n" for a in inv.assumptions))


def _problems(problems: Iterable[tuple[str, str]]) -> list[dict[str, str]]:
    return [{"path": p, "message": m} for p, m in problems]


def _write(path: str, text: str) -> None:
    try:
        Path(path).write_text(text, encoding="utf-8")
    except OSError as exc:
        raise ArgumentError(f"cannot write {path}: {exc.strerror or exc}") from None
    except ValueError as exc:  # a NUL in the name
        raise ArgumentError(f"cannot write {path!r}: {exc}") from None


# ---------------------------------------------------------------- validate


def cmd_validate(args: argparse.Namespace) -> int:
    input_path(args.inventory)  # an unreadable path is bad input (2), not an invalid inventory
    try:
        inv = _load(args)
    except InventoryError as exc:
        n = len(exc.problems)
        text = "\n".join([f"{args.inventory}: invalid — {_plural(n, 'problem')}",
                          *(f"  {p}: {m}" for p, m in exc.problems)])
        _emit(args, {"valid": False, "source": args.inventory, "problems": _problems(exc.problems)}, text)
        return EXIT_FAILED
    s = inv.summary()
    warnings = inv.warnings
    lines = [
        f"{args.inventory}: valid — {_plural(s['hosts'], 'host')}, {_plural(s['vms'], 'VM')} "
        f"({s['powered_on_vms']} powered on), {_plural(s['datastores'], 'datastore')}, {_plural(s['rules'], 'rule')}",
        *(f"warning: {p}: {m}" for p, m in warnings),
    ]
    data = {"valid": True, "summary": s, "warnings": _problems(warnings)}
    _emit(args, data, "\n".join(lines), inv)
    return EXIT_OK


# ---------------------------------------------------------------- report


def cmd_report(args: argparse.Namespace) -> int:
    """The main job: one readable page about the cluster's HA posture (hapolicy.report)."""
    from .report import build_report

    inv = _load(args)
    report = build_report(inv, failures=args.failures, source=inv.source)
    if args.html:
        _write(args.html, report.html())
    _emit(args, report.to_dict(), report.text(), inv)
    return EXIT_FAILED if args.check and not report.holds else EXIT_OK


# ---------------------------------------------------------------- the other subcommands


def cmd_elect(args: argparse.Namespace) -> int:
    inv = _load(args)
    e = elect(inv, args.hosts, unusable_datastores=args.unusable_datastore or ())
    _emit(args, e.to_dict(), e.explain(), inv)
    return EXIT_OK


def cmd_admission(args: argparse.Namespace) -> int:
    inv = _load(args)
    r = admission_control(inv, args.fail)
    _emit(args, r.to_dict(), str(r), inv)
    return EXIT_FAILED if args.check and not r.satisfied else EXIT_OK


def _vm_json(text: str) -> dict[str, Any]:
    try:
        vm = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InventoryError([("--vm-json", f"line {exc.lineno}, column {exc.colno}: {exc.msg}")]) from None
    except RecursionError:
        raise InventoryError([("--vm-json", "nested too deeply to be a VM")]) from None
    if not isinstance(vm, dict):
        raise InventoryError([("--vm-json", f"expected a JSON object (the vm shape), got {_json_type(vm)}")])
    return vm


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    return {bool: "a boolean", int: "a number", float: "a number", str: "a string", list: "a list"}.get(
        type(value), type(value).__name__)


def cmd_check(args: argparse.Namespace) -> int:
    inv = _load(args)
    if args.vm_json is not None:
        vm = _vm_json(args.vm_json)
        d = check_migrate_in(inv, vm) if args.migrate else check_power_on(inv, vm)
    elif args.maintenance is not None or args.standby is not None:
        # R-AC-MAINT: entering maintenance mode (or DPM standby).
        host, mode = (args.maintenance, "maintenance") if args.maintenance is not None else (args.standby, "standby")
        d = check_enter_maintenance(inv, host, mode)
    else:
        d = check_reservation_change(inv, args.reservation, args.cpu, args.memory)
    _emit(args, d.to_dict(), str(d), inv)
    return EXIT_OK if d.allowed else EXIT_FAILED


def cmd_heartbeat(args: argparse.Namespace) -> int:
    inv = _load(args)
    s = heartbeat_datastores(inv, args.unusable_datastore or ())
    _emit(args, s.to_dict(), str(s), inv)
    return EXIT_OK


def cmd_failover(args: argparse.Namespace) -> int:
    inv = _load(args)
    plan = plan_failover(inv, args.fail or (), args.isolate or ())
    text = plan.text()
    if args.explain:
        vms = [inv.resolve_vm(v) for v in args.explain]  # an unknown VM is an error, not a remark
        text += "\n\n" + "\n\n".join(plan.explain(v) for v in vms)
    _emit(args, plan.to_dict(), text, inv)
    return EXIT_OK


#: Failure units (R-DOMAIN) in words.
_UNIT_NOUN = {"host": "host", "fault_domain": "fault domain", "site": "site"}


def _sweep_verdict(result: SweepResult) -> str:
    """One sentence: what was evaluated and what it shows."""
    k = result.max_failures
    noun = _UNIT_NOUN[result.unit]
    evaluated = f"{_plural(result.scenarios, 'combination')} of up to {_plural(k, 'failed ' + noun)}"
    total = sum(lv.combinations for lv in result.per_k)
    if not result.complete:
        evaluated += f" (stopped early; {total} in all)"
    elif result.scenarios < total:
        evaluated += f" (a sample of the {total})"
    tolerated = result.max_failures_tolerated
    bad = [lv for lv in result.per_k if lv.worst_unplaced]
    if not bad:
        verdict = "every one restarts every VM HA attempts"
        if tolerated is None:
            verdict += " (the combinations not evaluated may differ)"
    elif tolerated is None:
        verdict = f"some {bad[0].failures}-{noun} failure leaves VMs unplaced"
    else:
        verdict = (f"tolerates {_plural(tolerated, noun + ' failure')}: "
                   f"some {tolerated + 1}-{noun} failure leaves VMs unplaced")
    return f"{evaluated}: {verdict}"


def cmd_sweep(args: argparse.Namespace) -> int:
    inv = _load(args)
    show_progress = not args.no_progress and sys.stderr.isatty()
    if args.tolerance:
        tol = failures_tolerated(inv, args.max_failures, hosts=args.hosts, threads=args.threads, unit=args.unit,
                                 progress=show_progress or None)
        data = tol.to_dict()
        data["holds"] = tol.tolerates_all
        _emit(args, data, str(tol), inv)
        return EXIT_FAILED if args.check and not data["holds"] else EXIT_OK
    result = sweep(inv, args.max_failures, args.hosts, args.threads, progress=show_progress or None,
                   sample=args.sample, seed=0 if args.seed is None else args.seed, unit=args.unit)
    if args.csv:
        import csv
        import io

        buf = io.StringIO()
        writer = csv.writer(buf)
        units = args.unit != "host"
        writer.writerow([*(["failed_units"] if units else []), "failed_hosts", "restarted", "unplaced", "unplaced_vms",
                         "cpu_left_mhz", "memory_left_mb"])
        for r in result.results:
            writer.writerow([*([" ".join(r.failed_units)] if units else []), " ".join(r.failed_hosts), r.restarted,
                             r.unplaced, " ".join(r.unplaced_vms), r.cpu_left_mhz, r.memory_left_mb])
        _write(args.csv, buf.getvalue())
    worst = [r for r in result.worst(args.worst) if r.unplaced]
    lines = [_sweep_verdict(result)]
    for lv in result.per_k:
        head = (f"  {_plural(lv.failures, 'failed ' + _UNIT_NOUN[result.unit])}: {lv.evaluated} of "
                f"{_plural(lv.combinations, 'combination')} evaluated")
        if lv.evaluated:
            head += (f", {lv.fully_restarted} restart every VM, the worst leaves "
                     f"{_plural(lv.worst_unplaced, 'VM')} unplaced")
        lines.append(head)
    if worst:
        lines.append(f"Worst {_plural(len(worst), 'combination')}:")
        lines += [f"  {_failed_text(inv, result, r)}: {r.unplaced} unplaced "
                  f"({', '.join(_label(inv, v) for v in r.unplaced_vms[:8])}"
                  f"{' …' if len(r.unplaced_vms) > 8 else ''})" for r in worst]
    data = {k: v for k, v in result.to_dict().items() if k != "results"}
    data["holds"] = not any(lv.worst_unplaced for lv in result.per_k)
    data["worst"] = [r.to_dict() for r in worst]
    _emit(args, data, "\n".join(lines), inv)
    return EXIT_FAILED if args.check and not data["holds"] else EXIT_OK


def _failed_text(inv: Inventory, result: SweepResult, r: Any) -> str:
    """A combination's failed hosts, or for unit sweeps its failed units with their host count."""
    if result.unit == "host":
        return ", ".join(_label(inv, h) for h in r.failed_hosts)
    return f"{' + '.join(r.failed_units)} ({_plural(len(r.failed_hosts), 'host')})"


def cmd_remedies(args: argparse.Namespace) -> int:
    """The smallest changes that make the promise hold (hapolicy.remedies)."""
    from .remedies import remedies

    inv = _load(args)
    found = remedies(inv, failures=args.failures, unit=args.unit)
    _emit(args, found.to_dict(), found.text(), inv)
    return EXIT_OK


def cmd_schema(args: argparse.Namespace) -> int:
    from .schema import inventory_schema_text

    text = inventory_schema_text()  # the shipped file, as it is
    sys.stdout.write(text if text.endswith("\n") else text + "\n")
    return EXIT_OK


def cmd_simulate(args: argparse.Namespace) -> int:
    sim = Simulation.from_scenario(args.scenario)
    tl = sim.run(args.until)
    states = {h: str(s) for h, s in sim.host_states().items()}
    vms = {v: {"power_state": str(p), "host": h} for v, (p, h) in sim.vm_states().items()}
    inv = sim.inventory
    master = sim.master
    end = [f"\n== End state at t={sim.now:g}s (master: {_label(inv, master) if master else 'none'})"]
    end += [f"{_label(inv, h)}: {s}" for h, s in states.items()]
    _emit(args, {"events": tl.to_records(), "master": master, "host_states": states, "vm_states": vms},
          tl.text().rstrip("\n") + "\n" + "\n".join(end))
    return EXIT_OK


# ---------------------------------------------------------------- options that do not apply


def _refuse(parser: argparse.ArgumentParser, message: str) -> NoReturn:
    parser.error(message)


def _check_combinations(args: argparse.Namespace, parser: argparse.ArgumentParser) -> None:
    """Refuses options that do not apply to the chosen mode (instead of ignoring them)."""
    if args.command == "check":
        if args.vm_json is not None:
            given = [o for o, v in (("--cpu", args.cpu), ("--memory", args.memory)) if v is not None]
            if given:
                verb = "applies" if len(given) == 1 else "apply"
                _refuse(parser, f"{' and '.join(given)} {verb} to --reservation, not to --vm-json")
        elif args.maintenance is not None or args.standby is not None:
            mode = "--maintenance" if args.maintenance is not None else "--standby"
            given = [o for o, v in (("--cpu", args.cpu), ("--memory", args.memory), ("--migrate", args.migrate or None))
                     if v is not None]
            if given:
                verb = "applies" if len(given) == 1 else "apply"
                _refuse(parser, f"{' and '.join(given)} {verb} to --vm-json or --reservation, not to {mode}")
        else:
            if args.migrate:
                _refuse(parser, "--migrate applies to --vm-json, not to --reservation")
            if args.cpu is None and args.memory is None:
                _refuse(parser, "--reservation needs the new reservation: --cpu MHZ and/or --memory MB")
    elif args.command == "failover":
        if not args.fail and not args.isolate:
            _refuse(parser, "name the hosts that fail (--fail HOST ...) or are isolated (--isolate HOST ...)")
    elif args.command == "sweep":
        if args.seed is not None and args.sample is None:
            _refuse(parser, "--seed applies to --sample")
        if args.tolerance and (args.sample is not None or args.csv):
            _refuse(parser, "--tolerance needs every combination up to the answer: not with --sample or --csv")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="hapolicy", description="Reproduce VMware vSphere HA (FDM) decisions for a cluster inventory.",
        epilog="Exit status: 0 done; 1 the inventory is invalid (validate), a check is refused, or --check was "
               "given and the promise does not hold; 2 usage error or unreadable input.",
    )
    parser.add_argument("--version", action="version", version=f"hapolicy {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True, parser_class=_Parser)

    def command(name: str, func: Callable[[argparse.Namespace], int], help: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help, description=help)
        p.add_argument("inventory", metavar="INV", help=INV_HELP)
        p.add_argument("--cluster", metavar="NAME",
                       help="the cluster to read from an RVTools export holding several (for JSON/YAML: "
                            "must be the document's cluster name)")
        p.add_argument("--json", action="store_true", help="machine-readable JSON output")
        p.set_defaults(func=func)
        return p

    def check_option(p: argparse.ArgumentParser, promise: str) -> None:
        p.add_argument("--check", action="store_true", help=f"exit 1 when {promise}")

    p = command("report", cmd_report, "one page on the cluster's HA posture (the main job)")
    p.add_argument("--html", metavar="FILE", help="also write the report as a self-contained HTML page")
    p.add_argument("--failures", type=_count, metavar="K",
                   help="check every combination of up to K failed hosts (default: chosen by the report)")
    check_option(p, "a promise of the report does not hold")
    command("validate", cmd_validate, "check an inventory and list every problem (exit 1 when invalid)")
    p = command("elect", cmd_elect, "which host becomes HA master, and why (R-ELECT)")
    p.add_argument("--hosts", nargs="+", metavar="HOST", help="only these hosts can talk to each other")
    p.add_argument("--unusable-datastore", action="append", metavar="DS", help="datastore in APD/PDL (repeatable)")
    p = command("admission", cmd_admission, "admission control figures as vCenter shows them (R-AC)")
    p.add_argument("--fail", nargs="+", metavar="HOST", help="treat these hosts as failed")
    check_option(p, "admission control is not satisfied")
    p = command("check", cmd_check, "may this VM power on / migrate in / change reservation, this host enter maintenance? (exit 1 when refused)")
    what = p.add_mutually_exclusive_group(required=True)
    what.add_argument("--vm-json", metavar="JSON", help='the VM in the JSON vm shape, e.g. \'{"id": "vm-9", "host": "host-1", ...}\'')
    what.add_argument("--reservation", metavar="VM", help="check a reservation change of this VM (with --cpu and/or --memory)")
    what.add_argument("--maintenance", metavar="HOST",
                      help="may this host enter maintenance mode? (its VMs move by reservation; R-AC-MAINT)")
    what.add_argument("--standby", metavar="HOST", help="may this host enter DPM standby? (as --maintenance)")
    p.add_argument("--migrate", action="store_true", help="with --vm-json: a migration into the cluster")
    p.add_argument("--cpu", type=int, metavar="MHZ", help="with --reservation: new CPU reservation")
    p.add_argument("--memory", type=int, metavar="MB", help="with --reservation: new memory reservation")
    p = command("heartbeat", cmd_heartbeat, "heartbeat datastores per host and the warnings (R-HBDS)")
    p.add_argument("--unusable-datastore", action="append", metavar="DS", help="datastore in APD/PDL (repeatable)")
    p = command("failover", cmd_failover, "where every VM restarts if these hosts fail (R-PLACE)")
    p.add_argument("--fail", nargs="+", metavar="HOST", help="hosts that fail")
    p.add_argument("--isolate", nargs="+", metavar="HOST", help="hosts isolated (their VMs powered off by the response)")
    p.add_argument("--explain", nargs="+", metavar="VM", help="also explain these VMs' placement, host by host")
    p = command("sweep", cmd_sweep, "every combination of up to K failed hosts: what still restarts?")
    p.add_argument("--max-failures", type=int, default=1, metavar="K", help="largest number of hosts failed at once")
    p.add_argument("--hosts", nargs="+", metavar="HOST", help="only these hosts may fail")
    p.add_argument("--threads", type=int, help="worker threads (default: one per core)")
    p.add_argument("--sample", type=int, metavar="N", help="evaluate N random combinations instead of all")
    p.add_argument("--seed", type=int, default=None, help="seed for --sample (default 0)")
    p.add_argument("--worst", type=int, default=10, metavar="N", help="list the N worst combinations")
    p.add_argument("--csv", metavar="FILE", help="write every combination's figures to FILE")
    p.add_argument("--no-progress", action="store_true", help="no progress bar on a terminal")
    p.add_argument("--unit", choices=("host", "fault_domain", "site"), default="host",
                   help="what one failure takes down (R-DOMAIN): a host (default), a fault domain (the hosts "
                        "sharing a fault_domain) or a site; --max-failures then counts these")
    p.add_argument("--tolerance", action="store_true",
                   help="only the exact number of failures tolerated (up to --max-failures): stops at the first "
                        "combination that leaves a VM unplaced (docs/rules/sweep.rst)")
    check_option(p, "some combination leaves VMs unplaced")
    p = command("remedies", cmd_remedies, "the smallest changes that make the failover promise hold")
    p.add_argument("--failures", type=_count, metavar="K",
                   help="host failures to survive (default: the configured admission control level)")
    p.add_argument("--unit", choices=("host", "fault_domain", "site"), default="host",
                   help="what fails together (default: host)")
    p = sub.add_parser("simulate", help="run a fault scenario on the virtual clock and print the timeline",
                       description="run a fault scenario ({inventory, events, until}) and print the timeline")
    p.add_argument("scenario", metavar="SCENARIO", help="scenario file (.json, .yaml, .yml)")
    p.add_argument("--until", type=float, default=None, help="stop the clock here (default: the scenario's until)")
    p.add_argument("--json", action="store_true", help="machine-readable JSON output")
    p.set_defaults(func=cmd_simulate)
    _live_commands(sub)
    p = sub.add_parser("schema", help="print the JSON Schema of the inventory document",
                       description="print the JSON Schema of the inventory document (JSON on standard output)")
    p.set_defaults(func=cmd_schema, json=False)
    return parser


def _live_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--server", metavar="URL",
                   help="vCenter URL, e.g. https://vc.example.com/sdk (default $GOVC_URL; http:// for simulators)")
    p.add_argument("--username", metavar="USER", help="user name (default $GOVC_USERNAME); the password comes from "
                   "$GOVC_PASSWORD or is asked for, never from the command line")
    p.add_argument("--insecure", action="store_true",
                   help="do not verify the server's TLS certificate (labs only; default $GOVC_INSECURE)")


def _live_commands(sub: Any) -> None:
    """``watch`` and ``replay``: a live vCenter (hapolicy.io.watch, hapolicy.io.replay)."""
    from .io.replay import cli_replay
    from .io.watch import cli_watch

    p = sub.add_parser("watch", help="watch a vCenter cluster and print what HA would do after each change",
                       description="watch a vCenter cluster (incremental PropertyCollector updates) and print "
                                   "one line per change that moves the HA posture; Ctrl-C ends it")
    _live_options(p)
    p.add_argument("--cluster", metavar="NAME", required=True, help="the cluster: name, DATACENTER/NAME or moid")
    p.add_argument("--json", action="store_true", help="one JSON object per change (JSON lines)")
    p.add_argument("--check", action="store_true", help="exit 1 the first time a promise breaks (for monitoring)")
    p.add_argument("--failures", type=_count, metavar="K", help="host failures checked (default: as the report)")
    p.add_argument("--duration", type=float, metavar="SECONDS", help="stop after this long (default: until Ctrl-C)")
    p.set_defaults(func=_live(cli_watch))
    p = sub.add_parser("replay", help="replay an incident from vCenter's events: predicted against observed",
                       description="replay an incident: INV EVENTS.json offline, or --server/--cluster/--start/"
                                   "--end live; prints predicted against observed restarts and each difference")
    p.add_argument("inventory", metavar="INV", nargs="?", help=INV_HELP + " (the cluster before the incident)")
    p.add_argument("events", metavar="EVENTS", nargs="?", help="events JSON (hapolicy.io.export_events)")
    _live_options(p)
    p.add_argument("--cluster", metavar="NAME", help="the cluster (live); or which cluster of INV")
    p.add_argument("--start", metavar="TIME", help="live: start of the incident window (ISO 8601, UTC if no zone)")
    p.add_argument("--end", metavar="TIME", help="live: end of the window (ISO 8601)")
    p.add_argument("--export", metavar="FILE", help="live: also write the events read to FILE (JSON)")
    p.add_argument("--tolerance", type=float, default=60.0, metavar="SECONDS",
                   help="restart times further apart than this are a difference (default 60)")
    p.add_argument("--json", action="store_true", help="machine-readable JSON output")
    p.add_argument("--check", action="store_true", help="exit 1 when prediction and observation differ")
    p.set_defaults(func=_live(cli_replay))


def _live(run: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    """Faults from vCenter (a refused login, a missing privilege) as one-line errors, exit 2."""

    def call(args: argparse.Namespace) -> int:
        try:
            return run(args)
        except (HaPolicyError, KeyboardInterrupt, OSError, ImportError):
            raise
        except Exception as exc:  # noqa: BLE001 - pyVmomi faults: vim.fault.InvalidLogin, NoPermission, ...
            if not type(exc).__module__.startswith(("pyVmomi", "vmodl", "vim")):
                raise
            msg = getattr(exc, "msg", None) or type(exc).__name__
            print(f"hapolicy: error: vCenter: {type(exc).__name__}: {msg}".replace("\n", " "), file=sys.stderr)
            return EXIT_BAD_INPUT

    return call


def _one_line(exc: BaseException) -> str:
    if isinstance(exc, InventoryError):
        n = len(exc.problems)
        if n == 1:
            (p, m), = exc.problems
            return f"{p}: {m}".replace("\n", " ")
        shown = "; ".join(f"{p}: {m}" for p, m in exc.problems[:SHOWN_PROBLEMS])
        more = f"; … {n - SHOWN_PROBLEMS} more (hapolicy validate lists them all)" if n > SHOWN_PROBLEMS else ""
        return f"{n} problems: {shown}{more}".replace("\n", " ")
    return str(exc).replace("\n", " ")


def _parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = _parser()
    args, extra = parser.parse_known_args(argv)
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction)).choices[args.command]
    if extra:
        sub.error(f"unrecognized arguments: {' '.join(extra)}")
    _check_combinations(args, sub)
    return args


def main(argv: Sequence[str] | None = None) -> int:
    """Runs the ``hapolicy`` command with ``argv`` (default: ``sys.argv[1:]``) and returns the exit
    status: 0 done, 1 refused (an operation, or with ``--check`` a promise that does not hold), 2 bad input (reported in
    one line on standard error)."""
    try:
        args = _parse(argv)
    except SystemExit as exc:
        if exc.code in (0, None):  # --help / --version: done, as argparse does it
            raise
        return EXIT_BAD_INPUT  # a usage error, already reported in one line
    try:
        code: int = args.func(args)
        return code
    except HaPolicyError as exc:
        print(f"hapolicy: error: {_one_line(exc)}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except BrokenPipeError:
        # Output piped into `head` and closed early: not an error worth a message.
        sys.stderr.close()
        return EXIT_OK
    except OSError as exc:
        print(f"hapolicy: error: {_one_line(exc)}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except ImportError as exc:  # an optional dependency (openpyxl for .xlsx) is missing
        print(f"hapolicy: error: {_one_line(exc)}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except RecursionError:
        print("hapolicy: error: input nested too deeply", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("hapolicy: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
