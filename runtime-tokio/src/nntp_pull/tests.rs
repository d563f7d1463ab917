//! The pull task against a scripted NNTP server on 127.0.0.1, with an
//! in-memory store.

use super::*;
use postern_core::config;
use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

/// What the fake upstream holds, and what it was sent.
#[derive(Default)]
struct Upstate {
    /// group -> number -> article text (CRLF lines, unstuffed).
    groups: BTreeMap<String, BTreeMap<u32, String>>,
    /// Posts received, unstuffed.
    posts: Vec<String>,
    /// Every command line received, in order.
    commands: Vec<String>,
    /// Required login, if any.
    login: Option<(String, String)>,
}

type Shared = Arc<Mutex<Upstate>>;

/// Serves NNTP from `state` until the test ends.
async fn fake_upstream(state: Shared) -> u16 {
    fake_upstream_with(state, FakeTls::None).await
}

async fn fake_upstream_with(state: Shared, tls: FakeTls) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let (state, tls) = (state.clone(), tls.clone());
            tokio::spawn(async move {
                let _ = serve_with_tls(stream, state, tls).await;
            });
        }
    });
    port
}

/// How the fake upstream speaks TLS.
#[derive(Clone)]
enum FakeTls {
    None,
    /// STARTTLS must be the first command.
    StartTls(Arc<crate::tls::ServerTls>),
    Implicit(Arc<crate::tls::ServerTls>),
}

async fn serve_with_tls(
    mut stream: tokio::net::TcpStream,
    state: Shared,
    tls: FakeTls,
) -> io::Result<()> {
    match tls {
        FakeTls::None => serve(stream, state, true).await,
        FakeTls::Implicit(tls) => serve(tls.accept(stream).await?, state, true).await,
        FakeTls::StartTls(tls) => {
            stream.write_all(b"200 fake upstream ready\r\n").await?;
            // Byte by byte, so that nothing after the command is read
            // in clear.
            let mut line = Vec::new();
            while !line.ends_with(b"\n") {
                let mut byte = [0u8];
                if stream.read(&mut byte).await? == 0 {
                    return Ok(());
                }
                line.push(byte[0]);
            }
            state
                .lock()
                .unwrap()
                .commands
                .push(String::from_utf8_lossy(&line).trim().to_owned());
            if line != b"STARTTLS\r\n" {
                stream.write_all(b"483 encryption required\r\n").await?;
                return Ok(());
            }
            stream.write_all(b"382 go ahead\r\n").await?;
            serve(tls.accept(stream).await?, state, false).await
        }
    }
}

async fn serve<S>(stream: S, state: Shared, greet: bool) -> io::Result<()>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let (read, mut write) = tokio::io::split(stream);
    let mut lines = BufReader::new(read).lines();
    if greet {
        write.write_all(b"200 fake upstream ready\r\n").await?;
    }
    let mut group: Option<String> = None;
    let mut user = String::new();
    let mut authenticated = false;
    while let Some(line) = lines.next_line().await? {
        state.lock().unwrap().commands.push(line.clone());
        let words: Vec<&str> = line.split_whitespace().collect();
        let needs_login = state.lock().unwrap().login.clone();
        let reply = match words.as_slice() {
            ["MODE", "READER"] => "200 reader\r\n".to_owned(),
            // Every group, whatever the wildmat: the client filters too.
            ["LIST", "ACTIVE", _] => {
                let state = state.lock().unwrap();
                let mut reply = "215 list follows\r\n".to_owned();
                for (name, articles) in &state.groups {
                    let high = articles.keys().last().copied().unwrap_or(0);
                    reply.push_str(&format!("{name} {high} 1 y\r\n"));
                }
                reply.push_str("other.group 3 1 y\r\n.\r\n");
                reply
            }
            ["AUTHINFO", "USER", name] => {
                user = (*name).to_owned();
                "381 password\r\n".to_owned()
            }
            ["AUTHINFO", "PASS", pass] => {
                if needs_login == Some((user.clone(), (*pass).to_owned())) {
                    authenticated = true;
                    "281 ok\r\n".to_owned()
                } else {
                    "481 no\r\n".to_owned()
                }
            }
            _ if needs_login.is_some() && !authenticated && words.first() != Some(&"QUIT") => {
                "480 login first\r\n".to_owned()
            }
            ["GROUP", name] => {
                let state = state.lock().unwrap();
                match state.groups.get(*name) {
                    Some(articles) => {
                        group = Some((*name).to_owned());
                        let low = articles.keys().next().copied().unwrap_or(1);
                        let high = articles.keys().last().copied().unwrap_or(0);
                        format!("211 {} {low} {high} {name}\r\n", articles.len())
                    }
                    None => "411 no such group\r\n".to_owned(),
                }
            }
            ["ARTICLE", number] => {
                let state = state.lock().unwrap();
                let article = group
                    .as_ref()
                    .and_then(|g| state.groups.get(g))
                    .and_then(|a| a.get(&number.parse().unwrap_or(0)));
                match article {
                    Some(text) => {
                        let mut reply = format!("220 {number} <{number}@fake>\r\n");
                        for line in text.split_inclusive("\r\n") {
                            if line.starts_with('.') {
                                reply.push('.');
                            }
                            reply.push_str(line);
                        }
                        reply.push_str(".\r\n");
                        reply
                    }
                    None => "423 no such article\r\n".to_owned(),
                }
            }
            ["POST"] => {
                write.write_all(b"340 send it\r\n").await?;
                let mut post = String::new();
                while let Some(line) = lines.next_line().await? {
                    if line == "." {
                        break;
                    }
                    post.push_str(line.strip_prefix('.').unwrap_or(&line));
                    post.push_str("\r\n");
                }
                let reply = if post.contains("Subject:") {
                    "240 article received\r\n"
                } else {
                    "441 no Subject\r\n"
                };
                state.lock().unwrap().posts.push(post);
                reply.to_owned()
            }
            ["QUIT"] => {
                write.write_all(b"205 bye\r\n").await?;
                return Ok(());
            }
            _ => "500 what?\r\n".to_owned(),
        };
        write.write_all(reply.as_bytes()).await?;
    }
    Ok(())
}

/// The news store, in memory.
#[derive(Clone, Default)]
struct MemoryStore(Arc<Mutex<Stored>>);

#[derive(Default)]
struct Stored {
    articles: Vec<(String, String)>,
    /// id -> article, queued for upstream.
    queue: BTreeMap<u64, String>,
    results: Vec<(u64, PostResult)>,
}

impl PullStore for MemoryStore {
    async fn store(&self, _upstream: &str, group: &GroupName, article: Vec<u8>) -> io::Result<()> {
        let text = String::from_utf8(article).unwrap();
        self.0
            .lock()
            .unwrap()
            .articles
            .push((group.as_str().to_owned(), text));
        Ok(())
    }

    async fn outgoing(&self, _upstream: &str, max: usize) -> io::Result<Vec<u64>> {
        Ok(self
            .0
            .lock()
            .unwrap()
            .queue
            .keys()
            .take(max)
            .copied()
            .collect())
    }

    async fn article(&self, id: u64) -> io::Result<Vec<u8>> {
        let stored = self.0.lock().unwrap();
        let text = stored.queue.get(&id).ok_or(io::ErrorKind::NotFound)?;
        Ok(text.clone().into_bytes())
    }

    async fn posted(&self, _upstream: &str, id: u64, result: &PostResult) -> io::Result<()> {
        let mut stored = self.0.lock().unwrap();
        if !matches!(result, PostResult::Deferred(_)) {
            stored.queue.remove(&id);
        }
        stored.results.push((id, result.clone()));
        Ok(())
    }
}

fn upstream_config(port: u16, extra: &str) -> NewsUpstreamConfig {
    let source = format!(
        "domain = [{{ name = \"example.test\" }}]\n[[service]]\nname = \"mx\"\nkind = \"smtp\"\nlisten = \"127.0.0.1:2525\"\n[[news_upstream]]\nname = \"fake\"\nserver = \"127.0.0.1:{port}\"\npath_identity = \"fake.upstream\"\n{extra}"
    );
    config::parse(&source).unwrap().news_upstreams.remove(0)
}

fn article(subject: &str) -> String {
    format!(
        "Path: fake.upstream!poster\r\nSubject: {subject}\r\nMessage-ID: <{subject}@x>\r\n\r\nbody of {subject}\r\n.leading dot\r\n"
    )
}

fn upstate(groups: &[(&str, &[(u32, &str)])]) -> Shared {
    let mut state = Upstate::default();
    for (group, articles) in groups {
        let entry = state.groups.entry((*group).to_owned()).or_default();
        for (number, subject) in *articles {
            entry.insert(*number, article(subject));
        }
    }
    Arc::new(Mutex::new(state))
}

#[tokio::test]
async fn pulls_new_articles_and_resumes_from_the_mark_after_a_restart() {
    let state = upstate(&[
        ("misc.test", &[(1, "one"), (2, "two"), (4, "four")]),
        ("local.general", &[(10, "ten")]),
    ]);
    let port = fake_upstream(state.clone()).await;
    let data = tempfile::tempdir().unwrap();
    let config = upstream_config(port, "groups = [\"misc.*\", \"local.general\"]\n");
    let upstream = Upstream::load(&config, data.path(), data.path()).unwrap();
    let store = MemoryStore::default();
    let outcome = pull_once(&upstream, &TcpDialer, &store).await;
    assert_eq!(outcome.failure, None);
    assert_eq!(outcome.pulled, 4);
    let subjects: Vec<(String, bool)> = store
        .0
        .lock()
        .unwrap()
        .articles
        .iter()
        .map(|(g, a)| (g.clone(), a.contains("\r\n.leading dot\r\n")))
        .collect();
    assert_eq!(
        subjects,
        vec![
            ("local.general".to_owned(), true),
            ("misc.test".to_owned(), true),
            ("misc.test".to_owned(), true),
            ("misc.test".to_owned(), true),
        ]
    );
    let marks_text = std::fs::read_to_string(data.path().join("news-upstream/fake")).unwrap();
    assert_eq!(marks_text, "local.general 10\nmisc.test 4\n");

    // A restart: a new task, a new store view, the same state file. Only
    // what arrived since is pulled.
    state
        .lock()
        .unwrap()
        .groups
        .get_mut("misc.test")
        .unwrap()
        .insert(5, article("five"));
    let upstream = Upstream::load(&config, data.path(), data.path()).unwrap();
    let store = MemoryStore::default();
    let outcome = pull_once(&upstream, &TcpDialer, &store).await;
    assert_eq!((outcome.pulled, outcome.failure), (1, None));
    let stored = store.0.lock().unwrap();
    assert_eq!(stored.articles.len(), 1);
    assert!(stored.articles[0].1.contains("Subject: five"));
    let commands = state.lock().unwrap().commands.clone();
    assert_eq!(
        commands.iter().filter(|c| *c == "ARTICLE 5").count(),
        1,
        "{commands:?}"
    );
    assert_eq!(
        commands.iter().filter(|c| *c == "ARTICLE 4").count(),
        1,
        "article 4 is not fetched again: {commands:?}"
    );
}

#[tokio::test]
async fn posts_local_articles_but_not_those_from_upstream() {
    let state = upstate(&[("misc.test", &[(1, "one")])]);
    state.lock().unwrap().login = Some(("puller".into(), "s3cret".into()));
    let port = fake_upstream(state.clone()).await;
    let data = tempfile::tempdir().unwrap();
    std::fs::write(data.path().join("pw"), "s3cret\n").unwrap();
    let config = upstream_config(
        port,
        "groups = \"misc.test\"\nusername = \"puller\"\npassword_file = \"pw\"\n",
    );
    let upstream = Upstream::load(&config, data.path(), data.path()).unwrap();
    let store = MemoryStore::default();
    {
        let mut stored = store.0.lock().unwrap();
        stored.queue.insert(
            1,
            "Path: ours.test!.POSTED!not-for-mail\r\nNewsgroups: misc.test\r\nSubject: local\r\n\r\n.hidden dot\r\n".into(),
        );
        stored.queue.insert(
            2,
            "Path: ours.test!.POSTED\r\nNewsgroups: misc.test\r\n\r\nno subject\r\n".into(),
        );
        stored
            .queue
            .insert(3, format!("Path: ours.test!{}", &article("looped")[6..]));
    }
    let outcome = pull_once(&upstream, &TcpDialer, &store).await;
    assert_eq!(outcome.failure, None);
    assert_eq!((outcome.pulled, outcome.posted, outcome.refused), (1, 1, 1));
    let posts = state.lock().unwrap().posts.clone();
    assert_eq!(posts.len(), 2, "{posts:?}");
    assert!(
        posts[0].contains("\r\n\r\n.hidden dot\r\n"),
        "unstuffed as sent: {posts:?}"
    );
    assert!(
        posts[0].starts_with("Newsgroups: misc.test\r\n"),
        "our injection's Path is left out (RFC 5537 3.5): {posts:?}"
    );
    let stored = store.0.lock().unwrap();
    assert_eq!(
        stored.results,
        vec![
            (1, PostResult::Accepted),
            (2, PostResult::Refused("441 no Subject".into())),
            (3, PostResult::CameFromUpstream),
        ]
    );
    assert!(stored.queue.is_empty());
}

#[tokio::test]
async fn a_wrong_password_fails_the_round() {
    let state = upstate(&[("misc.test", &[(1, "one")])]);
    state.lock().unwrap().login = Some(("puller".into(), "right".into()));
    let port = fake_upstream(state.clone()).await;
    let data = tempfile::tempdir().unwrap();
    std::fs::write(data.path().join("pw"), "wrong\n").unwrap();
    let config = upstream_config(
        port,
        "groups = \"misc.test\"\nusername = \"puller\"\npassword_file = \"pw\"\n",
    );
    let upstream = Upstream::load(&config, data.path(), data.path()).unwrap();
    let outcome = pull_once(&upstream, &TcpDialer, &MemoryStore::default()).await;
    let failure = outcome.failure.expect("a failure");
    assert_eq!(
        (failure.stage, failure.detail.as_str()),
        ("AUTHINFO", "481 no")
    );
}

#[tokio::test]
async fn a_closed_port_fails_the_round() {
    // A port with nothing behind it: bind, note, drop.
    let port = {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        listener.local_addr().unwrap().port()
    };
    let data = tempfile::tempdir().unwrap();
    let config = upstream_config(port, "groups = \"misc.test\"\n");
    let upstream = Upstream::load(&config, data.path(), data.path()).unwrap();
    let outcome = pull_once(&upstream, &TcpDialer, &MemoryStore::default()).await;
    let failure = outcome.failure.expect("a failure");
    assert_eq!(failure.stage, "connection");
    assert!(failure.detail.contains("cannot connect"), "{failure}");
}

#[tokio::test]
async fn the_task_runs_rounds_until_shut_down() {
    let state = upstate(&[("misc.test", &[(1, "one")])]);
    let port = fake_upstream(state.clone()).await;
    let data = tempfile::tempdir().unwrap();
    let config = upstream_config(port, "groups = \"misc.test\"\n");
    let mut upstream = Upstream::load(&config, data.path(), data.path()).unwrap();
    // Shorter than any configurable interval, to keep the test quick.
    upstream.interval = Duration::from_millis(100);
    let (stop, shutdown) = watch::channel(false);
    let store = MemoryStore::default();
    let task = tokio::spawn(run_upstream(upstream, TcpDialer, store.clone(), shutdown));
    let rounds = || {
        state
            .lock()
            .unwrap()
            .commands
            .iter()
            .filter(|c| *c == "QUIT")
            .count()
    };
    for _ in 0..100 {
        if rounds() >= 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(rounds() >= 2, "a second round after the interval");
    stop.send(true).unwrap();
    tokio::time::timeout(Duration::from_secs(5), task)
        .await
        .expect("the task stops")
        .unwrap();
    assert_eq!(store.0.lock().unwrap().articles.len(), 1, "pulled once");
}

#[test]
fn a_missing_password_file_is_named() {
    let data = tempfile::tempdir().unwrap();
    let config = upstream_config(
        119,
        "groups = \"a.b\"\nusername = \"u\"\npassword_file = \"nope\"\n",
    );
    let error = Upstream::load(&config, data.path(), data.path())
        .err()
        .expect("an error");
    assert!(error.contains("nope: cannot read the password"), "{error}");
}

/// A self-signed certificate for 127.0.0.1 in `dir`, and the server side.
fn server_tls(dir: &Path) -> Arc<crate::tls::ServerTls> {
    let (certificate, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    crate::tls::write_self_signed(&["127.0.0.1".to_owned()], &certificate, &key, true).unwrap();
    let config = config::TlsConfig {
        mode: config::TlsMode::StartTls,
        certificate,
        key,
        lines: (0, 0),
        handshake_timeout: Duration::from_secs(10),
    };
    Arc::new(crate::tls::ServerTls::load(&config, "fake").unwrap())
}

#[tokio::test]
async fn starttls_and_implicit_tls_pull_with_a_verified_certificate() {
    let data = tempfile::tempdir().unwrap();
    let tls = server_tls(data.path());
    for (fake, word) in [
        (FakeTls::StartTls(tls.clone()), "starttls"),
        (FakeTls::Implicit(tls.clone()), "implicit"),
    ] {
        let state = upstate(&[("misc.test", &[(1, "one")])]);
        let port = fake_upstream_with(state.clone(), fake).await;
        let config = upstream_config(
            port,
            &format!("groups = \"misc.test\"\ntls = \"{word}\"\nca_file = \"cert.pem\"\n"),
        );
        // Marks of their own: the two fakes hold the same article.
        let marks = tempfile::tempdir().unwrap();
        let upstream = Upstream::load(&config, data.path(), marks.path()).unwrap();
        let store = MemoryStore::default();
        let outcome = pull_once(&upstream, &TcpDialer, &store).await;
        assert_eq!((outcome.pulled, outcome.failure), (1, None), "{word}");
        let commands = state.lock().unwrap().commands.clone();
        let first = if word == "starttls" {
            "STARTTLS"
        } else {
            "MODE READER"
        };
        assert_eq!(commands.first().map(String::as_str), Some(first), "{word}");
    }
}

#[tokio::test]
async fn an_unknown_certificate_fails_the_handshake() {
    let data = tempfile::tempdir().unwrap();
    let tls = server_tls(data.path());
    let state = upstate(&[("misc.test", &[(1, "one")])]);
    let port = fake_upstream_with(state.clone(), FakeTls::StartTls(tls)).await;
    // No ca_file: the public roots, which do not know the fake.
    let config = upstream_config(port, "groups = \"misc.test\"\ntls = \"starttls\"\n");
    let upstream = Upstream::load(&config, data.path(), data.path()).unwrap();
    let store = MemoryStore::default();
    let outcome = pull_once(&upstream, &TcpDialer, &store).await;
    let failure = outcome.failure.expect("a failure");
    assert_eq!(failure.stage, "TLS", "{failure}");
    assert!(store.0.lock().unwrap().articles.is_empty());
}

/// Against a real news server nobody here wrote: INN (Debian's `inn2`)
/// on loopback, with a group `misc.test` that holds at least one article.
/// Not run by default (it needs INN configured and running); run it with
/// `POSTERN_TEST_INN=127.0.0.1:11119 cargo test -p postern --lib
/// nntp_pull::tests::pulls_and_posts_with_inn -- --ignored`. The book's
/// chapter "Pulling from an upstream server" says how INN was set up.
#[tokio::test]
#[ignore = "needs a running INN; set POSTERN_TEST_INN=HOST:PORT"]
async fn pulls_and_posts_with_inn() {
    let server = std::env::var("POSTERN_TEST_INN").expect("POSTERN_TEST_INN=HOST:PORT");
    let data = tempfile::tempdir().unwrap();
    let source = format!(
        "domain = [{{ name = \"example.test\" }}]\n[[service]]\nname = \"mx\"\nkind = \"smtp\"\nlisten = \"127.0.0.1:2525\"\n[[news_upstream]]\nname = \"inn\"\nserver = \"{server}\"\ngroups = \"misc.*\"\npath_identity = \"upstream.test\"\n"
    );
    let config = config::parse(&source).unwrap().news_upstreams.remove(0);
    let upstream = Upstream::load(&config, data.path(), data.path()).unwrap();
    let store = MemoryStore::default();
    let unique = std::process::id();
    store.0.lock().unwrap().queue.insert(
        1,
        format!(
            "Path: ours.test!.POSTED!not-for-mail\r\nFrom: Poster <poster@example.test>\r\nNewsgroups: misc.test\r\nSubject: posted by postern {unique}\r\nMessage-ID: <{unique}.postern@example.test>\r\n\r\nfrom postern\r\n.with a dot\r\n"
        ),
    );
    let first = pull_once(&upstream, &TcpDialer, &store).await;
    assert_eq!(first.failure, None);
    assert!(first.pulled >= 1, "INN's misc.test has articles");
    assert_eq!(first.posted, 1, "{:?}", store.0.lock().unwrap().results);
    // The next round pulls our own post back, with INN's name in its Path,
    // and nothing it had before.
    let second = pull_once(&upstream, &TcpDialer, &store).await;
    assert_eq!((second.pulled, second.failure), (1, None));
    let stored = store.0.lock().unwrap();
    let back = &stored.articles.last().unwrap().1;
    assert!(
        back.contains(&format!("posted by postern {unique}")),
        "{back}"
    );
    assert!(back.contains("\r\n.with a dot\r\n"), "{back}");
    assert!(
        postern_core::nntp::client::Outgoing::new(9, back.as_bytes()).has_been_at("upstream.test"),
        "{back}"
    );
}

#[test]
fn check_config_names_an_unreadable_password_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("postern.toml");
    std::fs::write(
        &path,
        "domain = [{ name = \"example.test\" }]\n[[service]]\nname = \"mx\"\nkind = \"smtp\"\nlisten = \"127.0.0.1:2525\"\n\n[[news_upstream]]\nname = \"isp\"\nserver = \"news.isp.test\"\ngroups = \"misc.test\"\nusername = \"me\"\npassword_file = \"missing-pw\"\n",
    )
    .unwrap();
    let loaded = crate::config_file::load(Some(&path)).unwrap();
    let error = crate::config_check::check_files(&loaded).expect_err("an error");
    assert!(error.contains("postern.toml:7:"), "{error}");
    assert!(error.contains("upstream isp:"), "{error}");
    assert!(
        error.contains("missing-pw: cannot read the password"),
        "{error}"
    );
    // Relative to the configuration file, wherever the server starts.
    std::fs::write(dir.path().join("missing-pw"), "s3cret\n").unwrap();
    crate::config_check::check_files(&loaded).unwrap();
}
