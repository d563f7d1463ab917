//! Commands on files and directories (RFC 959 4.1.1-4.1.3, RFC 3659):
//! each path confined to the home by [`path::resolve`], then handed to
//! the driver as a [`FileRequest`].

use super::FtpServer;
use crate::ftp::codec::{self, Command};
use crate::ftp::listing::{self, FileInfo, FileKind, Listing, ListingFormat};
use crate::ftp::path::{self, FtpPath};
use crate::ftp::state::{Pending, State};
use crate::ftp::{Event, FileFailure, FileRequest, Output, Request};
use crate::limits::FTP_LISTING_ENTRIES_MAX;

impl FtpServer {
    /// Resolves a client's path against the working directory; a path
    /// that would leave the home is refused here (550) and logged.
    pub(super) fn confine(&mut self, argument: &str) -> Option<FtpPath> {
        let cwd = self
            .user
            .as_ref()
            .map(|u| u.cwd.clone())
            .unwrap_or_default();
        match path::resolve(&cwd, argument) {
            Ok(path) => Some(path),
            Err(error) => {
                let mut reply = Vec::new();
                codec::reply(&mut reply, 550, &error.to_string());
                self.output.push_back(Output::Event(Event::PathRefused {
                    reply: super::reply_text(&reply),
                }));
                self.send(reply);
                self.count_error();
                None
            }
        }
    }

    fn ask(&mut self, pending: Pending, request: FileRequest) {
        self.state = State::AwaitingFile(pending);
        self.request(Request::File(request));
    }

    pub(super) fn handle_file_command(&mut self, command: Command) {
        // RNFR must be followed at once by RNTO (RFC 959 4.1.3).
        let rename_from = self.user_mut().rename_from.take();
        match command {
            Command::Pwd => {
                let cwd = self.user_mut().cwd.to_string();
                self.reply(
                    257,
                    &format!("{} is the current directory", codec::quoted(&cwd)),
                );
            }
            Command::Cdup => {
                let user = self.user_mut();
                user.cwd = user.cwd.parent();
                self.reply(250, "Directory successfully changed");
            }
            Command::Cwd(argument) => self.with_path(&argument, |p| {
                (Pending::Cwd(p.clone()), FileRequest::Stat(p))
            }),
            Command::Size(argument) => {
                self.with_path(&argument, |p| (Pending::Size, FileRequest::Stat(p)))
            }
            Command::Mdtm(argument) => {
                self.with_path(&argument, |p| (Pending::Mdtm, FileRequest::Stat(p)))
            }
            Command::Mlst(argument) => self.with_path(&argument, |p| {
                (Pending::Mlst(p.clone()), FileRequest::Stat(p))
            }),
            Command::Rnfr(argument) => self.with_path(&argument, |p| {
                (Pending::Rnfr(p.clone()), FileRequest::Stat(p))
            }),
            Command::Mkd(argument) => self.change(&argument, "MKD", |p| {
                let text = format!("{} created", codec::quoted(&p.to_string()));
                (257, text, FileRequest::MakeDir(p))
            }),
            Command::Rmd(argument) => self.change(&argument, "RMD", |p| {
                (
                    250,
                    "Remove directory operation successful".into(),
                    FileRequest::RemoveDir(p),
                )
            }),
            Command::Dele(argument) => self.change(&argument, "DELE", |p| {
                (
                    250,
                    "Delete operation successful".into(),
                    FileRequest::Delete(p),
                )
            }),
            Command::Rnto(argument) => {
                let Some(from) = rename_from else {
                    return self.refuse(503, "RNFR required first");
                };
                self.change(&argument, "RNTO", |to| {
                    (
                        250,
                        "Rename successful".into(),
                        FileRequest::Rename { from, to },
                    )
                });
            }
            Command::List(argument) => self.start_listing(&argument, ListingFormat::List),
            Command::Nlst(argument) => self.start_listing(&argument, ListingFormat::Nlst),
            Command::Mlsd(argument) => self.start_listing(&argument, ListingFormat::Mlsd),
            Command::Retr(argument) => self.start_retrieve(&argument),
            Command::Stor(argument) => self.start_store(&argument, false),
            Command::Appe(argument) => self.start_store(&argument, true),
            other => unreachable!("{other:?} is handled by the command table"),
        }
    }

    fn with_path(&mut self, argument: &str, make: impl FnOnce(FtpPath) -> (Pending, FileRequest)) {
        if let Some(path) = self.confine(argument) {
            let (pending, request) = make(path);
            self.ask(pending, request);
        }
    }

    /// MKD, RMD, DELE and RNTO: the home itself is never changed.
    fn change(
        &mut self,
        argument: &str,
        what: &'static str,
        make: impl FnOnce(FtpPath) -> (u16, String, FileRequest),
    ) {
        let Some(path) = self.confine(argument) else {
            return;
        };
        if path.is_root() {
            return self.refuse(550, "Permission denied: that is your home directory");
        }
        let (code, text, request) = make(path.clone());
        if let FileRequest::Rename { from, .. } = &request
            && from.is_root()
        {
            return self.refuse(550, "Permission denied: that is your home directory");
        }
        self.ask(
            Pending::Change {
                what,
                path,
                code,
                text,
            },
            request,
        );
    }

    pub(in crate::ftp) fn stat_answered(&mut self, result: Result<FileInfo, FileFailure>) {
        let pending = match std::mem::replace(&mut self.state, State::ExpectCommand) {
            State::AwaitingFile(pending) => pending,
            State::Closed => {
                self.state = State::Closed;
                return;
            }
            other => panic!("Stat in state {other:?}"),
        };
        if let Pending::StoreTarget { .. } = pending {
            let found = result.map(|info| info.kind);
            return self.store_target_checked(pending, found);
        }
        let info = match result {
            Ok(info) => info,
            Err(failure) => return self.refuse_file(failure),
        };
        let is_file = info.kind == FileKind::File;
        match pending {
            Pending::Cwd(path) if !is_file => {
                self.user_mut().cwd = path;
                self.reply(250, "Directory successfully changed");
            }
            Pending::Cwd(_) => self.refuse_file(FileFailure::NotADirectory),
            Pending::Size if is_file => self.reply(213, &info.size.to_string()),
            Pending::Mdtm if is_file => self.reply(213, &listing::time_value(info.modified)),
            Pending::Size | Pending::Mdtm => self.refuse(550, "Not a regular file"),
            Pending::Mlst(path) => {
                let line = listing::mlsx_line(&FileInfo {
                    name: path.to_string(),
                    ..info
                });
                let mut bytes = Vec::new();
                let first = format!("Listing {path}");
                codec::multi_line(&mut bytes, 250, &first, &[line], "End");
                self.send(bytes);
            }
            Pending::Rnfr(path) => {
                self.user_mut().rename_from = Some(path);
                self.reply(350, "Ready for RNTO");
            }
            Pending::Retr {
                path,
                offset,
                channel,
            } if is_file => self.retrieve_file(path, offset, channel, info.size),
            Pending::Retr { .. } => self.refuse(550, "Failed to open file: not a regular file"),
            other => panic!("Stat answers {other:?}"),
        }
    }

    pub(in crate::ftp) fn file_done(&mut self, result: Result<(), FileFailure>) {
        let pending = match std::mem::replace(&mut self.state, State::ExpectCommand) {
            State::AwaitingFile(pending) => pending,
            State::Closed => {
                self.state = State::Closed;
                return;
            }
            other => panic!("FileDone in state {other:?}"),
        };
        let Pending::Change {
            what,
            path,
            code,
            text,
        } = pending
        else {
            panic!("FileDone answers {pending:?}");
        };
        match result {
            Ok(()) => {
                self.output
                    .push_back(Output::Event(Event::Changed { what, path }));
                self.reply(code, &text);
            }
            Err(failure) => self.refuse_file(failure),
        }
    }

    pub(in crate::ftp) fn listed(&mut self, result: Result<Listing, FileFailure>) {
        let pending = match std::mem::replace(&mut self.state, State::ExpectCommand) {
            State::AwaitingFile(pending) => pending,
            State::Closed => {
                self.state = State::Closed;
                return;
            }
            other => panic!("Listed in state {other:?}"),
        };
        let Pending::Listing {
            path,
            format,
            channel,
        } = pending
        else {
            panic!("Listed answers {pending:?}");
        };
        match result {
            Ok(mut listing) => {
                if listing.entries.len() > FTP_LISTING_ENTRIES_MAX {
                    listing.left_out += listing.entries.len() - FTP_LISTING_ENTRIES_MAX;
                    listing.entries.truncate(FTP_LISTING_ENTRIES_MAX);
                }
                let bytes = listing::render(&listing, format);
                self.send_listing(path, format, channel, bytes);
            }
            Err(failure) => self.refuse_file(failure),
        }
    }

    /// A file request failed: its reply, counted as the client's error
    /// unless the disk is at fault.
    pub(super) fn refuse_file(&mut self, failure: FileFailure) {
        let (code, text) = failure.reply();
        if failure == FileFailure::Unavailable {
            self.reply(code, text);
        } else {
            self.refuse(code, text);
        }
    }
}
