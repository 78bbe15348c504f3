"""hapolicy — reproduces the decisions of VMware vSphere HA (the FDM agent).

>>> import hapolicy as ha
>>> inv = ha.Inventory.load("examples/lab.json")        # doctest: +SKIP
>>> ha.elect(inv).master                                 # doctest: +SKIP
'host-23'
"""

from __future__ import annotations

from . import _core
from .admission import (
    AdmissionDecision,
    AdmissionReport,
    FailoverHostStatus,
    HeartbeatSelection,
    HeartbeatWarning,
    PerformanceDegradation,
    admission_control,
    check_enter_maintenance,
    check_migrate_in,
    check_power_on,
    check_reservation_change,
    heartbeat_datastores,
)
from .election import Candidate, Election, classify_host, classify_self, elect
from .enums import (
    AdmissionPolicy,
    ConnectionState,
    DatastoreType,
    EventKind,
    HbDsPolicy,
    HostRefusalCode,
    HostState,
    IsolationResponse,
    NotRestartedReason,
    PowerState,
    RestartPriority,
    RuleKind,
    UnplacedReason,
    Version,
    VmRole,
)
from .errors import (
    ArgumentError,
    HaPolicyError,
    InternalError,
    InventoryError,
    InventoryFileNotFoundError,
    OutOfMemoryError,
    UnknownIdError,
)
from .placement import FailoverPlan, Migration, NotRestarted, Placement, Unplaced, plan_failover
from .remedies import Remedies, Remedy, RemedyKind, RemedyScope, remedies
from .schema import inventory_schema
from .simulation import Event, Simulation, Timeline
from .sweep import FailuresTolerated, LevelSummary, ScenarioResult, SweepResult, failures_tolerated, sweep
from .inventory import (
    AdmissionControlConfig,
    ClusterConfig,
    Datastore,
    HeartbeatDatastoreConfig,
    Host,
    Inventory,
    Rule,
    Vm,
    generate_inventory,
)

__version__: str = _core.__version__

__all__ = [
    "AdmissionDecision",
    "AdmissionReport",
    "FailoverHostStatus",
    "HeartbeatSelection",
    "HeartbeatWarning",
    "admission_control",
    "check_enter_maintenance",
    "check_migrate_in",
    "check_power_on",
    "check_reservation_change",
    "heartbeat_datastores",
    "inventory_schema",
    "AdmissionControlConfig",
    "AdmissionPolicy",
    "ArgumentError",
    "Candidate",
    "ClusterConfig",
    "ConnectionState",
    "Event",
    "FailoverPlan",
    "Datastore",
    "DatastoreType",
    "Election",
    "EventKind",
    "HaPolicyError",
    "HbDsPolicy",
    "HeartbeatDatastoreConfig",
    "Host",
    "HostState",
    "InternalError",
    "Inventory",
    "InventoryError",
    "InventoryFileNotFoundError",
    "OutOfMemoryError",
    "LevelSummary",
    "IsolationResponse",
    "Migration",
    "NotRestarted",
    "NotRestartedReason",
    "PerformanceDegradation",
    "Placement",
    "PowerState",
    "Remedies",
    "Remedy",
    "RemedyKind",
    "RemedyScope",
    "RestartPriority",
    "Rule",
    "ScenarioResult",
    "RuleKind",
    "Simulation",
    "SweepResult",
    "Timeline",
    "UnknownIdError",
    "Unplaced",
    "UnplacedReason",
    "Version",
    "Vm",
    "VmRole",
    "classify_host",
    "classify_self",
    "elect",
    "generate_inventory",
    "plan_failover",
    "remedies",
    "sweep",
    "failures_tolerated",
    "FailuresTolerated",
]
