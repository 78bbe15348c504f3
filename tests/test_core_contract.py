"""The Python layer agrees with the Rust core: enums, error mapping, the panic guard."""

from __future__ import annotations

import pickle

import pytest

import hapolicy as ha
from hapolicy import _core


@pytest.mark.parametrize(
    "name",
    ["HostState", "RestartPriority", "IsolationResponse", "PowerState", "AdmissionPolicy", "ConnectionState",
     "VmRole", "DatastoreType", "Version", "HbDsPolicy", "RuleKind"],
)
def test_enums_match_the_core(name: str) -> None:
    py_enum = getattr(ha, name)
    assert [m.value for m in py_enum] == _core.enum_values()[name]


def test_strenum_compares_with_plain_strings() -> None:
    assert ha.HostState.HOST_DOWN == "hostDown"
    assert ha.RestartPriority("high") is ha.RestartPriority.HIGH


def test_error_hierarchy() -> None:
    inv_err = _core._error_for_tests("invalid")
    assert isinstance(inv_err, ha.InventoryError) and isinstance(inv_err, ValueError)
    assert inv_err.problems == [("a.b", "bad")]
    assert str(inv_err) == "1 problem in the input\n  a.b: bad"
    unknown = _core._error_for_tests("unknown")
    assert isinstance(unknown, ha.UnknownIdError) and isinstance(unknown, KeyError)
    arg = _core._error_for_tests("argument")
    assert isinstance(arg, ha.ArgumentError) and isinstance(arg, ValueError)
    for e in (inv_err, unknown, arg):
        assert isinstance(e, ha.HaPolicyError)
        again = pickle.loads(pickle.dumps(e))
        assert type(again) is type(e) and str(again) == str(e)


def test_panic_never_reaches_python_as_panic_exception() -> None:
    with pytest.raises(ha.InternalError, match="deliberate test panic"):
        _core._panic_for_tests()


def test_known_options_cover_the_spec() -> None:
    keys = set(_core.known_options())
    for k in ["das.vmCpuMinMHz", "das.vmMemoryMinMB", "das.slotCpuInMHz", "das.slotMemInMB", "das.heartbeatDsPerHost",
              "das.ignoreInsufficientHbDatastore", "das.isolationShutdownTimeout", "das.maxFtVmsPerHost",
              "das.respectVmVmAntiAffinityRules", "das.respectVmHostSoftAffinityRules", "das.maxvmrestartcount",
              "das.perHostConcurrentFailoversLimit", "das.maskCleanShutdownEnabled",
              "das.config.fdm.electionDuration", "das.config.fdm.hostTimeout", "das.config.fdm.icmpPingTimeout",
              "das.config.fdm.isolationPolicyDelaySec", "disk.terminateVMOnPDLDefault", "engine.powerOnSeconds"]:
        assert k in keys
