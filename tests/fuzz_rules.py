"""What the Python-side fuzzers share (tests/test_hardening.py with hypothesis, fuzz/python/ with
atheris): the rule an answer must keep, and the field names they build documents from."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import hapolicy as ha

T = TypeVar("T")


def survive(call: Callable[[], T]) -> T | None:
    """Runs ``call``: a result, or a HaPolicyError (``None``) — but never InternalError (a caught
    Rust panic) nor any other exception: those escape, failing the test / crashing the fuzzer."""
    try:
        return call()
    except ha.InternalError as exc:  # a Rust panic: a bug
        raise AssertionError(f"InternalError: {exc}") from exc
    except ha.HaPolicyError:
        return None


FIELDS = [
    "cluster", "hosts", "datastores", "vms", "rules", "id", "name", "version", "admission_control", "policy",
    "host_failures", "cpu_percent", "memory_percent", "slot_cpu_mhz", "slot_memory_mb", "cpu_mhz", "memory_mb",
    "state", "maintenance", "standby", "goodness", "networks", "host", "power_state", "cpu_reservation_mhz",
    "memory_reservation_mb", "memory_overhead_mb", "home_datastore", "restart_priority", "isolation_response",
    "role", "protected", "clean_power_off", "type", "vm", "depends_on", "enabled", "advanced_options",
    "vm_monitoring", "vmcp", "heartbeat_datastores", "preferred", "isolation_addresses", "at", "until",
    "restore_at", "groups", "datastore", "attempts", "events", "inventory", "mode", "sensitivity", "apd", "pdl",
    "apd_delay_s", "apd_cleared", "tools_running", "agent_vms_ready", "backing", "host_monitoring",
]
