#![no_main]
//! Fuzz target: sspi-emu's XChaCha20-Poly1305 (its own Poly1305) against the
//! `chacha20poly1305` crate: same ciphertext and tag for any key, nonce, associated data and
//! message; its own output opens, and any altered tag is refused with the buffer untouched.
use chacha20poly1305::aead::{AeadInOut, KeyInit};
use sspi_emu::primitives::{
    xchacha20poly1305_open as aead_open, xchacha20poly1305_seal as aead_seal,
};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Some((key, rest)) = data.split_first_chunk::<32>() else { return };
    let Some((nonce, rest)) = rest.split_first_chunk::<24>() else { return };
    let Some((&aad_len, rest)) = rest.split_first() else { return };
    let (aad, plain) = rest.split_at(usize::from(aad_len).min(rest.len()));

    let mut ours = plain.to_vec();
    let tag = aead_seal(key, nonce, aad, &mut ours);
    let mut theirs = plain.to_vec();
    let their_tag = chacha20poly1305::XChaCha20Poly1305::new(key.into())
        .encrypt_inout_detached(nonce.into(), aad, (&mut theirs[..]).into())
        .expect("any length up to 2^38 bytes");
    assert_eq!(ours, theirs, "ciphertext");
    assert_eq!(tag[..], their_tag[..], "tag");

    let mut bad = tag;
    bad[usize::from(aad_len) % 16] ^= 1 << (aad_len % 8);
    let sealed = ours.clone();
    assert!(!aead_open(key, nonce, aad, &mut ours, &bad));
    assert_eq!(ours, sealed, "a refused open leaves the buffer");
    assert!(aead_open(key, nonce, aad, &mut ours, &tag));
    assert_eq!(ours, plain);
});
