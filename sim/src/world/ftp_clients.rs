//! A scripted FTP client (plain FTP, over turmoil's TCP): each session
//! logs in, tries to leave its home (`CWD ../..`, `RETR ../../x`) and to
//! send a data connection to a third party (PORT: the bounce attack),
//! uploads a file of seeded bytes over a passive connection (PASV or EPSV,
//! in turn), lists the home (NLST or LIST, in turn), downloads the file
//! back and quits. A connection turned away by the instance's access list
//! or quotas hears 421 at once and is counted as refused.
//!
//! The invariants: a download equals what that login uploaded under that
//! name; a listing shows only names that login uploaded (a file of one
//! login is never visible to another); an escape and a bounce are always
//! refused.

use super::{Report, Shared, SharedState, lock};
use crate::scenario::FtpClient;
use crate::store::MemoryStore;
use postern_core::ftp::path::home_name;
use postern_core::rng::Rng;
use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use turmoil::net::TcpStream;

/// The longest a session may take: beyond the instance's timeouts.
const SESSION_TIMEOUT: Duration = Duration::from_secs(300);

/// The most a reply line or a listing may hold before the client gives up.
const READ_BYTES_MAX: u64 = 1 << 20;

/// Where the bounce attempt asks the server to connect: a host that is
/// neither the client nor the server.
const THIRD_PARTY: &str = "PORT 198,51,100,99,31,64";

/// What the FTP logins uploaded.
#[derive(Debug, Default)]
pub(super) struct Uploads {
    /// By login and file name: recorded before the STOR, so that an
    /// upload a crash cuts short is still known.
    attempted: BTreeMap<String, BTreeMap<String, Vec<u8>>>,
    /// By login: the files whose STOR was answered 226, which every later
    /// listing of that login must show (a crash of the server included).
    kept: BTreeMap<String, BTreeSet<String>>,
}

/// How a session ended.
enum Outcome {
    /// Logged in and ran the script; whether the file came back.
    Completed { transferred: bool },
    /// Turned away with 421 before the login.
    Refused,
}

/// Runs `client`'s sessions, counting each outcome in `shared`.
pub(super) async fn run(client: &FtpClient, seed: u64, shared: &SharedState) {
    let host = match client.from {
        IpAddr::V4(v4) => u64::from(u32::from(v4)),
        IpAddr::V6(v6) => u128::from(v6) as u64,
    };
    let mut rng = Rng::new(seed ^ host.rotate_left(24) ^ 0x4654_5000);
    tokio::time::sleep(client.start).await;
    for number in 1..=client.sessions {
        if number > 1 {
            tokio::time::sleep(client.interval).await;
        }
        let data: Vec<u8> = (0..client.bytes).map(|_| rng.next_u64() as u8).collect();
        let host_name = client.from.to_string().replace([':', '.'], "-");
        let name = format!("from-{host_name}-{number}.bin");
        let mut problems = Vec::new();
        let script = session(client, number, &name, &data, shared, &mut problems);
        let outcome = match tokio::time::timeout(SESSION_TIMEOUT, script).await {
            Ok(Ok(outcome)) => Some(outcome),
            Ok(Err(error)) => {
                problems.push(error);
                None
            }
            Err(_) => {
                problems.push(format!("not done within {SESSION_TIMEOUT:?}"));
                None
            }
        };
        let mut shared = lock(shared);
        for problem in problems {
            shared.violations.push(format!(
                "ftp session {number} of {} from {} to {}: {problem}",
                client.login, client.from, client.to
            ));
        }
        match outcome {
            Some(Outcome::Refused) => shared.stats.ftp_refused += 1,
            Some(Outcome::Completed { transferred }) => {
                shared.stats.ftp_sessions += 1;
                shared.stats.ftp_transfers += u32::from(transferred);
            }
            None => {}
        }
    }
    lock(shared).ftp_clients_done += 1;
}

/// The control connection: replies read line by line.
struct Control {
    stream: BufReader<TcpStream>,
    peer: IpAddr,
}

impl Control {
    /// The next reply: its code and its text (every line of a multi-line
    /// one).
    async fn reply(&mut self) -> Result<(u16, String), String> {
        let mut text = String::new();
        let mut code: Option<String> = None;
        loop {
            let mut line = String::new();
            let read = (&mut self.stream)
                .take(READ_BYTES_MAX)
                .read_line(&mut line)
                .await
                .map_err(|e| format!("reading a reply: {e}"))?;
            if read == 0 {
                return Err(format!("the connection closed in a reply: {text:?}"));
            }
            text.push_str(&line);
            let first = code.get_or_insert_with(|| line.get(..3).unwrap_or_default().to_owned());
            // The last line: the code and a space (RFC 959 4.2).
            if line.len() >= 4 && line.starts_with(first.as_str()) && &line[3..4] == " " {
                let number = first
                    .parse()
                    .map_err(|_| format!("a reply without a code: {text:?}"))?;
                return Ok((number, text));
            }
        }
    }

    async fn command(&mut self, line: &str) -> Result<(u16, String), String> {
        self.stream
            .get_mut()
            .write_all(format!("{line}\r\n").as_bytes())
            .await
            .map_err(|e| format!("sending {line}: {e}"))?;
        self.reply().await
    }

    /// Sends `line` and wants a reply with code `expected`.
    async fn expect(&mut self, line: &str, expected: u16) -> Result<String, String> {
        let (code, text) = self.command(line).await?;
        if code != expected {
            return Err(format!("{line} answered {text:?}, not {expected}"));
        }
        Ok(text)
    }

    /// Starts a transfer, `command` (answered 150), over a passive data
    /// connection opened by PASV or EPSV. The connection is made while the
    /// command is sent: turmoil completes a connect only when the server
    /// accepts it, which the server does once it has the command.
    async fn transfer(&mut self, extended: bool, command: &str) -> Result<TcpStream, String> {
        let target = self.passive(extended).await?;
        let (connected, started) =
            tokio::join!(TcpStream::connect(target), self.expect(command, 150));
        started?;
        connected.map_err(|e| format!("the data connection to {target}: {e}"))
    }

    /// The address of a passive data connection, by PASV or EPSV.
    async fn passive(&mut self, extended: bool) -> Result<SocketAddr, String> {
        let target = if extended {
            let text = self.expect("EPSV", 229).await?;
            let port = text
                .split('|')
                .nth(3)
                .and_then(|p| p.parse().ok())
                .ok_or_else(|| format!("EPSV answered {text:?}"))?;
            SocketAddr::new(self.peer, port)
        } else {
            let text = self.expect("PASV", 227).await?;
            pasv_target(&text).ok_or_else(|| format!("PASV answered {text:?}"))?
        };
        Ok(target)
    }
}

/// The address in a 227 reply: `(h1,h2,h3,h4,p1,p2)`.
fn pasv_target(text: &str) -> Option<SocketAddr> {
    let inside = text.split_once('(')?.1.split_once(')')?.0;
    let numbers: Vec<u8> = inside
        .split(',')
        .map(|n| n.trim().parse().ok())
        .collect::<Option<_>>()?;
    let [a, b, c, d, high, low] = numbers[..] else {
        return None;
    };
    let port = u16::from(high) << 8 | u16::from(low);
    Some(SocketAddr::from(([a, b, c, d], port)))
}

async fn session(
    client: &FtpClient,
    number: u32,
    name: &str,
    data: &[u8],
    shared: &SharedState,
    problems: &mut Vec<String>,
) -> Result<Outcome, String> {
    let stream = TcpStream::connect(client.to)
        .await
        .map_err(|e| format!("cannot connect: {e}"))?;
    let mut control = Control {
        stream: BufReader::new(stream),
        peer: client.to.ip(),
    };
    let (code, greeting) = control.reply().await?;
    match code {
        220 => {}
        421 => {
            tracing::info!("ftp session {number}: refused: {}", greeting.trim_end());
            return Ok(Outcome::Refused);
        }
        _ => return Err(format!("greeted with {greeting:?}")),
    }
    control
        .expect(&format!("USER {}", client.login), 331)
        .await?;
    control
        .expect(&format!("PASS {}", client.password), 230)
        .await?;
    control.expect("TYPE I", 200).await?;

    // The escapes and the bounce: each must be refused.
    for attempt in ["CWD ../..", "RETR ../../x"] {
        let (code, text) = control.command(attempt).await?;
        if code != 550 {
            problems.push(format!(
                "{attempt} answered {text:?}: an escape must be refused with 550"
            ));
        }
    }
    let (code, text) = control.command(THIRD_PARTY).await?;
    if !(500..600).contains(&code) {
        problems.push(format!(
            "{THIRD_PARTY} answered {text:?}: a data connection to a third party was accepted"
        ));
    }
    let login = client.login.to_lowercase();
    lock(shared)
        .ftp_uploads
        .attempted
        .entry(login.clone())
        .or_default()
        .insert(name.to_owned(), data.to_vec());

    // Upload.
    let mut connection = control
        .transfer(number % 2 == 0, &format!("STOR {name}"))
        .await?;
    connection
        .write_all(data)
        .await
        .map_err(|e| format!("uploading: {e}"))?;
    let _ = connection.shutdown().await;
    drop(connection);
    control.reply_code(226, "STOR").await?;
    let kept = {
        let mut shared = lock(shared);
        let kept = shared.ftp_uploads.kept.entry(login.clone()).or_default();
        kept.insert(name.to_owned());
        kept.clone()
    };

    // List: only this login's files.
    let listing = if number % 2 == 0 { "LIST" } else { "NLST" };
    let mut connection = control.transfer(number % 2 == 1, listing).await?;
    let mut text = Vec::new();
    (&mut connection)
        .take(READ_BYTES_MAX)
        .read_to_end(&mut text)
        .await
        .map_err(|e| format!("reading the listing: {e}"))?;
    drop(connection);
    control.reply_code(226, listing).await?;
    let names = listed_names(&String::from_utf8_lossy(&text), listing == "LIST");
    for missing in kept.difference(&names) {
        problems.push(format!(
            "{listing} does not show {missing}, uploaded before (226)"
        ));
    }
    {
        let shared = lock(shared);
        let own = shared.ftp_uploads.attempted.get(&login);
        for listed in &names {
            if !own.is_some_and(|own| own.contains_key(listed)) {
                problems.push(format!(
                    "{listing} shows {listed}, which {login} never uploaded"
                ));
            }
        }
    }

    // Download and compare.
    let mut connection = control
        .transfer(number % 2 == 0, &format!("RETR {name}"))
        .await?;
    let mut back = Vec::new();
    (&mut connection)
        .take(READ_BYTES_MAX)
        .read_to_end(&mut back)
        .await
        .map_err(|e| format!("downloading: {e}"))?;
    drop(connection);
    control.reply_code(226, "RETR").await?;
    let transferred = back == data;
    if !transferred {
        problems.push(format!(
            "RETR {name} gave {} bytes that are not the {} uploaded",
            back.len(),
            data.len()
        ));
    }
    control.expect("QUIT", 221).await?;
    tracing::info!(
        "ftp session {number}: {} bytes up and back, {} listed",
        data.len(),
        names.len()
    );
    Ok(Outcome::Completed { transferred })
}

impl Control {
    /// The reply that ends a transfer.
    async fn reply_code(&mut self, expected: u16, what: &str) -> Result<(), String> {
        let (code, text) = self.reply().await?;
        if code != expected {
            return Err(format!("{what} ended with {text:?}, not {expected}"));
        }
        Ok(())
    }
}

/// The invariant on the homes at the end: every file in a login's home is
/// one that login uploaded, byte for byte (an upload is kept whole or not
/// at all), and no home belongs to no login.
pub(super) fn check_homes(store: &MemoryStore, shared: &Shared, report: &mut Report) {
    let owners: BTreeMap<String, &String> = shared
        .ftp_uploads
        .attempted
        .keys()
        .filter_map(|login| Some((home_name(login)?, login)))
        .collect();
    for (home, files) in store.ftp_homes() {
        let uploads = owners
            .get(&home)
            .and_then(|login| shared.ftp_uploads.attempted.get(*login));
        for (path, bytes) in files {
            let name = path.trim_start_matches('/');
            match uploads.and_then(|uploads| uploads.get(name)) {
                Some(uploaded) if *uploaded == bytes => {}
                Some(_) => report.violations.push(format!(
                    "the FTP home {home} holds {path} unlike what was uploaded there"
                )),
                None => report.violations.push(format!(
                    "the FTP home {home} holds {path}, which its login never uploaded"
                )),
            }
        }
    }
}

/// The file names of a listing: NLST's lines, or the last field of each
/// LIST line.
fn listed_names(text: &str, long: bool) -> BTreeSet<String> {
    text.lines()
        .map(str::trim_end)
        .filter(|line| !line.is_empty())
        .filter_map(|line| match long {
            true => line.split_whitespace().last(),
            false => Some(line.trim_start_matches('/')),
        })
        .map(str::to_owned)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_227_reply_gives_its_address() {
        assert_eq!(
            pasv_target("227 Entering Passive Mode (192,168,1,1,195,80)\r\n"),
            Some(SocketAddr::from(([192, 168, 1, 1], 50000)))
        );
        assert_eq!(pasv_target("227 Entering Passive Mode (1,2,3)\r\n"), None);
    }

    #[test]
    fn listings_give_their_names() {
        let long = "-rw-r--r-- 1 ftp ftp 4096 Nov 20 00:00 a.bin\r\n\
                    drwxr-xr-x 1 ftp ftp 0 Nov 20 00:00 docs\r\n";
        assert_eq!(
            listed_names(long, true),
            BTreeSet::from(["a.bin".to_owned(), "docs".to_owned()])
        );
        assert_eq!(
            listed_names("a.bin\r\nb.bin\r\n", false),
            BTreeSet::from(["a.bin".to_owned(), "b.bin".to_owned()])
        );
    }
}
