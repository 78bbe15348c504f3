package main

// What the simulator does not model, set directly on its objects before serving: the cluster's
// vSphere HA configuration (dasConfig), host FDM states and VM memory overheads. Everything the
// simulator does model (reservations, power state, DRS rules and groups, per-VM HA overrides)
// the tests set through the API instead.

import (
	"fmt"

	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/types"
)

func injectHA(policy string) error {
	cluster, ok := simulator.Map.Any("ClusterComputeResource").(*simulator.ClusterComputeResource)
	if !ok || len(cluster.Host) < 2 || len(cluster.Datastore) < 1 {
		return fmt.Errorf("the model has no cluster with 2+ hosts and a datastore")
	}
	cfg := cluster.ConfigurationEx.(*types.ClusterConfigInfoEx)

	var acp types.BaseClusterDasAdmissionControlPolicy
	switch policy {
	case "slot":
		acp = &types.ClusterFailoverLevelAdmissionControlPolicy{FailoverLevel: 1}
	case "slot-fixed":
		acp = &types.ClusterFailoverLevelAdmissionControlPolicy{
			FailoverLevel: 1,
			SlotPolicy:    &types.ClusterFixedSizeSlotPolicy{Cpu: 500, Memory: 1024},
		}
	case "percentage":
		acp = &types.ClusterFailoverResourcesAdmissionControlPolicy{
			CpuFailoverResourcesPercent: 25, MemoryFailoverResourcesPercent: 30,
			AutoComputePercentages: types.NewBool(false),
		}
	case "auto":
		acp = &types.ClusterFailoverResourcesAdmissionControlPolicy{
			CpuFailoverResourcesPercent: 33, MemoryFailoverResourcesPercent: 33,
			FailoverLevel: 1, AutoComputePercentages: types.NewBool(true),
		}
	case "failover-hosts":
		acp = &types.ClusterFailoverHostAdmissionControlPolicy{
			FailoverHosts: []types.ManagedObjectReference{cluster.Host[len(cluster.Host)-1]},
		}
	case "disabled":
	default:
		return fmt.Errorf("unknown policy %q (slot, slot-fixed, percentage, auto, failover-hosts, disabled)", policy)
	}

	cfg.DasConfig = types.ClusterDasConfigInfo{
		Enabled:                 types.NewBool(true),
		VmMonitoring:            "vmMonitoringOnly",
		HostMonitoring:          "enabled",
		VmComponentProtecting:   "enabled",
		FailoverLevel:           1,
		AdmissionControlPolicy:  acp,
		AdmissionControlEnabled: types.NewBool(policy != "disabled"),
		DefaultVmSettings: &types.ClusterDasVmSettings{
			RestartPriority:   "high",
			IsolationResponse: "powerOff",
			VmToolsMonitoringSettings: &types.ClusterVmToolsMonitoringSettings{
				Enabled: types.NewBool(true), VmMonitoring: "vmMonitoringOnly",
				FailureInterval: 60, MinUpTime: 240, MaxFailures: 3, MaxFailureWindow: 86400,
			},
			VmComponentProtectionSettings: &types.ClusterVmComponentProtectionSettings{
				VmStorageProtectionForAPD: "restartConservative", VmStorageProtectionForPDL: "restartAggressive",
				VmTerminateDelayForAPDSec: 120, VmReactionOnAPDCleared: "reset",
				EnableAPDTimeoutForHosts: types.NewBool(true),
			},
		},
		Option: []types.BaseOptionValue{
			&types.OptionValue{Key: "das.isolationaddress0", Value: "192.168.0.1"},
			&types.OptionValue{Key: "das.heartbeatDsPerHost", Value: "3"},
		},
		HeartbeatDatastore:         []types.ManagedObjectReference{cluster.Datastore[0]},
		HBDatastoreCandidatePolicy: "userSelectedDs",
	}

	for i, ref := range cluster.Host {
		host := simulator.Map.Get(ref).(*simulator.HostSystem)
		state := "connectedToMaster"
		if i == 0 {
			state = "master"
		}
		host.Runtime.DasHostState = &types.ClusterDasFdmHostState{State: state}
	}
	for _, e := range simulator.Map.All("VirtualMachine") {
		vm := e.(*simulator.VirtualMachine)
		vm.Runtime.MemoryOverhead = 150 * 1024 * 1024 // bytes
	}
	return nil
}

// turnDrsOff disables DRS on every cluster: the simulator creates clusters with DRS in full
// automation and ignores drsConfig in ReconfigureComputeResource, so a test that needs HA
// without DRS-assisted restarts (R-PLACE-DRS) asks for it here.
func turnDrsOff() {
	for _, obj := range simulator.Map.All("ClusterComputeResource") {
		cluster := obj.(*simulator.ClusterComputeResource)
		cfg := cluster.ConfigurationEx.(*types.ClusterConfigInfoEx)
		cfg.DrsConfig.Enabled = types.NewBool(false)
	}
}
