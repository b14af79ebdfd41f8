//! PLACEHOLDER on branch krb-kdc only, replaced by the krb-crypto branch at merge: the API the
//! KDC exchange codes against, backed by picky-krb's AES-SHA1 enctypes (17, 18) so the
//! exchange can be tested before the real module lands.
#![allow(missing_docs, clippy::missing_errors_doc)]

use super::{EncType, Key};
use crate::env::RandomSource;
use crate::error::{Error, Result};
use picky_krb::crypto::{ChecksumSuite, CipherSuite};

/// A key usage number (RFC 4120 section 7.5.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KeyUsage(pub u32);

fn suite(etype: EncType) -> Result<CipherSuite> {
    match etype {
        EncType::AES128_CTS_HMAC_SHA1_96 => Ok(CipherSuite::Aes128CtsHmacSha196),
        EncType::AES256_CTS_HMAC_SHA1_96 => Ok(CipherSuite::Aes256CtsHmacSha196),
        _ => Err(Error::NotSupported("encryption type")),
    }
}

fn usage(u: KeyUsage) -> i32 {
    i32::try_from(u.0).unwrap_or(i32::MAX)
}

pub fn supported(etype: EncType) -> bool {
    suite(etype).is_ok()
}

pub fn string_to_key(
    etype: EncType,
    password: &[u8],
    salt: &[u8],
    _params: Option<&[u8]>,
) -> Result<Key> {
    let bytes = suite(etype)?
        .cipher()
        .generate_key_from_password(password, salt)
        .map_err(|_| Error::InvalidParameter("string-to-key"))?;
    Ok(Key::new(etype, &bytes))
}

pub fn random_key(etype: EncType, random: &dyn RandomSource) -> Result<Key> {
    let len = if etype == EncType::AES128_CTS_HMAC_SHA1_96 { 16 } else { 32 };
    suite(etype)?;
    let mut bytes = vec![0u8; len];
    random.fill(&mut bytes)?;
    Ok(Key::new(etype, &bytes))
}

pub fn encrypt(
    key: &Key,
    u: KeyUsage,
    plaintext: &[u8],
    _random: &dyn RandomSource,
) -> Result<Vec<u8>> {
    suite(key.etype())?
        .cipher()
        .encrypt(key.bytes(), usage(u), plaintext)
        .map_err(|_| Error::InvalidParameter("encrypt"))
}

pub fn decrypt(key: &Key, u: KeyUsage, ciphertext: &[u8]) -> Result<Vec<u8>> {
    suite(key.etype())?
        .cipher()
        .decrypt(key.bytes(), usage(u), ciphertext)
        .map_err(|_| Error::MessageAltered)
}

pub fn checksum_type(etype: EncType) -> Option<i32> {
    match etype {
        EncType::AES128_CTS_HMAC_SHA1_96 => Some(15),
        EncType::AES256_CTS_HMAC_SHA1_96 => Some(16),
        _ => None,
    }
}

pub fn make_checksum(key: &Key, u: KeyUsage, data: &[u8]) -> Result<Vec<u8>> {
    let s = match key.etype() {
        EncType::AES128_CTS_HMAC_SHA1_96 => ChecksumSuite::HmacSha196Aes128,
        EncType::AES256_CTS_HMAC_SHA1_96 => ChecksumSuite::HmacSha196Aes256,
        _ => return Err(Error::NotSupported("checksum type")),
    };
    s.hasher()
        .checksum(key.bytes(), usage(u), data)
        .map_err(|_| Error::InvalidParameter("checksum"))
}
