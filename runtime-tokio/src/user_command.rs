//! `postern user ...`: adds, changes, lists and deletes accounts, and
//! sets a user's forwarding, vacation and sender lists. Passwords and
//! plans are read from the terminal or standard input before the accounts
//! are touched.

use crate::accounts;
use crate::config_file::Loaded;

#[derive(clap::Subcommand)]
pub enum UserAction {
    /// Adds an account. The password is read from the terminal (twice),
    /// or from the first line of standard input when it is not one.
    Add {
        /// The login: an email address.
        address: String,
        /// The account may use any envelope sender, not only its own
        /// address and its aliases.
        #[arg(long)]
        send_as_anyone: bool,
        /// The account is an admin: it may watch the server's log through
        /// a remote-log instance.
        #[arg(long)]
        admin: bool,
    },
    /// Marks an account admin (`on`) or not (`off`): only admins may
    /// watch the server's log through a remote-log instance.
    Admin {
        address: String,
        #[arg(value_enum)]
        state: OnOff,
    },
    /// Disables an account (`on`: no login by any protocol, mail still
    /// delivered) or enables it again (`off`).
    Disabled {
        address: String,
        #[arg(value_enum)]
        state: OnOff,
    },
    /// Sets a new password, read as for `add`.
    Passwd { address: String },
    /// Sets the real name finger shows for an account.
    Name {
        address: String,
        /// The name, such as "Alice Example".
        #[arg(required_unless_present = "clear")]
        name: Option<String>,
        /// Removes the name instead.
        #[arg(long, conflicts_with = "name")]
        clear: bool,
    },
    /// Sets the plan finger shows for an account, read from standard
    /// input (at most 4096 octets of text).
    Plan {
        address: String,
        /// Removes the plan instead.
        #[arg(long)]
        clear: bool,
    },
    /// Forwards a user's mail to other addresses, keeping a copy in the
    /// mailbox or not; with no options, shows the forwarding.
    Forward(crate::rules_command::ForwardArgs),
    /// Sets the vacation autoresponder of a user (RFC 3834: at most one
    /// reply per sender in N days; never to lists, bulk mail, robots or
    /// automatic mail); with no options, shows it.
    Vacation(crate::rules_command::VacationArgs),
    /// Sets a user's allow and block lists of senders (wildcard
    /// patterns; allow wins over block) and whether a blocked sender's
    /// mail goes to Junk or is refused; with no options, shows them.
    Senders(crate::rules_command::SendersArgs),
    /// Deletes an account.
    Del { address: String },
    /// Lists the accounts.
    List,
}

#[derive(Clone, Copy, clap::ValueEnum)]
pub enum OnOff {
    On,
    Off,
}

/// Carries out a `postern user` command on the accounts the configuration
/// names (the file, or the database on a shared store), as the configured
/// user.
pub fn run(loaded: &Loaded, action: UserAction) -> Result<String, String> {
    let action = match action {
        UserAction::Forward(args) => return crate::rules_command::forward(loaded, args),
        UserAction::Vacation(args) => return crate::rules_command::vacation(loaded, args),
        UserAction::Senders(args) => return crate::rules_command::senders(loaded, args),
        action => action,
    };
    // What is read from the terminal is read before the database is.
    let typed = match &action {
        UserAction::Add { address, .. } => {
            // A bad address is reported before anyone types a password.
            let address = postern_core::accounts::normalize_login(address)?;
            let domains: Vec<&str> = loaded
                .config
                .domains
                .iter()
                .map(|d| d.name.as_str())
                .collect();
            postern_core::accounts::check_login_domain(&address, &domains)?;
            Some(read_new_password(&address)?.into_bytes())
        }
        UserAction::Passwd { address } => {
            let address = postern_core::accounts::normalize_login(address)?;
            Some(read_new_password(&address)?.into_bytes())
        }
        UserAction::Plan { clear: false, .. } => Some(read_plan()?),
        _ => None,
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|error| format!("cannot start the async runtime: {error}"))?;
    runtime.block_on(async {
        let at = accounts::accounts_at(loaded)?;
        let password = || String::from_utf8(typed.clone().unwrap_or_default()).unwrap_or_default();
        match action {
            UserAction::Add {
                address,
                send_as_anyone,
                admin,
            } => accounts::add(&at, &address, &password(), send_as_anyone, admin).await,
            UserAction::Passwd { address } => {
                accounts::set_password(&at, &address, &password()).await
            }
            UserAction::Name {
                address,
                name,
                clear,
            } => {
                accounts::set_real_name(&at, &address, if clear { None } else { name.as_deref() })
                    .await
            }
            UserAction::Plan { address, clear } => {
                let plan = if clear { None } else { typed.as_deref() };
                accounts::set_plan(&at, &address, plan).await
            }
            UserAction::Admin { address, state } => {
                accounts::set_admin(&at, &address, matches!(state, OnOff::On)).await
            }
            UserAction::Disabled { address, state } => {
                accounts::set_disabled(&at, &address, matches!(state, OnOff::On)).await
            }
            UserAction::Del { address } => accounts::delete(&at, &address).await,
            UserAction::List => accounts::list(&at).await,
            UserAction::Forward(_) | UserAction::Vacation(_) | UserAction::Senders(_) => {
                unreachable!("answered above")
            }
        }
    })
}

/// A plan from standard input, read up to one octet past the limit so a
/// long one is refused, not cut.
fn read_plan() -> Result<Vec<u8>, String> {
    use std::io::Read;
    let limit = postern_core::limits::FINGER_PLAN_BYTES_MAX as u64 + 1;
    let mut plan = Vec::new();
    std::io::stdin()
        .lock()
        .take(limit)
        .read_to_end(&mut plan)
        .map_err(|e| format!("cannot read the plan from standard input: {e}"))?;
    Ok(plan)
}

/// A new password: asked twice on a terminal, or the first line of
/// standard input (for scripts: `echo "$PASSWORD" | postern user add ...`).
fn read_new_password(address: &str) -> Result<String, String> {
    use std::io::{BufRead, IsTerminal};
    let password = if std::io::stdin().is_terminal() {
        let first = rpassword::prompt_password(format!("New password for {address}: "))
            .map_err(|e| format!("cannot read the password: {e}"))?;
        let again = rpassword::prompt_password("Again: ")
            .map_err(|e| format!("cannot read the password: {e}"))?;
        if first != again {
            return Err("the passwords differ; nothing was changed".to_owned());
        }
        first
    } else {
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .map_err(|e| format!("cannot read the password from standard input: {e}"))?;
        line.trim_end_matches(['\r', '\n']).to_owned()
    };
    if password.is_empty() {
        return Err("the password is empty; nothing was changed".to_owned());
    }
    Ok(password)
}
