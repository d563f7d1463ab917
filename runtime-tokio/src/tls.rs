//! TLS with rustls: certificates from PEM files, the server side of
//! STARTTLS and implicit TLS, the client side for outbound delivery, and
//! self-signed certificates for a first run.
//!
//! When TLS starts is the core machines' decision ([`Output::StartTls`]);
//! this module only performs handshakes, each bounded by a timeout, and
//! hands the driver a [`Transport`] that reads and writes the same way
//! before and after.
//!
//! [`Output::StartTls`]: postern_core::smtp::server::Output::StartTls

use postern_core::config::TlsConfig;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, ring};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use std::io;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::{Arc, RwLock};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio_rustls::{TlsAcceptor, TlsConnector};

/// The cryptography every TLS session uses: rustls with *ring*.
pub(crate) fn provider() -> Arc<CryptoProvider> {
    Arc::new(ring::default_provider())
}

/// A connection, in clear or encrypted: the driver reads and writes it
/// the same way either way, and upgrades it in place.
pub enum Transport<S> {
    Plain(S),
    Server(Box<tokio_rustls::server::TlsStream<S>>),
    Client(Box<tokio_rustls::client::TlsStream<S>>),
    /// Given up, or taken for a handshake that failed: reads see the end,
    /// writes fail.
    Closed,
}

impl<S> Transport<S> {
    pub fn is_tls(&self) -> bool {
        matches!(self, Transport::Server(_) | Transport::Client(_))
    }

    /// The negotiated protocol and cipher suite, for the log line.
    pub fn describe(&self) -> Option<String> {
        let (version, suite) = match self {
            Transport::Plain(_) | Transport::Closed => return None,
            Transport::Server(tls) => {
                let connection = tls.get_ref().1;
                (
                    connection.protocol_version(),
                    connection.negotiated_cipher_suite(),
                )
            }
            Transport::Client(tls) => {
                let connection = tls.get_ref().1;
                (
                    connection.protocol_version(),
                    connection.negotiated_cipher_suite(),
                )
            }
        };
        Some(format!(
            "{} {}",
            version.map_or("?".to_owned(), |v| format!("{v:?}")),
            suite.map_or("?".to_owned(), |s| format!("{:?}", s.suite()))
        ))
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncRead for Transport<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Transport::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Transport::Server(s) => Pin::new(s).poll_read(cx, buf),
            Transport::Client(s) => Pin::new(s).poll_read(cx, buf),
            Transport::Closed => Poll::Ready(Ok(())),
        }
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncWrite for Transport<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Transport::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Transport::Server(s) => Pin::new(s).poll_write(cx, buf),
            Transport::Client(s) => Pin::new(s).poll_write(cx, buf),
            Transport::Closed => Poll::Ready(Err(io::ErrorKind::NotConnected.into())),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Transport::Plain(s) => Pin::new(s).poll_flush(cx),
            Transport::Server(s) => Pin::new(s).poll_flush(cx),
            Transport::Client(s) => Pin::new(s).poll_flush(cx),
            Transport::Closed => Poll::Ready(Ok(())),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Transport::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Transport::Server(s) => Pin::new(s).poll_shutdown(cx),
            Transport::Client(s) => Pin::new(s).poll_shutdown(cx),
            Transport::Closed => Poll::Ready(Ok(())),
        }
    }
}

/// The server side of TLS for one instance: what a handshake needs right
/// now. Sessions take a copy of the acceptor when they start TLS, so a
/// reload never disturbs a session already running.
pub struct ServerTls {
    /// The instance's name, which its handshakes are counted under.
    instance: String,
    certificate: PathBuf,
    key: PathBuf,
    acceptor: RwLock<TlsAcceptor>,
    pub handshake_timeout: Duration,
}

impl ServerTls {
    /// Loads the certificate and key of the instance named `instance`.
    pub fn load(config: &TlsConfig, instance: &str) -> Result<Self, TlsFileError> {
        let acceptor = acceptor(&config.certificate, &config.key)?;
        Ok(ServerTls {
            instance: instance.to_owned(),
            certificate: config.certificate.clone(),
            key: config.key.clone(),
            acceptor: RwLock::new(acceptor),
            handshake_timeout: config.handshake_timeout,
        })
    }

    pub fn acceptor(&self) -> TlsAcceptor {
        self.acceptor
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Reads the files again (on SIGHUP). On error the old certificate
    /// stays in use.
    pub fn reload(&self) -> Result<(), String> {
        let acceptor = acceptor(&self.certificate, &self.key).map_err(|e| e.to_string())?;
        *self.acceptor.write().unwrap_or_else(|e| e.into_inner()) = acceptor;
        Ok(())
    }

    pub fn certificate(&self) -> &Path {
        &self.certificate
    }

    pub fn key(&self) -> &Path {
        &self.key
    }

    /// Runs the server handshake on `stream`, within the timeout, and
    /// counts it in the [`metrics`](crate::metrics) as done or failed.
    pub async fn accept<S>(&self, stream: S) -> io::Result<Transport<S>>
    where
        S: AsyncRead + AsyncWrite + Unpin,
    {
        let handshake = self.acceptor().accept(stream);
        let result = tokio::time::timeout(self.handshake_timeout, handshake).await;
        crate::metrics::global().tls_handshake(&self.instance, matches!(result, Ok(Ok(_))));
        match result {
            Ok(Ok(tls)) => Ok(Transport::Server(Box::new(tls))),
            Ok(Err(error)) => Err(error),
            Err(_) => Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!(
                    "the TLS handshake did not finish within {}s",
                    self.handshake_timeout.as_secs()
                ),
            )),
        }
    }
}

/// Which of an instance's files a TLS error is about, so that the error
/// can name the line of the configuration that names the file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TlsFile {
    Certificate,
    Key,
    /// Each file reads, but the key is not the certificate's.
    Pair,
}

/// A certificate or key that cannot be used; the message names the
/// file (both files, for [`TlsFile::Pair`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TlsFileError {
    pub file: TlsFile,
    pub message: String,
}

impl std::fmt::Display for TlsFileError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

fn acceptor(certificate: &Path, key: &Path) -> Result<TlsAcceptor, TlsFileError> {
    let chain =
        read_certificates(certificate, "the server's certificate first").map_err(|message| {
            TlsFileError {
                file: TlsFile::Certificate,
                message,
            }
        })?;
    let key_der = PrivateKeyDer::from_pem_file(key).map_err(|error| TlsFileError {
        file: TlsFile::Key,
        message: format!(
            "{}: cannot read a private key: {error}; expected a PEM file with a \"-----BEGIN PRIVATE KEY-----\" block (PKCS#8, RSA or EC)",
            key.display()
        ),
    })?;
    let mut config = rustls::ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsFileError {
            file: TlsFile::Pair,
            message: e.to_string(),
        })?
        .with_no_client_auth()
        .with_single_cert(chain, key_der)
        .map_err(|error| {
            let why = match error {
                rustls::Error::InconsistentKeys(_) => {
                    "the key is not the private key of the certificate (the first in the file)"
                        .to_owned()
                }
                other => other.to_string(),
            };
            TlsFileError {
                file: TlsFile::Pair,
                message: format!(
                    "{} and {} cannot be used together: {why}; give the key that was made with this certificate",
                    certificate.display(),
                    key.display()
                ),
            }
        })?;
    // No TLS 1.3 session tickets. A ticket is data the client must read,
    // and a client that only sends (an FTP upload on its data connection)
    // may close without reading it: the unread ticket turns its close
    // into a reset, and a reset throws away what the server had not read
    // yet, the tail of the upload (lftp lost 85 KB of 200 this way, at
    // random). Resumption saves little on these connections.
    config.send_tls13_tickets = 0;
    Ok(TlsAcceptor::from(Arc::new(config)))
}

/// The PEM certificates in `path`; `order` says what they should be, for
/// the error ("the server's certificate first").
fn read_certificates(path: &Path, order: &str) -> Result<Vec<CertificateDer<'static>>, String> {
    let bad = |error: &dyn std::fmt::Display| {
        format!(
            "{}: cannot read certificates: {error}; expected a PEM file with \"-----BEGIN CERTIFICATE-----\" blocks, {order}",
            path.display()
        )
    };
    let chain = CertificateDer::pem_file_iter(path)
        .map_err(|e| bad(&e))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| bad(&e))?;
    if chain.is_empty() {
        return Err(bad(&"no certificate found"));
    }
    Ok(chain)
}

/// How the outbound client treats the server's certificate.
#[derive(Clone)]
pub struct ClientTls {
    connector: TlsConnector,
}

impl ClientTls {
    /// Opportunistic TLS (RFC 7435), as for delivery to an MX: encrypt,
    /// but accept any certificate, since refusing would only push the
    /// mail into clear text.
    pub fn opportunistic() -> Self {
        let provider = provider();
        let config = rustls::ClientConfig::builder_with_provider(Arc::clone(&provider))
            .with_safe_default_protocol_versions()
            .expect("ring supports the default protocol versions")
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AnyCertificate(provider)))
            .with_no_client_auth();
        ClientTls {
            connector: TlsConnector::from(Arc::new(config)),
        }
    }

    /// Verified TLS, as for a smarthost that gets a password: the
    /// certificate must chain to `ca_file`'s certificates, or to the
    /// public roots (webpki-roots) when there is none, and name the host.
    pub fn verified(ca_file: Option<&Path>) -> Result<Self, String> {
        let config =
            verified_client_config(ca_file, "the CA certificates the smarthost's must chain to")?;
        Ok(ClientTls {
            connector: TlsConnector::from(Arc::new(config)),
        })
    }

    /// Runs the client handshake with `host` (a name or an IP address),
    /// within `timeout`.
    pub async fn connect<S>(
        &self,
        host: &str,
        stream: S,
        timeout: Duration,
    ) -> io::Result<Transport<S>>
    where
        S: AsyncRead + AsyncWrite + Unpin,
    {
        let host = host.trim_end_matches('.');
        let name = ServerName::try_from(host.to_owned()).map_err(|error| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("{host} is not a TLS server name: {error}"),
            )
        })?;
        match tokio::time::timeout(timeout, self.connector.connect(name, stream)).await {
            Ok(Ok(tls)) => Ok(Transport::Client(Box::new(tls))),
            Ok(Err(error)) => Err(error),
            Err(_) => Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!(
                    "the TLS handshake did not finish within {}s",
                    timeout.as_secs()
                ),
            )),
        }
    }
}

/// A client's settings that verify the server's certificate: its chain
/// to `ca_file`'s certificates (`what` they are, for errors), or to the
/// public roots (webpki-roots) when there is none, and its name.
pub fn verified_client_config(
    ca_file: Option<&Path>,
    what: &str,
) -> Result<rustls::ClientConfig, String> {
    let mut roots = rustls::RootCertStore::empty();
    match ca_file {
        Some(path) => {
            for certificate in read_certificates(path, what)? {
                roots.add(certificate).map_err(|error| {
                    format!("{}: not a usable CA certificate: {error}", path.display())
                })?;
            }
        }
        None => roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
    }
    Ok(rustls::ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots)
        .with_no_client_auth())
}

/// Accepts any certificate, but still checks that the server holds its
/// key: opportunistic TLS protects against eavesdropping, not against an
/// active attacker.
#[derive(Debug)]
struct AnyCertificate(Arc<CryptoProvider>);

impl ServerCertVerifier for AnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// Writes a self-signed certificate for `hosts` (names or IP addresses)
/// and its private key, as PEM. The key file is readable by its owner
/// only. Existing files are kept unless `overwrite`.
pub fn write_self_signed(
    hosts: &[String],
    certificate: &Path,
    key: &Path,
    overwrite: bool,
) -> Result<(), String> {
    if !overwrite {
        for path in [certificate, key] {
            if path.exists() {
                return Err(format!(
                    "{} exists; remove it or pass --force to replace it",
                    path.display()
                ));
            }
        }
    }
    let (certificate_pem, key_pem) = self_signed(hosts)?;
    let write = |path: &Path, text: String, mode: u32| {
        use std::io::Write;
        use std::os::unix::fs::OpenOptionsExt;
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(mode)
            .open(path)
            .map_err(|error| format!("{}: {error}", path.display()))?;
        file.write_all(text.as_bytes())
            .and_then(|()| file.sync_all())
            .map_err(|error| format!("{}: {error}", path.display()))
    };
    write(key, key_pem, 0o600)?;
    write(certificate, certificate_pem, 0o644)?;
    Ok(())
}

/// A self-signed certificate and its key (PEM) for `hosts`: each name a
/// DNS name, each IP address (`127.0.0.2`, `::1` or `[::1]`) an IP
/// address, in the subject alternative names that clients check; the first
/// host is the subject's common name. Without a name of its own every such
/// certificate would share one subject, and a client given the wrong one
/// as its CA would report a bad signature rather than an unknown issuer.
fn self_signed(hosts: &[String]) -> Result<(String, String), String> {
    let Some(first) = hosts.first() else {
        return Err("give at least one --host (a name or an IP address)".to_owned());
    };
    let mut names = Vec::with_capacity(hosts.len());
    for host in hosts {
        let host = host.trim();
        let unbracketed = host
            .strip_prefix('[')
            .and_then(|inner| inner.strip_suffix(']'))
            .unwrap_or(host);
        let name =
            match unbracketed.parse::<std::net::IpAddr>() {
                Ok(ip) => rcgen::SanType::IpAddress(ip),
                Err(_) => {
                    // A wildcard's "*." stands before a valid name.
                    let bare = host.strip_prefix("*.").unwrap_or(host);
                    let valid = matches!(
                        ServerName::try_from(bare.to_owned()),
                        Ok(ServerName::DnsName(_))
                    );
                    let name = host.to_owned().try_into().ok().filter(|_| valid);
                    rcgen::SanType::DnsName(name.ok_or_else(|| {
                        format!("{host:?} is neither a host name nor an IP address")
                    })?)
                }
            };
        names.push(name);
    }
    let mut params = rcgen::CertificateParams::default();
    params.subject_alt_names = names;
    let mut subject = rcgen::DistinguishedName::new();
    subject.push(rcgen::DnType::CommonName, first.trim());
    params.distinguished_name = subject;
    let key = rcgen::KeyPair::generate()
        .map_err(|error| format!("cannot make a key for {hosts:?}: {error}"))?;
    let certificate = params
        .self_signed(&key)
        .map_err(|error| format!("cannot make a certificate for {hosts:?}: {error}"))?;
    Ok((certificate.pem(), key.serialize_pem()))
}

#[cfg(test)]
mod tests {
    use super::self_signed;

    #[test]
    fn self_signed_takes_names_and_ip_addresses_and_refuses_anything_else() {
        for hosts in [
            &["mail.example.test"][..],
            &["127.0.0.2", "mail.example.test"],
            &["[::1]", "::2"],
            &["*.example.test"],
        ] {
            let hosts: Vec<String> = hosts.iter().map(|h| h.to_string()).collect();
            assert!(self_signed(&hosts).is_ok(), "{hosts:?}");
        }
        for bad in ["not a name", "", "mail..example.test", "[127.0.0.1"] {
            let error = self_signed(&[bad.to_owned()]).unwrap_err();
            assert!(
                error.contains("neither a host name nor an IP address"),
                "{bad:?}: {error}"
            );
        }
        assert!(self_signed(&[]).unwrap_err().contains("--host"));
    }
}
