//! Modified UTF-7 (RFC 3501 5.1.3), the encoding of IMAP4rev1 mailbox
//! names: printable ASCII stands for itself (`&` as `&-`), anything else
//! is UTF-16 in modified base64 (`,` for `/`, no padding) between `&`
//! and `-`. IMAP4rev2 and UTF8=ACCEPT sessions use UTF-8 instead.

use std::fmt;

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,";

/// Why a name is not modified UTF-7.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mutf7Error {
    /// An 8-bit or control octet outside a shifted run.
    InvalidCharacter,
    /// A `&` run without its closing `-`.
    Unterminated,
    /// A character outside modified base64, or leftover bits.
    InvalidBase64,
    /// UTF-16 that is not whole characters (a lone surrogate).
    InvalidUtf16,
    /// Printable ASCII encoded in base64 (RFC 3501 forbids it), or two
    /// runs in a row: a name has one spelling only.
    NotCanonical,
}

impl fmt::Display for Mutf7Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = match self {
            Mutf7Error::InvalidCharacter => "an 8-bit or control character in a mailbox name",
            Mutf7Error::Unterminated => "a &-run without its closing - in a mailbox name",
            Mutf7Error::InvalidBase64 => "invalid modified base64 in a mailbox name",
            Mutf7Error::InvalidUtf16 => "invalid UTF-16 in a mailbox name",
            Mutf7Error::NotCanonical => "a mailbox name not in its one modified UTF-7 spelling",
        };
        f.write_str(text)
    }
}

impl std::error::Error for Mutf7Error {}

fn is_direct(c: char) -> bool {
    (' '..='~').contains(&c)
}

/// A mailbox name in modified UTF-7.
pub fn encode(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut pending: Vec<u16> = Vec::new();
    for c in name.chars() {
        if is_direct(c) {
            flush(&mut pending, &mut out);
            out.push(c);
            if c == '&' {
                out.push('-');
            }
        } else {
            let mut units = [0u16; 2];
            pending.extend_from_slice(c.encode_utf16(&mut units));
        }
    }
    flush(&mut pending, &mut out);
    out
}

/// Writes a shifted run for `units` (if any): `&`, base64, `-`.
fn flush(units: &mut Vec<u16>, out: &mut String) {
    if units.is_empty() {
        return;
    }
    out.push('&');
    let bytes: Vec<u8> = units.iter().flat_map(|u| u.to_be_bytes()).collect();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let sextets = [
            b[0] >> 2,
            ((b[0] & 0x03) << 4) | (b[1] >> 4),
            ((b[1] & 0x0f) << 2) | (b[2] >> 6),
            b[2] & 0x3f,
        ];
        // 1 octet gives 2 sextets, 2 give 3, 3 give 4.
        for &sextet in &sextets[..chunk.len() + 1] {
            out.push(char::from(ALPHABET[usize::from(sextet)]));
        }
    }
    out.push('-');
    units.clear();
}

/// A mailbox name from modified UTF-7.
pub fn decode(wire: &str) -> Result<String, Mutf7Error> {
    let mut out = String::with_capacity(wire.len());
    let mut chars = wire.chars();
    let mut after_run = false;
    while let Some(c) = chars.next() {
        if c != '&' {
            if !is_direct(c) {
                return Err(Mutf7Error::InvalidCharacter);
            }
            out.push(c);
            after_run = false;
            continue;
        }
        let mut run = Vec::new();
        loop {
            match chars.next() {
                None => return Err(Mutf7Error::Unterminated),
                Some('-') => break,
                Some(c) => run.push(c),
            }
        }
        if run.is_empty() {
            out.push('&');
            after_run = false;
        } else if after_run {
            // Two runs in a row are one run spelled differently.
            return Err(Mutf7Error::NotCanonical);
        } else {
            decode_run(&run, &mut out)?;
            after_run = true;
        }
    }
    Ok(out)
}

fn decode_run(run: &[char], out: &mut String) -> Result<(), Mutf7Error> {
    let mut bits: u32 = 0;
    let mut bit_count = 0;
    let mut bytes = Vec::with_capacity(run.len() * 3 / 4);
    for &c in run {
        let value = u8::try_from(c)
            .ok()
            .and_then(|b| ALPHABET.iter().position(|&a| a == b))
            .ok_or(Mutf7Error::InvalidBase64)?;
        bits = (bits << 6) | value as u32;
        bit_count += 6;
        if bit_count >= 8 {
            bit_count -= 8;
            bytes.push((bits >> bit_count) as u8);
            bits &= (1 << bit_count) - 1;
        }
    }
    // RFC 3501 5.1.3 with RFC 2152: the leftover bits are zero and fewer
    // than a sextet.
    if bits != 0 || bit_count >= 6 || bytes.len() % 2 != 0 {
        return Err(Mutf7Error::InvalidBase64);
    }
    let units = bytes
        .chunks(2)
        .map(|pair| u16::from_be_bytes([pair[0], pair[1]]));
    for c in char::decode_utf16(units) {
        let c = c.map_err(|_| Mutf7Error::InvalidUtf16)?;
        if is_direct(c) {
            return Err(Mutf7Error::NotCanonical);
        }
        out.push(c);
    }
    Ok(())
}
