//! HMAC-MD5 (RFC 2104) whose key schedule runs the ipad and opad blocks side by side, and
//! MD5 of two short messages side by side.
//!
//! Why not the `hmac` crate: an HMAC key schedule is two MD5 compressions that do not depend
//! on each other (`key ^ ipad` and `key ^ opad`), but MD5 is one long chain of dependent
//! additions and rotations, so one compression leaves most of a modern core idle, and the
//! `hmac` crate runs the two one after the other. Run as two interleaved lanes they finish
//! sooner (measured on a 2-vCPU Zen 3, `floor_parts` bench: a key schedule 273 ns -> 212 ns,
//! two direction keys 2 x 285 ns -> 348 ns). NTLM keys an HMAC-MD5 nine times per handshake and twice per imported context,
//! and derives its four direction keys with MD5 (MS-NLMP 3.4.5.2, 3.4.5.3), which pair up the
//! same way. Neither `hmac` nor `md-5` offers multi-lane compression, and `hmac` cannot be
//! built from precomputed chaining values, so both are here; everything else (buffering,
//! padding, the per-message inner and outer hashes) is `md-5`'s, resumed from those chaining
//! values through its `SerializableState`.
//!
//! Why this may stay hand-written when the export AEAD may not (issue 16): a bug here fails
//! loudly. HMAC-MD5 makes every NTLMv2 response, session key, MIC and message signature, so a
//! wrong tag breaks every handshake and every signed message in every interop test (the MS-NLMP
//! 4.2.4 vectors, gss-ntlmssp, curl, the `sspi` crate): it cannot be a silent forgery the way a
//! wrong Poly1305 can, where all our own blobs still open. And it is checked against the crates
//! it stands in for: RFC 2202 section 2 vectors, differential tests against `hmac` and `md-5`
//! (`tests` below) on random keys and messages, including keys longer than a block, and the
//! `hmac_md5` fuzz target, which compares the HMAC and the paired MD5 with those crates on any
//! input.
//!
//! Constant time: additions, rotations and bitwise functions on fixed indices; no branch or
//! index depends on data.

use md5::Md5;
use md5::block_api::Md5Core;
use md5::digest::block_api::CoreProxy;
use md5::digest::common::hazmat::SerializableState;
use md5::{Digest, digest::Update};
use zeroize::Zeroize;

/// MD5's initial chaining value (RFC 1321 section 3.3).
const IV: [u32; 4] = [0x6745_2301, 0xefcd_ab89, 0x98ba_dcfe, 0x1032_5476];

/// The 64 additive constants, `floor(abs(sin(i + 1)) * 2^32)` (RFC 1321 section 3.4).
const K: [u32; 64] = [
    0xd76a_a478,
    0xe8c7_b756,
    0x2420_70db,
    0xc1bd_ceee,
    0xf57c_0faf,
    0x4787_c62a,
    0xa830_4613,
    0xfd46_9501,
    0x6980_98d8,
    0x8b44_f7af,
    0xffff_5bb1,
    0x895c_d7be,
    0x6b90_1122,
    0xfd98_7193,
    0xa679_438e,
    0x49b4_0821,
    0xf61e_2562,
    0xc040_b340,
    0x265e_5a51,
    0xe9b6_c7aa,
    0xd62f_105d,
    0x0244_1453,
    0xd8a1_e681,
    0xe7d3_fbc8,
    0x21e1_cde6,
    0xc337_07d6,
    0xf4d5_0d87,
    0x455a_14ed,
    0xa9e3_e905,
    0xfcef_a3f8,
    0x676f_02d9,
    0x8d2a_4c8a,
    0xfffa_3942,
    0x8771_f681,
    0x6d9d_6122,
    0xfde5_380c,
    0xa4be_ea44,
    0x4bde_cfa9,
    0xf6bb_4b60,
    0xbebf_bc70,
    0x289b_7ec6,
    0xeaa1_27fa,
    0xd4ef_3085,
    0x0488_1d05,
    0xd9d4_d039,
    0xe6db_99e5,
    0x1fa2_7cf8,
    0xc4ac_5665,
    0xf429_2244,
    0x432a_ff97,
    0xab94_23a7,
    0xfc93_a039,
    0x655b_59c3,
    0x8f0c_cc92,
    0xffef_f47d,
    0x8584_5dd1,
    0x6fa8_7e4f,
    0xfe2c_e6e0,
    0xa301_4314,
    0x4e08_11a1,
    0xf753_7e82,
    0xbd3a_f235,
    0x2ad7_d2bb,
    0xeb86_d391,
];

/// Rotation of each step, by round and position in the group of four (RFC 1321 section 3.4).
const ROTATE: [[u32; 4]; 4] = [[7, 12, 17, 22], [5, 9, 14, 20], [4, 11, 16, 23], [6, 10, 15, 21]];

/// Which message word each step adds: `i`, `5i + 1`, `3i + 5`, `7i` (mod 16) in the four
/// rounds (RFC 1321 section 3.4).
const WORD: [usize; 64] = {
    let mut w = [0; 64];
    let mut i = 0;
    while i < 64 {
        w[i] = match i / 16 {
            0 => i,
            1 => (5 * i + 1) % 16,
            2 => (3 * i + 5) % 16,
            _ => (7 * i) % 16,
        } % 16;
        i += 1;
    }
    w
};

/// Two lanes of one MD5 word.
type Pair = [u32; 2];

/// One MD5 step of round `R`, position `P` in its group of four, in both lanes:
/// `a = b + ((a + f(b, c, d) + m[WORD[i]] + K[i]) <<< s)` (RFC 1321 section 3.4).
#[inline(always)]
fn step<const R: usize, const P: usize>(
    i: usize,
    a: &mut Pair,
    b: &Pair,
    c: &Pair,
    d: &Pair,
    m: &[Pair; 16],
) {
    let s = ROTATE[R][P];
    let (w, k) = (m[WORD[i % 64]], K[i % 64]);
    for l in 0..2 {
        let (x, y, z) = (b[l], c[l], d[l]);
        let f = match R {
            0 => (x & y) | (!x & z),
            // (x & z) | (y & !z): the two terms share no bit, so `+` is `|` (and may use
            // the address adder).
            1 => (x & z).wrapping_add(y & !z),
            2 => x ^ y ^ z,
            _ => y ^ (x | !z),
        };
        a[l] =
            f.wrapping_add(a[l]).wrapping_add(w[l]).wrapping_add(k).rotate_left(s).wrapping_add(x);
    }
}

/// Round `R`: sixteen steps, four at a time, the roles of a, b, c and d rotating.
#[inline(always)]
fn round<const R: usize>(a: &mut Pair, b: &mut Pair, c: &mut Pair, d: &mut Pair, m: &[Pair; 16]) {
    for group in 0..4 {
        let i = R * 16 + group * 4;
        step::<R, 0>(i, a, b, c, d, m);
        step::<R, 1>(i + 1, d, a, b, c, m);
        step::<R, 2>(i + 2, c, d, a, b, m);
        step::<R, 3>(i + 3, b, c, d, a, m);
    }
}

/// The MD5 compression function (RFC 1321 section 3.4) on two independent chaining values
/// and blocks at once.
///
/// The two lanes are independent chains; the gain comes from the CPU running them at the
/// same time, so they must stay close together in the instruction stream. Written as
/// rounds of a loop over groups of four steps, LLVM (rustc 1.95) interleaves them; written
/// as 64 steps spelled out, it emitted one lane after the other (~1.5x slower). The
/// `floor_parts` bench (`hmac_md5_key_setup` against `hmac_md5_key_setup_serial`) watches
/// this.
/// `m` holds the blocks as little-endian words, lane by lane (`m[w][lane]`).
#[inline(never)]
fn compress2(states: &mut [[u32; 4]; 2], m: &[Pair; 16]) {
    let mut a = [states[0][0], states[1][0]];
    let mut b = [states[0][1], states[1][1]];
    let mut c = [states[0][2], states[1][2]];
    let mut d = [states[0][3], states[1][3]];
    round::<0>(&mut a, &mut b, &mut c, &mut d, m);
    round::<1>(&mut a, &mut b, &mut c, &mut d, m);
    round::<2>(&mut a, &mut b, &mut c, &mut d, m);
    round::<3>(&mut a, &mut b, &mut c, &mut d, m);
    for (l, state) in states.iter_mut().enumerate() {
        state[0] = state[0].wrapping_add(a[l]);
        state[1] = state[1].wrapping_add(b[l]);
        state[2] = state[2].wrapping_add(c[l]);
        state[3] = state[3].wrapping_add(d[l]);
    }
}

/// Two blocks as [`compress2`] takes them.
fn words(blocks: [&[u8]; 2]) -> [Pair; 16] {
    let mut m = [[0u32; 2]; 16];
    for (l, block) in blocks.iter().enumerate() {
        for (w, word) in m.iter_mut().zip(block.chunks_exact(4)) {
            w[l] = u32::from_le_bytes([word[0], word[1], word[2], word[3]]);
        }
    }
    m
}

/// An `md-5` hasher resumed after `blocks` whole blocks that left chaining value `state`.
fn resume(state: &[u32; 4], blocks: u64) -> Md5 {
    let mut serialized = [0u8; 24];
    for (out, word) in serialized.chunks_exact_mut(4).zip(state) {
        out.copy_from_slice(&word.to_le_bytes());
    }
    serialized[16..].copy_from_slice(&blocks.to_le_bytes());
    // `Md5Core`'s state is any four words and a block count: its `deserialize` cannot fail
    // (md-5 0.11 returns `Ok` unconditionally; the tests check the result).
    let core = Md5Core::deserialize(&serialized.into()).unwrap_or_default();
    serialized.zeroize();
    Md5::compose(core, Default::default())
}

/// MD5 of two messages of 56 to 119 bytes each (two blocks once padded), side by side.
/// Returns `None` for other lengths.
pub(crate) fn md5_pair(messages: [&[&[u8]]; 2]) -> Option<[[u8; 16]; 2]> {
    let lengths = messages.map(|parts| parts.iter().map(|p| p.len()).sum::<usize>());
    if !lengths.iter().all(|len| (56..=119).contains(len)) {
        return None; // checked before any byte is copied: nothing to wipe
    }
    let mut padded = [[0u8; 128]; 2];
    for ((buf, parts), len) in padded.iter_mut().zip(messages).zip(lengths) {
        let mut at = 0;
        for p in parts {
            buf[at..at + p.len()].copy_from_slice(p);
            at += p.len();
        }
        buf[len] = 0x80;
        buf[120..].copy_from_slice(&(len as u64 * 8).to_le_bytes());
    }
    let mut states = [IV; 2];
    let [first, second] = &padded;
    let (a0, a1) = first.split_at(64);
    let (b0, b1) = second.split_at(64);
    for blocks in [[a0, b0], [a1, b1]] {
        let mut m = words(blocks);
        compress2(&mut states, &m);
        m.as_flattened_mut().zeroize();
    }
    padded.as_flattened_mut().zeroize();
    let mut out = [[0u8; 16]; 2];
    for (digest, state) in out.iter_mut().zip(&mut states) {
        for (bytes, word) in digest.chunks_exact_mut(4).zip(state.iter()) {
            bytes.copy_from_slice(&word.to_le_bytes());
        }
        state.zeroize();
    }
    Some(out)
}

/// HMAC-MD5 (RFC 2104), keyed: MD5 resumed after `key ^ ipad`, and the chaining value
/// after `key ^ opad`. Cloning it and feeding the clone is how each tag avoids a new key
/// schedule. Wiped on drop; no `Debug`.
#[derive(Clone)]
pub struct HmacMd5 {
    inner: Md5,
    outer: [u32; 4],
}

impl Drop for HmacMd5 {
    fn drop(&mut self) {
        // `inner` wipes itself (md-5's `zeroize` feature).
        self.outer.zeroize();
    }
}

impl HmacMd5 {
    /// Keys HMAC-MD5 with `key`: one two-lane compression of the ipad and opad blocks.
    /// A key longer than a block is hashed first (RFC 2104 section 2).
    ///
    /// One out-of-line copy: each place that keys an HMAC calls it.
    #[inline(never)]
    pub fn new(key: &[u8]) -> Self {
        let mut hashed = [0u8; 16];
        let key = if key.len() > 64 {
            hashed = Md5::digest(key).into();
            &hashed[..]
        } else {
            key
        };
        // The ipad and opad blocks, made as words straight from the key's (bytes stored one
        // at a time and then loaded as words would stall on store forwarding).
        let mut m = [[0x3636_3636, 0x5c5c_5c5c]; 16];
        for (w, chunk) in m.iter_mut().zip(key.chunks(4)) {
            let mut word = [0u8; 4];
            word[..chunk.len()].copy_from_slice(chunk);
            let k = u32::from_le_bytes(word);
            *w = [w[0] ^ k, w[1] ^ k];
        }
        let mut states = [IV; 2];
        compress2(&mut states, &m);
        m.as_flattened_mut().zeroize();
        hashed.zeroize();
        let mac = Self { inner: resume(&states[0], 1), outer: states[1] };
        states.as_flattened_mut().zeroize();
        mac
    }

    /// Feeds `data` to the inner hash.
    #[inline]
    pub fn update(&mut self, data: &[u8]) {
        Update::update(&mut self.inner, data);
    }

    /// The tag: the outer hash of the inner one. One out-of-line copy.
    #[inline(never)]
    pub fn tag(mut self) -> [u8; 16] {
        let inner = core::mem::take(&mut self.inner).finalize();
        let mut outer = resume(&self.outer, 1);
        Update::update(&mut outer, &inner);
        outer.finalize().into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::tests::hex16;
    use hmac::{KeyInit, Mac};

    fn reference(key: &[u8], data: &[u8]) -> [u8; 16] {
        let mut mac = hmac::Hmac::<Md5>::new_from_slice(key).unwrap();
        Mac::update(&mut mac, data);
        mac.finalize().into_bytes().into()
    }

    fn ours(key: &[u8], data: &[u8]) -> [u8; 16] {
        let mut mac = HmacMd5::new(key);
        mac.update(data);
        mac.tag()
    }

    #[test]
    fn rfc2202_hmac_md5_vectors() {
        // RFC 2202 section 2, test cases 1-7.
        let cases: [(&[u8], &[u8], &str); 7] = [
            (&[0x0b; 16], b"Hi There", "9294727a3638bb1c13f48ef8158bfc9d"),
            (b"Jefe", b"what do ya want for nothing?", "750c783e6ab0b503eaa86e310a5db738"),
            (&[0xaa; 16], &[0xdd; 50], "56be34521d144c88dbb8c733f0e8b3f6"),
            (
                &[
                    1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22,
                    23, 24, 25,
                ],
                &[0xcd; 50],
                "697eaf0aca3a3aea3a75164746ffaa79",
            ),
            (&[0x0c; 16], b"Test With Truncation", "56461ef2342edc00f9bab995690efd4c"),
            (
                &[0xaa; 80],
                b"Test Using Larger Than Block-Size Key - Hash Key First",
                "6b1ab7fe4bd7bf8f0b62e6ce61b9d0cd",
            ),
            (
                &[0xaa; 80],
                b"Test Using Larger Than Block-Size Key and Larger Than One Block-Size Data",
                "6f630fad67cda0ee1fb1f562db3aa53e",
            ),
        ];
        for (n, (key, data, tag)) in cases.iter().enumerate() {
            assert_eq!(ours(key, data), hex16(tag), "test case {}", n + 1);
        }
    }

    /// A small deterministic generator for the differential tests.
    fn bytes(seed: &mut u64, len: usize) -> Vec<u8> {
        (0..len)
            .map(|_| {
                *seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
                seed.to_be_bytes()[0]
            })
            .collect()
    }

    #[test]
    fn hmac_matches_the_hmac_crate() {
        let mut seed = 1;
        for key_len in [0, 1, 15, 16, 17, 55, 56, 63, 64, 65, 100, 200] {
            for data_len in [0, 1, 8, 55, 56, 63, 64, 65, 119, 120, 128, 300] {
                let key = bytes(&mut seed, key_len);
                let data = bytes(&mut seed, data_len);
                assert_eq!(ours(&key, &data), reference(&key, &data), "{key_len} {data_len}");
                // A clone tags the same as the original, fed the same way.
                let keyed = HmacMd5::new(&key);
                let mut a = keyed.clone();
                a.update(&data[..data_len / 2]);
                a.update(&data[data_len / 2..]);
                let mut b = keyed;
                b.update(&data);
                assert_eq!(a.tag(), b.tag());
            }
        }
    }

    #[test]
    fn two_lanes_equal_md5_of_each() {
        let mut seed = 7;
        for len_a in [56, 57, 63, 64, 75, 100, 119] {
            for len_b in [56, 75, 119] {
                let a = bytes(&mut seed, len_a);
                let b = bytes(&mut seed, len_b);
                let (a1, a2) = a.split_at(len_a / 3);
                let [x, y] = md5_pair([&[a1, a2], &[&b]]).unwrap();
                assert_eq!(x, <[u8; 16]>::from(Md5::digest(&a)), "{len_a}");
                assert_eq!(y, <[u8; 16]>::from(Md5::digest(&b)), "{len_b}");
            }
        }
        let short = [0u8; 55];
        let long = [0u8; 120];
        assert!(md5_pair([&[&short[..]], &[&[0u8; 60][..]]]).is_none());
        assert!(md5_pair([&[&[0u8; 60][..]], &[&long[..]]]).is_none());
    }

    #[test]
    fn compression_matches_md5_from_any_state() {
        // md-5's own compression, resumed from the same chaining values.
        let mut seed = 3;
        for _ in 0..50 {
            let s = bytes(&mut seed, 32);
            let state_of = |b: &[u8]| -> [u32; 4] {
                core::array::from_fn(|i| {
                    u32::from_le_bytes(b[i * 4..i * 4 + 4].try_into().unwrap())
                })
            };
            let mut states = [state_of(&s[..16]), state_of(&s[16..])];
            let blocks = [bytes(&mut seed, 64), bytes(&mut seed, 64)];
            let expected: Vec<[u8; 16]> = (0..2)
                .map(|l| {
                    // Resumed after one block, fed one more, then finalized: the digest of
                    // a 128-byte message from this chaining value.
                    let mut h = resume(&states[l], 1);
                    Update::update(&mut h, &blocks[l]);
                    h.finalize().into()
                })
                .collect();
            compress2(&mut states, &words([&blocks[0], &blocks[1]]));
            // Finish both lanes with the padding block of a 128-byte message.
            let mut pad = [0u8; 64];
            pad[0] = 0x80;
            pad[56..].copy_from_slice(&1024u64.to_le_bytes());
            compress2(&mut states, &words([&pad, &pad]));
            for l in 0..2 {
                let digest: Vec<u8> = states[l].iter().flat_map(|w| w.to_le_bytes()).collect();
                assert_eq!(digest[..], expected[l][..], "lane {l}");
            }
        }
    }
}
