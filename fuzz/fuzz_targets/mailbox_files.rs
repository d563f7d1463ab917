//! The readers of the files a Maildir mailbox keeps (`dovecot-uidlist`,
//! `dovecot-keywords`, message file names, folder names, a header field)
//! on arbitrary bytes. These files come from disk, where another program,
//! a crash or an operator may have damaged them: each must be refused
//! with an error, never a panic; and what is read must write out to text
//! that reads back to the same thing, or a sync would change a mailbox
//! it only meant to rewrite.
//!
//! The first byte chooses the reader; the rest is its input.

#![no_main]

use libfuzzer_sys::fuzz_target;
use postern_core::mailbox::folder::FolderName;
use postern_core::mailbox::header;
use postern_core::mailbox::keywords::KeywordTable;
use postern_core::mailbox::maildir_name::MaildirName;
use postern_core::mailbox::uidlist::Uidlist;

fuzz_target!(|data: &[u8]| {
    let Some((&choice, input)) = data.split_first() else {
        return;
    };
    match choice % 5 {
        0 => {
            if let Ok(list) = Uidlist::parse(input) {
                let again = Uidlist::parse(list.render().as_bytes())
                    .expect("a rendered uidlist reads back");
                assert_eq!(again, list);
            }
        }
        1 => {
            if let Ok(table) = KeywordTable::parse(input) {
                let again = KeywordTable::parse(table.render().as_bytes())
                    .expect("a rendered keyword table reads back");
                assert_eq!(again, table);
            }
        }
        2 => {
            let Ok(text) = std::str::from_utf8(input) else {
                return;
            };
            if let Ok(name) = MaildirName::parse(text) {
                let again = MaildirName::parse(&name.to_string())
                    .expect("a rendered file name reads back");
                assert_eq!(again, name);
            }
        }
        3 => {
            let Ok(text) = std::str::from_utf8(input) else {
                return;
            };
            let _ = FolderName::parse(text);
        }
        _ => {
            let _ = header::field(input, "subject");
        }
    }
});
