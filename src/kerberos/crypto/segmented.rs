//! Encryption and checksums over a message spread over several caller buffers, in place,
//! with no allocation: what the RFC 4121 Wrap token needs when SSPI hands it a token buffer
//! and several data buffers (`EncryptMessage` with `SECBUFFER_DATA` buffers), the way MIT's
//! `krb5_c_encrypt_iov` does for GSS-API IOV calls.
//!
//! The cipher stream is the concatenation of the [`Segment::Cipher`] segments in the order
//! the [`Segments`] visits them; [`Segment::SignOnly`] segments are not encrypted but are fed
//! to the HMAC at their place in the order (RFC 3961 simplified profile: the HMAC covers the
//! plaintext; RFC 8009: `HMAC(Ki, IV | C)` with the sign-only bytes among the ciphertext, as
//! MIT's `krb5int_hmac` feeds `KRB5_CRYPTO_TYPE_SIGN_ONLY` buffers).
//!
//! CBC with ciphertext stealing runs across the segment boundaries: whole blocks inside a
//! segment are enciphered in place; a block that straddles a boundary is gathered into a
//! 16-byte stack block. Its bytes in the *later* segment are written at once, but the segment
//! visitor is forward-only, so its bytes in the *earlier* segments are written on a second
//! walk, from a small stack table ([`MAX_STRADDLES`] blocks; a message whose buffers break
//! more blocks than that is refused before anything is touched). The last two blocks (the
//! swapped pair of CTS) are worked on in a 32-byte stack buffer and written on the second
//! walk too. Every stack buffer holding plaintext or key stream is wiped.

use super::aes::{AesKey, BLOCK, MacStream};
use super::{DerivedKeys, Keys, Layout};
use crate::error::{Error, Result};
use zeroize::Zeroize;

/// How many blocks straddling a buffer boundary one message may have.
pub(crate) const MAX_STRADDLES: usize = 16;

/// One piece of a message.
pub(crate) enum Segment<'a> {
    /// Encrypted (or decrypted) in place, and covered by the HMAC.
    Cipher(&'a mut [u8]),
    /// Covered by the HMAC only.
    SignOnly(&'a [u8]),
}

/// A message made of segments, visited in order, the same way on every call.
pub(crate) trait Segments {
    /// Calls `f` with every segment, in order.
    fn visit(&mut self, f: &mut dyn FnMut(Segment<'_>));
}

/// A checksum (`Kc`, RFC 3961 `get_mic`; the RFC 4757 HMAC-MD5 checksum for rc4-hmac) over
/// a message fed in pieces.
pub(crate) struct ChecksumStream {
    inner: StreamInner,
    len: usize,
}

enum StreamInner {
    Aes(MacStream),
    /// `HMAC-MD5(Ksign, MD5(T | data))`: the MD5 being fed, and Ksign.
    Rc4(md5::Md5, crate::crypto::HmacMd5),
}

impl ChecksumStream {
    /// Feeds `data`.
    pub(crate) fn update(&mut self, data: &[u8]) {
        match &mut self.inner {
            StreamInner::Aes(m) => m.update(data),
            StreamInner::Rc4(h, _) => md5::Digest::update(h, data),
        }
    }

    /// Writes the checksum, truncated to `out.len()` bytes (at most the checksum length).
    pub(crate) fn finish_into(self, out: &mut [u8]) -> Result<()> {
        if out.len() > self.len || out.is_empty() {
            return Err(Error::InvalidParameter("checksum buffer length"));
        }
        match self.inner {
            StreamInner::Aes(m) => m.finish_into(out),
            StreamInner::Rc4(h, ksign) => {
                let mut inner = [0u8; 16];
                inner.copy_from_slice(&md5::Digest::finalize(h));
                let mut mac = ksign;
                mac.update(&inner);
                let mut tag = mac.tag();
                out.copy_from_slice(tag.get(..out.len()).unwrap_or_default());
                tag.zeroize();
            }
        }
        Ok(())
    }

    /// Whether the checksum truncated to `expected.len()` bytes (the whole checksum for the
    /// AES enctypes; 8 bytes for RFC 1964 tokens) is `expected`, in constant time.
    pub(crate) fn verify(self, expected: &[u8]) -> bool {
        match self.inner {
            StreamInner::Aes(m) => expected.len() == self.len && m.verify(expected),
            StreamInner::Rc4(..) => {
                let mut ours = [0u8; 16];
                let Some(ours) = ours.get_mut(..expected.len()) else { return false };
                self.finish_into(ours).is_ok() && crate::crypto::ct_eq(ours, expected)
            }
        }
    }
}

/// The plan of a cipher stream of `n` bytes: plain CBC over `[0, cbc_end)`, then the CTS pair:
/// a whole block at `cbc_end` and `r` (1 to 16) bytes after it.
#[derive(Clone, Copy)]
struct Plan {
    n: usize,
    cbc_end: usize,
    r: usize,
}

impl Plan {
    fn new(n: usize) -> Result<Self> {
        if n <= BLOCK {
            return Err(Error::InvalidParameter("cipher stream of one block or less"));
        }
        let full = (n - 1) / BLOCK;
        Ok(Self { n, cbc_end: (full - 1) * BLOCK, r: n - full * BLOCK })
    }
}

/// The length of the cipher stream and the number of CBC blocks straddling a boundary.
fn measure(segs: &mut dyn Segments) -> Result<Plan> {
    let mut n = 0usize;
    segs.visit(&mut |s| {
        if let Segment::Cipher(d) = s {
            n = n.saturating_add(d.len());
        }
    });
    let plan = Plan::new(n)?;
    // A block straddles when a segment ends strictly inside it (before the CTS pair).
    let (mut pos, mut straddles, mut last_block) = (0usize, 0usize, usize::MAX);
    segs.visit(&mut |s| {
        if let Segment::Cipher(d) = s {
            pos += d.len();
            if pos % BLOCK != 0 && pos < plan.cbc_end && pos / BLOCK != last_block {
                last_block = pos / BLOCK;
                straddles += 1;
            }
        }
    });
    if pos != n {
        return Err(Error::InvalidParameter("message buffers changed between two walks"));
    }
    if straddles > MAX_STRADDLES {
        return Err(Error::NotSupported(
            "a sealed Kerberos message split over buffers that break more than 16 AES blocks",
        ));
    }
    Ok(plan)
}

/// The stack state of one walk: the block being gathered, the straddling blocks to finish on
/// the second walk, and the CTS pair. Wiped on drop.
struct Work {
    plan: Plan,
    pos: usize,
    chain: [u8; BLOCK],
    gather: [u8; BLOCK],
    gather_len: usize,
    gather_start: usize,
    pending: [(usize, [u8; BLOCK]); MAX_STRADDLES],
    npending: usize,
    last: [u8; 2 * BLOCK],
    overflow: bool,
}

impl Drop for Work {
    fn drop(&mut self) {
        self.chain.zeroize();
        self.gather.zeroize();
        for (_, b) in &mut self.pending {
            b.zeroize();
        }
        self.last.zeroize();
    }
}

impl Work {
    fn new(plan: Plan) -> Self {
        Self {
            plan,
            pos: 0,
            chain: [0; BLOCK],
            gather: [0; BLOCK],
            gather_len: 0,
            gather_start: 0,
            pending: [(0, [0; BLOCK]); MAX_STRADDLES],
            npending: 0,
            last: [0; 2 * BLOCK],
            overflow: false,
        }
    }

    /// First walk over one cipher segment: CBC over its part of `[0, cbc_end)` (with `block`
    /// transforming a gathered block and `bulk` whole blocks in place), and a copy of its part
    /// of the CTS pair into `last`.
    fn first(
        &mut self,
        d: &mut [u8],
        block: &mut dyn FnMut(&mut [u8; BLOCK], &mut [u8; BLOCK]),
        bulk: &mut dyn FnMut(&mut [u8; BLOCK], &mut [u8]),
    ) {
        let seg_start = self.pos;
        let mut i = 0usize;
        while i < d.len() {
            let p = seg_start + i;
            if p >= self.plan.cbc_end {
                let off = p - self.plan.cbc_end;
                let rest = d.get(i..).unwrap_or_default();
                if let Some(dst) = self.last.get_mut(off..off + rest.len()) {
                    dst.copy_from_slice(rest);
                }
                break;
            }
            let avail = (d.len() - i).min(self.plan.cbc_end - p);
            if self.gather_len > 0 || avail < BLOCK {
                if self.gather_len == 0 {
                    self.gather_start = p;
                }
                let k = (BLOCK - self.gather_len).min(avail);
                if let (Some(dst), Some(src)) =
                    (self.gather.get_mut(self.gather_len..self.gather_len + k), d.get(i..i + k))
                {
                    dst.copy_from_slice(src);
                }
                self.gather_len += k;
                i += k;
                if self.gather_len == BLOCK {
                    block(&mut self.chain, &mut self.gather);
                    self.gather_len = 0;
                    // The bytes of the block in this segment now; the others on the second walk.
                    let start = self.gather_start;
                    write_overlap(d, seg_start, start, &self.gather);
                    if start < seg_start {
                        match self.pending.get_mut(self.npending) {
                            Some(slot) => *slot = (start, self.gather),
                            None => self.overflow = true,
                        }
                        self.npending += 1;
                    }
                }
            } else {
                let m = avail / BLOCK * BLOCK;
                if let Some(blocks) = d.get_mut(i..i + m) {
                    bulk(&mut self.chain, blocks);
                }
                i += m;
            }
        }
        self.pos += d.len();
    }

    /// Second walk over one cipher segment: the straddling blocks' bytes that lie in it, and
    /// the finished CTS pair (in `last`).
    fn second(&mut self, d: &mut [u8]) {
        let seg_start = self.pos;
        for (start, b) in self.pending.iter().take(self.npending) {
            write_overlap(d, seg_start, *start, b);
        }
        let fin_len = BLOCK + self.plan.r;
        if let Some(fin) = self.last.get(..fin_len) {
            write_overlap(d, seg_start, self.plan.cbc_end, fin);
        }
        self.pos += d.len();
    }
}

/// Writes the bytes of `src` (which sits at stream position `src_start`) that fall in `d`
/// (which sits at `seg_start`).
fn write_overlap(d: &mut [u8], seg_start: usize, src_start: usize, src: &[u8]) {
    let lo = seg_start.max(src_start);
    let hi = (seg_start + d.len()).min(src_start + src.len());
    if lo >= hi {
        return;
    }
    if let (Some(dst), Some(s)) =
        (d.get_mut(lo - seg_start..hi - seg_start), src.get(lo - src_start..hi - src_start))
    {
        dst.copy_from_slice(s);
    }
}

fn xor_into(dst: &mut [u8], src: &[u8]) {
    for (d, s) in dst.iter_mut().zip(src) {
        *d ^= s;
    }
}

impl DerivedKeys {
    /// The AES keys, or `NotSupported` for rc4-hmac.
    fn aes_keys(&self) -> Result<(&AesKey, &super::aes::Mac, &super::aes::Mac)> {
        match &self.keys {
            Keys::Aes { ke, ki, kc } => Ok((ke, ki, kc)),
            Keys::Rc4 { .. } => {
                Err(Error::NotSupported("rc4-hmac over several buffers (AES enctypes only)"))
            }
        }
    }

    /// A checksum to be fed piece by piece: what [`checksum_into`](Self::checksum_into)
    /// computes over the concatenation of the pieces.
    pub(crate) fn checksum_stream(&self) -> ChecksumStream {
        let inner = match &self.keys {
            Keys::Aes { kc, .. } => StreamInner::Aes(kc.stream()),
            Keys::Rc4 { ksign, t, .. } => {
                let mut h = <md5::Md5 as md5::Digest>::new();
                md5::Digest::update(&mut h, t);
                StreamInner::Rc4(h, ksign.clone())
            }
        };
        ChecksumStream { inner, len: self.checksum_len() }
    }

    /// Encrypts the cipher stream of `segs` in place (its first 16 bytes are the confounder,
    /// already written by the caller) and writes the HMAC to `mac_out`
    /// ([`checksum_len`](Self::checksum_len) bytes). The stream must be longer than one
    /// block.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] (stream too short, `mac_out` length),
    /// [`Error::NotSupported`] (rc4-hmac, too many straddling blocks). Nothing is written on
    /// an error.
    pub(crate) fn encrypt_segments(
        &self,
        segs: &mut dyn Segments,
        mac_out: &mut [u8],
    ) -> Result<()> {
        let (ke, ki, _) = self.aes_keys()?;
        if mac_out.len() != self.checksum_len() {
            return Err(Error::InvalidParameter("HMAC buffer length"));
        }
        let plan = measure(segs)?;
        let etm = self.profile.layout == Layout::Rfc8009;
        let mut mac = ki.stream();
        let mut w = Work::new(plan);
        let mut block = |chain: &mut [u8; BLOCK], b: &mut [u8; BLOCK]| {
            xor_into(chain, b);
            let mut blk = aes::Block::from(*chain);
            ke.encrypt_block(&mut blk);
            *chain = blk.0;
            *b = *chain;
        };
        let mut bulk = |chain: &mut [u8; BLOCK], blocks: &mut [u8]| ke.cbc_encrypt(chain, blocks);
        segs.visit(&mut |s| match s {
            Segment::Cipher(d) => {
                if !etm {
                    mac.update(d);
                }
                w.first(d, &mut block, &mut bulk);
            }
            Segment::SignOnly(d) => {
                if !etm {
                    mac.update(d);
                }
            }
        });
        if w.overflow || w.pos != plan.n {
            return Err(Error::InvalidParameter("message buffers changed between two walks"));
        }
        // CTS: C(n-1) = E(chain ^ P(n-1)); C(n) = E(C(n-1) ^ (P(n) | 0...)); written as
        // C(n) then C(n-1) cut to r bytes.
        let mut c_pen = aes::Block::default();
        c_pen.copy_from_slice(w.last.get(..BLOCK).unwrap_or(&[0; BLOCK]));
        xor_into(&mut c_pen, &w.chain);
        ke.encrypt_block(&mut c_pen);
        let mut c_last = c_pen;
        xor_into(&mut c_last, w.last.get(BLOCK..BLOCK + plan.r).unwrap_or_default());
        ke.encrypt_block(&mut c_last);
        if let Some(dst) = w.last.get_mut(..BLOCK) {
            dst.copy_from_slice(&c_last);
        }
        if let Some(dst) = w.last.get_mut(BLOCK..BLOCK + plan.r) {
            dst.copy_from_slice(c_pen.get(..plan.r).unwrap_or_default());
        }
        c_pen.as_mut_slice().zeroize();
        c_last.as_mut_slice().zeroize();
        w.pos = 0;
        if etm {
            mac.update(&[0u8; BLOCK]);
        }
        segs.visit(&mut |s| match s {
            Segment::Cipher(d) => {
                w.second(d);
                if etm {
                    mac.update(d);
                }
            }
            Segment::SignOnly(d) => {
                if etm {
                    mac.update(d);
                }
            }
        });
        mac.finish_into(mac_out);
        Ok(())
    }

    /// Decrypts the cipher stream of `segs` in place and verifies `mac` (RFC 8009: before
    /// decrypting anything; RFC 3962: after, and on a failure every cipher segment is wiped,
    /// so nothing unverified is left behind).
    ///
    /// # Errors
    /// [`Error::MessageAltered`] if the HMAC does not verify; [`Error::InvalidParameter`],
    /// [`Error::NotSupported`] as [`encrypt_segments`](Self::encrypt_segments).
    pub(crate) fn decrypt_segments(&self, segs: &mut dyn Segments, mac: &[u8]) -> Result<()> {
        let (ke, ki, _) = self.aes_keys()?;
        if mac.len() != self.checksum_len() {
            return Err(Error::MessageAltered);
        }
        let plan = measure(segs)?;
        let etm = self.profile.layout == Layout::Rfc8009;
        if etm {
            let mut m = ki.stream();
            m.update(&[0u8; BLOCK]);
            segs.visit(&mut |s| match s {
                Segment::Cipher(d) => m.update(d),
                Segment::SignOnly(d) => m.update(d),
            });
            if !m.verify(mac) {
                return Err(Error::MessageAltered);
            }
        }
        let mut w = Work::new(plan);
        // `chain` holds the previous ciphertext block.
        let mut block = |prev: &mut [u8; BLOCK], b: &mut [u8; BLOCK]| {
            let saved = *b;
            let mut blk = aes::Block::from(*b);
            ke.decrypt_block(&mut blk);
            xor_into(&mut blk, prev);
            *b = blk.0;
            *prev = saved;
            blk.as_mut_slice().zeroize();
        };
        let mut bulk = |prev: &mut [u8; BLOCK], blocks: &mut [u8]| ke.cbc_decrypt(prev, blocks);
        segs.visit(&mut |s| {
            if let Segment::Cipher(d) = s {
                w.first(d, &mut block, &mut bulk);
            }
        });
        if w.overflow || w.pos != plan.n {
            return Err(Error::InvalidParameter("message buffers changed between two walks"));
        }
        // `last` holds C(n) then C(n-1)[..r]. D(C(n)) = C(n-1) ^ (P(n) | 0...): its bytes
        // from r on are C(n-1)'s.
        let r = plan.r;
        let mut d = aes::Block::default();
        d.copy_from_slice(w.last.get(..BLOCK).unwrap_or(&[0; BLOCK]));
        ke.decrypt_block(&mut d);
        let mut c_pen = d;
        if let (Some(dst), Some(src)) = (c_pen.get_mut(..r), w.last.get(BLOCK..BLOCK + r)) {
            dst.copy_from_slice(src);
        }
        // P(n) = D(C(n))[..r] ^ C(n-1)[..r].
        let mut p_last = [0u8; BLOCK];
        if let Some(dst) = p_last.get_mut(..r) {
            dst.copy_from_slice(d.get(..r).unwrap_or_default());
            xor_into(dst, c_pen.get(..r).unwrap_or_default());
        }
        // P(n-1) = D(C(n-1)) ^ C(n-2).
        let mut p_pen = c_pen;
        ke.decrypt_block(&mut p_pen);
        xor_into(&mut p_pen, &w.chain);
        if let Some(dst) = w.last.get_mut(..BLOCK) {
            dst.copy_from_slice(&p_pen);
        }
        if let (Some(dst), Some(src)) = (w.last.get_mut(BLOCK..BLOCK + r), p_last.get(..r)) {
            dst.copy_from_slice(src);
        }
        d.as_mut_slice().zeroize();
        p_pen.as_mut_slice().zeroize();
        p_last.zeroize();
        w.pos = 0;
        let mut m = ki.stream();
        segs.visit(&mut |s| match s {
            Segment::Cipher(d) => {
                w.second(d);
                if !etm {
                    m.update(d);
                }
            }
            Segment::SignOnly(d) => {
                if !etm {
                    m.update(d);
                }
            }
        });
        if !etm && !m.verify(mac) {
            segs.visit(&mut |s| {
                if let Segment::Cipher(d) = s {
                    d.zeroize();
                }
            });
            return Err(Error::MessageAltered);
        }
        Ok(())
    }
}
