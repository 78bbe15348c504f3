//! Host-state classification: the master's view of a slave (R-CLASS-M) and a slave's view of
//! itself (R-CLASS-S).

use crate::model::api_enum;

api_enum!(
    /// FDM availability state of a host, as the master reports it (vSphere
    /// `ClusterDasFdmAvailabilityState`).
    HostState {
        Uninitialized = "uninitialized",
        Election = "election",
        Master = "master",
        ConnectedToMaster = "connectedToMaster",
        NetworkPartitionedFromMaster = "networkPartitionedFromMaster",
        NetworkIsolated = "networkIsolated",
        HostDown = "hostDown",
        InitializationError = "initializationError",
        UninitializationError = "uninitializationError",
        FdmUnreachable = "fdmUnreachable",
        Retry = "retry",
    }
);

/// What the master observes of one slave.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct MasterObservation {
    /// The slave's network heartbeats reach the master.
    pub network_heartbeat: bool,
    /// The slave's management address answers ICMP.
    pub ping: bool,
    /// The slave's heartbeat datastore file is updating.
    pub datastore_heartbeat: bool,
    /// The slave's poweron file carries the isolation flag.
    pub isolated_flag: bool,
}

/// R-CLASS-M, in the order the rule states it.
pub fn master_view(o: MasterObservation) -> HostState {
    if o.network_heartbeat {
        HostState::ConnectedToMaster
    } else if o.ping {
        // The host is up but its agent does not answer: no restart.
        HostState::FdmUnreachable
    } else if o.datastore_heartbeat {
        if o.isolated_flag {
            HostState::NetworkIsolated
        } else {
            HostState::NetworkPartitionedFromMaster
        }
    } else {
        HostState::HostDown
    }
}

/// What a host concludes about itself (R-CLASS-S).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SelfView {
    /// Hears the master.
    Connected,
    /// No master, but election traffic: joins that partition's election.
    Partitioned,
    /// No master, no election traffic, no isolation address answers.
    Isolated,
}

/// R-CLASS-S. Election traffic or any isolation-address answer rules out isolation.
pub fn self_view(master_heartbeat: bool, election_traffic: bool, isolation_address_answers: bool) -> SelfView {
    if master_heartbeat {
        SelfView::Connected
    } else if election_traffic || isolation_address_answers {
        SelfView::Partitioned
    } else {
        SelfView::Isolated
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_sixteen_master_observations() {
        for bits in 0u8..16 {
            let o = MasterObservation {
                network_heartbeat: bits & 1 != 0,
                ping: bits & 2 != 0,
                datastore_heartbeat: bits & 4 != 0,
                isolated_flag: bits & 8 != 0,
            };
            // The table of R-CLASS-M, written out independently of the code's if-chain.
            let expected = match (o.network_heartbeat, o.ping, o.datastore_heartbeat, o.isolated_flag) {
                (true, _, _, _) => HostState::ConnectedToMaster,
                (false, true, _, _) => HostState::FdmUnreachable,
                (false, false, true, true) => HostState::NetworkIsolated,
                (false, false, true, false) => HostState::NetworkPartitionedFromMaster,
                (false, false, false, _) => HostState::HostDown,
            };
            assert_eq!(master_view(o), expected, "{o:?}");
        }
    }

    #[test]
    fn self_view_rules() {
        assert_eq!(self_view(true, false, false), SelfView::Connected);
        assert_eq!(self_view(false, true, false), SelfView::Partitioned);
        assert_eq!(self_view(false, false, true), SelfView::Partitioned);
        assert_eq!(self_view(false, false, false), SelfView::Isolated);
    }
}
