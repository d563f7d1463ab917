//! DKIM signing (RFC 6376, RFC 8463): the keys of `[[dkim]]`, loaded once,
//! the signatures, and `postern dkim keygen`.
//!
//! A message is signed when it leaves for another server, after the last
//! change Postern makes to it, once per attempt at most: the delivery
//! runner asks [`DkimSigners::sign`] for the header fields to put in
//! front of it. Which messages and which domain are core's decisions
//! ([`postern_core::mail_auth::dkim::signing_domain`]).

use base64::Engine as _;
use mail_auth::common::crypto::{Ed25519Key, RsaKey, Sha256};
use mail_auth::common::headers::HeaderWriter as _;
use mail_auth::dkim::generate::DkimKeyPair;
use mail_auth::dkim::{DkimSigner, Done};
use postern_core::config::DkimKeyConfig;
use postern_core::limits::DKIM_SIGNINGS_AT_ONCE_MAX;
use postern_core::mail_auth::arc::SealPlan;
use postern_core::mail_auth::dkim::{record_name, txt_record, zone_line};
use rustls_pki_types::PrivateKeyDer;
use rustls_pki_types::pem::PemObject as _;
use std::fmt;
use std::io::Write as _;
use std::path::Path;

/// A private key of one of the two algorithms DKIM verifiers know.
enum Key {
    /// rsa-sha256.
    Rsa(RsaKey<Sha256>),
    /// ed25519-sha256 (RFC 8463).
    Ed25519(Ed25519Key),
}

/// A key made into a signer for its domain, selector and header fields.
pub(super) enum Signer {
    Rsa(DkimSigner<RsaKey<Sha256>, Done>),
    Ed25519(DkimSigner<Ed25519Key, Done>),
}

impl Signer {
    fn new(key: Key, config: &DkimKeyConfig) -> Signer {
        let headers = config.headers.iter().map(String::as_str);
        match key {
            Key::Rsa(key) => Signer::Rsa(
                DkimSigner::from_key(key)
                    .domain(&config.domain)
                    .selector(&config.selector)
                    .headers(headers),
            ),
            Key::Ed25519(key) => Signer::Ed25519(
                DkimSigner::from_key(key)
                    .domain(&config.domain)
                    .selector(&config.selector)
                    .headers(headers),
            ),
        }
    }
}

struct LoadedKey {
    config: DkimKeyConfig,
    signer: Signer,
    /// An RSA key's second copy, which seals ARC sets (RFC 8617 defines
    /// rsa-sha256 only); mail-auth's signer keeps the first.
    sealer: Option<RsaKey<Sha256>>,
}

/// Every `[[dkim]]` key, read and checked.
pub struct DkimSigners {
    keys: Vec<LoadedKey>,
    configs: Vec<DkimKeyConfig>,
    /// Turns to hold a message in memory for signing.
    slots: tokio::sync::Semaphore,
}

impl Default for DkimSigners {
    fn default() -> Self {
        DkimSigners {
            keys: Vec::new(),
            configs: Vec::new(),
            slots: tokio::sync::Semaphore::new(DKIM_SIGNINGS_AT_ONCE_MAX),
        }
    }
}

impl fmt::Debug for DkimSigners {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never the keys themselves.
        f.debug_list()
            .entries(
                self.keys
                    .iter()
                    .map(|k| format!("{} {}", k.config.domain, k.config.selector)),
            )
            .finish()
    }
}

impl DkimSigners {
    /// Reads every key; paths are resolved already (`config_file::load`).
    /// An error names the key's file and what is wrong with it.
    pub fn load(configs: &[DkimKeyConfig]) -> Result<Self, KeyError> {
        let keys = configs
            .iter()
            .map(|config| {
                load_key(&config.key)
                    .map(|key| {
                        let sealer = match (&key, load_key(&config.key)) {
                            (Key::Rsa(_), Ok(Key::Rsa(copy))) => Some(copy),
                            _ => None,
                        };
                        LoadedKey {
                            config: config.clone(),
                            signer: Signer::new(key, config),
                            sealer,
                        }
                    })
                    .map_err(|message| KeyError {
                        config: Box::new(config.clone()),
                        message,
                    })
            })
            .collect::<Result<_, _>>()?;
        Ok(DkimSigners {
            keys,
            configs: configs.to_vec(),
            ..DkimSigners::default()
        })
    }

    /// Signers made of `signer` alone, for `domain` and `selector`: for
    /// tests with keys given as data (the RFC 8463 vectors).
    #[cfg(test)]
    pub(super) fn from_signer_for_tests(domain: &str, selector: &str, signer: Signer) -> Self {
        let config = DkimKeyConfig {
            domain: domain.into(),
            selector: selector.into(),
            key: std::path::PathBuf::new(),
            headers: Vec::new(),
            line: 0,
        };
        DkimSigners {
            keys: vec![LoadedKey {
                config: config.clone(),
                signer,
                sealer: None,
            }],
            configs: vec![config],
            ..DkimSigners::default()
        }
    }

    /// The configured keys, as configured.
    pub fn configs(&self) -> &[DkimKeyConfig] {
        &self.configs
    }

    /// A turn to hold a message in memory and sign it: at most
    /// [`DKIM_SIGNINGS_AT_ONCE_MAX`] at once.
    pub async fn slot(&self) -> tokio::sync::SemaphorePermit<'_> {
        // The semaphore is never closed.
        self.slots
            .acquire()
            .await
            .expect("the signing semaphore is never closed")
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// The keys that can seal ARC sets: the RSA ones, as configured.
    pub fn sealing_keys(&self) -> Vec<DkimKeyConfig> {
        self.keys
            .iter()
            .filter(|k| k.sealer.is_some())
            .map(|k| k.config.clone())
            .collect()
    }

    /// The ARC set core's `plan` asks for, sealed with its key at Unix
    /// time `now` (see [`crate::mail_auth::arc::seal`]). CPU-bound, like
    /// [`DkimSigners::sign`].
    pub fn seal(&self, plan: &SealPlan, message: &[u8], now: u64) -> Result<Vec<u8>, String> {
        let loaded = self
            .keys
            .iter()
            .find(|k| k.config.domain == plan.domain && k.config.selector == plan.selector)
            .ok_or_else(|| format!("no key {} of {}", plan.selector, plan.domain))?;
        let key = loaded
            .sealer
            .as_ref()
            .ok_or_else(|| format!("{} of {} is not an RSA key", plan.selector, plan.domain))?;
        super::arc::seal(key, plan, &loaded.config.headers, message, now).map_err(|error| {
            format!(
                "cannot seal with {} of {}: {error}",
                plan.selector, plan.domain
            )
        })
    }

    /// The `DKIM-Signature:` fields for `message` (header section and
    /// body, CRLF line endings), one per key of `domain`, to go in front
    /// of it. CPU-bound: a blocking thread's work for a large message.
    pub fn sign(&self, domain: &str, message: &[u8]) -> Result<Vec<u8>, String> {
        let mut fields = Vec::new();
        for loaded in self.keys.iter().filter(|k| k.config.domain == domain) {
            let config = &loaded.config;
            let signature = match &loaded.signer {
                Signer::Rsa(signer) => signer.sign(message),
                Signer::Ed25519(signer) => signer.sign(message),
            }
            .map_err(|error| {
                format!(
                    "cannot sign with {} of {}: {error}",
                    config.selector, config.domain
                )
            })?;
            fields.extend_from_slice(signature.to_header().as_bytes());
        }
        Ok(fields)
    }
}

/// A `[[dkim]]` key that could not be used.
#[derive(Debug)]
pub struct KeyError {
    pub config: Box<DkimKeyConfig>,
    pub message: String,
}

impl fmt::Display for KeyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "DKIM key {} of {} ({}): {}",
            self.config.selector,
            self.config.domain,
            self.config.key.display(),
            self.message
        )
    }
}

fn load_key(path: &Path) -> Result<Key, String> {
    let pem = std::fs::read(path).map_err(|error| format!("cannot read it: {error}"))?;
    let der = PrivateKeyDer::from_pem_slice(&pem)
        .map_err(|error| format!("not a PEM private key: {error}"))?;
    match der {
        PrivateKeyDer::Pkcs8(der) => {
            let der = der.secret_pkcs8_der();
            RsaKey::<Sha256>::from_pkcs8_der(der)
                .map(Key::Rsa)
                .or_else(|_| Ed25519Key::from_pkcs8_maybe_unchecked_der(der).map(Key::Ed25519))
                .map_err(|_| {
                    format!("a PKCS#8 key that is neither RSA of {RSA_BITS_MIN} to {RSA_BITS_MAX} bits nor Ed25519")
                })
        }
        PrivateKeyDer::Pkcs1(der) => RsaKey::<Sha256>::from_der(der.secret_pkcs1_der())
            .map(Key::Rsa)
            .map_err(|error| format!("not a usable RSA key: {error}")),
        _ => Err("an elliptic-curve (SEC1) key: DKIM signs with RSA or Ed25519".to_owned()),
    }
}

/// The algorithms `postern dkim keygen` makes keys for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Algorithm {
    /// RSA, 2048 bits unless told: what every verifier checks.
    Rsa { bits: usize },
    /// Ed25519 (RFC 8463): short, but not yet checked everywhere, so
    /// best published beside an RSA key.
    Ed25519,
}

/// RSA keys shorter than this are refused: RFC 8301 3.2 asks signers for
/// 2048 bits (1024 is only the least verifiers accept), and ring, which
/// signs, takes no shorter key.
pub const RSA_BITS_MIN: usize = 2048;
pub const RSA_BITS_MAX: usize = 4096;

/// Makes a key pair, writes the private key to `out` (PKCS#8 PEM, mode
/// 0600; an existing file is never overwritten) and returns what to tell
/// the operator: the DNS record to publish and the `[[dkim]]` table.
pub fn keygen(
    domain: &str,
    selector: &str,
    algorithm: Algorithm,
    out: &Path,
) -> Result<String, String> {
    let (pkcs8, k, public_key) = match algorithm {
        Algorithm::Rsa { bits } => {
            if !(RSA_BITS_MIN..=RSA_BITS_MAX).contains(&bits) {
                return Err(format!(
                    "{bits} bits: RSA keys are {RSA_BITS_MIN} to {RSA_BITS_MAX} bits (2048 is the usual)"
                ));
            }
            rsa_pair(bits)?
        }
        Algorithm::Ed25519 => {
            let pair = DkimKeyPair::generate_ed25519()
                .map_err(|error| format!("cannot make an Ed25519 key: {error}"))?;
            let (private, public) = pair.into_inner();
            (ed25519_pkcs8_v1(&private)?, "ed25519", public)
        }
    };
    let pem = pem("PRIVATE KEY", &pkcs8);
    write_new_private(out, pem.as_bytes())?;
    let encoded = base64::engine::general_purpose::STANDARD.encode(&public_key);
    let record = txt_record(k, &encoded);
    Ok(format!(
        "wrote the private key to {out}\n\n\
         Publish this TXT record at {name}:\n  {record}\n\
         in a zone file:\n  {zone}\n\n\
         Then add to the configuration:\n  [[dkim]]\n  domain = \"{domain}\"\n  selector = \"{selector}\"\n  key = \"{out}\"\n",
        out = out.display(),
        name = record_name(selector, domain),
        zone = zone_line(selector, domain, &record),
    ))
}

/// A new RSA key: its PKCS#8 DER, and its public half as the
/// SubjectPublicKeyInfo every DKIM verifier reads.
fn rsa_pair(bits: usize) -> Result<(Vec<u8>, &'static str, Vec<u8>), String> {
    use rsa::pkcs1::DecodeRsaPrivateKey as _;
    use rsa::pkcs8::{EncodePrivateKey as _, EncodePublicKey as _};
    let pair = DkimKeyPair::generate_rsa(bits)
        .map_err(|error| format!("cannot make an RSA key: {error}"))?;
    let private = rsa::RsaPrivateKey::from_pkcs1_der(pair.private_key())
        .map_err(|error| format!("cannot read the new RSA key: {error}"))?;
    let pkcs8 = private
        .to_pkcs8_der()
        .map_err(|error| format!("cannot encode the new RSA key: {error}"))?;
    let public = private
        .to_public_key()
        .to_public_key_der()
        .map_err(|error| format!("cannot encode the new RSA public key: {error}"))?;
    Ok((pkcs8.as_bytes().to_vec(), "rsa", public.as_bytes().to_vec()))
}

/// The RFC 8410 PKCS#8 (version 1) form of an Ed25519 key that ring made
/// in version 2 (RFC 5958, with the public key), which OpenSSL 3.0 does
/// not read: the same 32-octet seed after the fixed prefix.
fn ed25519_pkcs8_v1(v2: &[u8]) -> Result<Vec<u8>, String> {
    // SEQUENCE, INTEGER 1, AlgorithmIdentifier id-Ed25519, OCTET STRING
    // wrapping an OCTET STRING of 32: then the seed.
    const V2_PREFIX: [u8; 16] = [
        0x30, 0x51, 0x02, 0x01, 0x01, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04,
        0x20,
    ];
    const V1_PREFIX: [u8; 16] = [
        0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04,
        0x20,
    ];
    match v2.strip_prefix(&V2_PREFIX[..]) {
        Some(rest) if rest.len() >= 32 => Ok([&V1_PREFIX[..], &rest[..32]].concat()),
        _ => Err("the new Ed25519 key is not in the form expected".into()),
    }
}

/// RFC 7468 text: base64 in lines of 64.
fn pem(label: &str, der: &[u8]) -> String {
    let encoded = base64::engine::general_purpose::STANDARD.encode(der);
    let mut text = format!("-----BEGIN {label}-----\n");
    for line in encoded.as_bytes().chunks(64) {
        text.push_str(&String::from_utf8_lossy(line));
        text.push('\n');
    }
    text.push_str(&format!("-----END {label}-----\n"));
    text
}

/// Creates `path` (and its directory) readable by its owner only, failing
/// if it exists: a key is never overwritten by accident.
fn write_new_private(path: &Path, contents: &[u8]) -> Result<(), String> {
    use std::os::unix::fs::OpenOptionsExt as _;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .map_err(|error| format!("cannot create {}: {error}", dir.display()))?;
    }
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(|error| match error.kind() {
            std::io::ErrorKind::AlreadyExists => format!(
                "{} exists: a new key would replace a published one; choose another --selector or --out",
                path.display()
            ),
            _ => format!("cannot create {}: {error}", path.display()),
        })?;
    file.write_all(contents)
        .and_then(|()| file.sync_all())
        .map_err(|error| format!("cannot write {}: {error}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn config(dir: &Path, selector: &str) -> DkimKeyConfig {
        DkimKeyConfig {
            domain: "example.test".into(),
            selector: selector.into(),
            key: dir.join(format!("{selector}.key")),
            headers: postern_core::mail_auth::dkim::DEFAULT_SIGNED_HEADERS
                .iter()
                .map(|h| h.to_string())
                .collect(),
            line: 3,
        }
    }

    #[test]
    fn keygen_writes_a_private_key_that_loads_and_signs() {
        let dir = tempfile::tempdir().unwrap();
        let rsa = config(dir.path(), "rsa");
        let ed = config(dir.path(), "ed");
        let told = keygen(
            "example.test",
            "rsa",
            Algorithm::Rsa { bits: 2048 },
            &rsa.key,
        )
        .unwrap();
        assert!(told.contains("rsa._domainkey.example.test"), "{told}");
        assert!(told.contains("v=DKIM1; k=rsa; p=MI"), "{told}");
        let told = keygen("example.test", "ed", Algorithm::Ed25519, &ed.key).unwrap();
        assert!(told.contains("v=DKIM1; k=ed25519; p="), "{told}");
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&rsa.key).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        // Never over an existing key.
        let again = keygen("example.test", "rsa", Algorithm::Ed25519, &rsa.key).unwrap_err();
        assert!(again.contains("exists"), "{again}");

        let signers = DkimSigners::load(&[rsa, ed]).unwrap();
        let message = b"From: Alice <alice@example.test>\r\nTo: bob@elsewhere.test\r\nSubject: hi\r\n\r\nHello.\r\n";
        let fields = String::from_utf8(signers.sign("example.test", message).unwrap()).unwrap();
        assert_eq!(fields.matches("DKIM-Signature:").count(), 2, "{fields}");
        assert!(fields.contains("a=rsa-sha256"), "{fields}");
        assert!(fields.contains("a=ed25519-sha256"), "{fields}");
        // The fields present, bottom up, then those signed as absent: a
        // second From or Subject would break the signature.
        assert!(
            fields.contains("h=Subject:To:From:From:Subject:Date:Date:To:Cc:"),
            "{fields}"
        );
        assert!(fields.ends_with("\r\n"));
        // Another domain's mail gets nothing from these keys.
        assert!(signers.sign("elsewhere.test", message).unwrap().is_empty());
    }

    #[test]
    fn a_key_that_will_not_load_says_why() {
        let dir = tempfile::tempdir().unwrap();
        let mut missing = config(dir.path(), "missing");
        let error = DkimSigners::load(std::slice::from_ref(&missing)).unwrap_err();
        assert!(error.to_string().contains("cannot read it"), "{error}");
        std::fs::write(&missing.key, "not a key").unwrap();
        let error = DkimSigners::load(std::slice::from_ref(&missing)).unwrap_err();
        assert!(
            error.to_string().contains("not a PEM private key"),
            "{error}"
        );
        missing.key = PathBuf::from("/nonexistent/dir/k.pem");
        let error = DkimSigners::load(&[missing]).unwrap_err();
        assert!(
            error
                .to_string()
                .starts_with("DKIM key missing of example.test (/nonexistent/dir/k.pem)"),
            "{error}"
        );
    }
}
