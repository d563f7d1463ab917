//! Listening: the host's addresses for the bind planner, and binding a
//! plan all or nothing.
//!
//! The core decides whether the listeners fit together
//! ([`postern_core::bind::plan`]); this module only asks the system what
//! addresses it has, and then binds. No `SO_REUSEPORT`: two sockets on one
//! address and port would hide exactly the overlaps the planner refuses.

use crate::config_file::Loaded;
use postern_core::bind::{self, BindPlan, Conflict, HostAddresses, Listener, Role};
use postern_core::config::PortSpec;
use postern_core::policy::Network;
use socket2::{Domain, Socket, Type};
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// Connections the kernel queues for an instance before we accept them.
const LISTEN_BACKLOG: i32 = 1024;

/// The host's addresses. A loopback interface contributes its whole
/// network, because Linux answers on all of it (127.0.0.2 reaches this
/// machine without being configured anywhere); other interfaces, their
/// own addresses.
pub fn host_addresses() -> io::Result<HostAddresses> {
    let mut networks = Vec::new();
    for interface in if_addrs::get_if_addrs()? {
        let (ip, prefix) = match &interface.addr {
            if_addrs::IfAddr::V4(v4) => (IpAddr::V4(v4.ip), v4.prefixlen),
            if_addrs::IfAddr::V6(v6) => (IpAddr::V6(v6.ip), v6.prefixlen),
        };
        let network = if interface.is_loopback() {
            Network::new(ip, prefix).unwrap_or(Network::host(ip))
        } else {
            Network::host(ip)
        };
        networks.push(network);
    }
    networks.sort();
    networks.dedup();
    Ok(HostAddresses { networks })
}

/// Plans the configuration's listeners on this host. Conflicts come back
/// as operator-ready text: file, line, the rule broken, the fix.
pub fn plan(loaded: &Loaded) -> Result<BindPlan, String> {
    let host = host_addresses()
        .map_err(|error| format!("cannot list this host's network addresses: {error}"))?;
    bind::plan(bind::listeners(&loaded.config.services), &host)
        .map_err(|conflicts| render_conflicts(loaded, &conflicts))
}

fn render_conflicts(loaded: &Loaded, conflicts: &[Conflict]) -> String {
    let mut text: Vec<String> = conflicts
        .iter()
        .map(|conflict| {
            // The conflict is found at the last listener it names.
            let at = conflict
                .listeners()
                .last()
                .map_or(0, |listener| line_of(loaded, listener));
            let mut entry = if at > 0 {
                format!("{}:{at}: {conflict}", loaded.origin)
            } else {
                format!("{}: {conflict}", loaded.origin)
            };
            if let Some(quoted) = at.checked_sub(1).and_then(|i| loaded.source.lines().nth(i)) {
                entry.push_str(&format!("\n  {at:>4} | {quoted}"));
            }
            entry
        })
        .collect();
    let count = conflicts.len();
    text.push(format!(
        "{count} listen conflict{} in {}; nothing was started",
        if count == 1 { "" } else { "s" },
        loaded.origin
    ));
    text.join("\n")
}

fn line_of(loaded: &Loaded, listener: &Listener) -> usize {
    let Some(service) = loaded
        .config
        .services
        .iter()
        .find(|s| s.name == listener.instance)
    else {
        return 0;
    };
    match listener.role {
        Role::Primary => service.lines.listen,
        Role::Secondary => service.lines.secondary_listen,
    }
}

/// Binds every listener of the plan, or none: a failure closes what was
/// already bound (by dropping it) and names the listener and the cause.
pub fn bind_all(plan: &BindPlan) -> Result<Vec<(Listener, std::net::TcpListener)>, String> {
    let mut bound = Vec::with_capacity(plan.listeners.len());
    for listener in &plan.listeners {
        let socket = bind_one(listener.spec).map_err(|error| {
            let hint = match error.kind() {
                io::ErrorKind::AddrInUse => {
                    "; another program (or another Postern) is listening there"
                }
                io::ErrorKind::PermissionDenied => {
                    "; ports below 1024 need root or CAP_NET_BIND_SERVICE"
                }
                io::ErrorKind::AddrNotAvailable => "; that address is not one of this host's",
                _ => "",
            };
            format!(
                "cannot listen on {} for instance \"{}\": {error}{hint}; nothing was started",
                listener.spec, listener.instance
            )
        })?;
        bound.push((listener.clone(), socket));
    }
    Ok(bound)
}

/// One listening socket. A spec without an address gets one dual-stack
/// socket on `[::]` (IPv4 clients arrive as IPv4-mapped addresses), or
/// `0.0.0.0` on a host without IPv6.
fn bind_one(spec: PortSpec) -> io::Result<std::net::TcpListener> {
    let socket = match spec.address {
        Some(address) => socket_on(SocketAddr::new(address, spec.port), None)?,
        None => match socket_on(
            SocketAddr::new(IpAddr::V6(Ipv6Addr::UNSPECIFIED), spec.port),
            Some(false),
        ) {
            Ok(socket) => socket,
            Err(error) if error.raw_os_error() == Some(libc::EAFNOSUPPORT) => socket_on(
                SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), spec.port),
                None,
            )?,
            Err(error) => return Err(error),
        },
    };
    socket.set_nonblocking(true)?;
    Ok(socket.into())
}

fn socket_on(address: SocketAddr, only_v6: Option<bool>) -> io::Result<Socket> {
    let socket = Socket::new(Domain::for_address(address), Type::STREAM, None)?;
    // Lets a restarted server bind while old connections sit in
    // TIME_WAIT; on Linux it never lets two listeners share a port.
    socket.set_reuse_address(true)?;
    if let Some(only_v6) = only_v6 {
        socket.set_only_v6(only_v6)?;
    }
    socket.bind(&address.into())?;
    socket.listen(LISTEN_BACKLOG)?;
    Ok(socket)
}
