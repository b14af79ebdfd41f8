//! XChaCha20-Poly1305 (draft-irtf-cfrg-xchacha-03 section 2.3: HChaCha20 subkey, then the
//! ChaCha20-Poly1305 AEAD of RFC 8439 section 2.8), for the export blobs.
//!
//! The keystream is the RustCrypto `chacha20` crate's. Poly1305 (RFC 8439 section 2.5) is
//! written here. Why not the `chacha20poly1305` / `poly1305` crates: measured on x86-64
//! (2-vCPU Zen 3, release, no `target-cpu`), poly1305 0.9's runtime-selected AVX2 back end
//! calls helpers that are not compiled for AVX2, so every vector operation is an out-of-line
//! call: sealing a 641-byte export state took 2.7–3.2 µs, of which ~1.6 µs was a fixed
//! Poly1305 cost even for an empty message. Its portable back end is faster, but only the
//! final binary can select it (`--cfg poly1305_backend="soft"`), never a library. Older
//! releases (poly1305 0.7, 0.8) behave the same. This Poly1305 works in radix 2^64 (two 64-bit
//! limbs and a few bits above, four 64x64->128-bit products per block, the layout of
//! OpenSSL's scalar 64-bit code), and the keystream is drawn 256 bytes (four blocks, the
//! width of `chacha20`'s SIMD back ends) at a time: a 641-byte seal or open costs under
//! 1 µs, on every 64-bit target, with no `unsafe` and no flags. (An earlier version used
//! poly1305-donna's 44/44/42-bit limbs with two blocks per step: nine products per block
//! and about twice the instructions.)
//!
//! Proof: RFC 8439 appendix A.3 vectors (including the reduction corner cases #5–#11),
//! differential tests against `chacha20poly1305` and `poly1305` on random and extreme
//! inputs (`tests` below), and a fuzz target comparing against `chacha20poly1305`.
//! Constant time: no branch or index depends on a secret; the tag comparison is `subtle`'s
//! (64-bit targets multiply in constant time; on 32-bit ones the 128-bit products become
//! software multiplications, constant time wherever the 32-bit multiplier is).
//!
//! Messages must stay below 2^38 bytes (the 32-bit block counter), or the keystream panics;
//! export blobs are capped at 64 KiB long before that.

use super::Secret;
use chacha20::XChaCha20;
use chacha20::cipher::{KeyIvInit, StreamCipher};
use subtle::ConstantTimeEq;
use zeroize::{Zeroize, ZeroizeOnDrop};

/// Length of a Poly1305 tag.
pub(crate) const TAG_LEN: usize = 16;

/// Encrypts `buf` in place and returns the tag over `aad` and the ciphertext.
pub(crate) fn seal(key: &[u8; 32], nonce: &[u8; 24], aad: &[u8], buf: &mut [u8]) -> [u8; 16] {
    let mut stream = Keystream::start(key, nonce);
    let mac = stream.mac();
    stream.apply(buf);
    tag(mac, aad, buf)
}

/// Checks the tag over `aad` and the ciphertext in `buf`, then decrypts `buf` in place.
/// Returns `false`, with `buf` untouched, if the tag does not match.
#[must_use]
pub(crate) fn open(
    key: &[u8; 32],
    nonce: &[u8; 24],
    aad: &[u8],
    buf: &mut [u8],
    expected: &[u8; 16],
) -> bool {
    let mut stream = Keystream::start(key, nonce);
    if !bool::from(tag(stream.mac(), aad, buf).ct_eq(expected)) {
        return false;
    }
    stream.apply(buf);
    true
}

/// RFC 8439 section 2.8: Poly1305 over `aad`, padded to 16 bytes, the ciphertext, padded,
/// and both lengths as 64-bit little-endian numbers.
fn tag(mut mac: Poly1305, aad: &[u8], ciphertext: &[u8]) -> [u8; 16] {
    mac.update_padded(aad);
    mac.update_padded(ciphertext);
    let mut lengths = [0u8; 16];
    // usize is at most 64 bits on every target Rust supports.
    lengths[..8].copy_from_slice(&u64::try_from(aad.len()).unwrap_or(u64::MAX).to_le_bytes());
    lengths[8..]
        .copy_from_slice(&u64::try_from(ciphertext.len()).unwrap_or(u64::MAX).to_le_bytes());
    mac.block(&lengths);
    mac.finalize()
}

/// The XChaCha20 keystream of one message: block 0 keys Poly1305, the message is XORed with
/// the stream from block 1 on. It stays where `seal` or `open` made it (methods take
/// `&mut self`): the cipher state and the buffered blocks are not moved around.
struct Keystream {
    cipher: XChaCha20,
    /// Keystream blocks 0–3 after [`Keystream::start`], then each next four.
    blocks: Secret<256>,
}

impl Keystream {
    // `start` and `apply` are out of line: one copy each, shared by `seal` and `open` (an
    // export and an import run both; inlined, each held its own ~2 KiB copy).
    #[inline(never)]
    fn start(key: &[u8; 32], nonce: &[u8; 24]) -> Self {
        let mut stream =
            Self { cipher: XChaCha20::new(key.into(), nonce.into()), blocks: Secret([0u8; 256]) };
        stream.cipher.apply_keystream(&mut stream.blocks[..]);
        stream
    }

    /// The one-time Poly1305 key: the first 32 bytes of block 0.
    fn mac(&self) -> Poly1305 {
        let mut key = [0u8; 32];
        key.copy_from_slice(&self.blocks[..32]);
        let mac = Poly1305::new(&key);
        key.zeroize();
        mac
    }

    #[inline(never)]
    fn apply(&mut self, buf: &mut [u8]) {
        let (head, tail) = buf.split_at_mut(buf.len().min(192));
        xor(head, &self.blocks[64..]);
        for chunk in tail.chunks_mut(256) {
            self.blocks.fill(0);
            self.cipher.apply_keystream(&mut self.blocks[..]);
            xor(chunk, &self.blocks[..]);
        }
    }
}

fn xor(data: &mut [u8], stream: &[u8]) {
    for (d, k) in data.iter_mut().zip(stream) {
        *d ^= k;
    }
}

/// Poly1305 over full 16-byte blocks, in radix 2^64: `h = h0 + h1 * 2^64 + h2 * 2^128`, with
/// `h2` a few bits at most between blocks (partly reduced) and reduced fully in
/// [`Poly1305::finalize`]. Clamping makes `r1` a multiple of 4, so a product's part at
/// 2^128 and above folds back as `* 5/4` exactly: `s1 = r1 + r1 / 4`.
#[derive(Zeroize, ZeroizeOnDrop)]
struct Poly1305 {
    r0: u64,
    r1: u64,
    s1: u64,
    h: [u64; 3],
    pad: [u64; 2],
}

fn le64(bytes: &[u8]) -> u64 {
    let mut b = [0u8; 8];
    b.copy_from_slice(&bytes[..8]);
    u64::from_le_bytes(b)
}

/// `a + b + carry` and the carry out.
fn adc(a: u64, b: u64, carry: u64) -> (u64, u64) {
    let sum = u128::from(a) + u128::from(b) + u128::from(carry);
    #[allow(clippy::cast_possible_truncation)] // the low and high halves, on purpose
    (sum as u64, (sum >> 64) as u64)
}

impl Poly1305 {
    fn new(key: &[u8; 32]) -> Self {
        // r with RFC 8439's clamp (0x0ffffffc0ffffffc0ffffffc0fffffff).
        let r0 = le64(&key[..8]) & 0x0fff_fffc_0fff_ffff;
        let r1 = le64(&key[8..16]) & 0x0fff_fffc_0fff_fffc;
        Self {
            r0,
            r1,
            s1: r1 + (r1 >> 2),
            h: [0; 3],
            pad: [le64(&key[16..24]), le64(&key[24..32])],
        }
    }

    /// `h = (h + block + 2^128) * r`, partly reduced.
    ///
    /// Bounds: on entry `h2 <= 4`, so after the block `h2 <= 6`. `r0, r1 < 2^60` and
    /// `s1 < 2^61`, so `d0 < 2^124 + 2^125`, `d1 < 2^126` and `d2 = h2 * r0 + (d1 >> 64)`
    /// `< 2^63 + 2^62`: no column overflows. Folding `d2`'s bits from 2^130 up as `* 5` leaves
    /// `h2 = (d2 & 3) + carry <= 4`.
    #[allow(clippy::cast_possible_truncation)] // each `as u64` keeps the low half on purpose
    fn block(&mut self, block: &[u8; 16]) {
        let (h0, c) = adc(self.h[0], le64(&block[..8]), 0);
        let (h1, c) = adc(self.h[1], le64(&block[8..]), c);
        let h2 = self.h[2] + c + 1; // the 2^128 bit every full block gets (RFC 8439 2.5.1)
        let m = |x: u64, y: u64| u128::from(x) * u128::from(y);
        let d0 = m(h0, self.r0) + m(h1, self.s1);
        let d1 = m(h0, self.r1) + m(h1, self.r0) + m(h2, self.s1) + (d0 >> 64);
        let d2 = h2 * self.r0 + (d1 >> 64) as u64;
        // 2^130 = 5 (mod p): d2's part from bit 2 up, times 5, goes back to the bottom.
        let fold = (d2 & !3) + (d2 >> 2);
        let (h0, c) = adc(d0 as u64, fold, 0);
        let (h1, c) = adc(d1 as u64, 0, c);
        self.h = [h0, h1, (d2 & 3) + c];
    }

    /// Absorbs `data` zero-padded to a multiple of 16 bytes (RFC 8439 2.8's padding).
    fn update_padded(&mut self, data: &[u8]) {
        let mut blocks = data.chunks_exact(16);
        for block in &mut blocks {
            if let Some(block) = block.first_chunk::<16>() {
                self.block(block);
            }
        }
        let rest = blocks.remainder();
        if !rest.is_empty() {
            let mut block = [0u8; 16];
            block[..rest.len()].copy_from_slice(rest);
            self.block(&block);
        }
    }

    /// Full reduction mod 2^130 - 5, then `+ s` mod 2^128.
    fn finalize(&self) -> [u8; 16] {
        let [h0, h1, h2] = self.h;
        // h < 5 * 2^128 < 2p, so h mod p is h or h - p. g = h + 5 reaches 2^130 exactly when
        // h >= p, and then h - p is g's low 130 bits (the low 128 are all that is kept).
        let (g0, c) = adc(h0, 5, 0);
        let (g1, c) = adc(h1, 0, c);
        let take_g = ((h2 + c) >> 2).wrapping_neg(); // all ones if h >= p
        let h0 = (h0 & !take_g) | (g0 & take_g);
        let h1 = (h1 & !take_g) | (g1 & take_g);
        let (t0, c) = adc(h0, self.pad[0], 0);
        let (t1, _) = adc(h1, self.pad[1], c);
        let mut out = [0u8; 16];
        out[..8].copy_from_slice(&t0.to_le_bytes());
        out[8..].copy_from_slice(&t1.to_le_bytes());
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
    }

    /// Poly1305 of a message whose length is a multiple of 16.
    fn poly1305(key: &[u8], msg: &[u8]) -> [u8; 16] {
        assert_eq!(msg.len() % 16, 0);
        let mut mac = Poly1305::new(key.try_into().unwrap());
        mac.update_padded(msg);
        mac.finalize()
    }

    #[test]
    fn rfc8439_a3_poly1305_vectors() {
        // RFC 8439 appendix A.3, the vectors whose messages are whole blocks: #1 (all zero)
        // and #5–#11, which target the final reduction and carry corner cases.
        let cases = [
            ("00".repeat(32), "00".repeat(64), "00".repeat(16)),
            (
                "02".to_owned() + &"00".repeat(31),
                "ff".repeat(16),
                "03".to_owned() + &"00".repeat(15),
            ),
            (
                "02".to_owned() + &"00".repeat(15) + &"ff".repeat(16),
                "02".to_owned() + &"00".repeat(15),
                "03".to_owned() + &"00".repeat(15),
            ),
            (
                "01".to_owned() + &"00".repeat(31),
                "ff".repeat(16) + "f0" + &"ff".repeat(15) + "11" + &"00".repeat(15),
                "05".to_owned() + &"00".repeat(15),
            ),
            (
                "01".to_owned() + &"00".repeat(31),
                "ff".repeat(16) + "fb" + &"fe".repeat(15) + &"01".repeat(16),
                "00".repeat(16),
            ),
            (
                "02".to_owned() + &"00".repeat(31),
                "fd".to_owned() + &"ff".repeat(15),
                "fa".to_owned() + &"ff".repeat(15),
            ),
            (
                "0100000000000000040000000000000000000000000000000000000000000000".to_owned(),
                "e33594d7505e43b900000000000000003394d7505e4379cd0100000000000000".to_owned()
                    + "0000000000000000000000000000000001000000000000000000000000000000",
                "14000000000000005500000000000000".to_owned(),
            ),
            (
                "0100000000000000040000000000000000000000000000000000000000000000".to_owned(),
                "e33594d7505e43b900000000000000003394d7505e4379cd0100000000000000".to_owned()
                    + "00000000000000000000000000000000",
                "13000000000000000000000000000000".to_owned(),
            ),
        ];
        for (n, (key, msg, tag)) in cases.iter().enumerate() {
            assert_eq!(poly1305(&hex(key), &hex(msg))[..], hex(tag)[..], "case {n}");
        }
    }

    /// xorshift: repeatable test inputs.
    struct Rng(u64);
    impl Rng {
        fn fill(&mut self, b: &mut [u8]) {
            for v in b {
                self.0 ^= self.0 << 13;
                self.0 ^= self.0 >> 7;
                self.0 ^= self.0 << 17;
                *v = self.0.to_le_bytes()[3];
            }
        }
    }

    #[test]
    fn poly1305_matches_the_poly1305_crate_on_extreme_inputs() {
        use poly1305::universal_hash::{KeyInit, UniversalHash};
        // Keys and blocks of all-ones and all-zero bytes, and random ones, in every mix: the
        // largest limbs and carries the arithmetic can meet.
        let mut rng = Rng(0x1234_5678_9abc_def1);
        let mut patterns: Vec<[u8; 16]> = vec![[0xff; 16], [0; 16], [0xfe; 16]];
        for _ in 0..5 {
            let mut b = [0u8; 16];
            rng.fill(&mut b);
            patterns.push(b);
        }
        for r in &patterns {
            for s in &patterns {
                let mut key = [0u8; 32];
                key[..16].copy_from_slice(r);
                key[16..].copy_from_slice(s);
                for blocks in [1usize, 2, 3, 5, 8] {
                    for fill in &patterns {
                        let msg: Vec<u8> = fill.iter().copied().cycle().take(16 * blocks).collect();
                        let mut theirs = poly1305::Poly1305::new(&key.into());
                        theirs.update_padded(&msg);
                        let expected: [u8; 16] = theirs.finalize().into();
                        assert_eq!(poly1305(&key, &msg), expected);
                    }
                }
            }
        }
    }

    /// The partly reduced accumulator's top limb reaches its largest value, 4, with r = 2 after
    /// a zero block and an all-ones block; the final reduction then runs with h >= 2^130.
    /// Random inputs practically never get there, so this pins the path (review finding).
    #[test]
    fn poly1305_with_the_top_limb_at_its_bound_matches_the_poly1305_crate() {
        use poly1305::universal_hash::{KeyInit, UniversalHash};
        for pad in [[0u8; 16], [0xff; 16], [0x5a; 16]] {
            let mut key = [0u8; 32];
            key[0] = 2;
            key[16..].copy_from_slice(&pad);
            let mut msg = vec![0u8; 16];
            msg.extend_from_slice(&[0xff; 16]);
            let mut mac = Poly1305::new(&key);
            mac.update_padded(&msg);
            assert_eq!(mac.h[2], 4, "the case must reach h2 = 4");
            for extra in 0..40 {
                let mut theirs = poly1305::Poly1305::new(&key.into());
                theirs.update_padded(&msg);
                let expected: [u8; 16] = theirs.finalize().into();
                assert_eq!(poly1305(&key, &msg), expected, "{extra} more blocks");
                msg.extend_from_slice(&[if extra % 2 == 0 { 0xff } else { 0 }; 16]);
            }
        }
    }

    #[test]
    fn seal_and_open_match_chacha20poly1305() {
        use chacha20poly1305::aead::{AeadInOut, KeyInit};
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        for i in 0..1500usize {
            let (mut key, mut nonce) = ([0u8; 32], [0u8; 24]);
            rng.fill(&mut key);
            rng.fill(&mut nonce);
            let mut aad = vec![0u8; i % 97];
            rng.fill(&mut aad);
            let mut plain = vec![0u8; (i * 37) % 1300];
            rng.fill(&mut plain);
            if i % 7 == 0 {
                plain.fill(0xff);
            }
            let mut ours = plain.clone();
            let tag = seal(&key, &nonce, &aad, &mut ours);
            let mut theirs = plain.clone();
            let their_tag = chacha20poly1305::XChaCha20Poly1305::new(&key.into())
                .encrypt_inout_detached(&nonce.into(), &aad, (&mut theirs[..]).into())
                .unwrap();
            assert_eq!(ours, theirs, "ciphertext, case {i}");
            assert_eq!(tag[..], their_tag[..], "tag, case {i}");
            assert!(open(&key, &nonce, &aad, &mut ours, &tag));
            assert_eq!(ours, plain);
        }
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
        assert!(open(&key, &nonce, &aad, &mut sealed, &tag));
    }
}
