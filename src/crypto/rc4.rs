//! RC4, hand-written.
//!
//! Why not a crate: NTLM's extended session security runs one RC4 keystream per direction for
//! the whole life of the context, and sspi-emu must export that running state (the S-box and
//! both indices) and resume it in another process. The RustCrypto `rc4` crate keeps its state
//! private, so the state could not be exported. The algorithm is a dozen lines.

use zeroize::{Zeroize, ZeroizeOnDrop};

/// The S-box before key scheduling: `S[n] = n`.
const IDENTITY: [u8; 256] = {
    let mut s = [0u8; 256];
    let mut n = 0;
    while n < 256 {
        #[allow(clippy::cast_possible_truncation)] // n < 256
        {
            s[n] = n as u8;
        }
        n += 1;
    }
    s
};

/// An RC4 keystream in progress. Zeroized on drop, never printed.
#[derive(Clone)]
pub struct Rc4 {
    s: [u8; 256],
    i: u8,
    j: u8,
}

impl Rc4 {
    /// Key scheduling. `key` must be 1 to 256 bytes (NTLM uses 16).
    ///
    /// Not inlined: a handshake schedules six keys from four places, and one copy of the
    /// unrolled schedule is enough for the instruction cache.
    #[inline(never)]
    pub fn new(key: &[u8]) -> Self {
        debug_assert!(!key.is_empty() && key.len() <= 256);
        // Built in place (in the return slot), not in a local that is then copied out.
        let mut rc4 = Self { s: IDENTITY, i: 0, j: 0 };
        let s = &mut rc4.s;
        let mut j: u8 = 0;
        if let Ok(key) = <&[u8; 16]>::try_from(key) {
            // NTLM's keys are always 16 bytes (six schedules per handshake, the largest single
            // cost of one). Walking the S-box sixteen entries at a time pairs entry `n` with key
            // byte `n % 16` without an index computation, lets the compiler unroll the inner
            // loop with the key bytes at fixed positions, and keeps every index provably in
            // range, so no bounds checks remain: about twice as fast as the plain loop below.
            for block in (0..256).step_by(16) {
                for (k, &key_byte) in key.iter().enumerate() {
                    let n = (block + k) & 0xff;
                    let sn = s[n];
                    j = j.wrapping_add(sn).wrapping_add(key_byte);
                    s[n] = s[usize::from(j)];
                    s[usize::from(j)] = sn;
                }
            }
        } else {
            for (n, k) in (0..256usize).zip(key.iter().cycle()) {
                j = j.wrapping_add(s[n]).wrapping_add(*k);
                s.swap(n, usize::from(j));
            }
        }
        rc4
    }

    /// XORs the next `data.len()` keystream bytes into `data` (encrypts or decrypts).
    ///
    /// Not inlined: called with a constant length (an 8-byte checksum, a 16-byte key), the
    /// loop would be unrolled into a copy per call site, and the call costs next to nothing.
    #[inline(never)]
    pub fn apply(&mut self, data: &mut [u8]) {
        let (mut i, mut j) = (self.i, self.j);
        let s = &mut self.s;
        for byte in data {
            i = i.wrapping_add(1);
            let si = s[usize::from(i)];
            j = j.wrapping_add(si);
            let sj = s[usize::from(j)];
            s[usize::from(i)] = sj;
            s[usize::from(j)] = si;
            *byte ^= s[usize::from(si.wrapping_add(sj))];
        }
        self.i = i;
        self.j = j;
    }
}

impl Rc4 {
    /// The running state: S-box and the two indices (for export).
    pub(crate) fn state(&self) -> (&[u8; 256], u8, u8) {
        (&self.s, self.i, self.j)
    }

    /// Resumes a state made by [`Rc4::state`].
    #[inline(always)]
    pub(crate) fn from_state(s: &[u8; 256], i: u8, j: u8) -> Self {
        Self { s: *s, i, j }
    }

    /// Steps the keystream back by `n` bytes: the state becomes what it was `n` bytes ago.
    ///
    /// RC4's output step is a bijection (`i += 1; j += S[i]; swap(S[i], S[j])`), so it can be
    /// undone exactly. A failed verification uses this to leave the stream where it was
    /// without copying the state on every message.
    pub(crate) fn rewind(&mut self, n: usize) {
        let (mut i, mut j) = (self.i, self.j);
        for _ in 0..n {
            self.s.swap(usize::from(i), usize::from(j));
            j = j.wrapping_sub(self.s[usize::from(i)]);
            i = i.wrapping_sub(1);
        }
        self.i = i;
        self.j = j;
    }
}

impl Zeroize for Rc4 {
    fn zeroize(&mut self) {
        // Through the slice: one `memset` and a barrier, not 256 separate volatile writes
        // (which is what `Zeroize` for `[u8; 256]` does).
        self.s.as_mut_slice().zeroize();
        self.i.zeroize();
        self.j.zeroize();
    }
}

impl Drop for Rc4 {
    fn drop(&mut self) {
        self.zeroize();
    }
}

impl ZeroizeOnDrop for Rc4 {}

impl core::fmt::Debug for Rc4 {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("Rc4(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc6229_key_0102030405() {
        // RFC 6229 section 2, 40-bit key 0x0102030405, keystream offsets 0 and 16.
        let mut rc4 = Rc4::new(&[1, 2, 3, 4, 5]);
        let mut ks = [0u8; 32];
        rc4.apply(&mut ks);
        assert_eq!(
            ks[..16],
            [
                0xb2, 0x39, 0x63, 0x05, 0xf0, 0x3d, 0xc0, 0x27, 0xcc, 0xc3, 0x52, 0x4a, 0x0a, 0x11,
                0x18, 0xa8
            ]
        );
        assert_eq!(
            ks[16..],
            [
                0x69, 0x82, 0x94, 0x4f, 0x18, 0xfc, 0x82, 0xd5, 0x89, 0xc4, 0x03, 0xa4, 0x7a, 0x0d,
                0x09, 0x19
            ]
        );
    }

    #[test]
    fn rfc6229_key_0102030405060708090a0b0c0d0e0f10() {
        // RFC 6229 section 2, 128-bit key 0x0102..10 (the 16-byte schedule NTLM uses),
        // keystream offsets 0 and 16.
        let key: [u8; 16] = core::array::from_fn(|n| u8::try_from(n + 1).unwrap());
        let mut rc4 = Rc4::new(&key);
        let mut ks = [0u8; 32];
        rc4.apply(&mut ks);
        assert_eq!(
            ks,
            [
                0x9a, 0xc7, 0xcc, 0x9a, 0x60, 0x9d, 0x1e, 0xf7, 0xb2, 0x93, 0x28, 0x99, 0xcd, 0xe4,
                0x1b, 0x97, 0x52, 0x48, 0xc4, 0x95, 0x90, 0x14, 0x12, 0x6a, 0x6e, 0x8a, 0x84, 0xf1,
                0x1d, 0x1a, 0x9e, 0x1c
            ]
        );
    }

    #[test]
    fn sixteen_byte_schedule_matches_the_general_one() {
        // The 16-byte fast path against the general loop (a 32-byte key that repeats the same
        // 16 bytes yields the same schedule, since the key index runs modulo its length).
        for seed in 0u8..64 {
            let key: [u8; 16] = core::array::from_fn(|n| {
                seed.wrapping_mul(37).wrapping_add(u8::try_from(n).unwrap().wrapping_mul(91))
            });
            let mut doubled = [0u8; 32];
            doubled[..16].copy_from_slice(&key);
            doubled[16..].copy_from_slice(&key);
            assert_eq!(Rc4::new(&key).s, Rc4::new(&doubled).s);
        }
    }

    #[test]
    fn state_round_trips() {
        let mut rc4 = Rc4::new(b"key");
        rc4.apply(&mut [0u8; 77]);
        let (s, i, j) = rc4.state();
        let mut copy = Rc4::from_state(s, i, j);
        let (mut a, mut b) = ([0u8; 40], [0u8; 40]);
        rc4.apply(&mut a);
        copy.apply(&mut b);
        assert_eq!(a, b);
    }

    #[test]
    fn zeroize_clears_the_whole_state() {
        let mut rc4 = Rc4::new(b"secret key");
        rc4.apply(&mut [0u8; 3]);
        rc4.zeroize();
        assert_eq!((rc4.s, rc4.i, rc4.j), ([0; 256], 0, 0));
    }

    #[test]
    fn rewind_undoes_apply() {
        let mut rc4 = Rc4::new(b"some key");
        let mut warmup = [0u8; 300];
        rc4.apply(&mut warmup);
        let before = rc4.clone();
        let mut first = [0u8; 1000];
        rc4.apply(&mut first);
        rc4.rewind(1000);
        assert_eq!((rc4.s, rc4.i, rc4.j), (before.s, before.i, before.j));
        let mut again = [0u8; 1000];
        rc4.apply(&mut again);
        assert_eq!(first, again);
    }

    #[test]
    fn the_stream_continues_across_calls() {
        let mut whole = Rc4::new(b"key");
        let mut a = [0u8; 40];
        whole.apply(&mut a);
        let mut parts = Rc4::new(b"key");
        let mut b = [0u8; 40];
        let (x, y) = b.split_at_mut(13);
        parts.apply(x);
        parts.apply(y);
        assert_eq!(a, b);
    }
}

/// Property tests of the exported RC4 state (what a packed context carries per direction):
/// a state taken at any point and resumed continues the same keystream, and a rewind undoes
/// exactly what was applied.
#[cfg(test)]
mod proptests {
    use super::Rc4;
    use proptest::collection::vec;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn resumed_states_continue_the_stream(
            key in vec(any::<u8>(), 1..40),
            before in 0usize..600,
            after in vec(any::<u8>(), 0..300),
        ) {
            let mut rc4 = Rc4::new(&key);
            rc4.apply(&mut vec![0u8; before]);
            let (s, i, j) = rc4.state();
            let mut resumed = Rc4::from_state(s, i, j);
            let (mut a, mut b) = (after.clone(), after.clone());
            rc4.apply(&mut a);
            resumed.apply(&mut b);
            prop_assert_eq!(&a, &b);
            prop_assert_eq!(rc4.state(), resumed.state());
        }

        #[test]
        fn rewind_undoes_apply(key in vec(any::<u8>(), 1..40), before in 0usize..300, n in 0usize..600) {
            let mut rc4 = Rc4::new(&key);
            rc4.apply(&mut vec![0u8; before]);
            let (s, i, j) = rc4.state();
            let (s, i, j) = (*s, i, j);
            let mut first = vec![0u8; n];
            rc4.apply(&mut first);
            rc4.rewind(n);
            prop_assert_eq!(rc4.state(), (&s, i, j));
            let mut again = vec![0u8; n];
            rc4.apply(&mut again);
            prop_assert_eq!(first, again);
        }
    }
}
