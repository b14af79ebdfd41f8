#![no_main]
//! Fuzz target: the export blobs' XChaCha20-Poly1305 (the `chacha20poly1305` crate, through
//! sspi-emu's `seal` / `open` wrapper) on hostile input.
//!
//! Input: key (32 bytes), nonce (24), the associated data's length (1), where to change a
//! sealed message (2, little-endian) and with which bit mask (1), then the associated data
//! and the message. Checked:
//! - the message's last 16 bytes taken as a tag over the rest (a hostile blob): `open` never
//!   panics; when it refuses, the buffer is untouched; when it accepts, sealing the plaintext
//!   again gives back exactly that ciphertext and tag;
//! - the message sealed for real opens to itself, and the sealed message with one change (a
//!   bit mask on one byte of the ciphertext, associated data, tag or nonce, or one byte cut
//!   off or added) is refused, with the buffer untouched.
use sspi_emu::primitives::{xchacha20poly1305_open as open, xchacha20poly1305_seal as seal};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Some((key, rest)) = data.split_first_chunk::<32>() else { return };
    let Some((nonce, rest)) = rest.split_first_chunk::<24>() else { return };
    let Some((&[aad_len, at_lo, at_hi, mask], rest)) = rest.split_first_chunk::<4>() else {
        return;
    };
    let (aad, message) = rest.split_at(usize::from(aad_len).min(rest.len()));

    // The input as a hostile blob.
    if let Some((body, tag)) = message.split_last_chunk::<16>() {
        let mut buf = body.to_vec();
        if open(key, nonce, aad, &mut buf, tag) {
            let mut again = buf.clone();
            assert_eq!(seal(key, nonce, aad, &mut again), *tag, "an accepted tag is the real one");
            assert_eq!(again, body, "an accepted ciphertext is the real one");
        } else {
            assert_eq!(buf, body, "a refused open leaves the buffer");
        }
    }

    // A genuine blob, then one change to it.
    let mut sealed = message.to_vec();
    let tag = seal(key, nonce, aad, &mut sealed);
    let mut opened = sealed.clone();
    assert!(open(key, nonce, aad, &mut opened, &tag));
    assert_eq!(opened, message);

    let (mut c, mut a, mut t, mut n) = (sealed, aad.to_vec(), tag, *nonce);
    let mask = mask.max(1);
    let places = c.len() + a.len() + t.len() + n.len();
    let at = usize::from(u16::from_le_bytes([at_lo, at_hi])) % (places + 1);
    if at == places {
        // One byte cut off the ciphertext, or one added to an empty one.
        if c.pop().is_none() {
            c.push(mask);
        }
    } else if at < c.len() {
        c[at] ^= mask;
    } else if at < c.len() + a.len() {
        a[at - c.len()] ^= mask;
    } else if at < c.len() + a.len() + t.len() {
        t[at - c.len() - a.len()] ^= mask;
    } else {
        n[at - c.len() - a.len() - t.len()] ^= mask;
    }
    let before = c.clone();
    assert!(!open(key, &n, &a, &mut c, &t), "a changed blob must be refused");
    assert_eq!(c, before, "a refused open leaves the buffer");
});
