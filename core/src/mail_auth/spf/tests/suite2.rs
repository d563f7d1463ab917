//! The RFC 7208 test suite (openspf.org's rfc7208-tests.yml, release
//! 2014.04 and later additions, as pyspf's repository keeps it at commit
//! 0f7f21a) transcribed as tables, each scenario's zone then its cases.
//! This file: part two: the mechanisms.
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
use super::zone::{Case, Scenario};

/// PTR mechanism syntax.
#[rustfmt::skip]
pub(super) const PTR_MECHANISM_SYNTAX: Scenario = Scenario {
    section: "PTR mechanism syntax",
    zone: &[
        ("mail.example.com", &[A("1.2.3.4"), Aaaa("2001:db8::1")]),
        ("e1.example.com", &[Txt(&["v=spf1 ptr/0 -all"])]),
        ("e2.example.com", &[Txt(&["v=spf1 ptr:example.com -all"])]),
        ("4.3.2.1.in-addr.arpa", &[Ptr("e3.example.com"), Ptr("e4.example.com"), Ptr("mail.example.com")]),
        ("1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.E.B.A.B.E.F.A.C.ip6.arpa", &[Ptr("e3.example.com")]),
        ("1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.D.0.1.0.0.2.ip6.arpa", &[Ptr("mail.Example.com")]),
        ("e3.example.com", &[A("1.2.3.4"), Aaaa("CAFE:BABE::1"), Txt(&["v=spf1 ptr -all"])]),
        ("e4.example.com", &[Txt(&["v=spf1 ptr -all"])]),
        ("e5.example.com", &[Txt(&["v=spf1 ptr:"])]),
        ("e6.example.com", &[Txt(&["v=spf1 ptr:example.Com -all"])]),
    ],
    cases: &[
        Case { name: "ptr-cidr", spec: "5.5/2", ip: "1.2.3.4", mailfrom: "foo@e1.example.com", helo: "mail.example.com", results: &["permerror"], explanation: None },
        Case { name: "ptr-match-target", spec: "5.5/5", ip: "1.2.3.4", mailfrom: "foo@e2.example.com", helo: "mail.example.com", results: &["pass"], explanation: None },
        Case { name: "ptr-match-implicit", spec: "5.5/5", ip: "1.2.3.4", mailfrom: "foo@e3.example.com", helo: "mail.example.com", results: &["pass"], explanation: None },
        Case { name: "ptr-nomatch-invalid", spec: "5.5/5", ip: "1.2.3.4", mailfrom: "foo@e4.example.com", helo: "mail.example.com", results: &["fail"], explanation: None },
        Case { name: "ptr-match-ip6", spec: "5.5/5", ip: "CAFE:BABE::1", mailfrom: "foo@e3.example.com", helo: "mail.example.com", results: &["pass"], explanation: None },
        Case { name: "ptr-empty-domain", spec: "5.5/2", ip: "1.2.3.4", mailfrom: "foo@e5.example.com", helo: "mail.example.com", results: &["permerror"], explanation: None },
        Case { name: "ptr-case-change", spec: "5.5/2", ip: "2001:db8::1", mailfrom: "bar@e6.example.com", helo: "mail.example.com", results: &["pass"], explanation: None },
    ],
};

/// A mechanism syntax.
#[rustfmt::skip]
pub(super) const A_MECHANISM_SYNTAX: Scenario = Scenario {
    section: "A mechanism syntax",
    zone: &[
        ("mail.example.com", &[A("1.2.3.4")]),
        ("e1.example.com", &[Txt(&["v=spf1 a/0 -all"])]),
        ("e2.example.com", &[A("1.1.1.1"), Aaaa("1234::2"), Txt(&["v=spf1 a/0 -all"])]),
        ("e2a.example.com", &[Aaaa("1234::1"), Txt(&["v=spf1 a//0 -all"])]),
        ("e2b.example.com", &[A("1.1.1.1"), Txt(&["v=spf1 a//0 -all"])]),
        ("ipv6.example.com", &[Aaaa("1234::1"), A("1.1.1.1"), Txt(&["v=spf1 a -all"])]),
        ("e3.example.com", &[Txt(&["v=spf1 a:foo.example.com\0"])]),
        ("e4.example.com", &[Txt(&["v=spf1 a:111.222.33.44"])]),
        ("e5.example.com", &[Txt(&["v=spf1 a:abc.123"])]),
        ("e5a.example.com", &[Txt(&["v=spf1 a:museum"])]),
        ("e5b.example.com", &[Txt(&["v=spf1 a:museum."])]),
        ("e6.example.com", &[Txt(&["v=spf1 a//33 -all"])]),
        ("e6a.example.com", &[Txt(&["v=spf1 a/33 -all"])]),
        ("e7.example.com", &[Txt(&["v=spf1 a//129 -all"])]),
        ("e8.example.com", &[A("1.2.3.5"), Aaaa("2001:db8:1234::dead:beef"), Txt(&["v=spf1 a/24//64 -all"])]),
        ("e8e.example.com", &[A("1.2.3.5"), Aaaa("2001:db8:1234::dead:beef"), Txt(&["v=spf1 a/24/64 -all"])]),
        ("e8a.example.com", &[A("1.2.3.5"), Aaaa("2001:db8:1234::dead:beef"), Txt(&["v=spf1 a/24 -all"])]),
        ("e8b.example.com", &[A("1.2.3.5"), Aaaa("2001:db8:1234::dead:beef"), Txt(&["v=spf1 a//64 -all"])]),
        ("e9.example.com", &[Txt(&["v=spf1 a:example.com:8080"])]),
        ("e10.example.com", &[Txt(&["v=spf1 a:foo.example.com/24"])]),
        ("foo.example.com", &[A("1.1.1.1"), A("1.2.3.5")]),
        ("e11.example.com", &[Txt(&["v=spf1 a:foo:bar/baz.example.com"])]),
        ("foo:bar/baz.example.com", &[A("1.2.3.4")]),
        ("e12.example.com", &[Txt(&["v=spf1 a:example.-com"])]),
        ("e13.example.com", &[Txt(&["v=spf1 a:"])]),
        ("e14.example.com", &[Txt(&["v=spf1 a:foo.example.xn--zckzah -all"])]),
        ("foo.example.xn--zckzah", &[A("1.2.3.4")]),
    ],
    cases: &[
        Case { name: "a-cidr6", spec: "5.3/2", ip: "1.2.3.4", mailfrom: "foo@e6.example.com", helo: "mail.example.com", results: &["fail"], explanation: None },
        Case { name: "a-bad-cidr4", spec: "5.3/2", ip: "1.2.3.4", mailfrom: "foo@e6a.example.com", helo: "mail.example.com", results: &["permerror"], explanation: None },
        Case { name: "a-bad-cidr6", spec: "5.3/2", ip: "1.2.3.4", mailfrom: "foo@e7.example.com", helo: "mail.example.com", results: &["permerror"], explanation: None },
        Case { name: "a-dual-cidr-ip4-match", spec: "5.3/2", ip: "1.2.3.4", mailfrom: "foo@e8.example.com", helo: "mail.example.com", results: &["pass"], explanation: None },
        Case { name: "a-dual-cidr-ip4-err", spec: "5.3/2", ip: "1.2.3.4", mailfrom: "foo@e8e.example.com", helo: "mail.example.com", results: &["permerror"], explanation: None },
        Case { name: "a-dual-cidr-ip6-match", spec: "5.3/2", ip: "2001:db8:1234::cafe:babe", mailfrom: "foo@e8.example.com", helo: "mail.example.com", results: &["pass"], explanation: None },
        Case { name: "a-dual-cidr-ip4-default", spec: "5.3/2", ip: "1.2.3.4", mailfrom: "foo@e8b.example.com", helo: "mail.example.com", results: &["fail"], explanation: None },
        Case { name: "a-dual-cidr-ip6-default", spec: "5.3/2", ip: "2001:db8:1234::cafe:babe", mailfrom: "foo@e8a.example.com", helo: "mail.example.com", results: &["fail"], explanation: None },
        Case { name: "a-multi-ip1", spec: "5.3/3", ip: "1.2.3.4", mailfrom: "foo@e10.example.com", helo: "mail.example.com", results: &["pass"], explanation: None },
        Case { name: "a-multi-ip2", spec: "5.3/3", ip: "1.2.3.4", mailfrom: "foo@e10.example.com", helo: "mail.example.com", results: &["pass"], explanation: None },
        Case { name: "a-bad-domain", spec: "7.1/2", ip: "1.2.3.4", mailfrom: "foo@e9.example.com", helo: "mail.example.com", results: &["permerror"], explanation: None },
        Case { name: "a-nxdomain", spec: "5.3/3", ip: "1.2.3.4", mailfrom: "foo@e1.example.com", helo: "mail.example.com", results: &["fail"], explanation: None },
        Case { name: "a-cidr4-0", spec: "5.3/3", ip: "1.2.3.4", mailfrom: "foo@e2.example.com", helo: "mail.example.com", results: &["pass"], explanation: None },
        Case { name: "a-cidr4-0-ip6", spec: "5.3/3", ip: "1234::1", mailfrom: "foo@e2.example.com", helo: "mail.example.com", results: &["fail"], explanation: None },
        Case { name: "a-cidr6-0-ip4", spec: "5.3/3", ip: "1.2.3.4", mailfrom: "foo@e2a.example.com", helo: "mail.example.com", results: &["fail"], explanation: None },
        Case { name: "a-cidr6-0-ip4mapped", spec: "5.3/3", ip: "::FFFF:1.2.3.4", mailfrom: "foo@e2a.example.com", helo: "mail.example.com", results: &["fail"], explanation: None },
        Case { name: "a-cidr6-0-ip6", spec: "5.3/3", ip: "1234::1", mailfrom: "foo@e2a.example.com", helo: "mail.example.com", results: &["pass"], explanation: None },
        Case { name: "a-ip6-dualstack", spec: "5.3/3", ip: "1234::1", mailfrom: "foo@ipv6.example.com", helo: "mail.example.com", results: &["pass"], explanation: None },
        Case { name: "a-cidr6-0-nxdomain", spec: "5.3/3", ip: "1234::1", mailfrom: "foo@e2b.example.com", helo: "mail.example.com", results: &["fail"], explanation: None },
        Case { name: "a-null", spec: "7.1/2", ip: "1.2.3.5", mailfrom: "foo@e3.example.com", helo: "mail.example.com", results: &["permerror"], explanation: None },
        Case { name: "a-numeric", spec: "7.1/2", ip: "1.2.3.4", mailfrom: "foo@e4.example.com", helo: "mail.example.com", results: &["permerror"], explanation: None },
        Case { name: "a-numeric-toplabel", spec: "7.1/2", ip: "1.2.3.4", mailfrom: "foo@e5.example.com", helo: "mail.example.com", results: &["permerror"], explanation: None },
        Case { name: "a-dash-in-toplabel", spec: "7.1/2", ip: "1.2.3.4", mailfrom: "foo@e14.example.com", helo: "mail.example.com", results: &["pass"], explanation: None },
        Case { name: "a-bad-toplabel", spec: "7.1/2", ip: "1.2.3.4", mailfrom: "foo@e12.example.com", helo: "mail.example.com", results: &["permerror"], explanation: None },
        Case { name: "a-only-toplabel", spec: "7.1/2", ip: "1.2.3.4", mailfrom: "foo@e5a.example.com", helo: "mail.example.com", results: &["permerror"], explanation: None },
        Case { name: "a-only-toplabel-trailing-dot", spec: "7.1/2", ip: "1.2.3.4", mailfrom: "foo@e5b.example.com", helo: "mail.example.com", results: &["permerror"], explanation: None },
        Case { name: "a-colon-domain", spec: "7.1/2", ip: "1.2.3.4", mailfrom: "foo@e11.example.com", helo: "mail.example.com", results: &["pass"], explanation: None },
        Case { name: "a-colon-domain-ip4mapped", spec: "7.1/2", ip: "::FFFF:1.2.3.4", mailfrom: "foo@e11.example.com", helo: "mail.example.com", results: &["pass"], explanation: None },
        Case { name: "a-empty-domain", spec: "5.3/2", ip: "1.2.3.4", mailfrom: "foo@e13.example.com", helo: "mail.example.com", results: &["permerror"], explanation: None },
    ],
};

/// Include mechanism semantics and syntax.
#[rustfmt::skip]
pub(super) const INCLUDE_MECHANISM_SEMANTICS_AND_SYNTAX: Scenario = Scenario {
    section: "Include mechanism semantics and syntax",
    zone: &[
        ("mail.example.com", &[A("1.2.3.4")]),
        ("ip5.example.com", &[Txt(&["v=spf1 ip4:1.2.3.5 -all"])]),
        ("ip6.example.com", &[Txt(&["v=spf1 ip4:1.2.3.6 ~all"])]),
        ("ip7.example.com", &[Txt(&["v=spf1 ip4:1.2.3.7 ?all"])]),
        ("ip8.example.com", &[Timeout]),
        ("erehwon.example.com", &[Txt(&["v=spfl am not an SPF record"])]),
        ("e1.example.com", &[Txt(&["v=spf1 include:ip5.example.com ~all"])]),
        ("e2.example.com", &[Txt(&["v=spf1 include:ip6.example.com all"])]),
        ("e3.example.com", &[Txt(&["v=spf1 include:ip7.example.com -all"])]),
        ("e4.example.com", &[Txt(&["v=spf1 include:ip8.example.com -all"])]),
        ("e5.example.com", &[Txt(&["v=spf1 include:e6.example.com -all"])]),
        ("e6.example.com", &[Txt(&["v=spf1 include +all"])]),
        ("e7.example.com", &[Txt(&["v=spf1 include:erehwon.example.com -all"])]),
        ("e8.example.com", &[Txt(&["v=spf1 include: -all"])]),
        ("e9.example.com", &[Txt(&["v=spf1 include:ip5.example.com/24 -all"])]),
    ],
    cases: &[
        Case { name: "include-fail", spec: "5.2/9", ip: "1.2.3.4", mailfrom: "foo@e1.example.com", helo: "mail.example.com", results: &["softfail"], explanation: None },
        Case { name: "include-softfail", spec: "5.2/9", ip: "1.2.3.4", mailfrom: "foo@e2.example.com", helo: "mail.example.com", results: &["pass"], explanation: None },
        Case { name: "include-neutral", spec: "5.2/9", ip: "1.2.3.4", mailfrom: "foo@e3.example.com", helo: "mail.example.com", results: &["fail"], explanation: None },
        Case { name: "include-temperror", spec: "5.2/9", ip: "1.2.3.4", mailfrom: "foo@e4.example.com", helo: "mail.example.com", results: &["temperror"], explanation: None },
        Case { name: "include-permerror", spec: "5.2/9", ip: "1.2.3.4", mailfrom: "foo@e5.example.com", helo: "mail.example.com", results: &["permerror"], explanation: None },
        Case { name: "include-syntax-error", spec: "5.2/1", ip: "1.2.3.4", mailfrom: "foo@e6.example.com", helo: "mail.example.com", results: &["permerror"], explanation: None },
        Case { name: "include-cidr", spec: "5.2/1", ip: "1.2.3.4", mailfrom: "foo@e9.example.com", helo: "mail.example.com", results: &["permerror"], explanation: None },
        Case { name: "include-none", spec: "5.2/9", ip: "1.2.3.4", mailfrom: "foo@e7.example.com", helo: "mail.example.com", results: &["permerror"], explanation: None },
        Case { name: "include-empty-domain", spec: "5.2/1", ip: "1.2.3.4", mailfrom: "foo@e8.example.com", helo: "mail.example.com", results: &["permerror"], explanation: None },
    ],
};

/// MX mechanism syntax.
#[rustfmt::skip]
pub(super) const MX_MECHANISM_SYNTAX: Scenario = Scenario {
    section: "MX mechanism syntax",
    zone: &[
        ("mail.example.com", &[A("1.2.3.4"), Mx(""), Txt(&["v=spf1 mx"])]),
        ("e1.example.com", &[Mx("e1.example.com"), Txt(&["v=spf1 mx/0 -all"])]),
        ("e2.example.com", &[A("1.1.1.1"), Aaaa("1234::2"), Mx("e2.example.com"), Txt(&["v=spf1 mx/0 -all"])]),
        ("e2a.example.com", &[Aaaa("1234::1"), Mx("e2a.example.com"), Txt(&["v=spf1 mx//0 -all"])]),
        ("e2b.example.com", &[A("1.1.1.1"), Mx("e2b.example.com"), Txt(&["v=spf1 mx//0 -all"])]),
        ("e3.example.com", &[Txt(&["v=spf1 mx:foo.example.com\0"])]),
        ("e4.example.com", &[A("1.2.3.4"), Txt(&["v=spf1 mx"])]),
        ("e5.example.com", &[Txt(&["v=spf1 mx:abc.123"])]),
        ("e6.example.com", &[Txt(&["v=spf1 mx//33 -all"])]),
        ("e6a.example.com", &[Txt(&["v=spf1 mx/33 -all"])]),
        ("e7.example.com", &[Txt(&["v=spf1 mx//129 -all"])]),
        ("e9.example.com", &[Txt(&["v=spf1 mx:example.com:8080"])]),
        ("e10.example.com", &[Txt(&["v=spf1 mx:foo.example.com/24"])]),
        ("foo.example.com", &[Mx("foo1.example.com")]),
        ("foo1.example.com", &[A("1.1.1.1"), A("1.2.3.5")]),
        ("e11.example.com", &[Txt(&["v=spf1 mx:foo:bar/baz.example.com"])]),
        ("foo:bar/baz.example.com", &[Mx("foo:bar/baz.example.com"), A("1.2.3.4")]),
        ("e12.example.com", &[Txt(&["v=spf1 mx:example.-com"])]),
        ("e13.example.com", &[Txt(&["v=spf1 mx: -all"])]),
    ],
    cases: &[
        Case { name: "mx-cidr6", spec: "5.4/2", ip: "1.2.3.4", mailfrom: "foo@e6.example.com", helo: "mail.example.com", results: &["fail"], explanation: None },
        Case { name: "mx-bad-cidr4", spec: "5.4/2", ip: "1.2.3.4", mailfrom: "foo@e6a.example.com", helo: "mail.example.com", results: &["permerror"], explanation: None },
        Case { name: "mx-bad-cidr6", spec: "5.4/2", ip: "1.2.3.4", mailfrom: "foo@e7.example.com", helo: "mail.example.com", results: &["permerror"], explanation: None },
        Case { name: "mx-multi-ip1", spec: "5.4/3", ip: "1.2.3.4", mailfrom: "foo@e10.example.com", helo: "mail.example.com", results: &["pass"], explanation: None },
        Case { name: "mx-multi-ip2", spec: "5.4/3", ip: "1.2.3.4", mailfrom: "foo@e10.example.com", helo: "mail.example.com", results: &["pass"], explanation: None },
        Case { name: "mx-bad-domain", spec: "7.1/2", ip: "1.2.3.4", mailfrom: "foo@e9.example.com", helo: "mail.example.com", results: &["permerror"], explanation: None },
        Case { name: "mx-nxdomain", spec: "5.4/3", ip: "1.2.3.4", mailfrom: "foo@e1.example.com", helo: "mail.example.com", results: &["fail"], explanation: None },
        Case { name: "mx-cidr4-0", spec: "5.4/3", ip: "1.2.3.4", mailfrom: "foo@e2.example.com", helo: "mail.example.com", results: &["pass"], explanation: None },
        Case { name: "mx-cidr4-0-ip6", spec: "5.4/3", ip: "1234::1", mailfrom: "foo@e2.example.com", helo: "mail.example.com", results: &["fail"], explanation: None },
        Case { name: "mx-cidr6-0-ip4", spec: "5.4/3", ip: "1.2.3.4", mailfrom: "foo@e2a.example.com", helo: "mail.example.com", results: &["fail"], explanation: None },
        Case { name: "mx-cidr6-0-ip4mapped", spec: "5.4/3", ip: "::FFFF:1.2.3.4", mailfrom: "foo@e2a.example.com", helo: "mail.example.com", results: &["fail"], explanation: None },
        Case { name: "mx-cidr6-0-ip6", spec: "5.3/3", ip: "1234::1", mailfrom: "foo@e2a.example.com", helo: "mail.example.com", results: &["pass"], explanation: None },
        Case { name: "mx-cidr6-0-nxdomain", spec: "5.4/3", ip: "1234::1", mailfrom: "foo@e2b.example.com", helo: "mail.example.com", results: &["fail"], explanation: None },
        Case { name: "mx-null", spec: "7.1/2", ip: "1.2.3.5", mailfrom: "foo@e3.example.com", helo: "mail.example.com", results: &["permerror"], explanation: None },
        Case { name: "mx-numeric-top-label", spec: "7.1/2", ip: "1.2.3.4", mailfrom: "foo@e5.example.com", helo: "mail.example.com", results: &["permerror"], explanation: None },
        Case { name: "mx-colon-domain", spec: "7.1/2", ip: "1.2.3.4", mailfrom: "foo@e11.example.com", helo: "mail.example.com", results: &["pass"], explanation: None },
        Case { name: "mx-colon-domain-ip4mapped", spec: "7.1/2", ip: "::FFFF:1.2.3.4", mailfrom: "foo@e11.example.com", helo: "mail.example.com", results: &["pass"], explanation: None },
        Case { name: "mx-bad-toplab", spec: "7.1/2", ip: "1.2.3.4", mailfrom: "foo@e12.example.com", helo: "mail.example.com", results: &["permerror"], explanation: None },
        Case { name: "mx-empty", spec: "5.4/3", ip: "1.2.3.4", mailfrom: "", helo: "mail.example.com", results: &["neutral"], explanation: None },
        Case { name: "mx-implicit", spec: "5.4/4", ip: "1.2.3.4", mailfrom: "foo@e4.example.com", helo: "mail.example.com", results: &["neutral"], explanation: None },
        Case { name: "mx-empty-domain", spec: "5.2/1", ip: "1.2.3.4", mailfrom: "foo@e13.example.com", helo: "mail.example.com", results: &["permerror"], explanation: None },
    ],
};

/// EXISTS mechanism syntax.
#[rustfmt::skip]
pub(super) const EXISTS_MECHANISM_SYNTAX: Scenario = Scenario {
    section: "EXISTS mechanism syntax",
    zone: &[
        ("mail.example.com", &[A("1.2.3.4")]),
        ("mail6.example.com", &[Aaaa("CAFE:BABE::4")]),
        ("err.example.com", &[Timeout]),
        ("e1.example.com", &[Txt(&["v=spf1 exists:"])]),
        ("e2.example.com", &[Txt(&["v=spf1 exists"])]),
        ("e3.example.com", &[Txt(&["v=spf1 exists:mail.example.com/24"])]),
        ("e4.example.com", &[Txt(&["v=spf1 exists:mail.example.com"])]),
        ("e5.example.com", &[Txt(&["v=spf1 exists:mail6.example.com -all"])]),
        ("e6.example.com", &[Txt(&["v=spf1 exists:err.example.com -all"])]),
    ],
    cases: &[
        Case { name: "exists-empty-domain", spec: "5.7/2", ip: "1.2.3.4", mailfrom: "foo@e1.example.com", helo: "mail.example.com", results: &["permerror"], explanation: None },
        Case { name: "exists-implicit", spec: "5.7/2", ip: "1.2.3.4", mailfrom: "foo@e2.example.com", helo: "mail.example.com", results: &["permerror"], explanation: None },
        Case { name: "exists-cidr", spec: "5.7/2", ip: "1.2.3.4", mailfrom: "foo@e3.example.com", helo: "mail.example.com", results: &["permerror"], explanation: None },
        Case { name: "exists-ip4", spec: "5.7/3", ip: "1.2.3.4", mailfrom: "foo@e4.example.com", helo: "mail.example.com", results: &["pass"], explanation: None },
        Case { name: "exists-ip6", spec: "5.7/3", ip: "CAFE:BABE::3", mailfrom: "foo@e4.example.com", helo: "mail.example.com", results: &["pass"], explanation: None },
        Case { name: "exists-ip6only", spec: "5.7/3", ip: "CAFE:BABE::3", mailfrom: "foo@e5.example.com", helo: "mail.example.com", results: &["fail"], explanation: None },
        Case { name: "exists-dnserr", spec: "5/8", ip: "CAFE:BABE::3", mailfrom: "foo@e6.example.com", helo: "mail.example.com", results: &["temperror"], explanation: None },
    ],
};
