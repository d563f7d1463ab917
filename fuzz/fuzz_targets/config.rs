//! The configuration parser on arbitrary UTF-8 text.
//!
//! Errors are expected; panics are not. Asserted besides: every error
//! renders (quoting its line when it has a position, and that position is
//! inside the text), and a configuration that parses keeps every bound in
//! `core/src/limits.rs`.

#![no_main]

use libfuzzer_sys::fuzz_target;
use postern_core::config::ServiceKind;
use postern_core::limits::{
    ERRORS_PER_SESSION_MAX, FTP_ACTIVE_PORT_MIN, FTP_DATA_TIMEOUT_MAX, FTP_QUOTA_BYTES_MAX,
    MESSAGE_BYTES_MAX, POP3_AUTOLOGOUT_MIN, RECIPIENTS_PER_MESSAGE_MAX,
    TUNNEL_CONNECT_TIMEOUT_MAX, TUNNEL_IDLE_TIMEOUT_MAX,
};
use postern_core::tunnel::Target;

fuzz_target!(|data: &[u8]| {
    let Ok(source) = std::str::from_utf8(data) else {
        return;
    };
    match postern_core::config::parse(source) {
        Ok(config) => {
            for service in &config.services {
                assert!(service.max_recipients >= 1);
                assert!(service.max_recipients <= RECIPIENTS_PER_MESSAGE_MAX);
                assert!(service.max_message_size <= MESSAGE_BYTES_MAX);
                assert!(service.max_errors >= 1 && service.max_errors <= ERRORS_PER_SESSION_MAX);
                assert!(!service.command_timeout.is_zero());
                assert!(!service.data_timeout.is_zero());
                let _ = service.session_config(&config.server.hostname);
                if service.kind == ServiceKind::Pop3 {
                    // RFC 1939 section 3, and a POP3 instance always
                    // takes logins, over TLS unless told otherwise.
                    assert!(service.command_timeout >= POP3_AUTOLOGOUT_MIN);
                    assert!(service.auth.offered && service.auth.required);
                    assert!(service.tls.is_some() || service.auth.without_tls);
                }
                match (&service.ftp, service.kind) {
                    (Some(ftp), ServiceKind::Ftp) => {
                        // Logins always, over TLS unless told otherwise;
                        // a quota and a data timeout within their bounds;
                        // passive ports never privileged.
                        assert!(service.auth.offered);
                        assert!(service.tls.is_some() || service.auth.without_tls);
                        assert!(ftp.quota >= 1 && ftp.quota <= FTP_QUOTA_BYTES_MAX);
                        assert!(!ftp.data_timeout.is_zero());
                        assert!(ftp.data_timeout <= FTP_DATA_TIMEOUT_MAX);
                        if let Some(range) = ftp.passive_ports {
                            assert!(range.first >= FTP_ACTIVE_PORT_MIN && range.first <= range.last);
                        }
                        let session = service.ftp_session_config(&config.server.hostname);
                        assert_eq!(session.quota, ftp.quota);
                    }
                    (None, ServiceKind::Ftp) => panic!("an FTP instance without its settings"),
                    (Some(_), _) => panic!("FTP settings on a {} instance", service.kind),
                    (None, _) => {}
                }
                match (&service.tunnel, service.kind) {
                    (Some(tunnel), ServiceKind::Tunnel) => {
                        // No TLS, no logins, never open to the world
                        // unless an allow list was written.
                        assert!(service.tls.is_none() && !service.auth.offered);
                        assert!(!service.access.allow.is_empty());
                        assert!(!tunnel.connect_timeout.is_zero());
                        assert!(tunnel.connect_timeout <= TUNNEL_CONNECT_TIMEOUT_MAX);
                        assert!(!tunnel.idle_timeout.is_zero());
                        assert!(tunnel.idle_timeout <= TUNNEL_IDLE_TIMEOUT_MAX);
                        // The target parsed is the target written back.
                        let again: Target = tunnel.target.to_string().parse().unwrap();
                        assert_eq!(again, tunnel.target);
                    }
                    (None, ServiceKind::Tunnel) => panic!("a tunnel without a target"),
                    (Some(_), _) => panic!("a target on a {} instance", service.kind),
                    (None, _) => {}
                }
            }
        }
        Err(errors) => {
            assert!(!errors.is_empty(), "an error list with no error");
            let lines = source.lines().count().max(1);
            for error in &errors {
                if let Some((line, column)) = error.position {
                    assert!(line >= 1 && column >= 1, "a position of {line}:{column}");
                    assert!(line <= lines + 1, "line {line} of a {lines}-line text");
                }
                let rendered = error.render("postern.toml", source);
                assert!(rendered.starts_with("postern.toml:"));
                let _ = error.to_string();
            }
        }
    }
});
