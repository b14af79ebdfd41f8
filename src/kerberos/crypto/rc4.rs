//! rc4-hmac (RFC 4757): the NT hash as the key, HMAC-MD5 and RC4.
//!
//! The building blocks are the crate's own (`crate::crypto`): the NT hash, the HMAC-MD5 whose
//! keyed state can be cloned per message, and RC4.

use super::{KeyUsage, Keys, Profile};
use crate::crypto::{HmacMd5, NtHash, Rc4, Secret, ct_eq_words, hmac_md5, md5};
use crate::error::{Error, Result};
use zeroize::Zeroize;

/// Length of the HMAC-MD5 checksum at the front of a ciphertext.
const CHECKSUM: usize = 16;
/// Length of the confounder.
const CONFOUNDER: usize = 8;

/// The message type `T` of RFC 4757 section 3 for a key usage: Microsoft numbers three usages
/// differently (3 -> 8, 9 -> 8, 23 -> 13); every other usage is its own number. The same
/// translation is applied to checksums (as MIT's `krb5int_arcfour_translate_usage` does).
pub(super) fn translate(usage: KeyUsage) -> u32 {
    match usage.0 {
        3 | 9 => 8,
        23 => 13,
        u => u,
    }
}

/// The keys of RFC 4757 sections 4 and 5: `K1 = HMAC-MD5(K, T)` (and `K2 = K1`, this is not
/// the export variant), `Ksign = HMAC-MD5(K, "signaturekey\0")`.
pub(super) fn derive(base: &[u8], usage: KeyUsage) -> Keys {
    let t = translate(usage).to_le_bytes();
    let mut k1 = Secret(hmac_md5(base, &[&t]));
    let mut ksign = Secret(hmac_md5(base, &[b"signaturekey\0"]));
    let keys = Keys::Rc4 { k1: HmacMd5::new(&k1[..]), ksign: HmacMd5::new(&ksign[..]), t };
    k1.zeroize();
    ksign.zeroize();
    keys
}

/// rc4-hmac has no RFC 3961 key derivation (its row's `derive` is never called).
pub(super) fn no_derivation(_: &Profile, _: &[u8], _: &[u8], _: &mut [u8]) -> Result<()> {
    Err(Error::NotSupported("rc4-hmac has no RFC 3961 key derivation"))
}

/// RFC 4757 section 2: the key is the NT hash, MD4 of the UTF-16LE password; salt and
/// parameters are not used.
pub(super) fn string_to_key(
    _: &Profile,
    password: &[u8],
    _: &[u8],
    _: u32,
    out: &mut [u8],
) -> Result<()> {
    let password = core::str::from_utf8(password)
        .map_err(|_| Error::InvalidParameter("an rc4-hmac password must be UTF-8"))?;
    let hash = NtHash::from_password(password);
    out.get_mut(..16).ok_or(Error::InvalidParameter("key size"))?.copy_from_slice(hash.0.bytes());
    Ok(())
}

/// `K3 = HMAC-MD5(K1, checksum)`, the RC4 key of one message.
fn k3(k1: &HmacMd5, checksum: &[u8]) -> Rc4 {
    let mut mac = k1.clone();
    mac.update(checksum);
    let mut k3 = Secret(mac.tag());
    let rc4 = Rc4::new(&k3[..]);
    k3.zeroize();
    rc4
}

/// RFC 4757 section 5 encryption in place. `buf` is 16 bytes (checksum, overwritten), 8
/// bytes (confounder, overwritten), then the plaintext.
pub(super) fn encrypt_in_place(k1: &HmacMd5, confounder: &[u8], buf: &mut [u8]) -> Result<()> {
    let (checksum, data) =
        buf.split_at_mut_checked(CHECKSUM).ok_or(Error::InvalidParameter("buffer"))?;
    data.get_mut(..CONFOUNDER)
        .ok_or(Error::InvalidParameter("buffer"))?
        .copy_from_slice(confounder);
    let mut mac = k1.clone();
    mac.update(data);
    checksum.copy_from_slice(&mac.tag());
    k3(k1, checksum).apply(data);
    Ok(())
}

/// RFC 4757 section 5 decryption and verification in place (`buf` at least 24 bytes). On
/// failure the decrypted bytes are wiped.
pub(super) fn decrypt_in_place(k1: &HmacMd5, buf: &mut [u8]) -> Result<()> {
    let (checksum, data) = buf
        .split_at_mut_checked(CHECKSUM)
        .ok_or(Error::InvalidToken("rc4-hmac ciphertext shorter than its checksum"))?;
    if data.len() < CONFOUNDER {
        return Err(Error::InvalidToken("rc4-hmac ciphertext shorter than its confounder"));
    }
    k3(k1, checksum).apply(data);
    let mut mac = k1.clone();
    mac.update(data);
    let expected: [u8; CHECKSUM] = checksum.try_into().map_err(|_| Error::MessageAltered)?;
    if !ct_eq_words(&mac.tag(), &expected) {
        data.zeroize();
        return Err(Error::MessageAltered);
    }
    Ok(())
}

/// The HMAC-MD5 checksum, type -138 (RFC 4757 section 4):
/// `HMAC-MD5(Ksign, MD5(T | data))`, `T` the translated usage, little-endian.
pub(super) fn checksum(ksign: &HmacMd5, t: &[u8; 4], data: &[u8]) -> [u8; 16] {
    let inner = md5(&[t, data]);
    let mut mac = ksign.clone();
    mac.update(&inner);
    mac.tag()
}
