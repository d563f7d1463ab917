//! The bind planner: every instance's port specs and the host's addresses
//! in, a bind plan or every conflict out.
//!
//! The rules are the Mailtraq document's:
//!
//! 1. A port is used once, for one purpose, unless the instances on it are
//!    multi-homed on different addresses. Two listeners on the same
//!    address and port are a [`Conflict::Duplicate`].
//! 2. Multi-homing "cannot be implemented on a port if a non-multi-homed
//!    service is already bound to that port": a listener on every
//!    interface and one on a named address of the same port are a
//!    [`Conflict::AllInterfacesTaken`], whichever is declared first.
//! 3. "All interfaces specified must be available prior to the service
//!    being started": a named address that is not the host's is a
//!    [`Conflict::AddressNotOnHost`].
//!
//! And ISMail's: an SMTP instance may have a secondary listen spec; when
//! it has the same port as the primary and neither names an address,
//! only the primary applies ([`listeners`] drops the secondary).
//!
//! The plan is checked as a whole before anything binds, so the runtime
//! can bind all or nothing.

use crate::config::{PortSpec, ServiceConfig, ServiceKind};
use crate::policy::Network;
use std::fmt;
use std::net::IpAddr;

/// Which of an instance's listen specs a listener comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Role {
    Primary,
    Secondary,
}

/// One socket an instance wants.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Listener {
    /// The instance's name.
    pub instance: String,
    pub kind: ServiceKind,
    pub role: Role,
    pub spec: PortSpec,
}

impl Listener {
    /// How a conflict names it: `"mx"`, or `"mx" (secondary)`.
    fn name(&self) -> String {
        match self.role {
            Role::Primary => format!("\"{}\"", self.instance),
            Role::Secondary => format!("\"{}\" (secondary)", self.instance),
        }
    }
}

/// The listeners the instances ask for, in declaration order, primary
/// before secondary.
pub fn listeners(services: &[ServiceConfig]) -> Vec<Listener> {
    let mut listeners = Vec::new();
    for service in services {
        let listener = |role, spec| Listener {
            instance: service.name.clone(),
            kind: service.kind,
            role,
            spec,
        };
        listeners.push(listener(Role::Primary, service.listen));
        if let Some(secondary) = service.secondary_listen {
            // ISMail: "If the primary and secondary ports are the same,
            // and no IP address is entered, then only the primary values
            // will apply."
            let same_port_no_address = secondary.port == service.listen.port
                && secondary.address.is_none()
                && service.listen.address.is_none();
            if !same_port_no_address {
                listeners.push(listener(Role::Secondary, secondary));
            }
        }
    }
    listeners
}

/// The addresses this host has. Loopback interfaces contribute their
/// whole network (all of 127.0.0.0/8 is this machine); others, their
/// addresses.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HostAddresses {
    pub networks: Vec<Network>,
}

impl HostAddresses {
    pub fn has(&self, address: IpAddr) -> bool {
        self.networks.iter().any(|n| n.contains(address))
    }
}

/// Listeners that can all be bound together: no two can receive the same
/// connection, and every named address is the host's.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BindPlan {
    pub listeners: Vec<Listener>,
}

impl BindPlan {
    /// The listener that takes a connection made to `address`:`port`. A
    /// listener on that address wins over one on every interface (a valid
    /// plan never has both, but explaining a connection should not depend
    /// on that).
    pub fn listener_for(&self, address: IpAddr, port: u16) -> Option<&Listener> {
        let address = address.to_canonical();
        self.listeners
            .iter()
            .find(|l| l.spec.port == port && l.spec.address == Some(address))
            .or_else(|| {
                self.listeners
                    .iter()
                    .find(|l| l.spec.port == port && l.spec.address.is_none())
            })
    }
}

/// A rule the listeners break.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Conflict {
    /// Two listeners on the same address (or both on every interface)
    /// and port.
    Duplicate { first: Listener, second: Listener },
    /// A listener on one address of a port that another listener holds on
    /// every interface.
    AllInterfacesTaken {
        all_interfaces: Listener,
        multi_homed: Listener,
    },
    /// The listener names an address this host does not have.
    AddressNotOnHost { listener: Listener },
}

impl Conflict {
    /// The listeners the conflict is about: one or two.
    pub fn listeners(&self) -> Vec<&Listener> {
        match self {
            Conflict::Duplicate { first, second } => vec![first, second],
            Conflict::AllInterfacesTaken {
                all_interfaces,
                multi_homed,
            } => vec![all_interfaces, multi_homed],
            Conflict::AddressNotOnHost { listener } => vec![listener],
        }
    }
}

impl fmt::Display for Conflict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Conflict::Duplicate { first, second } if first.spec.address.is_none() => write!(
                f,
                "instances {} and {} both listen on port {} on every interface: a port is used once, for one purpose, unless the instances are multi-homed on different addresses; give one of them another port, or give each an address",
                first.name(),
                second.name(),
                first.spec.port
            ),
            Conflict::Duplicate { first, second } => write!(
                f,
                "instances {} and {} both listen on {}: an address and port can serve one instance only; give one of them another address or port",
                first.name(),
                second.name(),
                first.spec
            ),
            Conflict::AllInterfacesTaken {
                all_interfaces,
                multi_homed,
            } => write!(
                f,
                "instance {} listens on {} but instance {} holds port {} on every interface: multi-homing cannot share a port with an instance on all interfaces; give {} an address too, or move one of them to another port",
                multi_homed.name(),
                multi_homed.spec,
                all_interfaces.name(),
                all_interfaces.spec.port,
                all_interfaces.name()
            ),
            Conflict::AddressNotOnHost { listener } => write!(
                f,
                "instance {} listens on {}, but {} is not an address of this host: every address must exist before anything starts; use one of the host's addresses (see `ip address`)",
                listener.name(),
                listener.spec,
                listener
                    .spec
                    .address
                    .map_or(String::new(), |a| a.to_string())
            ),
        }
    }
}

/// Checks `listeners` against each other and the host, and returns the
/// plan, or every conflict found.
pub fn plan(listeners: Vec<Listener>, host: &HostAddresses) -> Result<BindPlan, Vec<Conflict>> {
    let mut conflicts = Vec::new();
    for listener in &listeners {
        if let Some(address) = listener.spec.address
            && !host.has(address)
        {
            conflicts.push(Conflict::AddressNotOnHost {
                listener: listener.clone(),
            });
        }
    }
    for (i, first) in listeners.iter().enumerate() {
        for second in &listeners[i + 1..] {
            if !first.spec.overlaps(&second.spec) {
                continue;
            }
            let conflict = match (first.spec.address, second.spec.address) {
                (None, Some(_)) => Conflict::AllInterfacesTaken {
                    all_interfaces: first.clone(),
                    multi_homed: second.clone(),
                },
                (Some(_), None) => Conflict::AllInterfacesTaken {
                    all_interfaces: second.clone(),
                    multi_homed: first.clone(),
                },
                _ => Conflict::Duplicate {
                    first: first.clone(),
                    second: second.clone(),
                },
            };
            conflicts.push(conflict);
        }
    }
    if conflicts.is_empty() {
        Ok(BindPlan { listeners })
    } else {
        Err(conflicts)
    }
}

#[cfg(test)]
mod tests;
