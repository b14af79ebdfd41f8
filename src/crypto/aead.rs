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
//! releases (poly1305 0.7, 0.8) behave the same. This 64-bit Poly1305 (three 44/44/42-bit
//! limbs with 128-bit products, the layout of poly1305-donna's 64-bit variant) takes two
//! blocks per step with a precomputed `r^2`, and the keystream is drawn 256 bytes (four
//! blocks, the width of `chacha20`'s SIMD back ends) at a time: a 641-byte seal or open costs
//! about 1.0 µs, on every x86-64 and every other target, with no `unsafe` and no flags.
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
    let (stream, mac_key) = Keystream::start(key, nonce);
    stream.apply(buf);
    tag(&mac_key, aad, buf)
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
    let (stream, mac_key) = Keystream::start(key, nonce);
    if !bool::from(tag(&mac_key, aad, buf).ct_eq(expected)) {
        return false;
    }
    stream.apply(buf);
    true
}

/// RFC 8439 section 2.8: Poly1305 over `aad`, padded to 16 bytes, the ciphertext, padded,
/// and both lengths as 64-bit little-endian numbers.
fn tag(mac_key: &[u8; 32], aad: &[u8], ciphertext: &[u8]) -> [u8; 16] {
    let mut mac = Poly1305::new(mac_key);
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
/// the stream from block 1 on.
struct Keystream {
    cipher: XChaCha20,
    /// Keystream blocks 0–3 after [`Keystream::start`].
    first: Secret<256>,
}

impl Keystream {
    fn start(key: &[u8; 32], nonce: &[u8; 24]) -> (Self, Secret<32>) {
        let mut cipher = XChaCha20::new(key.into(), nonce.into());
        let mut first = Secret([0u8; 256]);
        cipher.apply_keystream(&mut first[..]);
        let mut mac_key = Secret([0u8; 32]);
        mac_key.copy_from_slice(&first[..32]);
        (Self { cipher, first }, mac_key)
    }

    fn apply(mut self, buf: &mut [u8]) {
        let (head, tail) = buf.split_at_mut(buf.len().min(192));
        xor(head, &self.first[64..]);
        let block = &mut self.first;
        for chunk in tail.chunks_mut(256) {
            block.fill(0);
            self.cipher.apply_keystream(&mut block[..]);
            xor(chunk, &block[..]);
        }
    }
}

fn xor(data: &mut [u8], stream: &[u8]) {
    for (d, k) in data.iter_mut().zip(stream) {
        *d ^= k;
    }
}

const MASK44: u64 = (1 << 44) - 1;
const MASK42: u64 = (1 << 42) - 1;
/// The 2^128 bit every full 16-byte block gets (RFC 8439 2.5.1), in the top limb (bit 88 + 40).
/// The AEAD pads everything to full blocks, so no block ever goes without it.
const HIBIT: u64 = 1 << 40;

/// Poly1305 over full 16-byte blocks. Numbers mod 2^130 - 5 are three limbs of 44, 44 and
/// 42 bits; `h` is kept partly reduced (each limb a few bits over its width at most) between
/// blocks and reduced fully in [`Poly1305::finalize`].
#[derive(Zeroize, ZeroizeOnDrop)]
struct Poly1305 {
    r: [u64; 3],
    /// `20 * r1`, `20 * r2`: a product's part at or above 2^130 folds back times 5, and limb
    /// offsets make that 5 * 4 (2^132 = 4 * 2^130).
    s: [u64; 2],
    /// `r^2`, partly reduced, and its `s`: two blocks are absorbed per step as
    /// `h = (h + m0) * r^2 + m1 * r`, which halves the serial chain of multiplications.
    rr: [u64; 3],
    ss: [u64; 2],
    h: [u64; 3],
    pad: [u64; 2],
}

fn le64(bytes: &[u8]) -> u64 {
    let mut b = [0u8; 8];
    b.copy_from_slice(&bytes[..8]);
    u64::from_le_bytes(b)
}

/// A 16-byte block as limbs (without the 2^128 bit).
fn limbs(block: &[u8; 16]) -> [u64; 3] {
    let (lo, hi) = (le64(&block[..8]), le64(&block[8..]));
    [lo & MASK44, ((lo >> 44) | (hi << 20)) & MASK44, hi >> 24]
}

/// `a * r` as three 128-bit column sums. Bounds (loose; the real ones are near 2^93): every
/// limb of `a` is below 2^46 (a carried `h` plus a block) and of `r` below 2^45 (`r` clamped:
/// 2^44, 2^44, 2^36; `r^2` carried: 2^44, 2^44 + 22, 2^42), so `s` is below 2^50; a column is
/// below 3 * 2^96, and the two-block step adds two of them: below 2^99.
fn mul(a: [u64; 3], r: [u64; 3], s: [u64; 2]) -> [u128; 3] {
    let m = |x: u64, y: u64| u128::from(x) * u128::from(y);
    [
        m(a[0], r[0]) + m(a[1], s[1]) + m(a[2], s[0]),
        m(a[0], r[1]) + m(a[1], r[0]) + m(a[2], s[1]),
        m(a[0], r[2]) + m(a[1], r[1]) + m(a[2], r[0]),
    ]
}

/// Carries column sums back into 44/44/42-bit limbs (partly reduced: the middle limb may
/// exceed 44 bits by a few).
#[allow(clippy::cast_possible_truncation)] // each `as u64` keeps the low bits on purpose
fn carry(d: [u128; 3]) -> [u64; 3] {
    let h0 = (d[0] as u64) & MASK44;
    let d1 = d[1] + (d[0] >> 44);
    let h1 = (d1 as u64) & MASK44;
    let d2 = d[2] + (d1 >> 44);
    let h2 = (d2 as u64) & MASK42;
    // d2 < 2^99, so the part above bit 130 is below 2^57 and times 5 fits in 64 bits.
    let h0 = h0 + ((d2 >> 42) as u64) * 5;
    [h0 & MASK44, h1 + (h0 >> 44), h2]
}

impl Poly1305 {
    fn new(key: &[u8; 32]) -> Self {
        let (t0, t1) = (le64(&key[..8]), le64(&key[8..16]));
        // r with RFC 8439's clamp (0x0ffffffc0ffffffc0ffffffc0fffffff), limb by limb.
        let r = [
            t0 & 0x0ffc_0fff_ffff,
            ((t0 >> 44) | (t1 << 20)) & 0x0fff_ffc0_ffff,
            (t1 >> 24) & 0x00f_ffff_fc0f,
        ];
        let s = [r[1] * 20, r[2] * 20];
        let rr = carry(mul(r, r, s));
        let ss = [rr[1] * 20, rr[2] * 20];
        Self { r, s, rr, ss, h: [0; 3], pad: [le64(&key[16..24]), le64(&key[24..32])] }
    }

    fn block(&mut self, block: &[u8; 16]) {
        let m = limbs(block);
        let h = [self.h[0] + m[0], self.h[1] + m[1], self.h[2] + m[2] + HIBIT];
        self.h = carry(mul(h, self.r, self.s));
    }

    fn two_blocks(&mut self, first: &[u8; 16], second: &[u8; 16]) {
        let (a, b) = (limbs(first), limbs(second));
        let h = [self.h[0] + a[0], self.h[1] + a[1], self.h[2] + a[2] + HIBIT];
        let x = mul(h, self.rr, self.ss);
        let y = mul([b[0], b[1], b[2] + HIBIT], self.r, self.s);
        self.h = carry([x[0] + y[0], x[1] + y[1], x[2] + y[2]]);
    }

    /// Absorbs `data` zero-padded to a multiple of 16 bytes (RFC 8439 2.8's padding).
    fn update_padded(&mut self, data: &[u8]) {
        let mut pairs = data.chunks_exact(32);
        for pair in &mut pairs {
            if let (Some(a), Some(b)) = (pair.first_chunk::<16>(), pair.last_chunk::<16>()) {
                self.two_blocks(a, b);
            }
        }
        for rest in pairs.remainder().chunks(16) {
            let mut block = [0u8; 16];
            block[..rest.len()].copy_from_slice(rest);
            self.block(&block);
        }
    }

    /// Full reduction mod 2^130 - 5, then `+ s` mod 2^128.
    fn finalize(&self) -> [u8; 16] {
        let [mut h0, mut h1, mut h2] = self.h;
        // Two carry rounds bring every limb within its width and h below 2^130.
        for _ in 0..2 {
            h2 += h1 >> 44;
            h1 &= MASK44;
            h0 += (h2 >> 42) * 5;
            h2 &= MASK42;
            h1 += h0 >> 44;
            h0 &= MASK44;
        }
        h2 += h1 >> 44;
        h1 &= MASK44;
        // g = h + 5 - 2^130: if it does not go negative, h >= p and g is h mod p.
        let g0 = h0 + 5;
        let g1 = h1 + (g0 >> 44);
        let g2 = h2.wrapping_add(g1 >> 44).wrapping_sub(1 << 42);
        let keep_h = (g2 >> 63).wrapping_neg(); // all ones if g went negative
        let h0 = (h0 & keep_h) | (g0 & MASK44 & !keep_h);
        let h1 = (h1 & keep_h) | (g1 & MASK44 & !keep_h);
        let h2 = (h2 & keep_h) | (g2 & MASK42 & !keep_h);
        // + s, mod 2^128.
        let s = limbs_of(self.pad);
        let h0 = h0 + s[0];
        let h1 = h1 + s[1] + (h0 >> 44);
        let h2 = (h2 + s[2] + (h1 >> 44)) & MASK42;
        let (h0, h1) = (h0 & MASK44, h1 & MASK44);
        let mut out = [0u8; 16];
        out[..8].copy_from_slice(&(h0 | (h1 << 44)).to_le_bytes());
        out[8..].copy_from_slice(&((h1 >> 20) | (h2 << 24)).to_le_bytes());
        out
    }
}

fn limbs_of(v: [u64; 2]) -> [u64; 3] {
    [v[0] & MASK44, ((v[0] >> 44) | (v[1] << 20)) & MASK44, v[1] >> 24]
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
