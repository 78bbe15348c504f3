package main

// The property updates govmomi's simulator (0.24) does not send. It changes a host's
// maintenance mode, a VM's configuration (reservations) and a cluster's configuration
// (vSphere HA, DRS rules, overrides) in place, without telling the PropertyCollector, so a
// WaitForUpdatesEx caller never hears of them, while vCenter does report them. With -notify
// the launcher compares those properties every -notify-interval and dispatches a change
// through the simulator's own registry (Map.Update), the path its power operations and
// vMotions already take. Power state and runtime.host need nothing: the simulator reports them.

import (
	"encoding/json"
	"time"

	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"
)

type watched struct {
	name  string
	value func() interface{}
}

func props(e mo.Entity) []watched {
	switch o := e.(type) {
	case *simulator.HostSystem:
		return []watched{
			{"runtime.inMaintenanceMode", func() interface{} { return o.Runtime.InMaintenanceMode }},
			{"runtime.connectionState", func() interface{} { return o.Runtime.ConnectionState }},
			{"runtime.powerState", func() interface{} { return o.Runtime.PowerState }},
		}
	case *simulator.VirtualMachine:
		if o.Config == nil {
			return nil
		}
		return []watched{
			{"config.cpuAllocation.reservation", func() interface{} { return deref(o.Config.CpuAllocation) }},
			{"config.memoryAllocation.reservation", func() interface{} { return deref(o.Config.MemoryAllocation) }},
			{"config.memoryReservationLockedToMax", func() interface{} {
				return o.Config.MemoryReservationLockedToMax != nil && *o.Config.MemoryReservationLockedToMax
			}},
			{"config.hardware.memoryMB", func() interface{} { return o.Config.Hardware.MemoryMB }},
		}
	case *simulator.ClusterComputeResource:
		return []watched{{"configurationEx", func() interface{} { return o.ConfigurationEx }}}
	}
	return nil
}

func deref(a *types.ResourceAllocationInfo) int64 {
	if a == nil || a.Reservation == nil {
		return 0
	}
	return *a.Reservation
}

// notify polls until stop closes; the first pass only records.
func notify(interval time.Duration, stop <-chan struct{}) {
	last := map[types.ManagedObjectReference]map[string]string{}
	ticker := time.NewTicker(interval)
	defer ticker.Stop()
	for {
		for _, kind := range []string{"HostSystem", "VirtualMachine", "ClusterComputeResource"} {
			for _, e := range simulator.Map.All(kind) {
				ref := e.Reference()
				seen, known := last[ref]
				if !known {
					seen = map[string]string{}
					last[ref] = seen
				}
				var changes []types.PropertyChange
				simulator.Map.WithLock(e, func() {
					for _, p := range props(e) {
						v := p.value()
						b, err := json.Marshal(v)
						if err != nil {
							continue
						}
						if old, ok := seen[p.name]; ok && old != string(b) {
							changes = append(changes, types.PropertyChange{Name: p.name, Op: types.PropertyChangeOpAssign, Val: v})
						}
						seen[p.name] = string(b)
					}
				})
				if len(changes) != 0 {
					simulator.Map.Update(e, changes)
				}
			}
		}
		select {
		case <-stop:
			return
		case <-ticker.C:
		}
	}
}
