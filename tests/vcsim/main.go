// vcsim launcher for hapolicy's pyVmomi adapter tests (tests/test_io_vsphere.py).
//
// Starts govmomi's vCenter simulator (the VPX model: by default one datacenter, one cluster;
// -dc, -clusters, -standalone-hosts, -pools, -pods and -folders change the layout) on a
// loopback address over plain HTTP, prints its SDK URL on the first line of stdout and serves
// until stdin closes or it is signalled. With -ha POLICY it also sets what the simulator does
// not model itself -- the cluster's vSphere HA configuration (dasConfig), host FDM states and
// VM memory overheads, see ha.go -- so the adapter can read them over SOAP. With -notify it
// also reports to property-collector waiters the changes the simulator makes silently
// (maintenance mode, VM and cluster reconfigurations; see notify.go), for hapolicy.io.watch.
package main

import (
	"flag"
	"fmt"
	"io"
	"io/ioutil"
	"log"
	"net"
	"net/url"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/vmware/govmomi/simulator"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:0", "address to serve on (loopback only)")
	hosts := flag.Int("cluster-hosts", 3, "hosts in the cluster")
	vms := flag.Int("vms", 2, "virtual machines per resource pool")
	datastores := flag.Int("datastores", 1, "datastores (mounted on every host)")
	datacenters := flag.Int("dc", 1, "datacenters")
	clusters := flag.Int("clusters", 1, "clusters per datacenter")
	standalone := flag.Int("standalone-hosts", 1, "standalone hosts (not in a cluster) per datacenter")
	pools := flag.Int("pools", 0, "child resource pools per cluster (VMs are made in each pool)")
	pods := flag.Int("pods", 0, "storage pods (datastore clusters) per cluster")
	folders := flag.Int("folders", 0, "datacenters placed in folders (with their host, vm, datastore and network folders)")
	ha := flag.String("ha", "", "inject an HA configuration with this admission-control policy (see ha.go)")
	drsOff := flag.Bool("drs-off", false, "turn DRS off on every cluster (the simulator creates them fully automated; see ha.go)")
	notifyChanges := flag.Bool("notify", false, "report maintenance, VM and cluster reconfigurations to property-collector waiters (see notify.go)")
	notifyEvery := flag.Duration("notify-interval", 50*time.Millisecond, "how often -notify compares")
	watchStdin := flag.Bool("exit-on-stdin-eof", false, "exit when stdin closes (so it dies with its parent)")
	flag.Parse()
	if host, _, err := net.SplitHostPort(*listen); err != nil || !net.ParseIP(host).IsLoopback() {
		fmt.Fprintln(os.Stderr, "vcsim: -listen must be a loopback address such as 127.0.0.1:0")
		os.Exit(2)
	}
	log.SetOutput(ioutil.Discard) // keep stdout for the URL; the simulator logs every call

	model := simulator.VPX()
	model.ClusterHost = *hosts
	model.Machine = *vms
	model.Datastore = *datastores
	model.Datacenter = *datacenters
	model.Cluster = *clusters
	model.Host = *standalone
	model.Pool = *pools
	model.Pod = *pods
	model.Folder = *folders
	if err := model.Create(); err != nil {
		fmt.Fprintln(os.Stderr, "vcsim: create:", err)
		os.Exit(1)
	}
	defer model.Remove()
	if *ha != "" {
		if err := injectHA(*ha); err != nil {
			fmt.Fprintln(os.Stderr, "vcsim: -ha:", err)
			os.Exit(1)
		}
	}

	if *drsOff {
		turnDrsOff()
	}

	model.Service.TLS = nil // plain HTTP
	model.Service.Listen = &url.URL{Host: *listen}
	server := model.Service.NewServer()
	defer server.Close()
	fmt.Println(server.URL.String())
	if *notifyChanges {
		stop := make(chan struct{})
		defer close(stop)
		go notify(*notifyEvery, stop)
	}

	done := make(chan os.Signal, 1)
	signal.Notify(done, os.Interrupt, syscall.SIGTERM)
	if *watchStdin {
		go func() { _, _ = io.Copy(ioutil.Discard, os.Stdin); done <- syscall.SIGTERM }()
	}
	<-done
}
