//! Data connections (RFC 959 PASV/PORT, RFC 2428 EPSV/EPRT, with the
//! bounce rule of RFC 2577) and transfers: LIST/NLST/MLSD, RETR, STOR and
//! APPE with REST, the quota, and ABOR.

use super::{FtpServer, reply_text};
use crate::ftp::codec::EpsvArgument;
use crate::ftp::data::{self, check_active_target};
use crate::ftp::listing::ListingFormat;
use crate::ftp::path::FtpPath;
use crate::ftp::state::{Pending, State, Transferring, listing_kind};
use crate::ftp::{
    DataChannel, Event, FileFailure, FileRequest, Output, PassiveFailure, Request, Transfer,
    TransferAction, TransferFailure, TransferKind,
};
use std::net::{IpAddr, SocketAddr};

impl FtpServer {
    pub(super) fn handle_pasv(&mut self, extended: bool) {
        if self.epsv_all && !extended {
            return self.refuse(503, "PASV is not allowed after EPSV ALL");
        }
        if !extended && data::pasv_text(self.info.local.ip(), 0).is_none() {
            return self.refuse(425, "PASV cannot name an IPv6 address: use EPSV");
        }
        self.user_mut().data = None;
        self.state = State::AwaitingPassive { extended };
        self.request(Request::OpenPassive);
    }

    pub(super) fn handle_epsv(&mut self, argument: EpsvArgument) {
        let family = if self.info.local.ip().to_canonical().is_ipv4() {
            1
        } else {
            2
        };
        match argument {
            EpsvArgument::All => {
                self.epsv_all = true;
                self.reply(200, "EPSV ALL ok")
            }
            EpsvArgument::Protocol(asked) if asked != family => self.refuse(
                522,
                &format!("Network protocol not supported, use ({family})"),
            ),
            _ => self.handle_pasv(true),
        }
    }

    /// PORT and EPRT: only toward the client's own address, on an
    /// unprivileged port (the bounce attack, RFC 2577 3).
    pub(super) fn handle_port(&mut self, target: SocketAddr) {
        if self.epsv_all {
            return self.refuse(503, "PORT is not allowed after EPSV ALL");
        }
        if let Err(refusal) = check_active_target(self.info.remote.ip(), target) {
            let mut reply = Vec::new();
            crate::ftp::codec::reply(&mut reply, 500, &refusal.to_string());
            self.output.push_back(Output::Event(Event::ActiveRefused {
                target,
                reply: reply_text(&reply),
            }));
            self.send(reply);
            return self.count_error();
        }
        self.output.push_back(Output::ClosePassive);
        self.user_mut().data = Some(DataChannel::Active(target));
        self.reply(200, "PORT command successful. Consider using PASV");
    }

    pub(in crate::ftp) fn passive_opened(&mut self, result: Result<u16, PassiveFailure>) {
        let extended = match std::mem::replace(&mut self.state, State::ExpectCommand) {
            State::AwaitingPassive { extended } => extended,
            State::Closed => {
                self.state = State::Closed;
                return;
            }
            other => panic!("PassiveOpened in state {other:?}"),
        };
        let Ok(port) = result else {
            return self.reply(425, "Cannot open a passive port, try again later");
        };
        self.user_mut().data = Some(DataChannel::Passive);
        let local: IpAddr = self.info.local.ip();
        match (extended, data::pasv_text(local, port)) {
            (false, Some(text)) => self.reply(227, &text),
            _ => self.reply(229, &data::epsv_text(port)),
        }
    }

    /// The data channel a transfer may use, or a refusal (425 with no
    /// PORT or PASV; 521 where data must be protected and is not).
    fn data_channel(&mut self) -> Option<DataChannel> {
        if self.config.requires_protected_data() && !self.protect {
            self.refuse(
                521,
                "Data connections must be protected: send PBSZ 0 and PROT P (RFC 4217)",
            );
            return None;
        }
        let channel = self.user_mut().data;
        if channel.is_none() {
            self.refuse(425, "Use PORT, PASV, EPRT or EPSV first");
        }
        channel
    }

    pub(super) fn start_listing(&mut self, argument: &str, format: ListingFormat) {
        let Some(path) = self.confine(argument) else {
            return;
        };
        if let Some(channel) = self.data_channel() {
            self.state = State::AwaitingFile(Pending::Listing {
                path: path.clone(),
                format,
                channel,
            });
            self.request(Request::File(FileRequest::List(path)));
        }
    }

    pub(super) fn start_retrieve(&mut self, argument: &str) {
        let offset = std::mem::take(&mut self.user_mut().rest);
        let Some(path) = self.confine(argument) else {
            return;
        };
        if let Some(channel) = self.data_channel() {
            self.state = State::AwaitingFile(Pending::Retr {
                path: path.clone(),
                offset,
                channel,
            });
            self.request(Request::File(FileRequest::Stat(path)));
        }
    }

    pub(super) fn start_store(&mut self, argument: &str, append: bool) {
        let rest = std::mem::take(&mut self.user_mut().rest);
        let offset = if append { 0 } else { rest };
        let Some(path) = self.confine(argument) else {
            return;
        };
        if path.is_root() {
            return self.refuse(550, "Is a directory");
        }
        let Some(channel) = self.data_channel() else {
            return;
        };
        self.state = State::AwaitingFile(Pending::StoreTarget {
            path: path.clone(),
            append,
            offset,
            channel,
            parent: false,
        });
        self.request(Request::File(FileRequest::Stat(path)));
    }

    /// The upload's target, looked at before any 150: a directory, a
    /// symbolic link, a special file or a missing directory is refused
    /// here, so the client hears 550 instead of a data connection that
    /// fails.
    pub(super) fn store_target_checked(
        &mut self,
        pending: Pending,
        found: Result<crate::ftp::FileKind, FileFailure>,
    ) {
        use crate::ftp::FileKind;
        let Pending::StoreTarget {
            path,
            append,
            offset,
            channel,
            parent,
        } = pending
        else {
            unreachable!("only a store target is checked here");
        };
        match (parent, found) {
            (false, Ok(FileKind::File)) | (true, Ok(FileKind::Directory)) => {}
            (false, Err(FileFailure::NotFound)) if path.parent().is_root() => {}
            (false, Err(FileFailure::NotFound)) => {
                // A new file: its directory must be there.
                let directory = path.parent();
                self.state = State::AwaitingFile(Pending::StoreTarget {
                    path,
                    append,
                    offset,
                    channel,
                    parent: true,
                });
                return self.request(Request::File(FileRequest::Stat(directory)));
            }
            (false, Ok(FileKind::Directory)) => {
                return self.refuse_file(FileFailure::IsADirectory);
            }
            (true, Ok(FileKind::File)) => return self.refuse_file(FileFailure::NotADirectory),
            (_, Err(failure)) => return self.refuse_file(failure),
        }
        self.state = State::AwaitingFile(Pending::Store {
            path,
            append,
            offset,
            channel,
        });
        self.request(Request::File(FileRequest::Usage));
    }

    pub(in crate::ftp) fn usage_answered(&mut self, result: Result<u64, FileFailure>) {
        let pending = match std::mem::replace(&mut self.state, State::ExpectCommand) {
            State::AwaitingFile(pending) => pending,
            State::Closed => {
                self.state = State::Closed;
                return;
            }
            other => panic!("Usage in state {other:?}"),
        };
        let Pending::Store {
            path,
            append,
            offset,
            channel,
        } = pending
        else {
            panic!("Usage answers {pending:?}");
        };
        let used = match result {
            Ok(used) => used,
            Err(failure) => return self.refuse_file(failure),
        };
        let kind = if append {
            TransferKind::Appe
        } else {
            TransferKind::Stor
        };
        if used >= self.config.quota {
            let mut reply = Vec::new();
            crate::ftp::codec::reply(
                &mut reply,
                552,
                "Exceeded storage allocation: your quota is full",
            );
            self.output.push_back(Output::Event(Event::TransferFailed {
                kind,
                path,
                reply: reply_text(&reply),
            }));
            return self.send(reply);
        }
        self.reply(150, "Ok to send data");
        let action = TransferAction::Store {
            path: path.clone(),
            append,
            offset,
            limit: self.config.quota - used,
        };
        self.start_transfer(kind, path, channel, action);
    }

    pub(super) fn retrieve_file(
        &mut self,
        path: FtpPath,
        offset: u64,
        channel: DataChannel,
        size: u64,
    ) {
        if offset > size {
            return self.refuse(554, "Restart position beyond the end of the file");
        }
        let name = path.name().unwrap_or("/").to_owned();
        let mode = match self.user_mut().data_type {
            crate::ftp::DataType::Ascii => "ASCII",
            crate::ftp::DataType::Image => "BINARY",
        };
        self.reply(
            150,
            &format!("Opening {mode} mode data connection for {name} ({size} bytes)"),
        );
        let action = TransferAction::Retrieve {
            path: path.clone(),
            offset,
        };
        self.start_transfer(TransferKind::Retr, path, channel, action);
    }

    pub(super) fn send_listing(
        &mut self,
        path: FtpPath,
        format: ListingFormat,
        channel: DataChannel,
        bytes: Vec<u8>,
    ) {
        self.reply(150, "Here comes the directory listing");
        self.start_transfer(
            listing_kind(format),
            path,
            channel,
            TransferAction::Send(bytes),
        );
    }

    fn start_transfer(
        &mut self,
        kind: TransferKind,
        path: FtpPath,
        channel: DataChannel,
        action: TransferAction,
    ) {
        // One transfer uses the data channel up (RFC 959 3.2).
        self.user_mut().data = None;
        self.state = State::Transferring(Transferring {
            kind,
            path,
            aborting: false,
        });
        self.request(Request::Transfer(Transfer {
            channel,
            protected: self.protect,
            action,
        }));
    }

    pub(in crate::ftp) fn transfer_done(&mut self, result: Result<u64, TransferFailure>) {
        let transfer = match std::mem::replace(&mut self.state, State::ExpectCommand) {
            State::Transferring(transfer) => transfer,
            State::Closed => {
                self.state = State::Closed;
                return;
            }
            other => panic!("TransferDone in state {other:?}"),
        };
        let Transferring {
            kind,
            path,
            aborting,
        } = transfer;
        match result {
            Ok(bytes) => {
                self.output
                    .push_back(Output::Event(Event::Transferred { kind, path, bytes }));
                self.reply(226, "Transfer complete");
            }
            Err(failure) => {
                let (code, text) = failure.reply();
                let mut reply = Vec::new();
                crate::ftp::codec::reply(&mut reply, code, text);
                self.output.push_back(Output::Event(Event::TransferFailed {
                    kind,
                    path,
                    reply: reply_text(&reply),
                }));
                self.send(reply);
            }
        }
        if aborting {
            self.reply(226, "ABOR successful");
        }
    }

    /// ABOR during a transfer: the driver stops it; the replies come
    /// with its [`crate::ftp::Input::TransferDone`].
    pub(super) fn abort_transfer(&mut self) {
        if let State::Transferring(transfer) = &mut self.state
            && !transfer.aborting
        {
            transfer.aborting = true;
            self.output.push_back(Output::AbortTransfer);
        }
    }

    /// ABOR with no transfer: drops a waiting passive port (RFC 959
    /// 4.1.3: 225 when no transfer was under way).
    pub(super) fn handle_abor_idle(&mut self) {
        if let Some(user) = self.user.as_mut() {
            user.data = None;
        }
        self.output.push_back(Output::ClosePassive);
        self.reply(225, "No transfer to ABOR");
    }
}
