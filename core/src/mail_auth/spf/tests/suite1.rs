//! The RFC 7208 test suite (openspf.org's rfc7208-tests.yml, release
//! 2014.04 and later additions, as pyspf's repository keeps it at commit
//! 0f7f21a) transcribed as tables, each scenario's zone then its cases.
//! This file: part one: initial processing to record evaluation.
//!
//! The suite drives type-SPF records through TXT when a name has no TXT
//! record of its own (the suite's own convention); the zones below hold
//! the TXT records that convention gives, in the suite's order, so a
//! `Timeout` marker keeps its meaning (see the zone helper).
//!
//! The suite is (C) 2006-2014 Stuart D Gathman, 2014 Scott Kitterman,
//! 2007-2008 Julian Mehnle. Redistribution and use in source and binary
//! forms, with or without modification, are permitted provided that the
//! following conditions are met: 1. Redistributions of source code must
//! retain the above copyright notice, this list of conditions and the
//! following disclaimer. 2. Redistributions in binary form must reproduce
//! the above copyright notice, this list of conditions and the following
//! disclaimer in the documentation and/or other materials provided with
//! the distribution. 3. The names of the authors may not be used to
//! endorse or promote products derived from this software without
//! specific prior written permission. THIS SOFTWARE IS PROVIDED BY THE
//! AUTHORS ``AS IS'' AND ANY EXPRESS OR IMPLIED WARRANTIES, INCLUDING, BUT
//! NOT LIMITED TO, THE IMPLIED WARRANTIES OF MERCHANTABILITY AND FITNESS
//! FOR A PARTICULAR PURPOSE ARE DISCLAIMED. IN NO EVENT SHALL THE AUTHORS
//! BE LIABLE FOR ANY DIRECT, INDIRECT, INCIDENTAL, SPECIAL, EXEMPLARY, OR
//! CONSEQUENTIAL DAMAGES (INCLUDING, BUT NOT LIMITED TO, PROCUREMENT OF
//! SUBSTITUTE GOODS OR SERVICES; LOSS OF USE, DATA, OR PROFITS; OR
//! BUSINESS INTERRUPTION) HOWEVER CAUSED AND ON ANY THEORY OF LIABILITY,
//! WHETHER IN CONTRACT, STRICT LIABILITY, OR TORT (INCLUDING NEGLIGENCE OR
//! OTHERWISE) ARISING IN ANY WAY OUT OF THE USE OF THIS SOFTWARE, EVEN IF
//! ADVISED OF THE POSSIBILITY OF SUCH DAMAGE.

use super::zone::Rr::*;
use super::zone::{Case, DEFAULT, Scenario};

/// Initial processing.
#[rustfmt::skip]
pub(super) const INITIAL_PROCESSING: Scenario = Scenario {
    section: "Initial processing",
    zone: &[
        ("example.com", &[Timeout]),
        ("example.net", &[Txt(&["v=spf1 -all exp=exp.example.net"])]),
        ("a.example.net", &[Txt(&["v=spf1 -all exp=exp.example.net"])]),
        ("exp.example.net", &[Txt(&["%{l}"])]),
        ("a12345678901234567890123456789012345678901234567890123456789012.example.com", &[Txt(&["v=spf1 -all"])]),
        ("hosed.example.com", &[Txt(&["v=spf1 a:\u{ef}\u{bb}\u{bf}garbage.example.net -all"])]),
        ("hosed2.example.com", &[Txt(&["v=spf1 \u{80}a:example.net -all"])]),
        ("hosed3.example.com", &[Txt(&["v=spf1 a:example.net \u{96}all"])]),
        ("nothosed.example.com", &[Txt(&["v=spf1 a:example.net -all"]), Txt(&["\u{96}"])]),
        ("ctrl.example.com", &[A("192.0.2.3"), Txt(&["v=spf1 a:ctrl.example.com\rptr -all"])]),
        ("fine.example.com", &[Txt(&["v=spf1 a  -all"])]),
    ],
    cases: &[
        Case { name: "toolonglabel", spec: "4.3/1", ip: "1.2.3.5", mailfrom: "lyme.eater@A123456789012345678901234567890123456789012345678901234567890123.example.com", helo: "mail.example.net", results: &["none"], explanation: None },
        Case { name: "longlabel", spec: "4.3/1", ip: "1.2.3.5", mailfrom: "lyme.eater@A12345678901234567890123456789012345678901234567890123456789012.example.com", helo: "mail.example.net", results: &["fail"], explanation: None },
        Case { name: "emptylabel", spec: "4.3/1", ip: "1.2.3.5", mailfrom: "lyme.eater@A...example.com", helo: "mail.example.net", results: &["none"], explanation: None },
        Case { name: "helo-not-fqdn", spec: "4.3/1", ip: "1.2.3.5", mailfrom: "", helo: "A2345678", results: &["none"], explanation: None },
        Case { name: "helo-domain-literal", spec: "4.3/1", ip: "1.2.3.5", mailfrom: "", helo: "[1.2.3.5]", results: &["none"], explanation: None },
        Case { name: "nolocalpart", spec: "4.3/2", ip: "1.2.3.4", mailfrom: "@example.net", helo: "mail.example.net", results: &["fail"], explanation: Some("postmaster") },
        Case { name: "domain-literal", spec: "4.3/1", ip: "1.2.3.5", mailfrom: "foo@[1.2.3.5]", helo: "OEMCOMPUTER", results: &["none"], explanation: None },
        Case { name: "non-ascii-policy", spec: "3.1/1", ip: "1.2.3.4", mailfrom: "foobar@hosed.example.com", helo: "hosed", results: &["permerror"], explanation: None },
        Case { name: "non-ascii-mech", spec: "3.1/1", ip: "1.2.3.4", mailfrom: "foobar@hosed2.example.com", helo: "hosed", results: &["permerror"], explanation: None },
        Case { name: "non-ascii-result", spec: "3.1/1", ip: "1.2.3.4", mailfrom: "foobar@hosed3.example.com", helo: "hosed", results: &["permerror"], explanation: None },
        Case { name: "non-ascii-non-spf", spec: "4.5/1", ip: "1.2.3.4", mailfrom: "foobar@nothosed.example.com", helo: "hosed", results: &["fail"], explanation: Some(DEFAULT) },
        Case { name: "control-char-policy", spec: "4.6.1/2", ip: "192.0.2.3", mailfrom: "foobar@ctrl.example.com", helo: "hosed", results: &["permerror"], explanation: None },
        Case { name: "two-spaces", spec: "4.6.1", ip: "1.2.3.4", mailfrom: "actually@fine.example.com", helo: "hosed", results: &["fail"], explanation: None },
    ],
};

/// Record lookup.
#[rustfmt::skip]
pub(super) const RECORD_LOOKUP: Scenario = Scenario {
    section: "Record lookup",
    zone: &[
        ("both.example.net", &[Txt(&["v=spf1 -all"])]),
        ("txtonly.example.net", &[Txt(&["v=spf1 -all"])]),
        ("spfonly.example.net", &[]),
        ("spftimeout.example.net", &[Txt(&["v=spf1 -all"]), Timeout]),
        ("txttimeout.example.net", &[Timeout]),
        ("nospftxttimeout.example.net", &[Timeout]),
        ("alltimeout.example.net", &[Timeout]),
    ],
    cases: &[
        Case { name: "both", spec: "4.4/1", ip: "1.2.3.4", mailfrom: "foo@both.example.net", helo: "mail.example.net", results: &["fail"], explanation: None },
        Case { name: "txtonly", spec: "4.4/1", ip: "1.2.3.4", mailfrom: "foo@txtonly.example.net", helo: "mail.example.net", results: &["fail"], explanation: None },
        Case { name: "spfonly", spec: "4.4/1", ip: "1.2.3.4", mailfrom: "foo@spfonly.example.net", helo: "mail.example.net", results: &["none"], explanation: None },
        Case { name: "spftimeout", spec: "4.4/1", ip: "1.2.3.4", mailfrom: "foo@spftimeout.example.net", helo: "mail.example.net", results: &["fail"], explanation: None },
        Case { name: "txttimeout", spec: "4.4/1", ip: "1.2.3.4", mailfrom: "foo@txttimeout.example.net", helo: "mail.example.net", results: &["temperror"], explanation: None },
        Case { name: "nospftxttimeout", spec: "4.4/1", ip: "1.2.3.4", mailfrom: "foo@nospftxttimeout.example.net", helo: "mail.example.net", results: &["temperror"], explanation: None },
        Case { name: "alltimeout", spec: "4.4/2", ip: "1.2.3.4", mailfrom: "foo@alltimeout.example.net", helo: "mail.example.net", results: &["temperror"], explanation: None },
    ],
};

/// Selecting records.
#[rustfmt::skip]
pub(super) const SELECTING_RECORDS: Scenario = Scenario {
    section: "Selecting records",
    zone: &[
        ("example3.com", &[Mx("mail.example1.com"), Txt(&["v=spf10"]), Txt(&["v=spf1 mx"])]),
        ("example1.com", &[Txt(&["v=spf1"])]),
        ("example2.com", &[Txt(&["v=spf1", "mx"])]),
        ("mail.example1.com", &[A("1.2.3.4")]),
        ("example4.com", &[Txt(&["v=spf1 -all"])]),
        ("example5.com", &[Txt(&["v=spf1 -all"]), Txt(&["v=spf1 +all"])]),
        ("example6.com", &[Txt(&["v=spf1 -all"]), Txt(&["V=sPf1 +all"])]),
        ("example7.com", &[Txt(&["v=spf1 -all"]), Txt(&["v=spf1 -all"])]),
        ("example8.com", &[Txt(&["v=spf1 +all"])]),
        ("example9.com", &[Txt(&["v=SpF1 ~all"])]),
    ],
    cases: &[
        Case { name: "nospace1", spec: "4.5/4", ip: "1.2.3.4", mailfrom: "foo@example2.com", helo: "mail.example1.com", results: &["none"], explanation: None },
        Case { name: "empty", spec: "4.5/4", ip: "1.2.3.4", mailfrom: "foo@example1.com", helo: "mail1.example1.com", results: &["neutral"], explanation: None },
        Case { name: "nospace2", spec: "4.5/4", ip: "1.2.3.4", mailfrom: "foo@example3.com", helo: "mail.example1.com", results: &["pass"], explanation: None },
        Case { name: "spfoverride", spec: "4.5/5", ip: "1.2.3.4", mailfrom: "foo@example4.com", helo: "mail.example1.com", results: &["fail"], explanation: None },
        Case { name: "multitxt1", spec: "4.5/5", ip: "1.2.3.4", mailfrom: "foo@example5.com", helo: "mail.example1.com", results: &["permerror"], explanation: None },
        Case { name: "multitxt2", spec: "4.5/6", ip: "1.2.3.4", mailfrom: "foo@example6.com", helo: "mail.example1.com", results: &["permerror"], explanation: None },
        Case { name: "multispf1", spec: "4.5/6", ip: "1.2.3.4", mailfrom: "foo@example7.com", helo: "mail.example1.com", results: &["permerror", "fail"], explanation: None },
        Case { name: "multispf2", spec: "4.5/6", ip: "1.2.3.4", mailfrom: "foo@example8.com", helo: "mail.example1.com", results: &["pass"], explanation: None },
        Case { name: "nospf", spec: "4.5/7", ip: "1.2.3.4", mailfrom: "foo@mail.example1.com", helo: "mail.example1.com", results: &["none"], explanation: None },
        Case { name: "case-insensitive", spec: "4.5/6", ip: "1.2.3.4", mailfrom: "foo@example9.com", helo: "mail.example1.com", results: &["softfail"], explanation: None },
    ],
};

/// Record evaluation.
#[rustfmt::skip]
pub(super) const RECORD_EVALUATION: Scenario = Scenario {
    section: "Record evaluation",
    zone: &[
        ("mail.example.com", &[A("1.2.3.4")]),
        ("t1.example.com", &[Txt(&["v=spf1 ip4:1.2.3.4 -all moo"])]),
        ("t2.example.com", &[Txt(&["v=spf1 moo.cow-far_out=man:dog/cat ip4:1.2.3.4 -all"])]),
        ("t3.example.com", &[Txt(&["v=spf1 moo.cow/far_out=man:dog/cat ip4:1.2.3.4 -all"])]),
        ("t4.example.com", &[Txt(&["v=spf1 moo.cow:far_out=man:dog/cat ip4:1.2.3.4 -all"])]),
        ("t5.example.com", &[Txt(&["v=spf1 redirect=t5.example.com ~all"])]),
        ("t6.example.com", &[Txt(&["v=spf1 ip4:1.2.3.4 redirect=t2.example.com"])]),
        ("t7.example.com", &[Txt(&["v=spf1 ip4:1.2.3.4"])]),
        ("t8.example.com", &[Txt(&["v=spf1 ip4:1.2.3.4 redirect:t2.example.com"])]),
        ("t9.example.com", &[Txt(&["v=spf1 a:foo-bar -all"])]),
        ("t10.example.com", &[Txt(&["v=spf1 a:mail.example...com -all"])]),
        ("t11.example.com", &[Txt(&["v=spf1 a:a123456789012345678901234567890123456789012345678901234567890123.example.com -all"])]),
        ("t12.example.com", &[Txt(&["v=spf1 a:%{H}.bar -all"])]),
    ],
    cases: &[
        Case { name: "detect-errors-anywhere", spec: "4.6", ip: "1.2.3.4", mailfrom: "foo@t1.example.com", helo: "mail.example.com", results: &["permerror"], explanation: None },
        Case { name: "modifier-charset-good", spec: "4.6.1/2", ip: "1.2.3.4", mailfrom: "foo@t2.example.com", helo: "mail.example.com", results: &["pass"], explanation: None },
        Case { name: "modifier-charset-bad1", spec: "4.6.1/4", ip: "1.2.3.4", mailfrom: "foo@t3.example.com", helo: "mail.example.com", results: &["permerror"], explanation: None },
        Case { name: "modifier-charset-bad2", spec: "4.6.1/4", ip: "1.2.3.4", mailfrom: "foo@t4.example.com", helo: "mail.example.com", results: &["permerror"], explanation: None },
        Case { name: "redirect-after-mechanisms1", spec: "4.6.3", ip: "1.2.3.4", mailfrom: "foo@t5.example.com", helo: "mail.example.com", results: &["softfail"], explanation: None },
        Case { name: "redirect-after-mechanisms2", spec: "4.6.3", ip: "1.2.3.5", mailfrom: "foo@t6.example.com", helo: "mail.example.com", results: &["fail"], explanation: None },
        Case { name: "default-result", spec: "4.7/1", ip: "1.2.3.5", mailfrom: "foo@t7.example.com", helo: "mail.example.com", results: &["neutral"], explanation: None },
        Case { name: "redirect-is-modifier", spec: "4.6.1/4", ip: "1.2.3.4", mailfrom: "foo@t8.example.com", helo: "mail.example.com", results: &["permerror"], explanation: None },
        Case { name: "invalid-domain", spec: "7.1/2", ip: "1.2.3.4", mailfrom: "foo@t9.example.com", helo: "mail.example.com", results: &["permerror"], explanation: None },
        Case { name: "invalid-domain-empty-label", spec: "4.3/1, 4.8/5, 5/10/3", ip: "1.2.3.4", mailfrom: "foo@t10.example.com", helo: "mail.example.com", results: &["fail", "permerror"], explanation: None },
        Case { name: "invalid-domain-long", spec: "4.3/1, 4.8/5, 5/10/3", ip: "1.2.3.4", mailfrom: "foo@t11.example.com", helo: "mail.example.com", results: &["fail", "permerror"], explanation: None },
        Case { name: "invalid-domain-long-via-macro", spec: "4.3/1, 4.8/5, 5/10/3", ip: "1.2.3.4", mailfrom: "foo@t12.example.com", helo: "%%%%%%%%%%%%%%%%%%%%%%", results: &["fail", "permerror"], explanation: None },
    ],
};

/// ALL mechanism syntax.
#[rustfmt::skip]
pub(super) const ALL_MECHANISM_SYNTAX: Scenario = Scenario {
    section: "ALL mechanism syntax",
    zone: &[
        ("mail.example.com", &[A("1.2.3.4")]),
        ("e1.example.com", &[Txt(&["v=spf1 -all."])]),
        ("e2.example.com", &[Txt(&["v=spf1 -all:foobar"])]),
        ("e3.example.com", &[Txt(&["v=spf1 -all/8"])]),
        ("e4.example.com", &[Txt(&["v=spf1 ?all"])]),
        ("e5.example.com", &[Txt(&["v=spf1 all -all"])]),
    ],
    cases: &[
        Case { name: "all-dot", spec: "5.1/1", ip: "1.2.3.4", mailfrom: "foo@e1.example.com", helo: "mail.example.com", results: &["permerror"], explanation: None },
        Case { name: "all-arg", spec: "5.1/1", ip: "1.2.3.4", mailfrom: "foo@e2.example.com", helo: "mail.example.com", results: &["permerror"], explanation: None },
        Case { name: "all-cidr", spec: "5.1/1", ip: "1.2.3.4", mailfrom: "foo@e3.example.com", helo: "mail.example.com", results: &["permerror"], explanation: None },
        Case { name: "all-neutral", spec: "5.1/1", ip: "1.2.3.4", mailfrom: "foo@e4.example.com", helo: "mail.example.com", results: &["neutral"], explanation: None },
        Case { name: "all-double", spec: "5.1/1", ip: "1.2.3.4", mailfrom: "foo@e5.example.com", helo: "mail.example.com", results: &["pass"], explanation: None },
    ],
};
