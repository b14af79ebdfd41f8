//! XChaCha20-Poly1305 (draft-irtf-cfrg-xchacha-03 section 2.3: HChaCha20 subkey, then the
//! ChaCha20-Poly1305 AEAD of RFC 8439 section 2.8), for the export blobs: a thin wrapper over
//! the RustCrypto `chacha20poly1305` crate's detached, in-place API.
//!
//! Why the crate and not our own code: this MAC is what stops a process that cannot read the
//! export key from forging a security context. A bug in a hand-written Poly1305 (a missed
//! carry, a wrong final reduction) shows up in no interoperability test: every blob we seal
//! still opens, and the only symptom is that some forged blobs open too. A reviewer of an
//! authentication library should be able to see "audited crate" here and move on, not audit
//! our own Poly1305. (sspi-emu used its own radix-2^64 Poly1305 until issue 16; its output
//! was byte-identical, so blobs sealed by either open with the other.)
//!
//! The cost, measured on x86-64 (2-vCPU Zen 3, release, no `target-cpu`): poly1305 0.9's
//! runtime-selected AVX2 back end calls helpers that are not compiled for AVX2, so it pays a
//! fixed ~1.6 µs per message (only a final binary can pick its portable back end, with
//! `--cfg poly1305_backend="soft"`). Sealing or opening a 641-byte export state takes
//! ~2.8–3.0 µs, against ~1.0 µs for the hand-written code, and export + import of an
//! established NTLM context rose from 3.6 to 6.7 µs on a quiet core (BENCHMARKS.md): about
//! 3 µs, invisible next to the network round trip that usually carries a blob.
//!
//! Zeroization: the crate's `zeroize` feature wipes its copy of the key and the ChaCha20
//! state; the Poly1305 state is wiped through `poly1305`'s own `zeroize` feature, which
//! Cargo.toml turns on for that reason. Constant time: the crate compares tags with `subtle`.

use chacha20poly1305::XChaCha20Poly1305;
use chacha20poly1305::aead::{AeadInOut, KeyInit};

/// Length of a Poly1305 tag.
pub(crate) const TAG_LEN: usize = 16;

/// Encrypts `buf` in place and returns the tag over `aad` and the ciphertext.
///
/// # Panics
/// If `buf` is 256 GiB or longer (ChaCha20's 32-bit block counter would wrap). The export
/// path cannot get there: a blob's length field is 32 bits, and blobs are capped at 64 KiB.
pub(crate) fn seal(key: &[u8; 32], nonce: &[u8; 24], aad: &[u8], buf: &mut [u8]) -> [u8; 16] {
    XChaCha20Poly1305::new(key.into())
        .encrypt_inout_detached(nonce.into(), aad, buf.into())
        .map(Into::into)
        .expect("messages are far below ChaCha20's 256 GiB limit")
}

/// Checks the tag over `aad` and the ciphertext in `buf`, then decrypts `buf` in place.
/// Returns `false`, with `buf` untouched, if the tag does not match (the crate decrypts only
/// after the tag has been checked, in constant time).
#[must_use]
pub(crate) fn open(
    key: &[u8; 32],
    nonce: &[u8; 24],
    aad: &[u8],
    buf: &mut [u8],
    expected: &[u8; 16],
) -> bool {
    XChaCha20Poly1305::new(key.into())
        .decrypt_inout_detached(nonce.into(), aad, buf.into(), expected.into())
        .is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
    }

    fn counting<const N: usize>(from: u8) -> [u8; N] {
        core::array::from_fn(|i| from + u8::try_from(i).unwrap())
    }

    /// draft-irtf-cfrg-xchacha-03 appendix A.3.1: the AEAD_XChaCha20_Poly1305 example.
    const A31_PLAIN: &[u8] =
        b"Ladies and Gentlemen of the class of '99: If I could offer you only \
one tip for the future, sunscreen would be it.";
    const A31_AAD: &str = "50515253c0c1c2c3c4c5c6c7";
    const A31_CIPHER: &str = "bd6d179d3e83d43b9576579493c0e939572a1700252bfaccbed2902c21396cbb\
731c7f1b0b4aa6440bf3a82f4eda7e39ae64c6708c54c216cb96b72e1213b452\
2f8c9ba40db5d945b11b69b982c1bb9e3f3fac2bc369488f76b2383565d3fff9\
21f9664c97637da9768812f615c68b13b52e";
    const A31_TAG: &str = "c0875924c1c7987947deafd8780acf49";

    #[test]
    fn xchacha_draft_a31_seal_and_open() {
        // Key 80..9f, nonce 40..57 (draft-irtf-cfrg-xchacha-03 A.3.1).
        let (key, nonce) = (counting::<32>(0x80), counting::<24>(0x40));
        let aad = hex(A31_AAD);
        let mut buf = A31_PLAIN.to_vec();
        let tag = seal(&key, &nonce, &aad, &mut buf);
        assert_eq!(buf, hex(A31_CIPHER), "ciphertext");
        assert_eq!(tag[..], hex(A31_TAG)[..], "tag");
        assert!(open(&key, &nonce, &aad, &mut buf, &tag));
        assert_eq!(buf, A31_PLAIN);
    }

    /// Sealing nothing still authenticates the associated data (RFC 8439 section 2.8: the
    /// lengths block is always absorbed), and a change to it is refused.
    #[test]
    fn an_empty_message_authenticates_its_associated_data() {
        let (key, nonce) = (counting::<32>(0x80), counting::<24>(0x40));
        let tag = seal(&key, &nonce, b"header", &mut []);
        assert!(open(&key, &nonce, b"header", &mut [], &tag));
        assert!(!open(&key, &nonce, b"headeR", &mut [], &tag));
        assert!(!open(&key, &nonce, b"", &mut [], &tag));
        assert_ne!(tag, seal(&key, &nonce, b"", &mut []));
    }

    #[test]
    fn open_refuses_any_change_and_leaves_the_buffer() {
        let (key, nonce, aad) = ([7u8; 32], [9u8; 24], *b"header");
        let mut sealed = *b"a context state of some length..";
        let tag = seal(&key, &nonce, &aad, &mut sealed);
        for bit in 0..(sealed.len() + aad.len() + tag.len() + nonce.len()) * 8 {
            let (mut c, mut a, mut t, mut n) = (sealed, aad, tag, nonce);
            let (byte, mask) = (bit / 8, 1u8 << (bit % 8));
            match byte {
                b if b < c.len() => c[b] ^= mask,
                b if b < c.len() + a.len() => a[b - c.len()] ^= mask,
                b if b < c.len() + a.len() + t.len() => t[b - c.len() - a.len()] ^= mask,
                b => n[b - c.len() - a.len() - t.len()] ^= mask,
            }
            let before = c;
            assert!(!open(&key, &n, &a, &mut c, &t), "bit {bit}");
            assert_eq!(c, before, "the buffer must stay as it was");
        }
        let mut other_key = key;
        other_key[0] ^= 1;
        assert!(!open(&other_key, &nonce, &aad, &mut sealed.clone(), &tag));
        // A truncated or extended ciphertext is refused too.
        let mut shorter = sealed;
        assert!(!open(&key, &nonce, &aad, &mut shorter[..31], &tag));
        let mut longer = sealed.to_vec();
        longer.push(0);
        assert!(!open(&key, &nonce, &aad, &mut longer, &tag));
        assert!(open(&key, &nonce, &aad, &mut sealed, &tag));
        assert_eq!(&sealed, b"a context state of some length..");
    }
}
