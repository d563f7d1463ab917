//! `postern-sim`: runs scenario files on a simulated network.

use clap::{Parser, Subcommand, ValueEnum};
use postern_core::text::counted;
use postern_sim::{Options, PlantedBug, Report, Scenario, run};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

/// Runs Postern scenarios on a simulated network, on virtual time,
/// reproducibly from a seed.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Runs one scenario with one seed: prints the trace and the verdict.
    Run {
        scenario: PathBuf,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Moves faults within their jitter, as the swarm does.
        #[arg(long)]
        randomize: bool,
        /// Plants a known bug, to see the invariants catch it.
        #[arg(long, value_enum)]
        plant_bug: Option<Bug>,
    },
    /// Runs every scenario in the folders or files given with each seed in
    /// a range, faults moved within their jitter; prints a summary, and
    /// for each failure the seed and the command that replays it.
    Swarm {
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// A range of seeds, `A..B` (B excluded).
        #[arg(long, default_value = "0..100")]
        seeds: String,
        #[arg(long, value_enum)]
        plant_bug: Option<Bug>,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum Bug {
    /// The store says a message is durable before it is.
    AckBeforeSync,
    /// The queue drops a message once any recipient is delivered.
    DropAfterPartialDelivery,
    /// A mailbox hands out the UID of an expunged last message again.
    UidReuse,
    /// A POP3 update drops the mail that arrived during its session.
    ExpungeUnlisted,
    /// The maildrop lock is not taken.
    NoMaildropLock,
    /// The maildrop gives sizes without the CRs RETR sends.
    SizesWithoutCr,
    /// A POP3 update says +OK before its changes are made.
    UpdateBeforeSync,
    /// Finger counts every mailbox's new mail as the user's.
    FingerCountsEveryMailbox,
    /// Every FTP login gets one shared home.
    SharedFtpHomes,
    /// An IMAP APPEND is answered OK before the message is stored.
    AppendBeforeSync,
    /// Delivery does not wake the sessions watching the INBOX (IDLE).
    DeliveryUnannounced,
    /// An IMAP EXPUNGE also removes the next message, silently.
    ExpungeNeighbour,
    /// An NNTP POST is answered 240 before the article is stored.
    PostBeforeSync,
    /// A list's state write drops a member's suspension.
    ListLosesSuspension,
    /// A message the server writes itself is acknowledged before it is stored.
    InjectBeforeSync,
    /// Messages found in the queue at start-up count as first tries.
    FirstTryAfterRestart,
    /// A node's claim on the shared queue ignores unexpired leases.
    ClaimIgnoresLease,
    /// The shared queue writes a state without checking the writer's lease.
    FenceIgnored,
    /// A node cut off from the shared store acknowledges mail anyway.
    AckWhileCutOff,
}

impl Bug {
    fn planted(self) -> PlantedBug {
        match self {
            Bug::AckBeforeSync => PlantedBug::AckBeforeSync,
            Bug::DropAfterPartialDelivery => PlantedBug::DropAfterPartialDelivery,
            Bug::UidReuse => PlantedBug::UidReuse,
            Bug::ExpungeUnlisted => PlantedBug::ExpungeUnlisted,
            Bug::NoMaildropLock => PlantedBug::NoMaildropLock,
            Bug::SizesWithoutCr => PlantedBug::SizesWithoutCr,
            Bug::UpdateBeforeSync => PlantedBug::UpdateBeforeSync,
            Bug::FingerCountsEveryMailbox => PlantedBug::FingerCountsEveryMailbox,
            Bug::SharedFtpHomes => PlantedBug::SharedFtpHomes,
            Bug::AppendBeforeSync => PlantedBug::AppendBeforeSync,
            Bug::DeliveryUnannounced => PlantedBug::DeliveryUnannounced,
            Bug::ExpungeNeighbour => PlantedBug::ExpungeNeighbour,
            Bug::PostBeforeSync => PlantedBug::PostBeforeSync,
            Bug::ListLosesSuspension => PlantedBug::ListLosesSuspension,
            Bug::InjectBeforeSync => PlantedBug::InjectBeforeSync,
            Bug::FirstTryAfterRestart => PlantedBug::FirstTryAfterRestart,
            Bug::ClaimIgnoresLease => PlantedBug::ClaimIgnoresLease,
            Bug::FenceIgnored => PlantedBug::FenceIgnored,
            Bug::AckWhileCutOff => PlantedBug::AckWhileCutOff,
        }
    }

    fn flag(bug: Option<Bug>) -> &'static str {
        match bug {
            Some(Bug::AckBeforeSync) => " --plant-bug ack-before-sync",
            Some(Bug::DropAfterPartialDelivery) => " --plant-bug drop-after-partial-delivery",
            Some(Bug::UidReuse) => " --plant-bug uid-reuse",
            Some(Bug::ExpungeUnlisted) => " --plant-bug expunge-unlisted",
            Some(Bug::NoMaildropLock) => " --plant-bug no-maildrop-lock",
            Some(Bug::SizesWithoutCr) => " --plant-bug sizes-without-cr",
            Some(Bug::UpdateBeforeSync) => " --plant-bug update-before-sync",
            Some(Bug::FingerCountsEveryMailbox) => " --plant-bug finger-counts-every-mailbox",
            Some(Bug::SharedFtpHomes) => " --plant-bug shared-ftp-homes",
            Some(Bug::AppendBeforeSync) => " --plant-bug append-before-sync",
            Some(Bug::DeliveryUnannounced) => " --plant-bug delivery-unannounced",
            Some(Bug::ExpungeNeighbour) => " --plant-bug expunge-neighbour",
            Some(Bug::PostBeforeSync) => " --plant-bug post-before-sync",
            Some(Bug::ListLosesSuspension) => " --plant-bug list-loses-suspension",
            Some(Bug::InjectBeforeSync) => " --plant-bug inject-before-sync",
            Some(Bug::FirstTryAfterRestart) => " --plant-bug first-try-after-restart",
            Some(Bug::ClaimIgnoresLease) => " --plant-bug claim-ignores-lease",
            Some(Bug::FenceIgnored) => " --plant-bug fence-ignored",
            Some(Bug::AckWhileCutOff) => " --plant-bug ack-while-cut-off",
            None => "",
        }
    }
}

fn main() -> ExitCode {
    // `postern-sim run ... | head`: when the reader goes away, the program
    // ends quietly, as any Unix filter does, instead of panicking in the
    // next println!. The simulation opens no real sockets, so SIGPIPE's
    // default action cannot cut anything else short.
    // SAFETY: signal(2) with a valid signal and SIG_DFL, before any other
    // thread exists.
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_DFL) };
    match Cli::parse().command {
        Command::Run {
            scenario,
            seed,
            randomize,
            plant_bug,
        } => {
            let loaded = match Scenario::read(&scenario) {
                Ok(loaded) => loaded,
                Err(error) => {
                    eprintln!("{error}");
                    return ExitCode::FAILURE;
                }
            };
            let options = Options {
                seed,
                randomize,
                bug: plant_bug.map(Bug::planted),
            };
            print!("{}", header(&loaded, &scenario, &options, plant_bug));
            let report = run(&loaded, &options);
            print!("{}", report.trace);
            println!("{}", verdict(&loaded, &report));
            if report.passed() {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        Command::Swarm {
            paths,
            seeds,
            plant_bug,
        } => swarm(&paths, &seeds, plant_bug),
    }
}

/// What a run is, before its trace: the scenario's name and file, its
/// description, and the seed (with how faults are placed), so a saved
/// output says what produced it and how to produce it again.
fn header(scenario: &Scenario, path: &Path, options: &Options, bug: Option<Bug>) -> String {
    let mut text = format!("scenario: {} ({})\n", scenario.name, display(path));
    for line in scenario.description.trim().lines() {
        text.push_str(&format!("  {}\n", line.trim_end()));
    }
    let randomize = if options.randomize {
        " --randomize"
    } else {
        ""
    };
    text.push_str(&format!(
        "seed: {} ({}); replay: postern-sim run {} --seed {}{randomize}{}\n\n",
        options.seed,
        if options.randomize {
            "faults moved within their jitter"
        } else {
            "faults at their written times"
        },
        display(path),
        options.seed,
        Bug::flag(bug),
    ));
    text
}

/// Virtual time for people: "3.010s", or "2d 03:04:05" past a day.
fn virtual_time(millis: u64) -> String {
    let seconds = millis / 1000;
    if seconds < 3600 {
        return format!("{:.3}s", millis as f64 / 1000.0);
    }
    let (days, rest) = (seconds / 86_400, seconds % 86_400);
    let clock = format!(
        "{:02}:{:02}:{:02}",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60
    );
    match days {
        0 => clock,
        days => format!("{days}d {clock}"),
    }
}

fn verdict(scenario: &Scenario, report: &Report) -> String {
    let stats = report.stats;
    let mut text = format!(
        "{}: {} ({}, {} accepted, {} stored, {} refused, {} refused; \
         {} delivered to remote servers ({} at most at once), {} to local mailboxes, {}, {} left in the queue; {} virtual)",
        scenario.name,
        if report.passed() { "PASS" } else { "FAIL" },
        counted(stats.sessions, "session", "sessions"),
        stats.accepted,
        stats.stored,
        counted(stats.refused_connections, "connection", "connections"),
        counted(stats.refused_recipients, "recipient", "recipients"),
        stats.delivered,
        counted(stats.outbound_peak, "connection", "connections"),
        stats.local,
        counted(stats.bounces, "bounce", "bounces"),
        stats.queued,
        virtual_time(stats.virtual_millis),
    );
    if stats.junk > 0 {
        text.push_str(&format!(
            "; {} of the local copies quarantined to Junk",
            stats.junk
        ));
    }
    if stats.read_sessions + stats.in_use > 0 {
        text.push_str(&format!(
            "; POP3: {} sessions listed a maildrop, {} found it in use, {} messages deleted, {} updates cut part way",
            stats.read_sessions, stats.in_use, stats.expunged, stats.partial_updates
        ));
    }
    if stats.imap_sessions > 0 {
        text.push_str(&format!(
            "; IMAP: {}, {} appended, {} expunged, {} heard in IDLE, {} converged, {} cut part way",
            counted(stats.imap_sessions, "session", "sessions"),
            stats.imap_appended,
            stats.imap_expunged,
            stats.imap_idle_notices,
            stats.imap_converged,
            counted(stats.imap_partial_expunges, "expunge", "expunges"),
        ));
    }
    let news = stats.news;
    if news.sessions + news.posted + news.refused_posts > 0 {
        text.push_str(&format!(
            "; NNTP: {}, {} posted, {} posts refused, {} groups refused, {} articles read, {} cut",
            counted(news.sessions, "session", "sessions"),
            news.posted,
            news.refused_posts,
            news.refused_groups,
            news.articles_read,
            counted(news.posts_cut, "post", "posts"),
        ));
    }
    if stats.list_posts > 0 || stats.list_copies > 0 {
        text.push_str(&format!(
            "; lists: {} distributed in {} copies, {} cut by a crash and done again, {} in the crash window, {} suspended, {} confirmed by mail",
            counted(stats.list_posts, "post", "posts"),
            stats.list_copies,
            counted(stats.list_cut_expansions, "expansion", "expansions"),
            counted(stats.list_duplicates, "duplicate", "duplicates"),
            counted(stats.list_suspended, "member", "members"),
            counted(stats.list_confirmed, "subscription", "subscriptions"),
        ));
    }
    if stats.lease_claims > 0 {
        text.push_str(&format!(
            "; shared queue: {} claimed, {} taken over after a lease ran out, {} refused by the fence, {} refused for want of the store",
            counted(stats.lease_claims, "lease", "leases"),
            stats.lease_takeovers,
            counted(stats.fenced_writes, "write", "writes"),
            counted(stats.store_unreachable, "call", "calls"),
        ));
    }
    for violation in &report.violations {
        text.push_str(&format!("\n  violated: {violation}"));
    }
    text
}

fn scenario_files(paths: &[PathBuf]) -> Result<Vec<PathBuf>, String> {
    let mut files = Vec::new();
    for path in paths {
        if path.is_dir() {
            let entries =
                std::fs::read_dir(path).map_err(|e| format!("{}: {e}", path.display()))?;
            let mut found: Vec<PathBuf> = entries
                .filter_map(|entry| entry.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|e| e == "toml"))
                .collect();
            found.sort();
            files.extend(found);
        } else {
            files.push(path.clone());
        }
    }
    Ok(files)
}

fn parse_seeds(text: &str) -> Result<std::ops::Range<u64>, String> {
    let bad = || format!("--seeds {text}: write a range such as 0..300");
    let (start, end) = text.split_once("..").ok_or_else(bad)?;
    let (start, end) = (
        start.parse().map_err(|_| bad())?,
        end.parse().map_err(|_| bad())?,
    );
    if start >= end {
        return Err(bad());
    }
    Ok(start..end)
}

/// Runs `scenario` with every seed, on as many threads as there are cores
/// (each run is a world of its own, on one thread); the reports come back
/// in seed order.
fn run_seeds(
    scenario: &Scenario,
    seeds: std::ops::Range<u64>,
    bug: Option<PlantedBug>,
) -> Vec<(u64, Report)> {
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get()) as u64;
    let mut reports: Vec<(u64, Report)> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..workers)
            .map(|worker| {
                let seeds = seeds.clone();
                scope.spawn(move || {
                    seeds
                        .filter(|seed| seed % workers == worker)
                        .map(|seed| {
                            let options = Options {
                                seed,
                                randomize: true,
                                bug,
                            };
                            (seed, run(scenario, &options))
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|handle| handle.join().expect("a simulated run panicked"))
            .collect()
    });
    reports.sort_by_key(|(seed, _)| *seed);
    reports
}

fn swarm(paths: &[PathBuf], seeds: &str, bug: Option<Bug>) -> ExitCode {
    let (files, seeds) = match (scenario_files(paths), parse_seeds(seeds)) {
        (Ok(files), Ok(seeds)) => (files, seeds),
        (Err(error), _) | (_, Err(error)) => {
            eprintln!("{error}");
            return ExitCode::FAILURE;
        }
    };
    let started = Instant::now();
    let (mut runs, mut failures, mut transactions, mut imap_sessions) = (0u64, 0u64, 0u64, 0u64);
    let mut short = ShortInbound::default();
    for file in &files {
        let scenario = match Scenario::read(file) {
            Ok(scenario) => scenario,
            Err(error) => {
                eprintln!("{error}");
                return ExitCode::FAILURE;
            }
        };
        let mut failed = 0;
        let planted = bug.map(Bug::planted);
        let scenario_started = Instant::now();
        let reports = run_seeds(&scenario, seeds.clone(), planted);
        if is_short_inbound(&scenario) {
            short.add(&scenario.name, scenario_started.elapsed(), &reports);
        }
        for (seed, report) in reports {
            runs += 1;
            transactions += u64::from(report.stats.sessions) + u64::from(report.stats.delivered);
            imap_sessions += u64::from(report.stats.imap_sessions);
            if !report.passed() {
                failures += 1;
                failed += 1;
                println!(
                    "FAIL {} seed {seed}: {}\n  replay: postern-sim run {} --seed {seed} --randomize{}",
                    scenario.name,
                    report.violations.join("; "),
                    display(file),
                    Bug::flag(bug)
                );
            }
        }
        println!(
            "{:<28} {}, {} failed",
            scenario.name,
            counted(seeds.end - seeds.start, "seed", "seeds"),
            failed
        );
    }
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "swarm: {runs} runs, {failures} failed, {transactions} simulated SMTP transactions (sessions in, deliveries out), {imap_sessions} IMAP sessions in {seconds:.1}s ({:.0} transactions/s)",
        transactions as f64 / seconds.max(1e-9)
    );
    if let Some(line) = short.summary() {
        println!("{line}");
    }
    if failures == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// A short inbound scenario: every client is an SMTP sender or a flood
/// (no reader, no other protocol), and it lasts ten minutes at most. Its
/// runs are SMTP sessions into our server and little else, so their rate
/// is the figure for the accept path, apart from the long delivery
/// scenarios that the transactions per second mix in.
fn is_short_inbound(scenario: &Scenario) -> bool {
    let other_clients = scenario.readers.len()
        + scenario.tunnel_clients.len()
        + scenario.finger_clients.len()
        + scenario.ftp_clients.len()
        + scenario.imap_clients.len()
        + scenario.news_clients.len()
        + scenario.list_subscribers.len();
    other_clients == 0
        && scenario.senders.len() + scenario.floods.len() > 0
        && scenario.duration <= SHORT_INBOUND_DURATION_MAX
}

/// The longest scenario counted as a short inbound one.
const SHORT_INBOUND_DURATION_MAX: std::time::Duration = std::time::Duration::from_secs(10 * 60);

/// The sessions of the short inbound scenarios, and the time they took.
#[derive(Default)]
struct ShortInbound {
    names: Vec<String>,
    sessions: u64,
    elapsed: std::time::Duration,
}

impl ShortInbound {
    fn add(&mut self, name: &str, elapsed: std::time::Duration, reports: &[(u64, Report)]) {
        self.names.push(name.to_owned());
        self.elapsed += elapsed;
        self.sessions += reports
            .iter()
            .map(|(_, report)| u64::from(report.stats.sessions))
            .sum::<u64>();
    }

    fn summary(&self) -> Option<String> {
        if self.names.is_empty() {
            return None;
        }
        let seconds = self.elapsed.as_secs_f64();
        Some(format!(
            "short inbound scenarios ({}): {} SMTP sessions in {seconds:.1}s ({:.0} sessions/s)",
            self.names.join(", "),
            self.sessions,
            self.sessions as f64 / seconds.max(1e-9)
        ))
    }
}

fn display(path: &Path) -> String {
    path.display().to_string()
}
