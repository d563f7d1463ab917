//! `postern list ...`: make, change and remove lists, and manage their
//! members, in the data directory. Member changes take effect at once
//! (delivery reads the state at each message, under the list's lock); a
//! list created or deleted here is taken up by a running server at its
//! next reload (SIGHUP) or start, when the directory learns its address.

use super::{DEFINITION_FILE, all, list_dir, read_definition, read_state, update_state};
use crate::config_file::Loaded;
use crate::spool::{create_dir_durably, replace_file};
use clap::Subcommand;
use postern_core::config::{parse_list_file, render_list_file};
use postern_core::lists::{Delivery, ListDefinition, ListKind, Member};
use postern_core::rng::Rng;

#[derive(Subcommand)]
pub enum ListAction {
    /// Makes a list, kept in the data directory.
    Create {
        /// The list's address, in one of the configured domains.
        address: String,
        /// open, closed or moderated.
        #[arg(long, default_value = "open")]
        kind: String,
        /// An owner's address; may be repeated.
        #[arg(long)]
        owner: Vec<String>,
        /// A moderator's address; may be repeated.
        #[arg(long)]
        moderator: Vec<String>,
        /// Put in front of each post's subject, such as "[team]".
        #[arg(long)]
        subject_tag: Option<String>,
        #[arg(long, default_value = "")]
        description: String,
    },
    /// Changes one setting of a created list: kind, owners, moderators
    /// (comma-separated), subject_tag, description, newsgroup,
    /// bounce_threshold, bounce_window, members_visible. An empty value
    /// clears subject_tag and newsgroup.
    Set {
        address: String,
        key: String,
        value: String,
    },
    /// Removes a created list and its members; its archive mailbox stays.
    Delete { address: String },
    /// Lists a list's members, or adds, removes or changes them (an
    /// operator's change needs no confirmation).
    Members {
        address: String,
        #[command(subcommand)]
        action: Option<MembersAction>,
    },
    /// Shows every list, or one in full.
    Show { address: Option<String> },
}

#[derive(Subcommand)]
pub enum MembersAction {
    /// Subscribes addresses at once, receiving mail.
    Add { addresses: Vec<String> },
    /// Unsubscribes addresses.
    Remove { addresses: Vec<String> },
    /// Changes a member: delivery (mail, digest, nomail, suspended),
    /// moderated (yes, no) or barred (yes, no).
    Set {
        address: String,
        key: String,
        value: String,
    },
}

/// Carries out `action`; answers what to print.
pub fn run(loaded: &Loaded, action: ListAction) -> Result<String, String> {
    match action {
        ListAction::Create {
            address,
            kind,
            owner,
            moderator,
            subject_tag,
            description,
        } => {
            let mailbox = postern_core::address::parse_mailbox(&address).map_err(|_| {
                format!("\"{address}\" is not a list address such as team@example.com")
            })?;
            let mut definition = ListDefinition::new(&mailbox.local_part, &mailbox.domain);
            definition.kind = ListKind::parse(&kind).ok_or_else(|| {
                format!("\"{kind}\" is not a list kind: write open, closed or moderated")
            })?;
            definition.owners = owner;
            definition.moderators = moderator;
            definition.subject_tag = subject_tag;
            definition.description = description;
            create(loaded, definition)
        }
        ListAction::Set {
            address,
            key,
            value,
        } => set(loaded, &address, &key, &value),
        ListAction::Delete { address } => delete(loaded, &address),
        ListAction::Members { address, action } => members(loaded, &address, action),
        ListAction::Show { address } => show(loaded, address.as_deref()),
    }
}

fn find(loaded: &Loaded, address: &str) -> Result<(ListDefinition, bool), String> {
    let address = address.to_lowercase();
    if let Some(list) = loaded
        .config
        .lists
        .lists
        .iter()
        .find(|l| l.address() == address)
    {
        return Ok((list.clone(), true));
    }
    let path = list_dir(&loaded.data_dir, &address).join(DEFINITION_FILE);
    if !path.is_file() {
        return Err(format!("{address} is no list (see `postern list show`)"));
    }
    read_definition(&path, &loaded.config).map(|d| (d, false))
}

/// Writes `definition` for `address` after checking it as the
/// configuration would.
fn write_definition(
    loaded: &Loaded,
    address: &str,
    definition: &ListDefinition,
) -> Result<ListDefinition, String> {
    let text = render_list_file(definition);
    let checked = parse_list_file(&text, &loaded.config.domains).map_err(|errors| {
        errors
            .iter()
            .map(|e| e.render(address, &text))
            .collect::<Vec<_>>()
            .join("\n")
    })?;
    let dir = list_dir(&loaded.data_dir, &checked.address());
    let io = |e: std::io::Error| format!("{}: {e}", dir.display());
    create_dir_durably(&super::lists_dir(&loaded.data_dir)).map_err(io)?;
    create_dir_durably(&dir).map_err(io)?;
    replace_file(
        &dir.join(DEFINITION_FILE),
        render_list_file(&checked).as_bytes(),
    )
    .map_err(io)?;
    Ok(checked)
}

fn create(loaded: &Loaded, definition: ListDefinition) -> Result<String, String> {
    let (lists, _) = all(&loaded.config, &loaded.data_dir);
    let address = definition.address();
    if lists.iter().any(|l| l.address() == address) {
        return Err(format!("{address} is a list already"));
    }
    let list = write_definition(loaded, &address, &definition)?;
    Ok(format!(
        "created the {} list {} (commands to {}); a running server takes it up at its next reload (SIGHUP)",
        list.kind,
        list.address(),
        list.request_address()
    ))
}

fn set(loaded: &Loaded, address: &str, key: &str, value: &str) -> Result<String, String> {
    let (mut list, declared) = find(loaded, address)?;
    if declared {
        return Err(format!(
            "{} is a [[list]] of {}; change it there",
            list.address(),
            loaded.origin
        ));
    }
    let addresses = |value: &str| -> Vec<String> {
        value
            .split(',')
            .map(|a| a.trim().to_lowercase())
            .filter(|a| !a.is_empty())
            .collect()
    };
    match key {
        "kind" => {
            list.kind = ListKind::parse(value).ok_or_else(|| {
                format!("\"{value}\" is not a list kind: write open, closed or moderated")
            })?;
        }
        "owners" => list.owners = addresses(value),
        "moderators" => list.moderators = addresses(value),
        "subject_tag" => list.subject_tag = Some(value.to_owned()).filter(|v| !v.is_empty()),
        "description" => list.description = value.to_owned(),
        "newsgroup" => {
            list.newsgroup = if value.is_empty() {
                None
            } else {
                Some(
                    postern_core::nntp::GroupName::new(value)
                        .map_err(|e| format!("\"{value}\": {e}"))?,
                )
            };
        }
        "bounce_threshold" => {
            list.bounce_threshold = value
                .parse()
                .map_err(|_| format!("\"{value}\" is not a number"))?;
        }
        "bounce_window" => {
            list.bounce_window = humantime::parse_duration(value)
                .map_err(|_| format!("\"{value}\" is not a duration such as \"7days\""))?;
        }
        "members_visible" => {
            list.members_visible = match value {
                "owners" => postern_core::lists::MembersVisible::Owners,
                "subscribers" => postern_core::lists::MembersVisible::Subscribers,
                _ => return Err(format!("\"{value}\" is not owners or subscribers")),
            };
        }
        _ => {
            return Err(format!(
                "\"{key}\" is no list setting: kind, owners, moderators, subject_tag, description, newsgroup, bounce_threshold, bounce_window or members_visible"
            ));
        }
    }
    let list = write_definition(loaded, &list.address(), &list)?;
    Ok(format!("{}: {key} set", list.address()))
}

fn delete(loaded: &Loaded, address: &str) -> Result<String, String> {
    let (list, declared) = find(loaded, address)?;
    if declared {
        return Err(format!(
            "{} is a [[list]] of {}; remove it there",
            list.address(),
            loaded.origin
        ));
    }
    let dir = list_dir(&loaded.data_dir, &list.address());
    std::fs::remove_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    Ok(format!(
        "deleted {} and its members; its archive (the mailbox {}) stays",
        list.address(),
        list.address()
    ))
}

fn members(
    loaded: &Loaded,
    address: &str,
    action: Option<MembersAction>,
) -> Result<String, String> {
    let (list, _) = find(loaded, address)?;
    let dir = list_dir(&loaded.data_dir, &list.address());
    let io = |e: std::io::Error| e.to_string();
    match action {
        None => {
            let state = read_state(&dir).map_err(io)?;
            let mut text = String::new();
            for (address, member) in &state.members {
                text.push_str(&describe_member(address, member));
                text.push('\n');
            }
            if text.is_empty() {
                text = format!("{} has no members\n", list.address());
            }
            Ok(text)
        }
        Some(MembersAction::Add { addresses }) => {
            let mut checked = Vec::new();
            for address in &addresses {
                postern_core::address::parse_mailbox(address).map_err(|_| {
                    format!("\"{address}\" is not an address such as alice@example.com")
                })?;
                checked.push(address.to_lowercase());
            }
            let mut rng = Rng::new(super::fresh_seed());
            let added = update_state(&dir, |state| {
                let mut added = Vec::new();
                for address in checked {
                    if state.members.contains_key(&address) {
                        continue;
                    }
                    let token = format!("{:016x}{:016x}", rng.next_u64(), rng.next_u64());
                    state.members.insert(
                        address.clone(),
                        Member {
                            delivery: Delivery::Mail,
                            moderated: false,
                            barred: false,
                            token,
                        },
                    );
                    added.push(address);
                }
                let changed = !added.is_empty();
                Ok((added, changed))
            })
            .map_err(io)?;
            Ok(format!(
                "{}: added {}",
                list.address(),
                if added.is_empty() {
                    "nobody new".to_owned()
                } else {
                    added.join(", ")
                }
            ))
        }
        Some(MembersAction::Remove { addresses }) => {
            let removed = update_state(&dir, |state| {
                let removed: Vec<String> = addresses
                    .iter()
                    .map(|a| a.to_lowercase())
                    .filter(|a| {
                        state.bounces.remove(a);
                        state.members.remove(a).is_some()
                    })
                    .collect();
                let changed = !removed.is_empty();
                Ok((removed, changed))
            })
            .map_err(io)?;
            if removed.is_empty() {
                return Err(format!("{}: none of those is a member", list.address()));
            }
            Ok(format!(
                "{}: removed {}",
                list.address(),
                removed.join(", ")
            ))
        }
        Some(MembersAction::Set {
            address,
            key,
            value,
        }) => {
            let address = address.to_lowercase();
            let flag = |value: &str| match value {
                "yes" | "on" | "true" => Ok(true),
                "no" | "off" | "false" => Ok(false),
                _ => Err(format!("\"{value}\" is not yes or no")),
            };
            update_state(&dir, |state| {
                let Some(member) = state.members.get_mut(&address) else {
                    return Ok((
                        Err(format!("{address} is not a member of {}", list.address())),
                        false,
                    ));
                };
                let result = match key.as_str() {
                    "delivery" => match value.as_str() {
                        "mail" => Ok(Delivery::Mail),
                        "digest" => Ok(Delivery::Digest),
                        "nomail" => Ok(Delivery::NoMail),
                        "suspended" => Ok(Delivery::Suspended),
                        _ => Err(format!(
                            "\"{value}\" is not mail, digest, nomail or suspended"
                        )),
                    }
                    .map(|d| member.delivery = d),
                    "moderated" => flag(&value).map(|f| member.moderated = f),
                    "barred" => flag(&value).map(|f| member.barred = f),
                    _ => Err(format!(
                        "\"{key}\" is no member setting: delivery, moderated or barred"
                    )),
                };
                let text = result.map(|()| describe_member(&address, member));
                let changed = text.is_ok();
                if changed && key == "delivery" {
                    state.bounces.remove(&address);
                }
                Ok((text, changed))
            })
            .map_err(io)?
        }
    }
}

fn describe_member(address: &str, member: &Member) -> String {
    let delivery = match member.delivery {
        Delivery::Mail => "mail",
        Delivery::Digest => "digest",
        Delivery::NoMail => "nomail",
        Delivery::Suspended => "suspended (bounces)",
    };
    let mut text = format!("{address}: {delivery}");
    if member.moderated {
        text.push_str(", moderated");
    }
    if member.barred {
        text.push_str(", barred");
    }
    text
}

fn show(loaded: &Loaded, address: Option<&str>) -> Result<String, String> {
    let (lists, problems) = all(&loaded.config, &loaded.data_dir);
    let mut text = String::new();
    let wanted = address.map(str::to_lowercase);
    if let Some(address) = &wanted
        && !lists.iter().any(|l| &l.address() == address)
    {
        return Err(format!("{address} is no list (see `postern list show`)"));
    }
    for list in lists
        .iter()
        .filter(|l| wanted.as_ref().is_none_or(|a| &l.address() == a))
    {
        let state =
            read_state(&list_dir(&loaded.data_dir, &list.address())).map_err(|e| e.to_string())?;
        let origin = if loaded.config.lists.lists.contains(list) {
            "configuration"
        } else {
            "created"
        };
        text.push_str(&format!(
            "{} ({} list, {origin}): {} member(s), {} pending, {} held\n",
            list.address(),
            list.kind,
            state.members.len(),
            state.pending.len(),
            state.held.len()
        ));
        if wanted.is_some() {
            text.push_str(&detail(list));
        }
    }
    for problem in problems {
        text.push_str(&format!("left out: {problem}\n"));
    }
    if text.is_empty() {
        text = "no lists\n".into();
    }
    Ok(text)
}

fn detail(list: &ListDefinition) -> String {
    let none = |v: &[String]| {
        if v.is_empty() {
            "none".to_owned()
        } else {
            v.join(", ")
        }
    };
    format!(
        "  commands: {}\n  owners: {}\n  moderators: {}\n  subject tag: {}\n  description: {}\n  newsgroup: {}\n  bounces: {} within {}\n",
        list.request_address(),
        none(&list.owners),
        none(&list.moderators),
        list.subject_tag.as_deref().unwrap_or("none"),
        list.description,
        list.newsgroup
            .as_ref()
            .map_or("none".to_owned(), ToString::to_string),
        list.bounce_threshold,
        humantime::format_duration(list.bounce_window),
    )
}
