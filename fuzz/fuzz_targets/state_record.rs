//! The delivery-state decoder on arbitrary bytes: a damaged state file
//! must be refused with an error, never a panic and never an allocation
//! the size of a forged length prefix (libFuzzer's `-malloc_limit_mb`,
//! which defaults to `-rss_limit_mb`, makes one a crash).

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let first = postern::spool::decode_state(data);
    // Decoding is a pure function of the bytes.
    let second = postern::spool::decode_state(data);
    assert_eq!(first.is_ok(), second.is_ok());
    if let (Ok(first), Ok(second)) = (first, second) {
        assert_eq!(first, second);
        // What decodes, encodes and decodes back to itself.
        let encoded = postern::spool::encode_state(&first).expect("a decoded state encodes");
        let again = postern::spool::decode_state(&encoded).expect("an encoded state decodes");
        assert_eq!(again, first);
    }
});
