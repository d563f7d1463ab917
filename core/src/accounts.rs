//! The accounts file: who may log in, with what password hash.
//!
//! It lives in the data directory as `accounts.toml` and is written by
//! `postern user add|passwd|del`; the runtime reads and writes the file,
//! this module only turns text into [`Accounts`] and back. Hashing is the
//! runtime's too (argon2id; it needs a random salt). A hash is stored in
//! the PHC string format (`$argon2id$v=19$m=...`), so parameters can
//! change without breaking old entries.

use crate::address::parse_mailbox;
use crate::limits::{FINGER_PLAN_BYTES_MAX, FINGER_REAL_NAME_BYTES_MAX};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The file's name in the data directory.
pub const ACCOUNTS_FILE: &str = "accounts.toml";

/// One account.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Account {
    /// The address the user logs in with, lower-case.
    pub login: String,
    /// The password's hash, PHC string format.
    pub password_hash: String,
    /// May use any envelope sender, not only the account's own addresses.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub send_as_anyone: bool,
    /// The user's real name, shown by finger (`postern user name`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub real_name: Option<String>,
    /// The user's plan text, shown by finger (`postern user plan`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan: Option<String>,
    /// An administrator: may watch the server's log through a remote-log
    /// instance (`postern user admin ADDRESS on`, `postern user add
    /// --admin`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub admin: bool,
    /// No login by any protocol (`postern user disabled ADDRESS on`, or
    /// the webmail's admin area); mail is still delivered.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub disabled: bool,
}

/// Every account, by login.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Accounts {
    accounts: BTreeMap<String, Account>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default, rename = "account")]
    accounts: Vec<Account>,
}

const HEADER: &str = "# Postern accounts, written by `postern user`. Each password is an argon2id\n# hash; the passwords themselves are stored nowhere.\n\n";

/// Checks a real name for `postern user name`: one line, no control
/// characters, at most [`FINGER_REAL_NAME_BYTES_MAX`] octets.
pub fn check_real_name(name: &str) -> Result<String, String> {
    let name = name.trim();
    if name.is_empty() {
        return Err("the name is empty; use --clear to remove a name".to_owned());
    }
    if name.chars().any(char::is_control) {
        return Err("a name is one line of text, without control characters".to_owned());
    }
    if name.len() > FINGER_REAL_NAME_BYTES_MAX {
        return Err(format!(
            "the name is {} octets long; at most {FINGER_REAL_NAME_BYTES_MAX} are kept",
            name.len()
        ));
    }
    Ok(name.to_owned())
}

/// Checks a plan for `postern user plan`: UTF-8 text of at most
/// [`FINGER_PLAN_BYTES_MAX`] octets, lines ending in LF; control
/// characters other than line ends and tabs are refused (finger would
/// strip them anyway).
pub fn check_plan(plan: &[u8]) -> Result<String, String> {
    let text = std::str::from_utf8(plan).map_err(|_| "the plan is not UTF-8 text".to_owned())?;
    let text = text.replace("\r\n", "\n");
    let text = text.trim_end_matches('\n');
    if text.trim().is_empty() {
        return Err("the plan is empty; use --clear to remove a plan".to_owned());
    }
    if text.len() > FINGER_PLAN_BYTES_MAX {
        return Err(format!(
            "the plan is {} octets long; at most {FINGER_PLAN_BYTES_MAX} are allowed",
            text.len()
        ));
    }
    if let Some(c) = text
        .chars()
        .find(|&c| c.is_control() && c != '\n' && c != '\t')
    {
        return Err(format!(
            "the plan has a control character ({}); it may have text, tabs and line ends only",
            c.escape_unicode()
        ));
    }
    Ok(text.to_owned())
}

/// Checks and normalizes a login: an address, compared without regard to
/// case.
pub fn normalize_login(text: &str) -> Result<String, String> {
    match parse_mailbox(text) {
        Ok(_) if text.is_ascii() => Ok(text.to_ascii_lowercase()),
        _ => Err(format!(
            "\"{text}\" is not an account name; accounts are email addresses such as alice@example.com"
        )),
    }
}

/// Refuses a login in a domain the configuration does not deliver for:
/// such an account could log in, but its mail would be refused or relayed
/// elsewhere, and it could never read any. `domains` are the configured
/// `[[domain]]` names; U-labels and their `xn--` A-labels are one domain.
pub fn check_login_domain(login: &str, domains: &[&str]) -> Result<(), String> {
    let domain = login.rsplit_once('@').map_or("", |(_, d)| d);
    let key = |d: &str| crate::address::domain_key(d).unwrap_or_else(|_| d.to_lowercase());
    if domains.iter().any(|d| key(d) == key(domain)) {
        return Ok(());
    }
    let configured = if domains.is_empty() {
        "none".to_owned()
    } else {
        domains.join(", ")
    };
    Err(format!(
        "{domain} is not a domain this server delivers for (configured: {configured}); refusing to add {login}. Add a [[domain]] with name = \"{domain}\" to the configuration first, or give an address in a configured domain"
    ))
}

impl Accounts {
    /// Reads the file's text; errors say what is wrong where.
    pub fn parse(text: &str) -> Result<Self, String> {
        let file: File = toml::from_str(text).map_err(|e| e.to_string())?;
        let mut accounts = Accounts::default();
        for account in file.accounts {
            let login = normalize_login(&account.login)?;
            if accounts.accounts.contains_key(&login) {
                return Err(format!("account {login} appears twice"));
            }
            accounts
                .accounts
                .insert(login.clone(), Account { login, ..account });
        }
        Ok(accounts)
    }

    /// The file's text, accounts in order of login.
    pub fn render(&self) -> String {
        let file = File {
            accounts: self.accounts.values().cloned().collect(),
        };
        let body = toml::to_string(&file).expect("accounts always serialize");
        format!("{HEADER}{body}")
    }

    pub fn get(&self, login: &str) -> Option<&Account> {
        self.accounts.get(&login.to_ascii_lowercase())
    }

    /// Adds or replaces an account.
    pub fn insert(&mut self, account: Account) {
        self.accounts.insert(account.login.clone(), account);
    }

    pub fn remove(&mut self, login: &str) -> Option<Account> {
        self.accounts.remove(&login.to_ascii_lowercase())
    }

    pub fn iter(&self) -> impl Iterator<Item = &Account> {
        self.accounts.values()
    }

    pub fn len(&self) -> usize {
        self.accounts.len()
    }

    pub fn is_empty(&self) -> bool {
        self.accounts.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn account(login: &str, anyone: bool) -> Account {
        Account {
            login: login.into(),
            password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into(),
            send_as_anyone: anyone,
            real_name: None,
            plan: None,
            admin: false,
            disabled: false,
        }
    }

    #[test]
    fn the_admin_mark_round_trips_and_is_absent_when_off() {
        let mut accounts = Accounts::default();
        accounts.insert(Account {
            admin: true,
            ..account("root@example.com", false)
        });
        accounts.insert(account("alice@example.com", false));
        let text = accounts.render();
        assert_eq!(text.matches("admin = true").count(), 1, "{text}");
        assert!(!text.contains("admin = false"), "{text}");
        let parsed = Accounts::parse(&text).unwrap();
        assert!(parsed.get("root@example.com").unwrap().admin);
        assert!(!parsed.get("alice@example.com").unwrap().admin);
    }

    #[test]
    fn a_real_name_and_a_plan_round_trip_and_old_files_still_read() {
        let mut accounts = Accounts::default();
        accounts.insert(Account {
            real_name: Some("Alice Example".into()),
            plan: Some("Line one\n\tline two".into()),
            ..account("alice@example.com", false)
        });
        let text = accounts.render();
        assert!(text.contains("real_name = \"Alice Example\""), "{text}");
        assert_eq!(Accounts::parse(&text).unwrap(), accounts);
        let old =
            Accounts::parse("[[account]]\nlogin = \"a@b.c\"\npassword_hash = \"x\"\n").unwrap();
        let a = old.get("a@b.c").unwrap();
        assert_eq!((a.real_name.as_deref(), a.plan.as_deref()), (None, None));
    }

    #[test]
    fn names_and_plans_are_checked() {
        assert_eq!(
            check_real_name("  Alice Example ").unwrap(),
            "Alice Example"
        );
        assert!(check_real_name("Alice\x1b[2J").is_err());
        assert!(check_real_name("").is_err());
        assert!(check_real_name(&"x".repeat(FINGER_REAL_NAME_BYTES_MAX + 1)).is_err());
        assert_eq!(check_plan(b"one\r\ntwo\n\n").unwrap(), "one\ntwo");
        assert!(
            check_plan(b"bell\x07")
                .unwrap_err()
                .contains("control character")
        );
        assert!(check_plan(b"\xff").is_err());
        assert!(check_plan(b"\n").is_err());
        assert!(check_plan(&vec![b'x'; FINGER_PLAN_BYTES_MAX + 1]).is_err());
        assert!(check_plan(&vec![b'x'; FINGER_PLAN_BYTES_MAX]).is_ok());
    }

    #[test]
    fn an_account_outside_the_configured_domains_is_refused_naming_them() {
        let domains = ["example.test", "bücher.test"];
        assert!(check_login_domain("alice@example.test", &domains).is_ok());
        assert!(check_login_domain("bob@xn--bcher-kva.test", &domains).is_ok());
        let refused = check_login_domain("alice@example.com", &domains).unwrap_err();
        assert!(
            refused.contains("example.com is not a domain this server delivers for")
                && refused.contains("configured: example.test, bücher.test"),
            "{refused}"
        );
    }

    #[test]
    fn accounts_round_trip_through_the_file_format() {
        let mut accounts = Accounts::default();
        accounts.insert(account("bob@example.com", false));
        accounts.insert(account("alice@example.com", true));
        let text = accounts.render();
        insta::assert_snapshot!(text);
        assert_eq!(Accounts::parse(&text).unwrap(), accounts);
    }

    #[test]
    fn logins_are_addresses_without_regard_to_case() {
        assert_eq!(
            normalize_login("Alice@Example.COM").unwrap(),
            "alice@example.com"
        );
        assert!(normalize_login("alice").is_err());
        let accounts =
            Accounts::parse("[[account]]\nlogin = \"Alice@Example.com\"\npassword_hash = \"x\"\n")
                .unwrap();
        assert!(accounts.get("ALICE@example.com").is_some());
    }

    #[test]
    fn bad_files_are_explained() {
        let twice = "[[account]]\nlogin = \"a@b.c\"\npassword_hash = \"x\"\n[[account]]\nlogin = \"A@b.c\"\npassword_hash = \"y\"\n";
        assert_eq!(
            Accounts::parse(twice).unwrap_err(),
            "account a@b.c appears twice"
        );
        assert!(
            Accounts::parse("[[account]]\nlogin = \"a@b.c\"\n")
                .unwrap_err()
                .contains("password_hash")
        );
    }
}

/// Checks a new password chosen by its user (the webmail's password
/// change): long enough to resist guessing, bounded, and typed the same
/// twice.
pub fn check_new_password(password: &str, repeated: &str) -> Result<(), String> {
    use crate::limits::{PASSWORD_BYTES_MAX, PASSWORD_CHARS_MIN};
    if password != repeated {
        return Err("the two new passwords differ".to_owned());
    }
    if password.chars().count() < PASSWORD_CHARS_MIN {
        return Err(format!(
            "the new password is too short: use at least {PASSWORD_CHARS_MIN} characters"
        ));
    }
    if password.len() > PASSWORD_BYTES_MAX {
        return Err(format!(
            "the new password is too long: at most {PASSWORD_BYTES_MAX} octets"
        ));
    }
    if password.chars().any(char::is_control) {
        return Err("the new password has a control character".to_owned());
    }
    Ok(())
}

#[cfg(test)]
mod new_password_tests {
    use super::check_new_password;

    #[test]
    fn a_new_password_must_be_long_repeated_and_printable() {
        assert!(check_new_password("correct horse", "correct horse").is_ok());
        let rows = [
            ("correct horse", "correct house", "differ"),
            ("short", "short", "too short"),
            ("tab\there is x", "tab\there is x", "control"),
        ];
        for (new, repeat, why) in rows {
            let error = check_new_password(new, repeat).unwrap_err();
            assert!(error.contains(why), "{new:?}: {error}");
        }
        let long = "x".repeat(1025);
        assert!(
            check_new_password(&long, &long)
                .unwrap_err()
                .contains("too long")
        );
    }
}
