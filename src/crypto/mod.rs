//! Secret types and the cryptographic primitives NTLM needs.
//!
//! Secrets zeroize on drop, have no `PartialEq` and print as `<redacted>`; they are compared
//! with [`subtle::ConstantTimeEq`]. Functions that hand key material out are `dangerous_*`.

pub(crate) mod aead;
mod hmac_md5;
mod rc4;

pub use hmac_md5::HmacMd5;
pub(crate) use hmac_md5::md5_pair;
pub use rc4::Rc4;

use core::fmt;
use md4::Md4;
use md5::{Digest, Md5};
use subtle::ConstantTimeEq;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

/// A secret byte array, wiped on drop through the slice path (one `memset` and a barrier).
/// `Zeroizing<[u8; N]>` would wipe it one volatile byte write at a time, which for the
/// 256-byte buffers here costs more than the work around them.
pub(crate) struct Secret<const N: usize>(pub(crate) [u8; N]);

impl<const N: usize> Drop for Secret<N> {
    fn drop(&mut self) {
        self.0.as_mut_slice().zeroize();
    }
}

/// Wipes the 8 KiB of stack below the caller's frame: the frames of the calls it just made,
/// which may have held keys. Rust moves values by copying and never wipes the source, and an
/// enum or `Option` copied later carries whatever bytes its unused payload slot held; called
/// before a context is built and moved to the heap, this keeps such stale bytes from being
/// copied into the heap allocation (`tests/wiped.rs` saw exactly that happen). 8 KiB: the
/// decoder's frames need 4 KiB unoptimized (2 KiB fell short there), less when optimized.
#[inline(never)]
pub(crate) fn scrub_stack() {
    // The zeros are written (a memset) because `black_box` may read them: no volatile
    // writes needed, and a memset is several times faster than 1,024 of them.
    let area = [0u64; 1024];
    core::hint::black_box(&area);
}

/// Reads a whole file of at most `max` bytes. Keytabs, caches and user files hold secrets:
/// the buffer is sized from the file's length first and grows only by wiping moves (a file
/// that grew meanwhile), the chunk read through is wiped, and the result is wiped on drop.
pub(crate) fn read_bounded(
    path: &std::path::Path,
    max: u64,
) -> core::result::Result<SecretBytes, String> {
    use std::io::Read;
    let file = std::fs::File::open(path).map_err(|e| format!("cannot open: {e}"))?;
    let len = file.metadata().map_err(|e| format!("cannot read: {e}"))?.len();
    if len > max {
        return Err(format!("larger than {max} bytes"));
    }
    // One byte more than the length, so reading to the end needs no growth; a file that
    // grows meanwhile is cut at `max + 1` bytes and refused.
    let room =
        usize::try_from(len.saturating_add(1)).map_err(|_| format!("larger than {max} bytes"))?;
    let mut bytes = SecretBytes(Vec::with_capacity(room));
    let mut chunk = zeroize::Zeroizing::new([0u8; 4096]);
    let mut reader = file.take(max + 1);
    loop {
        let n = reader.read(&mut chunk[..]).map_err(|e| format!("cannot read: {e}"))?;
        if n == 0 {
            break;
        }
        bytes.extend_from_slice(&chunk[..n]);
    }
    if u64::try_from(bytes.len()).map_or(true, |n| n > max) {
        return Err(format!("larger than {max} bytes"));
    }
    Ok(bytes)
}

/// A secret byte vector, wiped on drop (its spare capacity too) through the slice path.
/// (`Zeroizing<Vec<u8>>` wipes the elements one volatile byte write at a time.)
///
/// Grow it only within the capacity it was made with (size it first): a reallocation would
/// free the old buffer unwiped. Its `==` is not constant-time: compare only public bytes
/// (blobs, which are ciphertext) with it.
#[derive(Default, Clone, PartialEq, Eq)]
pub(crate) struct SecretBytes(pub(crate) Vec<u8>);

impl Drop for SecretBytes {
    fn drop(&mut self) {
        self.0.spare_capacity_mut().zeroize();
        self.0.as_mut_slice().zeroize();
    }
}

impl SecretBytes {
    /// Appends `bytes`. When the capacity does not suffice, the contents move to a new
    /// allocation (twice as large) and the old one is wiped before it is freed, so a secret
    /// being written piece by piece leaves no copy behind. (These inherent methods shadow the
    /// `Vec` ones reached through `DerefMut`, which would reallocate unwiped.)
    pub(crate) fn extend_from_slice(&mut self, bytes: &[u8]) {
        let needed = self.0.len().saturating_add(bytes.len());
        if needed > self.0.capacity() {
            let mut bigger =
                Vec::with_capacity(needed.max(self.0.capacity().saturating_mul(2)).max(64));
            bigger.extend_from_slice(&self.0);
            let mut old = core::mem::replace(&mut self.0, bigger);
            old.spare_capacity_mut().zeroize();
            old.as_mut_slice().zeroize();
        }
        self.0.extend_from_slice(bytes);
    }

    /// Appends one byte (see [`SecretBytes::extend_from_slice`]).
    pub(crate) fn push(&mut self, byte: u8) {
        self.extend_from_slice(&[byte]);
    }

    /// The bytes, handed out to a caller who must wipe them: `Zeroizing` does on drop.
    pub(crate) fn into_zeroizing(mut self) -> zeroize::Zeroizing<Vec<u8>> {
        zeroize::Zeroizing::new(core::mem::take(&mut self.0))
    }
}

impl core::ops::Deref for SecretBytes {
    type Target = Vec<u8>;
    fn deref(&self) -> &Vec<u8> {
        &self.0
    }
}

impl core::ops::DerefMut for SecretBytes {
    fn deref_mut(&mut self) -> &mut Vec<u8> {
        &mut self.0
    }
}

impl<const N: usize> core::ops::Deref for Secret<N> {
    type Target = [u8; N];
    fn deref(&self) -> &[u8; N] {
        &self.0
    }
}

impl<const N: usize> core::ops::DerefMut for Secret<N> {
    fn deref_mut(&mut self) -> &mut [u8; N] {
        &mut self.0
    }
}

/// A 16-byte secret key (an NT hash, a session key, a signing or sealing key).
#[derive(Clone)]
pub struct Key16(pub(crate) [u8; 16]);

impl Zeroize for Key16 {
    fn zeroize(&mut self) {
        // Through the slice (a store and a barrier), not 16 separate volatile writes.
        self.0.as_mut_slice().zeroize();
    }
}

impl Drop for Key16 {
    fn drop(&mut self) {
        self.zeroize();
    }
}

impl ZeroizeOnDrop for Key16 {}

impl Key16 {
    pub(crate) fn new(bytes: [u8; 16]) -> Self {
        Self(bytes)
    }

    /// The key bytes. Handing out key material is dangerous: the caller must keep it secret
    /// and wipe any copy.
    pub fn dangerous_bytes(&self) -> &[u8; 16] {
        &self.0
    }

    pub(crate) fn bytes(&self) -> &[u8; 16] {
        &self.0
    }

    /// Constant-time comparison.
    pub fn ct_eq(&self, other: &Key16) -> bool {
        self.0.ct_eq(&other.0).into()
    }
}

impl fmt::Debug for Key16 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Key16(<redacted>)")
    }
}

/// The NT one-way function of a password: MD4 of its UTF-16LE encoding (MS-NLMP 3.3.1).
#[derive(Clone)]
pub struct NtHash(pub(crate) Key16);

impl NtHash {
    /// The NT hash of `password`.
    pub fn from_password(password: &str) -> Self {
        let utf16 = Zeroizing::new(utf16le(password));
        let mut md4 = Md4::new();
        md4.update(&utf16[..]);
        Self(Key16(md4.finalize().into()))
    }

    /// An NT hash given as its 16 bytes.
    pub fn from_bytes(bytes: [u8; 16]) -> Self {
        Self(Key16(bytes))
    }

    /// An NT hash given as 32 hexadecimal digits.
    ///
    /// # Errors
    /// [`crate::Error::InvalidParameter`] (`SEC_E_INVALID_PARAMETER`) if it is not 32 hex digits.
    pub fn from_hex(hex: &str) -> crate::Result<Self> {
        let hex = hex.as_bytes();
        if hex.len() != 32 {
            return Err(crate::Error::InvalidParameter("an NT hash is 32 hex digits"));
        }
        let mut out = Secret([0u8; 16]);
        for (byte, pair) in out.iter_mut().zip(hex.chunks_exact(2)) {
            let digit = |c: u8| match c {
                b'0'..=b'9' => Ok(c - b'0'),
                b'a'..=b'f' => Ok(c - b'a' + 10),
                b'A'..=b'F' => Ok(c - b'A' + 10),
                _ => Err(crate::Error::InvalidParameter("an NT hash is 32 hex digits")),
            };
            let (hi, lo) = match pair {
                [hi, lo] => (digit(*hi)?, digit(*lo)?),
                _ => {
                    return Err(crate::Error::InvalidParameter("an NT hash is 32 hex digits"));
                }
            };
            *byte = hi << 4 | lo;
        }
        Ok(Self(Key16(*out)))
    }

    /// Constant-time comparison.
    pub fn ct_eq(&self, other: &NtHash) -> bool {
        self.0.ct_eq(&other.0)
    }
}

impl fmt::Debug for NtHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("NtHash(<redacted>)")
    }
}

/// A password. Zeroized on drop, never printed.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct Password(String);

impl Password {
    /// Wraps a password.
    pub fn new(password: impl Into<String>) -> Self {
        Self(password.into())
    }

    pub(crate) fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(<redacted>)")
    }
}

/// UTF-16LE encoding of a string (the "UNICODE" of MS-NLMP).
pub(crate) fn utf16le(s: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(s.len() * 2);
    for unit in s.encode_utf16() {
        out.extend_from_slice(&unit.to_le_bytes());
    }
    out
}

/// MD5 of `parts`, one after the other.
#[inline(never)]
pub(crate) fn md5(parts: &[&[u8]]) -> [u8; 16] {
    let mut h = Md5::new();
    for p in parts {
        h.update(p);
    }
    h.finalize().into()
}

/// HMAC-MD5 of `parts`, one after the other.
pub(crate) fn hmac_md5(key: &[u8], parts: &[&[u8]]) -> [u8; 16] {
    let mut mac = HmacMd5::new(key);
    for p in parts {
        mac.update(p);
    }
    mac.tag()
}

/// Constant-time equality of two byte strings (length is not secret).
pub(crate) fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    a.ct_eq(b).into()
}

/// Constant-time equality of two arrays whose length is a multiple of 8 (MACs, proofs,
/// checksums). The differences are folded into one word with XOR and OR, which has no
/// data-dependent branch, and only that word goes through `subtle`'s optimisation barrier:
/// one barrier instead of one per byte as the slice comparison has.
pub fn ct_eq_words<const N: usize>(a: &[u8; N], b: &[u8; N]) -> bool {
    const { assert!(N.is_multiple_of(8), "whole 64-bit words only") };
    let mut diff = 0u64;
    for (x, y) in a.chunks_exact(8).zip(b.chunks_exact(8)) {
        let x = u64::from_ne_bytes(x.try_into().unwrap_or_default());
        let y = u64::from_ne_bytes(y.try_into().unwrap_or_default());
        diff |= x ^ y;
    }
    diff.ct_eq(&0).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn word_comparison_sees_every_bit() {
        let a: [u8; 16] = core::array::from_fn(|i| u8::try_from(i).unwrap().wrapping_mul(37));
        assert!(ct_eq_words(&a, &a));
        for byte in 0..16 {
            for bit in 0..8 {
                let mut b = a;
                b[byte] ^= 1 << bit;
                assert!(!ct_eq_words(&a, &b), "byte {byte} bit {bit}");
            }
        }
        assert!(ct_eq_words(&[0u8; 8], &[0u8; 8]));
        assert!(!ct_eq_words(&[0u8; 8], &[0xff; 8]));
    }

    #[test]
    fn md4_matches_rfc1320() {
        // RFC 1320 appendix A.5.
        let mut h = Md4::new();
        h.update(b"abc");
        let out: [u8; 16] = h.finalize().into();
        assert_eq!(out, hex16("a448017aaf21d8525fc10ae87aa6729d"));
    }

    #[test]
    fn nt_hash_of_password_matches_ms_nlmp() {
        // MS-NLMP 4.2.2.1.2 (NTOWFv1 of "Password").
        let h = NtHash::from_password("Password");
        assert_eq!(h.0.bytes(), &hex16("a4f49c406510bdcab6824ee7c30fd852"));
        let parsed = NtHash::from_hex("A4F49C406510BDCAB6824EE7C30FD852").unwrap();
        assert!(h.ct_eq(&parsed));
        assert!(!h.ct_eq(&NtHash::from_password("password")));
        assert!(NtHash::from_hex("zz").is_err());
        assert!(NtHash::from_hex("g4f49c406510bdcab6824ee7c30fd852").is_err());
    }

    #[test]
    fn secrets_do_not_print() {
        let text = format!(
            "{:?} {:?} {:?}",
            Password::new("hunter2"),
            NtHash::from_password("hunter2"),
            Key16::new([0x42; 16])
        );
        assert!(!text.contains("hunter2") && !text.contains("42") && !text.contains("66"));
        assert!(text.contains("redacted"));
    }

    pub(crate) fn hex16(s: &str) -> [u8; 16] {
        let v: Vec<u8> =
            (0..32).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect();
        v.try_into().unwrap()
    }
}
