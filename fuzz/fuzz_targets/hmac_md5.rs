#![no_main]
//! Fuzz target: sspi-emu's HMAC-MD5 (its own two-lane key schedule) against the `hmac` and
//! `md-5` crates, for any key and message split into two updates; and its two-lane MD5 of two
//! short messages against `md-5`'s MD5 of each.
use hmac::{KeyInit, Mac};
use md5::{Digest, Md5};
use sspi_emu::primitives::{HmacMd5, md5_pair};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Some((&[key_len, split], rest)) = data.split_first_chunk::<2>() else { return };
    let (key, message) = rest.split_at(usize::from(key_len).min(rest.len()));
    let (first, second) = message.split_at(usize::from(split).min(message.len()));

    let mut ours = HmacMd5::new(key);
    ours.update(first);
    ours.update(second);
    let mut theirs = hmac::Hmac::<Md5>::new_from_slice(key).expect("any key length");
    theirs.update(message);
    assert_eq!(ours.tag()[..], theirs.finalize().into_bytes()[..], "HMAC-MD5");

    let pair = md5_pair([&[key], &[first, second]]);
    if (56..=119).contains(&key.len()) && (56..=119).contains(&message.len()) {
        let [a, b] = pair.expect("both lengths in 56..=119");
        assert_eq!(a[..], Md5::digest(key)[..], "first lane");
        assert_eq!(b[..], Md5::digest(message)[..], "second lane");
    } else {
        assert!(pair.is_none());
    }
});
