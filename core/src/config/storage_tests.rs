use super::*;
use crate::config::parse;

const BASE: &str = "[server]\nhostname = \"mx1.example.test\"\n[[domain]]\nname = \"example.test\"\n[[service]]\nname = \"mx\"\nkind = \"smtp\"\nlisten = \"127.0.0.1:2525\"\n";

fn storage(text: &str) -> StorageConfig {
    let source = format!("{BASE}[storage]\n{text}");
    match parse(&source) {
        Ok(config) => config.storage,
        Err(errors) => panic!("{errors:?}"),
    }
}

fn errors(text: &str) -> String {
    let source = format!("{BASE}[storage]\n{text}");
    match parse(&source) {
        Ok(config) => panic!("expected errors, got {:?}", config.storage),
        Err(errors) => errors
            .iter()
            .map(|e| e.render("postern.toml", &source))
            .collect::<Vec<_>>()
            .join("\n"),
    }
}

#[test]
fn files_is_the_default() {
    let config = parse(BASE).unwrap();
    assert_eq!(config.storage, StorageConfig::Files);
    assert_eq!(storage("backend = \"files\"\n"), StorageConfig::Files);
}

#[test]
fn postgres_keys_and_defaults() {
    let StorageConfig::Postgres(pg) =
        storage("backend = \"postgres\"\nurl = \"postgres://postern@127.0.0.1:5432/mail\"\n")
    else {
        panic!("not postgres")
    };
    assert_eq!(pg.url.user.as_deref(), Some("postern"));
    assert_eq!(pg.url.host, "127.0.0.1");
    assert_eq!(pg.url.port, Some(5432));
    assert_eq!(pg.url.database.as_deref(), Some("mail"));
    assert_eq!(pg.password, None);
    assert_eq!(pg.pool_size, STORAGE_POOL_SIZE_DEFAULT);
    assert_eq!(pg.node_name, "mx1.example.test");
    assert_eq!(pg.node_id, 0);
    assert_eq!(pg.lease, STORAGE_LEASE_DEFAULT);

    let StorageConfig::Postgres(pg) = storage(
        "backend = \"postgres\"\nurl = \"postgresql://db.example.test/q\"\npassword_file = \"secrets/db\"\npool_size = 16\nnode_name = \"node-2\"\nnode_id = 1023\nlease = \"5m\"\n",
    ) else {
        panic!("not postgres")
    };
    assert_eq!(pg.url.user, None);
    assert_eq!(pg.url.port, None);
    assert_eq!(
        pg.password,
        Some(PasswordSource::File(PathBuf::from("secrets/db")))
    );
    assert_eq!(pg.password_file_line, 12);
    assert_eq!(
        (pg.pool_size, pg.node_name.as_str(), pg.node_id, pg.lease),
        (16, "node-2", 1023, Duration::from_secs(300))
    );
    let StorageConfig::Postgres(pg) = storage(
        "backend = \"postgres\"\nurl = \"postgres://u@[::1]:6432/q\"\npassword_env = \"PG_PASS\"\n",
    ) else {
        panic!("not postgres")
    };
    assert_eq!((pg.url.host.as_str(), pg.url.port), ("::1", Some(6432)));
    assert_eq!(pg.password, Some(PasswordSource::Env("PG_PASS".to_owned())));
}

#[test]
fn a_password_in_the_url_is_refused_with_the_fix() {
    for url in [
        "postgres://postern:secret@127.0.0.1:5432/mail",
        "postgres://postern:@127.0.0.1/mail",
        "postgres://postern@127.0.0.1/mail?sslmode=disable&password=secret",
    ] {
        let text = errors(&format!("backend = \"postgres\"\nurl = \"{url}\"\n"));
        assert!(text.starts_with("postern.toml:11:7: `url`: "), "{text}");
        assert!(text.contains("carries a password"), "{text}");
        assert!(text.contains("password_file"), "{text}");
        assert!(text.contains("password_env"), "{text}");
        assert!(!text.contains("secret"), "the password is quoted: {text}");
    }
}

#[test]
fn quoted_lines_never_show_a_password() {
    let cases = [
        (
            r#"url = "postgres://postern:s3cr@t@db:5432/mail""#,
            r#"url = "postgres://postern:****@db:5432/mail""#,
        ),
        (
            r#"url = "postgresql://u:p@h/d?sslmode=disable&password=x&a=b""#,
            r#"url = "postgresql://u:****@h/d?sslmode=disable&password=****&a=b""#,
        ),
        (
            r#"url = "postgres://postern@db/mail""#,
            r#"url = "postgres://postern@db/mail""#,
        ),
        ("hostname = \"mx.example\"", "hostname = \"mx.example\""),
        ("password=", "password="),
    ];
    for (line, shown) in cases {
        assert_eq!(redact_passwords(line), shown, "{line}");
    }
    // A syntax error on the line is quoted masked too.
    let source = "[storage]\nurl = \"postgres://u:hunter2@h/d\" junk\n";
    let text = crate::config::parse(source).unwrap_err()[0].render("postern.toml", source);
    assert!(text.contains("u:****@h"), "{text}");
    assert!(!text.contains("hunter2"), "{text}");
}

/// A URL's host and port, or why it is refused.
type Shape = Result<(&'static str, Option<u16>), UrlProblem>;

#[test]
fn url_shapes() {
    let cases: &[(&str, Shape)] = &[
        ("postgres://u@h:1/d", Ok(("h", Some(1)))),
        ("postgres://h", Ok(("h", None))),
        ("postgresql://u@h/d?application_name=x", Ok(("h", None))),
        (
            "postgresql://u@h/d?sslmode=disable",
            Err(UrlProblem::HasSslMode),
        ),
        ("mysql://u@h/d", Err(UrlProblem::NotPostgres)),
        ("postgres://u@/d", Err(UrlProblem::NoHost)),
        ("postgres://u@h:0/d", Err(UrlProblem::BadPort)),
        ("postgres://u@h:x/d", Err(UrlProblem::BadPort)),
        ("postgres://u:p@h/d", Err(UrlProblem::HasPassword)),
    ];
    for (text, expected) in cases {
        let got = text
            .parse::<DatabaseUrl>()
            .map(|url| (url.host.clone(), url.port));
        let expected = expected.map(|(h, p)| (h.to_owned(), p));
        assert_eq!(got, expected, "{text}");
    }
    let long = format!("postgres://u@h/{}", "d".repeat(STORAGE_URL_BYTES_MAX));
    assert_eq!(long.parse::<DatabaseUrl>(), Err(UrlProblem::TooLong));
}

#[test]
fn postgres_without_a_url_is_an_error() {
    let text = errors("backend = \"postgres\"\n");
    assert!(
        text.contains("`url`: the postgres backend needs the database's URL"),
        "{text}"
    );
    assert!(text.starts_with("postern.toml:10:"), "{text}");
}

#[test]
fn out_of_range_values_name_their_bounds() {
    let url = "backend = \"postgres\"\nurl = \"postgres://u@h/d\"\n";
    let text = errors(&format!("{url}pool_size = 0\n"));
    assert!(text.contains("`pool_size`: 0 is out of range"), "{text}");
    assert!(text.contains("from 1 to 256"), "{text}");
    let text = errors(&format!("{url}node_id = 1024\n"));
    assert!(text.contains("`node_id`: 1024 is out of range"), "{text}");
    assert!(text.contains("from 0 to 1023"), "{text}");
    let text = errors(&format!("{url}lease = \"2s\"\n"));
    assert!(
        text.contains("`lease`: a lease of 2s is too short"),
        "{text}"
    );
    let text = errors(&format!("{url}lease = \"2h\"\n"));
    assert!(text.contains("is too long"), "{text}");
    assert!(text.contains("from \"5s\" to \"1h\""), "{text}");
    let text = errors(&format!("{url}node_name = \"a b\"\n"));
    assert!(
        text.contains("`node_name`: \"a b\" is not a node name"),
        "{text}"
    );
    let text = errors(&format!("{url}password_env = \"$PW\"\n"));
    assert!(text.contains("without `$`"), "{text}");
    let text = errors(&format!(
        "{url}password_env = \"PW\"\npassword_file = \"f\"\n"
    ));
    assert!(text.contains("keep one"), "{text}");
}

#[test]
fn unknown_keys_and_backends_are_named() {
    let text = errors("backend = \"postgres\"\nurl = \"postgres://u@h/d\"\npool = 3\n");
    assert!(text.contains("unknown field `pool`"), "{text}");
    assert!(text.contains("did you mean `pool_size`?"), "{text}");
    let text = errors("backend = \"postgresql\"\n");
    assert!(text.contains("unknown variant `postgresql`"), "{text}");
    assert!(text.contains("did you mean `postgres`?"), "{text}");
}

#[test]
fn database_keys_with_the_files_backend_are_a_warning() {
    let source = format!("{BASE}[storage]\nurl = \"postgres://u@h/d\"\n");
    let config = parse(&source).unwrap();
    assert_eq!(config.storage, StorageConfig::Files);
    let warning = config.warnings[0].render("postern.toml", &source);
    assert!(
        warning.contains("`url`: the files backend uses no database"),
        "{warning}"
    );
}

#[test]
fn the_summary_never_shows_a_password() {
    let config = storage(
        "backend = \"postgres\"\nurl = \"postgres://postern@127.0.0.1:5432/mail\"\npassword_env = \"PG_PASS\"\nnode_id = 3\n",
    );
    assert_eq!(
        config.summary(),
        "postgres postgres://postern@127.0.0.1:5432/mail (node 3 \"mx1.example.test\", pool 8, lease 60s, password from $PG_PASS, tls none)"
    );
    assert_eq!(StorageConfig::Files.summary(), "files (the data directory)");
}

#[test]
fn tls_defaults_to_none_on_loopback_and_required_elsewhere() {
    let tls = |text: &str| match storage(&format!("backend = \"postgres\"\n{text}")) {
        StorageConfig::Postgres(pg) => pg.tls,
        StorageConfig::Files => panic!("not postgres"),
    };
    for host in ["127.0.0.1", "127.0.0.9:5432", "[::1]:5432", "localhost"] {
        assert_eq!(
            tls(&format!("url = \"postgres://u@{host}/q\"\n")),
            DatabaseTls::None,
            "{host}"
        );
    }
    for host in ["db.example.test", "10.0.0.5:5432", "[2001:db8::1]"] {
        assert_eq!(
            tls(&format!("url = \"postgres://u@{host}/q\"\n")),
            DatabaseTls::Required { ca_file: None },
            "{host}"
        );
    }
    assert_eq!(
        tls("url = \"postgres://u@db.example.test/q\"\ntls = \"none\"\n"),
        DatabaseTls::None
    );
    assert_eq!(
        tls("url = \"postgres://u@127.0.0.1/q\"\ntls = \"required\"\nca_file = \"db-ca.pem\"\n"),
        DatabaseTls::Required {
            ca_file: Some(PathBuf::from("db-ca.pem"))
        }
    );
    // A CA file alone asks for TLS, even on loopback.
    assert_eq!(
        tls("url = \"postgres://u@127.0.0.1/q\"\nca_file = \"db-ca.pem\"\n"),
        DatabaseTls::Required {
            ca_file: Some(PathBuf::from("db-ca.pem"))
        }
    );
    let StorageConfig::Postgres(pg) = storage(
        "backend = \"postgres\"\nurl = \"postgres://u@db.example.test/q\"\nca_file = \"/etc/postern/db-ca.pem\"\n",
    ) else {
        panic!("not postgres")
    };
    assert!(
        StorageConfig::Postgres(pg)
            .summary()
            .ends_with("tls required, verified against /etc/postern/db-ca.pem)")
    );
}

#[test]
fn tls_mistakes_are_named_with_the_fix() {
    let shown = errors(
        "backend = \"postgres\"\nurl = \"postgres://u@db.example.test/q?sslmode=require\"\n",
    );
    assert!(shown.contains("the URL sets `sslmode`"), "{shown}");
    assert!(shown.contains("set tls = \"required\""), "{shown}");
    let shown = errors(
        "backend = \"postgres\"\nurl = \"postgres://u@db.example.test/q\"\ntls = \"none\"\nca_file = \"ca.pem\"\n",
    );
    assert!(
        shown.contains("tls = \"none\" verifies no certificate"),
        "{shown}"
    );
    let shown = errors(
        "backend = \"postgres\"\nurl = \"postgres://u@db.example.test/q\"\ntls = \"verify\"\n",
    );
    assert!(shown.contains("tls"), "{shown}");
}
