"""Enumerations. Values are the vSphere API spellings; plain strings are accepted wherever an
enum is (``StrEnum`` members compare equal to their value)."""

from __future__ import annotations

from enum import StrEnum

__all__ = [
    "AdmissionPolicy",
    "ConnectionState",
    "DatastoreType",
    "EventKind",
    "HbDsPolicy",
    "HostRefusalCode",
    "HostState",
    "IsolationResponse",
    "NotRestartedReason",
    "PowerState",
    "RestartPriority",
    "RuleKind",
    "UnplacedReason",
    "Version",
    "VmRole",
]


class HostState(StrEnum):
    """FDM availability state of a host as the master reports it (R-CLASS-M)."""

    UNINITIALIZED = "uninitialized"
    ELECTION = "election"
    MASTER = "master"
    CONNECTED_TO_MASTER = "connectedToMaster"
    NETWORK_PARTITIONED_FROM_MASTER = "networkPartitionedFromMaster"
    NETWORK_ISOLATED = "networkIsolated"
    HOST_DOWN = "hostDown"
    INITIALIZATION_ERROR = "initializationError"
    UNINITIALIZATION_ERROR = "uninitializationError"
    FDM_UNREACHABLE = "fdmUnreachable"
    RETRY = "retry"


class RestartPriority(StrEnum):
    """VM restart priority (R-PLACE-1); ``clusterRestartPriority`` defers to the cluster's default."""

    DISABLED = "disabled"
    LOWEST = "lowest"
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    HIGHEST = "highest"
    CLUSTER_RESTART_PRIORITY = "clusterRestartPriority"


class IsolationResponse(StrEnum):
    """What a host does to its VMs when it declares itself isolated (R-ISO);
    ``clusterIsolationResponse`` defers to the cluster's default."""

    NONE = "none"
    POWER_OFF = "powerOff"
    SHUTDOWN = "shutdown"
    CLUSTER_ISOLATION_RESPONSE = "clusterIsolationResponse"


class PowerState(StrEnum):
    """VM power state."""

    POWERED_ON = "poweredOn"
    POWERED_OFF = "poweredOff"
    SUSPENDED = "suspended"


class AdmissionPolicy(StrEnum):
    """Admission control policy (R-AC): host failures (slot), percentage, dedicated failover hosts, or none."""

    SLOT = "slot"
    PERCENTAGE = "percentage"
    FAILOVER_HOSTS = "failoverHosts"
    DISABLED = "disabled"


class ConnectionState(StrEnum):
    """Host connection state as vCenter reports it."""

    CONNECTED = "connected"
    DISCONNECTED = "disconnected"
    NOT_RESPONDING = "notResponding"


class VmRole(StrEnum):
    """Special VM roles that restart before every priority class (R-PLACE-1)."""

    AGENT = "agent"
    FT_PRIMARY = "ftPrimary"
    FT_SECONDARY = "ftSecondary"


class DatastoreType(StrEnum):
    """Datastore type (R-HBDS prefers VMFS and never picks vSAN)."""

    VMFS = "VMFS"
    NFS = "NFS"
    VSAN = "vSAN"
    VVOL = "vVol"


class Version(StrEnum):
    """vSphere release whose HA behaviour is reproduced; defaults of options follow it."""

    V5_0 = "5.0"
    V5_1 = "5.1"
    V5_5 = "5.5"
    V6_0 = "6.0"
    V6_5 = "6.5"
    V6_7 = "6.7"
    V7_0 = "7.0"
    V8_0 = "8.0"


class HbDsPolicy(StrEnum):
    """Heartbeat datastore selection policy (R-HBDS)."""

    ALL_FEASIBLE_DS = "allFeasibleDs"
    USER_SELECTED_DS = "userSelectedDs"
    ALL_FEASIBLE_DS_WITH_USER_PREFERENCE = "allFeasibleDsWithUserPreference"


class RuleKind(StrEnum):
    """Kind of a DRS rule or VM-to-VM dependency (R-PLACE-1 to R-PLACE-3)."""

    VM_ANTI_AFFINITY = "vmAntiAffinity"
    VM_AFFINITY = "vmAffinity"
    VM_HOST_MUST = "vmHostMust"
    VM_HOST_MUST_NOT = "vmHostMustNot"
    VM_HOST_SHOULD = "vmHostShould"
    VM_HOST_SHOULD_NOT = "vmHostShouldNot"
    VM_DEPENDS_ON = "vmDependsOn"


class UnplacedReason(StrEnum):
    """Why a VM could not be restarted anywhere (R-PLACE)."""

    NO_COMPATIBLE_HOST = "noCompatibleHost"
    INSUFFICIENT_RESOURCES = "insufficientResources"
    ANTI_AFFINITY = "antiAffinity"
    VM_HOST_RULE = "vmHostRule"
    DATASTORE_INACCESSIBLE = "datastoreInaccessible"
    MAX_RESTART_COUNT_REACHED = "maxRestartCountReached"


class HostRefusalCode(StrEnum):
    """Why one host refused one VM (R-PLACE-2): the values of ``Unplaced.codes`` and the ``code``
    of a host's verdict in ``FailoverPlan.to_dict()``. The first eight say the host takes no
    restarted VM at all; the others are about the VM."""

    FAILED = "failed"
    ISOLATED = "isolated"
    PARTITIONED = "partitioned"
    DISCONNECTED = "disconnected"
    NOT_RESPONDING = "notResponding"
    MAINTENANCE = "maintenance"
    STANDBY = "standby"
    AGENT_VMS_NOT_READY = "agentVmsNotReady"
    DATASTORE_NOT_CONNECTED = "datastoreNotConnected"
    DATASTORE_INACCESSIBLE = "datastoreInaccessible"
    NETWORK_MISSING = "networkMissing"
    VM_HOST_MUST = "vmHostMust"
    VM_HOST_MUST_NOT = "vmHostMustNot"
    ANTI_AFFINITY = "antiAffinity"
    FT_LIMIT = "ftLimit"
    INSUFFICIENT_RESOURCES = "insufficientResources"


class NotRestartedReason(StrEnum):
    """Why HA leaves a VM of a failed or isolated host alone, by rule (R-PLACE, R-ISO). A
    simulation's ``vm_not_restarted`` events use the same codes (``restartDisabled``)."""

    CLEAN_POWER_OFF = "cleanPowerOff"
    NOT_POWERED_ON = "notPoweredOn"
    UNPROTECTED = "unprotected"
    RESTART_DISABLED = "restartDisabled"
    HOST_MONITORING_DISABLED = "hostMonitoringDisabled"
    ISOLATION_RESPONSE_NONE = "isolationResponseNone"


class EventKind(StrEnum):
    """Kinds of simulation events (the simulation events of docs/api.rst), in the engine's phase order."""

    FAULT = "fault"
    ELECTION_STARTED = "election_started"
    MASTER_ELECTED = "master_elected"
    MASTER_ABDICATED = "master_abdicated"
    HOST_UNREACHABLE = "host_unreachable"
    HOST_STATE = "host_state"
    ISOLATION_DECLARED = "isolation_declared"
    ISOLATION_RESPONSE = "isolation_response"
    VM_POWERED_OFF = "vm_powered_off"
    RESTART_ATTEMPT = "restart_attempt"
    RESTART_FAILED = "restart_failed"
    VM_RESTARTED = "vm_restarted"
    VM_UNPLACED = "vm_unplaced"
    RESTART_GAVE_UP = "restart_gave_up"
    VM_NOT_RESTARTED = "vm_not_restarted"
    APD_TIMEOUT = "apd_timeout"
    VM_TERMINATED = "vm_terminated"
    VMCP_NO_ACTION = "vmcp_no_action"
    VM_RESET = "vm_reset"
    VM_RESET_SKIPPED = "vm_reset_skipped"
    SPLIT_BRAIN = "split_brain"
    #: hostd reports a VM's VMware Tools or application heartbeat ``yellow`` / ``red`` (R-VMMON).
    HEARTBEAT_STATUS = "heartbeat_status"
    #: A restarted VM meets its orchestration ready condition (R-ORCH).
    VM_READY = "vm_ready"
    #: A vSAN datastore becomes inaccessible (no vSAN quorum: an APD on those hosts) or
    #: accessible again on some hosts (R-DOMAIN).
    VSAN_ACCESS = "vsan_access"
    #: DRS starts a vMotion to make room for a restart (R-PLACE-DRS; ``detail``: ``from``,
    #: ``to``, ``for_vm``).
    VM_MIGRATION_STARTED = "vm_migration_started"
    #: A DRS vMotion completed: the VM runs on ``to`` (R-PLACE-DRS).
    VM_MIGRATED = "vm_migrated"
    #: A DRS vMotion could not complete (``reason``: ``hostFailed`` or ``vmNotRunning``).
    VM_MIGRATION_FAILED = "vm_migration_failed"
    #: DPM asked a standby host to exit standby for a restart (``detail``: ``joins_at``).
    HOST_EXIT_STANDBY_REQUESTED = "host_exit_standby_requested"
    #: A host left standby and joins the cluster (R-PLACE-DRS).
    HOST_EXITED_STANDBY = "host_exited_standby"
