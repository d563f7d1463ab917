//! The RFC 7208 test suite (openspf.org's rfc7208-tests.yml, release
//! 2014.04 and later additions, as pyspf's repository keeps it at commit
//! 0f7f21a) transcribed as tables, each scenario's zone then its cases.
//! This file: part three: mechanisms, modifiers, macros, limits.
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

/// IP4 mechanism syntax.
#[rustfmt::skip]
pub(super) const IP4_MECHANISM_SYNTAX: Scenario = Scenario {
    section: "IP4 mechanism syntax",
    zone: &[
        ("mail.example.com", &[A("1.2.3.4")]),
        ("e1.example.com", &[Txt(&["v=spf1 ip4:1.1.1.1/0 -all"])]),
        ("e2.example.com", &[Txt(&["v=spf1 ip4:1.2.3.4/32 -all"])]),
        ("e3.example.com", &[Txt(&["v=spf1 ip4:1.2.3.4/33 -all"])]),
        ("e4.example.com", &[Txt(&["v=spf1 ip4:1.2.3.4/032 -all"])]),
        ("e5.example.com", &[Txt(&["v=spf1 ip4"])]),
        ("e6.example.com", &[Txt(&["v=spf1 ip4:1.2.3.4//32"])]),
        ("e7.example.com", &[Txt(&["v=spf1 -ip4:1.2.3.4 ip6:::FFFF:1.2.3.4"])]),
        ("e8.example.com", &[Txt(&["v=spf1 ip4:1.2.3.4:8080"])]),
        ("e9.example.com", &[Txt(&["v=spf1 ip4:1.2.3"])]),
    ],
    cases: &[
        Case { name: "cidr4-0", spec: "5.6/2", ip: "1.2.3.4", mailfrom: "foo@e1.example.com", helo: "mail.example.com", results: &["pass"], explanation: None },
        Case { name: "cidr4-32", spec: "5.6/2", ip: "1.2.3.4", mailfrom: "foo@e2.example.com", helo: "mail.example.com", results: &["pass"], explanation: None },
        Case { name: "cidr4-33", spec: "5.6/2", ip: "1.2.3.4", mailfrom: "foo@e3.example.com", helo: "mail.example.com", results: &["permerror"], explanation: None },
        Case { name: "cidr4-032", spec: "5.6/2", ip: "1.2.3.4", mailfrom: "foo@e4.example.com", helo: "mail.example.com", results: &["permerror"], explanation: None },
        Case { name: "bare-ip4", spec: "5.6/2", ip: "1.2.3.4", mailfrom: "foo@e5.example.com", helo: "mail.example.com", results: &["permerror"], explanation: None },
        Case { name: "bad-ip4-port", spec: "5.6/2", ip: "1.2.3.4", mailfrom: "foo@e8.example.com", helo: "mail.example.com", results: &["permerror"], explanation: None },
        Case { name: "bad-ip4-short", spec: "5.6/4", ip: "1.2.3.4", mailfrom: "foo@e9.example.com", helo: "mail.example.com", results: &["permerror"], explanation: None },
        Case { name: "ip4-dual-cidr", spec: "5.6/2", ip: "1.2.3.4", mailfrom: "foo@e6.example.com", helo: "mail.example.com", results: &["permerror"], explanation: None },
        Case { name: "ip4-mapped-ip6", spec: "5/9/2", ip: "::FFFF:1.2.3.4", mailfrom: "foo@e7.example.com", helo: "mail.example.com", results: &["fail"], explanation: None },
    ],
};

/// IP6 mechanism syntax.
#[rustfmt::skip]
pub(super) const IP6_MECHANISM_SYNTAX: Scenario = Scenario {
    section: "IP6 mechanism syntax",
    zone: &[
        ("mail.example.com", &[A("1.2.3.4")]),
        ("e1.example.com", &[Txt(&["v=spf1 -all ip6"])]),
        ("e2.example.com", &[Txt(&["v=spf1 ip6:::1.1.1.1/0"])]),
        ("e3.example.com", &[Txt(&["v=spf1 ip6:::1.1.1.1/129"])]),
        ("e4.example.com", &[Txt(&["v=spf1 ip6:::1.1.1.1//33"])]),
        ("e5.example.com", &[Txt(&["v=spf1 ip6:Cafe:Babe:8000::/33"])]),
        ("e6.example.com", &[Txt(&["v=spf1 ip6::CAFE::BABE"])]),
    ],
    cases: &[
        Case { name: "bare-ip6", spec: "5.6/2", ip: "1.2.3.4", mailfrom: "foo@e1.example.com", helo: "mail.example.com", results: &["permerror"], explanation: None },
        Case { name: "cidr6-0-ip4", spec: "5/9/2", ip: "1.2.3.4", mailfrom: "foo@e2.example.com", helo: "mail.example.com", results: &["neutral"], explanation: None },
        Case { name: "cidr6-ip4", spec: "5/9/2", ip: "::FFFF:1.2.3.4", mailfrom: "foo@e2.example.com", helo: "mail.example.com", results: &["neutral"], explanation: None },
        Case { name: "cidr6-0", spec: "5/8", ip: "DEAF:BABE::CAB:FEE", mailfrom: "foo@e2.example.com", helo: "mail.example.com", results: &["pass"], explanation: None },
        Case { name: "cidr6-129", spec: "5.6/2", ip: "1.2.3.4", mailfrom: "foo@e3.example.com", helo: "mail.example.com", results: &["permerror"], explanation: None },
        Case { name: "cidr6-bad", spec: "5.6/2", ip: "1.2.3.4", mailfrom: "foo@e4.example.com", helo: "mail.example.com", results: &["permerror"], explanation: None },
        Case { name: "cidr6-33", spec: "5.6/2", ip: "CAFE:BABE:8000::", mailfrom: "foo@e5.example.com", helo: "mail.example.com", results: &["pass"], explanation: None },
        Case { name: "cidr6-33-ip4", spec: "5.6/2", ip: "1.2.3.4", mailfrom: "foo@e5.example.com", helo: "mail.example.com", results: &["neutral"], explanation: None },
        Case { name: "ip6-bad1", spec: "5.6/2", ip: "1.2.3.4", mailfrom: "foo@e6.example.com", helo: "mail.example.com", results: &["permerror"], explanation: None },
    ],
};

/// Semantics of exp and other modifiers.
#[rustfmt::skip]
pub(super) const SEMANTICS_OF_EXP_AND_OTHER_MODIFIERS: Scenario = Scenario {
    section: "Semantics of exp and other modifiers",
    zone: &[
        ("mail.example.com", &[A("1.2.3.4")]),
        ("e1.example.com", &[Txt(&["v=spf1 exp=exp1.example.com redirect=e2.example.com"])]),
        ("e2.example.com", &[Txt(&["v=spf1 -all"])]),
        ("e3.example.com", &[Txt(&["v=spf1 exp=exp1.example.com redirect=e4.example.com"])]),
        ("e4.example.com", &[Txt(&["v=spf1 -all exp=exp2.example.com"])]),
        ("exp1.example.com", &[Txt(&["No-see-um"])]),
        ("exp2.example.com", &[Txt(&["See me."])]),
        ("exp3.example.com", &[Txt(&["Correct!"])]),
        ("exp4.example.com", &[Txt(&["%{l} in implementation"])]),
        ("e5.example.com", &[Txt(&["v=spf1 1up=foo"])]),
        ("e6.example.com", &[Txt(&["v=spf1 =all"])]),
        ("e7.example.com", &[Txt(&["v=spf1 include:e3.example.com -all exp=exp3.example.com"])]),
        ("e8.example.com", &[Txt(&["v=spf1 -all exp=exp4.example.com"])]),
        ("e9.example.com", &[Txt(&["v=spf1 -all foo=%abc"])]),
        ("e10.example.com", &[Txt(&["v=spf1 redirect=erehwon.example.com"])]),
        ("e11.example.com", &[Txt(&["v=spf1 -all exp=e11msg.example.com"])]),
        ("e11msg.example.com", &[Txt(&["Answer a fool according to his folly."]), Txt(&["Do not answer a fool according to his folly."])]),
        ("e12.example.com", &[Txt(&["v=spf1 exp= -all"])]),
        ("e13.example.com", &[Txt(&["v=spf1 exp=e13msg.example.com -all"])]),
        ("e13msg.example.com", &[Txt(&["The %{x}-files."])]),
        ("e14.example.com", &[Txt(&["v=spf1 exp=e13msg.example.com -all exp=e11msg.example.com"])]),
        ("e15.example.com", &[Txt(&["v=spf1 redirect=e12.example.com -all redirect=e12.example.com"])]),
        ("e16.example.com", &[Txt(&["v=spf1 exp=-all"])]),
        ("e17.example.com", &[Txt(&["v=spf1 redirect=-all ?all"])]),
        ("e18.example.com", &[Txt(&["v=spf1 ?all redirect="])]),
        ("e19.example.com", &[Txt(&["v=spf1 default=pass"])]),
        ("e20.example.com", &[Txt(&["v=spf1 default=+"])]),
        ("e21.example.com", &[Txt(&["v=spf1 exp=e21msg.example.com -all"])]),
        ("e21msg.example.com", &[Timeout]),
        ("e22.example.com", &[Txt(&["v=spf1 exp=mail.example.com -all"])]),
        ("nonascii.example.com", &[Txt(&["v=spf1 exp=badexp.example.com -all"])]),
        ("badexp.example.com", &[Txt(&["\u{ef}\u{bb}\u{bf}Explanation"])]),
        ("tworecs.example.com", &[Txt(&["v=spf1 exp=twoexp.example.com -all"])]),
        ("twoexp.example.com", &[Txt(&["one"]), Txt(&["two"])]),
        ("e23.example.com", &[Txt(&["v=spf1 a:erehwon.example.com a:foobar.com exp=nxdomain.com -all"])]),
        ("e24.example.com", &[A("192.0.2.1"), Txt(&["v=spf1 redirect=testimplicit.example.com"])]),
        ("testimplicit.example.com", &[A("192.0.2.2"), Txt(&["v=spf1 a -all"])]),
    ],
    cases: &[
        Case { name: "redirect-none", spec: "6.1/4", ip: "1.2.3.4", mailfrom: "foo@e10.example.com", helo: "mail.example.com", results: &["permerror"], explanation: None },
        Case { name: "redirect-cancels-exp", spec: "6.2/13", ip: "1.2.3.4", mailfrom: "foo@e1.example.com", helo: "mail.example.com", results: &["fail"], explanation: Some(DEFAULT) },
        Case { name: "redirect-syntax-error", spec: "6.1/2", ip: "1.2.3.4", mailfrom: "foo@e17.example.com", helo: "mail.example.com", results: &["permerror"], explanation: None },
        Case { name: "include-ignores-exp", spec: "6.2/13", ip: "1.2.3.4", mailfrom: "foo@e7.example.com", helo: "mail.example.com", results: &["fail"], explanation: Some("Correct!") },
        Case { name: "redirect-cancels-prior-exp", spec: "6.2/13", ip: "1.2.3.4", mailfrom: "foo@e3.example.com", helo: "mail.example.com", results: &["fail"], explanation: Some("See me.") },
        Case { name: "invalid-modifier", spec: "A/3", ip: "1.2.3.4", mailfrom: "foo@e5.example.com", helo: "mail.example.com", results: &["permerror"], explanation: None },
        Case { name: "empty-modifier-name", spec: "A/3", ip: "1.2.3.4", mailfrom: "foo@e6.example.com", helo: "mail.example.com", results: &["permerror"], explanation: None },
        Case { name: "dorky-sentinel", spec: "7.1/6", ip: "1.2.3.4", mailfrom: "Macro Error@e8.example.com", helo: "mail.example.com", results: &["fail"], explanation: Some("Macro Error in implementation") },
        Case { name: "exp-multiple-txt", spec: "6.2/4", ip: "1.2.3.4", mailfrom: "foo@e11.example.com", helo: "mail.example.com", results: &["fail"], explanation: Some(DEFAULT) },
        Case { name: "exp-no-txt", spec: "6.2/4", ip: "1.2.3.4", mailfrom: "foo@e22.example.com", helo: "mail.example.com", results: &["fail"], explanation: Some(DEFAULT) },
        Case { name: "exp-dns-error", spec: "6.2/4", ip: "1.2.3.4", mailfrom: "foo@e21.example.com", helo: "mail.example.com", results: &["fail"], explanation: Some(DEFAULT) },
        Case { name: "exp-empty-domain", spec: "6.2/4", ip: "1.2.3.4", mailfrom: "foo@e12.example.com", helo: "mail.example.com", results: &["permerror"], explanation: None },
        Case { name: "explanation-syntax-error", spec: "6.2/4", ip: "1.2.3.4", mailfrom: "foo@e13.example.com", helo: "mail.example.com", results: &["fail"], explanation: Some(DEFAULT) },
        Case { name: "exp-syntax-error", spec: "6.2/1", ip: "1.2.3.4", mailfrom: "foo@e16.example.com", helo: "mail.example.com", results: &["permerror"], explanation: None },
        Case { name: "exp-twice", spec: "6/2", ip: "1.2.3.4", mailfrom: "foo@e14.example.com", helo: "mail.example.com", results: &["permerror"], explanation: None },
        Case { name: "redirect-empty-domain", spec: "6.2/4", ip: "1.2.3.4", mailfrom: "foo@e18.example.com", helo: "mail.example.com", results: &["permerror"], explanation: None },
        Case { name: "redirect-twice", spec: "6/2", ip: "1.2.3.4", mailfrom: "foo@e15.example.com", helo: "mail.example.com", results: &["permerror"], explanation: None },
        Case { name: "unknown-modifier-syntax", spec: "A/3", ip: "1.2.3.4", mailfrom: "foo@e9.example.com", helo: "mail.example.com", results: &["permerror"], explanation: None },
        Case { name: "default-modifier-obsolete", spec: "6/3", ip: "1.2.3.4", mailfrom: "foo@e19.example.com", helo: "mail.example.com", results: &["neutral"], explanation: None },
        Case { name: "default-modifier-obsolete2", spec: "6/3", ip: "1.2.3.4", mailfrom: "foo@e20.example.com", helo: "mail.example.com", results: &["neutral"], explanation: None },
        Case { name: "non-ascii-exp", spec: "6.2/5", ip: "1.2.3.4", mailfrom: "foobar@nonascii.example.com", helo: "hosed", results: &["fail"], explanation: Some(DEFAULT) },
        Case { name: "two-exp-records", spec: "6.2/4", ip: "1.2.3.4", mailfrom: "foobar@tworecs.example.com", helo: "hosed", results: &["fail"], explanation: Some(DEFAULT) },
        Case { name: "exp-void", spec: "4.6.4/1, 6/2", ip: "1.2.3.4", mailfrom: "foo@e23.example.com", helo: "mail.example.com", results: &["fail"], explanation: None },
        Case { name: "redirect-implicit", spec: "6.1/4", ip: "192.0.2.2", mailfrom: "bar@e24.example.com", helo: "e24.example.com", results: &["pass"], explanation: None },
    ],
};

/// Macro expansion rules.
#[rustfmt::skip]
pub(super) const MACRO_EXPANSION_RULES: Scenario = Scenario {
    section: "Macro expansion rules",
    zone: &[
        ("example.com.d.spf.example.com", &[Txt(&["v=spf1 redirect=a.spf.example.com"])]),
        ("a.spf.example.com", &[Txt(&["v=spf1 include:o.spf.example.com. ~all"])]),
        ("o.spf.example.com", &[Txt(&["v=spf1 ip4:192.168.218.40"])]),
        ("msgbas2x.cos.example.com", &[A("192.168.218.40")]),
        ("example.com", &[A("192.168.90.76"), Txt(&["v=spf1 redirect=%{d}.d.spf.example.com."])]),
        ("exp.example.com", &[Txt(&["v=spf1 exp=msg.example.com. -all"])]),
        ("msg.example.com", &[Txt(&["This is a test."])]),
        ("e1.example.com", &[Txt(&["v=spf1 -exists:%(ir).sbl.example.com ?all"])]),
        ("e1e.example.com", &[Txt(&["v=spf1 exists:foo%(ir).sbl.example.com ?all"])]),
        ("e1t.example.com", &[Txt(&["v=spf1 exists:foo%.sbl.example.com ?all"])]),
        ("e1a.example.com", &[Txt(&["v=spf1 a:macro%%percent%_%_space%-url-space.example.com -all"])]),
        ("macro%percent  space%20url-space.example.com", &[A("1.2.3.4")]),
        ("e2.example.com", &[Txt(&["v=spf1 -all exp=%{r}.example.com"])]),
        ("e3.example.com", &[Txt(&["v=spf1 -all exp=%{ir}.example.com"])]),
        ("40.218.168.192.example.com", &[Txt(&["Connections from %{c} not authorized."])]),
        ("somewhat.long.exp.example.com", &[Txt(&["v=spf1 -all exp=foobar.%{o}.%{o}.%{o}.%{o}.%{o}.%{o}.%{o}.%{o}.example.com"])]),
        ("somewhat.long.exp.example.com.somewhat.long.exp.example.com.somewhat.long.exp.example.com.somewhat.long.exp.example.com.somewhat.long.exp.example.com.somewhat.long.exp.example.com.somewhat.long.exp.example.com.somewhat.long.exp.example.com.example.com", &[Txt(&["Congratulations!  That was tricky."])]),
        ("e4.example.com", &[Txt(&["v=spf1 -all exp=e4msg.example.com"])]),
        ("e4msg.example.com", &[Txt(&["%{c} is queried as %{ir}.%{v}.arpa"])]),
        ("e5.example.com", &[Txt(&["v=spf1 a:%{a}.example.com -all"])]),
        ("e6.example.com", &[Txt(&["v=spf1 -all exp=e6msg.example.com"])]),
        ("e6msg.example.com", &[Txt(&["connect from %{p}"])]),
        ("mx.example.com", &[A("192.168.218.41"), A("192.168.218.42"), Aaaa("CAFE:BABE::2"), Aaaa("CAFE:BABE::3")]),
        ("40.218.168.192.in-addr.arpa", &[Ptr("mx.example.com")]),
        ("41.218.168.192.in-addr.arpa", &[Ptr("mx.example.com")]),
        ("42.218.168.192.in-addr.arpa", &[Ptr("mx.example.com"), Ptr("mx.e7.example.com")]),
        ("1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.E.B.A.B.E.F.A.C.ip6.arpa", &[Ptr("mx.example.com")]),
        ("3.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.E.B.A.B.E.F.A.C.ip6.arpa", &[Ptr("mx.example.com")]),
        ("mx.e7.example.com", &[A("192.168.218.42")]),
        ("mx.e7.example.com.should.example.com", &[A("127.0.0.2")]),
        ("mx.example.com.ok.example.com", &[A("127.0.0.2")]),
        ("e7.example.com", &[Txt(&["v=spf1 exists:%{p}.should.example.com ~exists:%{p}.ok.example.com"])]),
        ("e8.example.com", &[Txt(&["v=spf1 -all exp=msg8.%{D2}"])]),
        ("msg8.example.com", &[Txt(&["http://example.com/why.html?l=%{L}"])]),
        ("e9.example.com", &[Txt(&["v=spf1 a:%{H} -all"])]),
        ("e10.example.com", &[Txt(&["v=spf1 -include:_spfh.%{d2} ip4:1.2.3.0/24 -all"])]),
        ("_spfh.example.com", &[Txt(&["v=spf1 -a:%{h} +all"])]),
        ("e11.example.com", &[Txt(&["v=spf1 exists:%{i}.%{l2r-}.user.%{d2}"])]),
        ("1.2.3.4.gladstone.philip.user.example.com", &[A("127.0.0.2")]),
        ("e12.example.com", &[Txt(&["v=spf1 exists:%{l2r+-}.user.%{d2}"])]),
        ("bar.foo.user.example.com", &[A("127.0.0.2")]),
    ],
    cases: &[
        Case { name: "trailing-dot-domain", spec: "7.1/16", ip: "192.168.218.40", mailfrom: "test@example.com", helo: "msgbas2x.cos.example.com", results: &["pass"], explanation: None },
        Case { name: "trailing-dot-exp", spec: "7.1", ip: "192.168.218.40", mailfrom: "test@exp.example.com", helo: "msgbas2x.cos.example.com", results: &["fail"], explanation: Some("This is a test.") },
        Case { name: "exp-only-macro-char", spec: "7.1/8", ip: "192.168.218.40", mailfrom: "test@e2.example.com", helo: "msgbas2x.cos.example.com", results: &["permerror"], explanation: None },
        Case { name: "invalid-macro-char", spec: "7.1/9", ip: "192.168.218.40", mailfrom: "test@e1.example.com", helo: "msgbas2x.cos.example.com", results: &["permerror"], explanation: None },
        Case { name: "invalid-embedded-macro-char", spec: "7.1/9", ip: "192.168.218.40", mailfrom: "test@e1e.example.com", helo: "msgbas2x.cos.example.com", results: &["permerror"], explanation: None },
        Case { name: "invalid-trailing-macro-char", spec: "7.1/9", ip: "192.168.218.40", mailfrom: "test@e1t.example.com", helo: "msgbas2x.cos.example.com", results: &["permerror"], explanation: None },
        Case { name: "macro-mania-in-domain", spec: "7.1/3, 7.1/4", ip: "1.2.3.4", mailfrom: "test@e1a.example.com", helo: "mail.example.com", results: &["pass"], explanation: None },
        Case { name: "exp-txt-macro-char", spec: "7.1/20", ip: "192.168.218.40", mailfrom: "test@e3.example.com", helo: "msgbas2x.cos.example.com", results: &["fail"], explanation: Some("Connections from 192.168.218.40 not authorized.") },
        Case { name: "domain-name-truncation", spec: "7.1/25", ip: "192.168.218.40", mailfrom: "test@somewhat.long.exp.example.com", helo: "msgbas2x.cos.example.com", results: &["fail"], explanation: Some("Congratulations!  That was tricky.") },
        Case { name: "v-macro-ip4", spec: "7.1/6", ip: "192.168.218.40", mailfrom: "test@e4.example.com", helo: "msgbas2x.cos.example.com", results: &["fail"], explanation: Some("192.168.218.40 is queried as 40.218.168.192.in-addr.arpa") },
        // RFC 7208 7.4 writes %{i} nibbles in lowercase; the suite wrote them as the address was given.
        Case { name: "v-macro-ip6", spec: "7.1/6", ip: "CAFE:BABE::1", mailfrom: "test@e4.example.com", helo: "msgbas2x.cos.example.com", results: &["fail"], explanation: Some("cafe:babe::1 is queried as 1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.e.b.a.b.e.f.a.c.ip6.arpa") },
        Case { name: "undef-macro", spec: "7.1/6", ip: "CAFE:BABE::192.168.218.40", mailfrom: "test@e5.example.com", helo: "msgbas2x.cos.example.com", results: &["permerror"], explanation: None },
        Case { name: "p-macro-ip4-novalid", spec: "7.1/22", ip: "192.168.218.40", mailfrom: "test@e6.example.com", helo: "msgbas2x.cos.example.com", results: &["fail"], explanation: Some("connect from unknown") },
        Case { name: "p-macro-ip4-valid", spec: "7.1/22", ip: "192.168.218.41", mailfrom: "test@e6.example.com", helo: "msgbas2x.cos.example.com", results: &["fail"], explanation: Some("connect from mx.example.com") },
        Case { name: "p-macro-ip6-novalid", spec: "7.1/22", ip: "CAFE:BABE::1", mailfrom: "test@e6.example.com", helo: "msgbas2x.cos.example.com", results: &["fail"], explanation: Some("connect from unknown") },
        Case { name: "p-macro-ip6-valid", spec: "7.1/22", ip: "CAFE:BABE::3", mailfrom: "test@e6.example.com", helo: "msgbas2x.cos.example.com", results: &["fail"], explanation: Some("connect from mx.example.com") },
        Case { name: "p-macro-multiple", spec: "7.1/22", ip: "192.168.218.42", mailfrom: "test@e7.example.com", helo: "msgbas2x.cos.example.com", results: &["pass", "softfail"], explanation: None },
        Case { name: "upper-macro", spec: "7.1/26", ip: "192.168.218.42", mailfrom: "~jack&jill=up-a_b3.c@e8.example.com", helo: "msgbas2x.cos.example.com", results: &["fail"], explanation: Some("http://example.com/why.html?l=~jack%26jill%3Dup-a_b3.c") },
        Case { name: "hello-macro", spec: "7.1/6", ip: "192.168.218.40", mailfrom: "test@e9.example.com", helo: "msgbas2x.cos.example.com", results: &["pass"], explanation: None },
        Case { name: "invalid-hello-macro", spec: "7.1/2", ip: "192.168.218.40", mailfrom: "test@e9.example.com", helo: "JUMPIN' JUPITER", results: &["fail"], explanation: None },
        Case { name: "hello-domain-literal", spec: "7.1/2", ip: "192.168.218.40", mailfrom: "test@e9.example.com", helo: "[192.168.218.40]", results: &["fail"], explanation: None },
        Case { name: "require-valid-helo", spec: "7.1/6", ip: "1.2.3.4", mailfrom: "test@e10.example.com", helo: "OEMCOMPUTER", results: &["fail"], explanation: None },
        Case { name: "macro-reverse-split-on-dash", spec: "7.1/15, 7.1/16, 7.1/17, 7.1/18", ip: "1.2.3.4", mailfrom: "philip-gladstone-test@e11.example.com", helo: "mail.example.com", results: &["pass"], explanation: None },
        Case { name: "macro-multiple-delimiters", spec: "7.1/15, 7.1/16", ip: "1.2.3.4", mailfrom: "foo-bar+zip+quux@e12.example.com", helo: "mail.example.com", results: &["pass"], explanation: None },
    ],
};

/// Processing limits.
#[rustfmt::skip]
pub(super) const PROCESSING_LIMITS: Scenario = Scenario {
    section: "Processing limits",
    zone: &[
        ("mail.example.com", &[A("1.2.3.4")]),
        ("e1.example.com", &[A("1.2.3.6"), Txt(&["v=spf1 ip4:1.1.1.1 redirect=e1.example.com"])]),
        ("e2.example.com", &[A("1.2.3.7"), Txt(&["v=spf1 include:e3.example.com"])]),
        ("e3.example.com", &[A("1.2.3.8"), Txt(&["v=spf1 include:e2.example.com"])]),
        ("e4.example.com", &[Mx("mail.example.com"), Mx("mail.example.com"), Mx("mail.example.com"), Mx("mail.example.com"), Mx("mail.example.com"), Mx("mail.example.com"), Mx("mail.example.com"), Mx("mail.example.com"), Mx("mail.example.com"), Mx("mail.example.com"), Mx("e4.example.com"), A("1.2.3.5"), Txt(&["v=spf1 mx"])]),
        ("e5.example.com", &[A("1.2.3.5"), Txt(&["v=spf1 ptr"])]),
        ("5.3.2.1.in-addr.arpa", &[Ptr("e1.example.com."), Ptr("e2.example.com."), Ptr("e3.example.com."), Ptr("e4.example.com."), Ptr("example.com."), Ptr("e6.example.com."), Ptr("e7.example.com."), Ptr("e8.example.com."), Ptr("e9.example.com."), Ptr("e10.example.com."), Ptr("e5.example.com.")]),
        ("e6.example.com", &[A("1.2.3.8"), Mx("e6.example.com"), Txt(&["v=spf1 a mx a mx a mx a mx a ptr ip4:1.2.3.4 -all"])]),
        ("e7.example.com", &[A("1.2.3.20"), Txt(&["v=spf1 a mx a mx a mx a mx a ptr a ip4:1.2.3.4 -all"])]),
        ("e8.example.com", &[A("1.2.3.4"), Txt(&["v=spf1 a include:inc.example.com ip4:1.2.3.4 mx -all"])]),
        ("inc.example.com", &[A("1.2.3.10"), Txt(&["v=spf1 a a a a a a a a"])]),
        ("e9.example.com", &[A("1.2.3.21"), Txt(&["v=spf1 a include:inc.example.com a ip4:1.2.3.4 -all"])]),
        ("e10.example.com", &[A("1.2.3.1"), A("1.2.3.2"), A("1.2.3.3"), A("1.2.3.4"), A("1.2.3.5"), A("1.2.3.6"), A("1.2.3.7"), A("1.2.3.8"), A("1.2.3.9"), A("1.2.3.10"), A("1.2.3.11"), A("1.2.3.12"), Txt(&["v=spf1 a -all"])]),
        ("e11.example.com", &[Txt(&["v=spf1 a:err.example.com a:err1.example.com a:err2.example.com ?all"])]),
        ("e12.example.com", &[Txt(&["v=spf1 a:err.example.com a:err1.example.com ?all"])]),
    ],
    cases: &[
        Case { name: "redirect-loop", spec: "4.6.4/1", ip: "1.2.3.4", mailfrom: "foo@e1.example.com", helo: "mail.example.com", results: &["permerror"], explanation: None },
        Case { name: "include-loop", spec: "4.6.4/1", ip: "1.2.3.4", mailfrom: "foo@e2.example.com", helo: "mail.example.com", results: &["permerror"], explanation: None },
        Case { name: "mx-limit", spec: "4.6.4/2", ip: "1.2.3.5", mailfrom: "foo@e4.example.com", helo: "mail.example.com", results: &["permerror"], explanation: None },
        Case { name: "ptr-limit", spec: "4.6.4/3", ip: "1.2.3.5", mailfrom: "foo@e5.example.com", helo: "mail.example.com", results: &["neutral", "pass"], explanation: None },
        Case { name: "false-a-limit", spec: "4.6.4", ip: "1.2.3.12", mailfrom: "foo@e10.example.com", helo: "mail.example.com", results: &["pass"], explanation: None },
        Case { name: "mech-at-limit", spec: "4.6.4/1", ip: "1.2.3.4", mailfrom: "foo@e6.example.com", helo: "mail.example.com", results: &["pass"], explanation: None },
        Case { name: "mech-over-limit", spec: "4.6.4/1", ip: "1.2.3.4", mailfrom: "foo@e7.example.com", helo: "mail.example.com", results: &["permerror"], explanation: None },
        Case { name: "include-at-limit", spec: "4.6.4/1", ip: "1.2.3.4", mailfrom: "foo@e8.example.com", helo: "mail.example.com", results: &["pass"], explanation: None },
        Case { name: "include-over-limit", spec: "4.6.4/1", ip: "1.2.3.4", mailfrom: "foo@e9.example.com", helo: "mail.example.com", results: &["permerror"], explanation: None },
        Case { name: "void-at-limit", spec: "4.6.4/7", ip: "1.2.3.4", mailfrom: "foo@e12.example.com", helo: "mail.example.com", results: &["neutral"], explanation: None },
        Case { name: "void-over-limit", spec: "4.6.4/7", ip: "1.2.3.4", mailfrom: "foo@e11.example.com", helo: "mail.example.com", results: &["permerror"], explanation: None },
    ],
};

/// Test cases from implementation bugs.
#[rustfmt::skip]
pub(super) const TEST_CASES_FROM_IMPLEMENTATION_BUGS: Scenario = Scenario {
    section: "Test cases from implementation bugs",
    zone: &[
        ("example.org", &[Mx("smtp.example.org"), Mx("smtp1.example.com"), Txt(&["v=spf1 mx redirect=_spf.example.com"])]),
        ("smtp.example.org", &[A("198.51.100.2"), Aaaa("2001:db8:ff0:100::3")]),
        ("smtp1.example.com", &[A("192.0.2.26"), Aaaa("2001:db8:ff0:200::2")]),
        ("2.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.1.0.0.F.F.0.8.B.D.0.1.0.0.2.ip6.arpa", &[Ptr("smtp6-v.fe.example.org")]),
        ("smtp6-v.fe.example.org", &[Aaaa("2001:db8:ff0:100::2")]),
        ("_spf.example.com", &[Txt(&["v=spf1 ptr:fe.example.org ptr:sgp.example.com exp=_expspf.example.org -all"])]),
        ("_expspf.example.org", &[Txt(&["Sender domain not allowed from this host. Please see http://www.openspf.org/Why?s=mfrom&id=%{S}&ip=%{C}&r=%{R}"])]),
    ],
    cases: &[
        Case { name: "bytes-bug", spec: "5.4/4", ip: "2001:db8:ff0:100::2", mailfrom: "test@example.org", helo: "example.org", results: &["pass"], explanation: None },
    ],
};
