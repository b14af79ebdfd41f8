//! The RFC 3961 encryption framework and its encryption types.
//!
//! | etype | name                         | spec      | key | confounder | checksum (type, size) |
//! |-------|------------------------------|-----------|-----|------------|-----------------------|
//! | 17    | `aes128-cts-hmac-sha1-96`    | RFC 3962  | 16  | 16         | 15, 12 bytes          |
//! | 18    | `aes256-cts-hmac-sha1-96`    | RFC 3962  | 32  | 16         | 16, 12 bytes          |
//! | 19    | `aes128-cts-hmac-sha256-128` | RFC 8009  | 16  | 16         | 19, 16 bytes          |
//! | 20    | `aes256-cts-hmac-sha384-192` | RFC 8009  | 32  | 16         | 20, 24 bytes          |
//! | 23    | `rc4-hmac` (`arcfour-hmac`)  | RFC 4757  | 16  | 8          | -138, 16 bytes        |
//!
//! Each encryption type is one row of a private table, `PROFILES` (MIT's `etypes.c` idea):
//! data (sizes, the cipher, the HMAC hash, the checksum type, the default string-to-key
//! iteration count) and the two functions that differ between the RFCs (key derivation and
//! string-to-key), plus a `Layout` naming which of the three message constructions it uses.
//! There is no trait hierarchy; adding an enctype is a row.
//!
//! # Derived keys
//! The keys one `(key, usage)` pair needs (Ke, Ki, Kc of RFC 3961 section 5.3, or K1 and
//! Ksign of RFC 4757) are derived once into a [`DerivedKeys`]; it encrypts, decrypts and
//! checksums into caller buffers with no allocation and no key derivation per message (what
//! MIT's `t_kperf.c` measures: derivation costs more than a short message). The free
//! functions ([`encrypt`], [`decrypt`], [`make_checksum`], ...) derive, use and drop one.
//!
//! # Why not picky-krb's crypto
//! picky-krb 0.13.1 (already in the tree through the `sspi` dev-dependency) has
//! `crypto::CipherSuite`: aes128/aes256-cts-hmac-sha1-96 and des3-cbc-sha1-kd only, no RFC
//! 8009 aes-sha2 and no rc4-hmac. It derives Ke and Ki again on every call (`derive_key`
//! inside `encrypt_message` / `decrypt_message`), allocates several `Vec`s per message
//! (padded copies, the derived keys, the confounder and plaintext split), returns key
//! material (derived keys, PBKDF2 output) as plain `Vec<u8>` that is never zeroized (the
//! crate does not use `zeroize` anywhere), compares the HMAC with `!=` on `Vec`s (not
//! constant time), draws the confounder from the OS inside `encrypt` (no injected
//! randomness, so no deterministic tokens), ignores the string-to-key iteration parameter
//! (always 4096), and is shaped as `Box<dyn Cipher>` with `&[u8]` keys and `i32` usages. It
//! is used here only as the reference of the differential tests
//! (`tests/integration/krb_crypto.rs`).
//!
//! # Errors
//! [`Error::NotSupported`] for an enctype not in the table, [`Error::InvalidParameter`] for a
//! key of the wrong length (or a bad argument), [`Error::InvalidToken`] for a ciphertext too
//! short to hold the confounder and checksum, and the detail-free [`Error::MessageAltered`]
//! for every integrity failure. Decryption never panics and never allocates more than the
//! ciphertext's length.

mod aes;
#[cfg(test)]
mod proptests;
mod rc4;
pub(crate) mod segmented;
#[cfg(test)]
mod tests;

use super::types::{EncType, Key};
use crate::crypto::Secret;
use crate::env::RandomSource;
use crate::error::{Error, Result};
use aes::{AesKey, Hash, Mac};
use core::fmt;
use zeroize::Zeroize;

/// A key usage number (RFC 3961 section 3; the values of RFC 4120 section 7.5.1 and RFC 4121
/// section 2). Unknown values pass through.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct KeyUsage(pub u32);

impl KeyUsage {
    /// 1: AS-REQ PA-ENC-TIMESTAMP padata timestamp, encrypted with the client key.
    pub const AS_REQ_PA_ENC_TIMESTAMP: Self = Self(1);
    /// 2: AS-REP / TGS-REP ticket (includes the TGS session key or application session key),
    /// encrypted with the service key.
    pub const KDC_REP_TICKET: Self = Self(2);
    /// 3: AS-REP encrypted part (includes the TGS session key), encrypted with the client key.
    pub const AS_REP_ENC_PART: Self = Self(3);
    /// 4: TGS-REQ KDC-REQ-BODY AuthorizationData, encrypted with the TGS session key.
    pub const TGS_REQ_AUTH_DATA_SESSION_KEY: Self = Self(4);
    /// 5: TGS-REQ KDC-REQ-BODY AuthorizationData, encrypted with the TGS authenticator
    /// subkey.
    pub const TGS_REQ_AUTH_DATA_SUBKEY: Self = Self(5);
    /// 6: TGS-REQ PA-TGS-REQ padata AP-REQ Authenticator checksum, keyed with the TGS session
    /// key.
    pub const TGS_REQ_PA_TGS_REQ_CHECKSUM: Self = Self(6);
    /// 7: TGS-REQ PA-TGS-REQ padata AP-REQ Authenticator (includes the TGS authenticator
    /// subkey), encrypted with the TGS session key.
    pub const TGS_REQ_PA_TGS_REQ_AUTHENTICATOR: Self = Self(7);
    /// 8: TGS-REP encrypted part (includes the application session key), encrypted with the
    /// TGS session key.
    pub const TGS_REP_ENC_PART_SESSION_KEY: Self = Self(8);
    /// 9: TGS-REP encrypted part, encrypted with the TGS authenticator subkey.
    pub const TGS_REP_ENC_PART_SUBKEY: Self = Self(9);
    /// 10: AP-REQ Authenticator checksum, keyed with the application session key.
    pub const AP_REQ_AUTHENTICATOR_CHECKSUM: Self = Self(10);
    /// 11: AP-REQ Authenticator (includes the application authenticator subkey), encrypted
    /// with the application session key.
    pub const AP_REQ_AUTHENTICATOR: Self = Self(11);
    /// 12: AP-REP encrypted part (includes the application session subkey), encrypted with
    /// the application session key.
    pub const AP_REP_ENC_PART: Self = Self(12);
    /// 13: KRB-PRIV encrypted part, encrypted with a key chosen by the application.
    pub const KRB_PRIV_ENC_PART: Self = Self(13);
    /// 14: KRB-CRED encrypted part, encrypted with a key chosen by the application.
    pub const KRB_CRED_ENC_PART: Self = Self(14);
    /// 15: KRB-SAFE checksum, keyed with a key chosen by the application.
    pub const KRB_SAFE_CHECKSUM: Self = Self(15);
    /// 22: `KG-USAGE-ACCEPTOR-SEAL` (RFC 4121 section 2).
    pub const KG_ACCEPTOR_SEAL: Self = Self(22);
    /// 23: `KG-USAGE-ACCEPTOR-SIGN` (RFC 4121 section 2).
    pub const KG_ACCEPTOR_SIGN: Self = Self(23);
    /// 24: `KG-USAGE-INITIATOR-SEAL` (RFC 4121 section 2).
    pub const KG_INITIATOR_SEAL: Self = Self(24);
    /// 25: `KG-USAGE-INITIATOR-SIGN` (RFC 4121 section 2).
    pub const KG_INITIATOR_SIGN: Self = Self(25);

    /// The well-known constant of RFC 3961 section 5.3: the usage as four big-endian octets
    /// followed by `suffix` (0x99 for Kc, 0xAA for Ke, 0x55 for Ki).
    fn constant(self, suffix: u8) -> [u8; 5] {
        let [a, b, c, d] = self.0.to_be_bytes();
        [a, b, c, d, suffix]
    }
}

/// How an enctype builds its ciphertext from the derived keys.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Layout {
    /// RFC 3961 section 5.3 (simplified profile, RFC 3962): `E(Ke, conf | plain)` followed by
    /// `HMAC(Ki, conf | plain)` truncated.
    Rfc3961,
    /// RFC 8009 section 5: `C = E(Ke, conf | plain)` followed by `HMAC(Ki, IV | C)` truncated
    /// (encrypt-then-MAC; the IV is the all-zero cipher state).
    Rfc8009,
    /// RFC 4757 section 5: `HMAC(K1, conf | plain)` followed by
    /// `RC4(HMAC(K1, checksum), conf | plain)`.
    Rc4Hmac,
}

/// Key derivation: `(profile, base key, constant, out)`.
type DeriveFn = fn(&Profile, &[u8], &[u8], &mut [u8]) -> Result<()>;
/// String-to-key: `(profile, password, salt, iterations, out)`.
type StringToKeyFn = fn(&Profile, &[u8], &[u8], u32, &mut [u8]) -> Result<()>;

/// One encryption type: its data and the functions that differ between the RFCs.
struct Profile {
    etype: EncType,
    /// The mandatory checksum type (RFC 3961 section 8 table, RFC 8009 section 8, RFC 4757).
    checksum_type: i32,
    /// Length of the protocol key.
    key_size: usize,
    /// Length of Ki and Kc (RFC 8009 uses a shorter Ki/Kc for aes256-sha384).
    ki_size: usize,
    /// Length of the confounder.
    confounder_size: usize,
    /// Length of the (truncated) HMAC of a ciphertext and of a checksum.
    mac_size: usize,
    /// The HMAC hash (`None` for RC4, which has its own HMAC-MD5 code).
    hash: Option<Hash>,
    /// The default string-to-key iteration count (RFC 3962 section 4, RFC 8009 section 4).
    default_iterations: u32,
    layout: Layout,
    /// Key derivation: `derive(base, constant, out)` (RFC 3961 `DK` or RFC 8009 `KDF`).
    derive: DeriveFn,
    /// String-to-key into `out` (key-size bytes): `(profile, password, salt, iterations)`.
    string_to_key: StringToKeyFn,
}

/// The table of encryption types.
static PROFILES: [Profile; 5] = [
    Profile {
        etype: EncType::AES128_CTS_HMAC_SHA1_96,
        checksum_type: 15,
        key_size: 16,
        ki_size: 16,
        confounder_size: 16,
        mac_size: 12,
        hash: Some(Hash::Sha1),
        default_iterations: 4096,
        layout: Layout::Rfc3961,
        derive: derive_dk,
        string_to_key: s2k_rfc3962,
    },
    Profile {
        etype: EncType::AES256_CTS_HMAC_SHA1_96,
        checksum_type: 16,
        key_size: 32,
        ki_size: 32,
        confounder_size: 16,
        mac_size: 12,
        hash: Some(Hash::Sha1),
        default_iterations: 4096,
        layout: Layout::Rfc3961,
        derive: derive_dk,
        string_to_key: s2k_rfc3962,
    },
    Profile {
        etype: EncType::AES128_CTS_HMAC_SHA256_128,
        checksum_type: 19,
        key_size: 16,
        ki_size: 16,
        confounder_size: 16,
        mac_size: 16,
        hash: Some(Hash::Sha256),
        default_iterations: 32768,
        layout: Layout::Rfc8009,
        derive: derive_kdf,
        string_to_key: s2k_rfc8009,
    },
    Profile {
        etype: EncType::AES256_CTS_HMAC_SHA384_192,
        checksum_type: 20,
        key_size: 32,
        ki_size: 24,
        confounder_size: 16,
        mac_size: 24,
        hash: Some(Hash::Sha384),
        default_iterations: 32768,
        layout: Layout::Rfc8009,
        derive: derive_kdf,
        string_to_key: s2k_rfc8009,
    },
    Profile {
        etype: EncType::RC4_HMAC,
        checksum_type: -138,
        key_size: 16,
        ki_size: 16,
        confounder_size: 8,
        mac_size: 16,
        hash: None,
        default_iterations: 0,
        layout: Layout::Rc4Hmac,
        derive: rc4::no_derivation,
        string_to_key: rc4::string_to_key,
    },
];

/// The highest string-to-key iteration count accepted (2^24, MIT's limit): beyond it a
/// hostile KDC's `s2kparams` could make the client spin for hours.
pub const MAX_ITERATIONS: u32 = 1 << 24;

fn profile(etype: EncType) -> Result<&'static Profile> {
    PROFILES
        .iter()
        .find(|p| p.etype == etype)
        .ok_or(Error::NotSupported("Kerberos encryption type not implemented"))
}

/// The profile of `key`, with the key's length checked.
fn profile_of(key: &Key) -> Result<&'static Profile> {
    let p = profile(key.etype())?;
    if key.bytes().len() != p.key_size {
        return Err(Error::InvalidParameter("key length does not match its encryption type"));
    }
    Ok(p)
}

/// RFC 3961 section 5.1 `DK`, AES (RFC 3962: random-to-key is the identity).
fn derive_dk(_: &Profile, base: &[u8], constant: &[u8], out: &mut [u8]) -> Result<()> {
    aes::dk(base, constant, out)
}

/// RFC 8009 section 3 `KDF-HMAC-SHA2(base, constant, k)`.
fn derive_kdf(p: &Profile, base: &[u8], constant: &[u8], out: &mut [u8]) -> Result<()> {
    let hash = p.hash.ok_or(Error::NotSupported("no HMAC hash"))?;
    aes::kdf_hmac_sha2(hash, base, constant, out)
}

/// RFC 3962 section 4: `tkey = random-to-key(PBKDF2-HMAC-SHA1(password, salt, iterations,
/// key size))`, `key = DK(tkey, "kerberos")`.
fn s2k_rfc3962(p: &Profile, password: &[u8], salt: &[u8], iter: u32, out: &mut [u8]) -> Result<()> {
    let mut tkey = Secret([0u8; 32]);
    let tkey = tkey.get_mut(..p.key_size).ok_or(Error::InvalidParameter("key size"))?;
    pbkdf2::pbkdf2_hmac::<sha1::Sha1>(password, salt, iter, tkey);
    aes::dk(tkey, b"kerberos", out)
}

/// RFC 8009 section 4: `saltp = enctype-name | 0x00 | salt`,
/// `tkey = random-to-key(PBKDF2-HMAC-SHA2(password, saltp, iterations, key size))`,
/// `key = KDF-HMAC-SHA2(tkey, "kerberos", key size)`.
fn s2k_rfc8009(p: &Profile, password: &[u8], salt: &[u8], iter: u32, out: &mut [u8]) -> Result<()> {
    let name = p.etype.name().unwrap_or_default().as_bytes();
    let mut saltp = Vec::with_capacity(name.len() + 1 + salt.len());
    saltp.extend_from_slice(name);
    saltp.push(0);
    saltp.extend_from_slice(salt);
    let mut tkey = Secret([0u8; 32]);
    let tkey = tkey.get_mut(..p.key_size).ok_or(Error::InvalidParameter("key size"))?;
    let hash = p.hash.ok_or(Error::NotSupported("no HMAC hash"))?;
    match hash {
        Hash::Sha256 => pbkdf2::pbkdf2_hmac::<sha2::Sha256>(password, &saltp, iter, tkey),
        Hash::Sha384 => pbkdf2::pbkdf2_hmac::<sha2::Sha384>(password, &saltp, iter, tkey),
        Hash::Sha1 => return Err(Error::NotSupported("RFC 8009 with SHA-1")),
    }
    aes::kdf_hmac_sha2(hash, tkey, b"kerberos", out)
}

/// Whether sspi-emu implements `etype`.
pub fn supported(etype: EncType) -> bool {
    profile(etype).is_ok()
}

/// The mandatory checksum type of `etype` (15, 16, 19, 20 or -138), `None` if not
/// implemented.
pub fn checksum_type(etype: EncType) -> Option<i32> {
    profile(etype).ok().map(|p| p.checksum_type)
}

/// The encryption type whose mandatory checksum is `cksumtype`.
pub fn etype_of_checksum(cksumtype: i32) -> Option<EncType> {
    PROFILES.iter().find(|p| p.checksum_type == cksumtype).map(|p| p.etype)
}

/// The string-to-key iteration count of `params` (four octets, big-endian; RFC 3962
/// section 4, RFC 8009 section 4), or the enctype's default.
fn iterations(p: &Profile, params: Option<&[u8]>) -> Result<u32> {
    let Some(params) = params else { return Ok(p.default_iterations) };
    if p.layout == Layout::Rc4Hmac {
        // RFC 4757 has no parameters; MIT ignores them, an empty string is common.
        return Ok(0);
    }
    let count = match <[u8; 4]>::try_from(params) {
        Ok(bytes) => u32::from_be_bytes(bytes),
        Err(_) => {
            return Err(Error::InvalidParameter("string-to-key parameters are not 4 octets"));
        }
    };
    match count {
        // RFC 3962: 0 means 2^32 iterations.
        0 => Err(Error::InvalidParameter("string-to-key iteration count 2^32 is above 2^24")),
        c if c > MAX_ITERATIONS => {
            Err(Error::InvalidParameter("string-to-key iteration count is above 2^24"))
        }
        c => Ok(c),
    }
}

/// The key of `etype` made from a password and salt (RFC 3961 section 3 string-to-key):
/// PBKDF2 with the iteration count in `params` (four big-endian octets; `None` for the
/// default: 4096 for RFC 3962, 32768 for RFC 8009), or the NT hash for rc4-hmac (`password`
/// must then be UTF-8; salt and parameters are ignored).
///
/// # Errors
/// [`Error::NotSupported`] for an enctype not implemented; [`Error::InvalidParameter`] for
/// parameters that are not four octets, an iteration count of 0 (meaning 2^32) or above
/// 2^24 ([`MAX_ITERATIONS`]), or an rc4-hmac password that is not UTF-8.
pub fn string_to_key(
    etype: EncType,
    password: &[u8],
    salt: &[u8],
    params: Option<&[u8]>,
) -> Result<Key> {
    let p = profile(etype)?;
    let iter = iterations(p, params)?;
    let mut out = Secret([0u8; 32]);
    let key = out.get_mut(..p.key_size).ok_or(Error::InvalidParameter("key size"))?;
    (p.string_to_key)(p, password, salt, iter, key)?;
    Ok(Key::new(etype, key))
}

/// A random key of `etype` (RFC 3961 random-to-key, the identity for every implemented
/// enctype).
///
/// # Errors
/// [`Error::NotSupported`] for an enctype not implemented; [`Error::RandomSource`] if the
/// random source fails.
pub fn random_key(etype: EncType, random: &dyn RandomSource) -> Result<Key> {
    let p = profile(etype)?;
    let mut out = Secret([0u8; 32]);
    let key = out.get_mut(..p.key_size).ok_or(Error::InvalidParameter("key size"))?;
    random.fill(key)?;
    Ok(Key::new(etype, key))
}

/// Encrypts `plaintext` under `key` for `usage` with a fresh confounder from `random`. The
/// result is `plaintext.len() + overhead` bytes (see [`DerivedKeys::overhead`]).
///
/// # Errors
/// [`Error::NotSupported`], [`Error::InvalidParameter`] (key length), [`Error::RandomSource`].
pub fn encrypt(
    key: &Key,
    usage: KeyUsage,
    plaintext: &[u8],
    random: &dyn RandomSource,
) -> Result<Vec<u8>> {
    let keys = DerivedKeys::new(key, usage)?;
    let mut confounder = Secret([0u8; 16]);
    let confounder = confounder
        .get_mut(..keys.profile.confounder_size)
        .ok_or(Error::InvalidParameter("confounder size"))?;
    random.fill(confounder)?;
    let mut out = vec![0u8; plaintext.len() + keys.overhead()];
    keys.encrypt_into(confounder, plaintext, &mut out)?;
    Ok(out)
}

/// Decrypts and verifies `ciphertext` under `key` for `usage`; returns the plaintext (the
/// confounder removed).
///
/// # Errors
/// [`Error::NotSupported`], [`Error::InvalidParameter`] (key length),
/// [`Error::InvalidToken`] (too short), [`Error::MessageAltered`] (integrity check failed).
pub fn decrypt(key: &Key, usage: KeyUsage, ciphertext: &[u8]) -> Result<Vec<u8>> {
    let keys = DerivedKeys::new(key, usage)?;
    keys.check_ciphertext_len(ciphertext.len())?;
    let mut buf = ciphertext.to_vec();
    let (start, len) = keys.decrypt_in_place_range(&mut buf)?;
    buf.copy_within(start..start + len, 0);
    buf.truncate(len);
    Ok(buf)
}

/// The mandatory checksum of `key`'s enctype over `data` for `usage` (RFC 3961 section 5.4
/// `HMAC(Kc, data)` truncated; RFC 8009 section 5; RFC 4757 section 4 for rc4-hmac).
///
/// # Errors
/// [`Error::NotSupported`], [`Error::InvalidParameter`] (key length).
pub fn make_checksum(key: &Key, usage: KeyUsage, data: &[u8]) -> Result<Vec<u8>> {
    let keys = DerivedKeys::new(key, usage)?;
    let mut out = vec![0u8; keys.checksum_len()];
    keys.checksum_into(data, &mut out)?;
    Ok(out)
}

/// Verifies a checksum made by [`make_checksum`], in constant time.
///
/// # Errors
/// [`Error::NotSupported`], [`Error::InvalidParameter`] (key length),
/// [`Error::MessageAltered`] if it does not verify (also for a wrong length).
pub fn verify_checksum(key: &Key, usage: KeyUsage, data: &[u8], checksum: &[u8]) -> Result<()> {
    DerivedKeys::new(key, usage)?.verify_checksum(data, checksum)
}

/// The derived keys of one encryption type.
// The AES variant is ~1.1 KB (two key schedules and two keyed HMAC-SHA384 states), the RC4
// one ~250 bytes; a context keeps a handful for its whole life, so the inline size is
// cheaper than a heap allocation per derivation.
#[allow(clippy::large_enum_variant)]
#[derive(Clone)]
enum Keys {
    /// RFC 3962 / RFC 8009: the cipher under Ke, HMACs keyed with Ki and Kc.
    Aes { ke: AesKey, ki: Mac, kc: Mac },
    /// RFC 4757: HMAC-MD5 keyed with K1 = HMAC(K, T) (K2 = K1), HMAC-MD5 keyed with Ksign,
    /// and T (the translated usage, little-endian).
    Rc4 { k1: crate::crypto::HmacMd5, ksign: crate::crypto::HmacMd5, t: [u8; 4] },
}

/// The keys one `(key, usage)` pair needs, derived once: encryption, decryption and
/// checksums into caller buffers with no allocation and no per-message key derivation (for
/// the security contexts, which keep one per direction and usage).
///
/// Ciphertext layout (`header_len` bytes, the plaintext, `trailer_len` bytes):
/// - AES (17-20): `E(conf | plaintext)` then the truncated HMAC; the header is the 16-byte
///   (encrypted) confounder, the trailer the HMAC.
/// - rc4-hmac (23): the 16-byte HMAC, then `RC4(conf | plaintext)`; the header is HMAC and
///   the 8-byte confounder, there is no trailer.
///
/// Wiped on drop (every key schedule and keyed HMAC state wipes itself); `Debug` shows only
/// the enctype and usage.
#[derive(Clone)]
pub struct DerivedKeys {
    profile: &'static Profile,
    usage: KeyUsage,
    keys: Keys,
}

impl fmt::Debug for DerivedKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DerivedKeys({:?}, usage {}, <redacted>)", self.profile.etype, self.usage.0)
    }
}

impl DerivedKeys {
    /// Derives the keys of `key` for `usage` (RFC 3961 section 5.3 Ke/Ki/Kc; RFC 8009
    /// section 5; RFC 4757 K1 and Ksign).
    ///
    /// # Errors
    /// [`Error::NotSupported`] for an enctype not implemented; [`Error::InvalidParameter`]
    /// for a key of the wrong length.
    pub fn new(key: &Key, usage: KeyUsage) -> Result<Self> {
        let p = profile_of(key)?;
        let base = key.bytes();
        let keys = match p.hash {
            Some(hash) => {
                let mut buf = Secret([0u8; 32]);
                let ke_buf = buf.get_mut(..p.key_size).ok_or(Error::InvalidParameter("size"))?;
                (p.derive)(p, base, &usage.constant(0xAA), ke_buf)?;
                let ke = AesKey::new(ke_buf)?;
                let ki_buf = buf.get_mut(..p.ki_size).ok_or(Error::InvalidParameter("size"))?;
                (p.derive)(p, base, &usage.constant(0x55), ki_buf)?;
                let ki = Mac::new(hash, ki_buf)?;
                (p.derive)(p, base, &usage.constant(0x99), ki_buf)?;
                let kc = Mac::new(hash, ki_buf)?;
                buf.zeroize();
                Keys::Aes { ke, ki, kc }
            }
            None => rc4::derive(base, usage),
        };
        Ok(Self { profile: p, usage, keys })
    }

    /// The encryption type.
    pub fn etype(&self) -> EncType {
        self.profile.etype
    }

    /// The key usage the keys were derived for.
    pub fn usage(&self) -> KeyUsage {
        self.usage
    }

    /// Length of the confounder [`encrypt_into`](Self::encrypt_into) takes (16, or 8 for
    /// rc4-hmac).
    pub fn confounder_len(&self) -> usize {
        self.profile.confounder_size
    }

    /// Bytes of ciphertext before the plaintext (confounder, and for rc4-hmac the HMAC).
    pub fn header_len(&self) -> usize {
        match self.profile.layout {
            Layout::Rc4Hmac => self.profile.mac_size + self.profile.confounder_size,
            _ => self.profile.confounder_size,
        }
    }

    /// Bytes of ciphertext after the plaintext (the HMAC; none for rc4-hmac).
    pub fn trailer_len(&self) -> usize {
        match self.profile.layout {
            Layout::Rc4Hmac => 0,
            _ => self.profile.mac_size,
        }
    }

    /// How much longer a ciphertext is than its plaintext: 28 (aes-sha1), 32
    /// (aes128-sha256), 40 (aes256-sha384), 24 (rc4-hmac).
    pub fn overhead(&self) -> usize {
        self.profile.confounder_size + self.profile.mac_size
    }

    /// Length of a checksum (12, 16, 24, or 16 for rc4-hmac).
    pub fn checksum_len(&self) -> usize {
        self.profile.mac_size
    }

    /// Encrypts in place. `buf` is `header_len()` bytes (overwritten), the plaintext, and
    /// `trailer_len()` bytes (overwritten); on return it is the ciphertext.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] if `confounder` is not
    /// [`confounder_len`](Self::confounder_len) bytes or `buf` is shorter than the overhead.
    pub fn encrypt_in_place(&self, confounder: &[u8], buf: &mut [u8]) -> Result<()> {
        let p = self.profile;
        if confounder.len() != p.confounder_size {
            return Err(Error::InvalidParameter("confounder length"));
        }
        if buf.len() < self.overhead() {
            return Err(Error::InvalidParameter("buffer shorter than the ciphertext overhead"));
        }
        match &self.keys {
            Keys::Aes { ke, ki, .. } => {
                let (body, mac) = buf.split_at_mut(buf.len() - p.mac_size);
                body.get_mut(..p.confounder_size)
                    .ok_or(Error::InvalidParameter("buffer"))?
                    .copy_from_slice(confounder);
                match p.layout {
                    Layout::Rfc8009 => {
                        ke.cts_encrypt(body);
                        ki.tag_into(&[&[0u8; aes::BLOCK], body], mac);
                    }
                    _ => {
                        ki.tag_into(&[body], mac);
                        ke.cts_encrypt(body);
                    }
                }
                Ok(())
            }
            Keys::Rc4 { k1, .. } => rc4::encrypt_in_place(k1, confounder, buf),
        }
    }

    /// Encrypts `plaintext` into `out` (at least `plaintext.len() + overhead()` bytes);
    /// returns the ciphertext length.
    ///
    /// # Errors
    /// [`Error::BufferTooSmall`] if `out` is too short; [`Error::InvalidParameter`] for a
    /// confounder of the wrong length.
    pub fn encrypt_into(
        &self,
        confounder: &[u8],
        plaintext: &[u8],
        out: &mut [u8],
    ) -> Result<usize> {
        let n = plaintext.len() + self.overhead();
        let out = out.get_mut(..n).ok_or(Error::BufferTooSmall { needed: n })?;
        let h = self.header_len();
        out.get_mut(h..h + plaintext.len())
            .ok_or(Error::BufferTooSmall { needed: n })?
            .copy_from_slice(plaintext);
        self.encrypt_in_place(confounder, out)?;
        Ok(n)
    }

    fn check_ciphertext_len(&self, len: usize) -> Result<()> {
        if len < self.overhead() {
            return Err(Error::InvalidToken(
                "Kerberos ciphertext shorter than its confounder and checksum",
            ));
        }
        Ok(())
    }

    /// Decrypts and verifies in place; returns where the plaintext is (start, length).
    fn decrypt_in_place_range(&self, buf: &mut [u8]) -> Result<(usize, usize)> {
        self.check_ciphertext_len(buf.len())?;
        let p = self.profile;
        let len = buf.len() - self.overhead();
        let start = self.header_len();
        match &self.keys {
            Keys::Aes { ke, ki, .. } => {
                let (body, mac) = buf.split_at_mut(buf.len() - p.mac_size);
                match p.layout {
                    Layout::Rfc8009 => {
                        if !ki.verify(&[&[0u8; aes::BLOCK], body], mac) {
                            return Err(Error::MessageAltered);
                        }
                        ke.cts_decrypt(body);
                    }
                    _ => {
                        ke.cts_decrypt(body);
                        if !ki.verify(&[body], mac) {
                            body.zeroize();
                            return Err(Error::MessageAltered);
                        }
                    }
                }
            }
            Keys::Rc4 { k1, .. } => rc4::decrypt_in_place(k1, buf)?,
        }
        Ok((start, len))
    }

    /// Decrypts and verifies `buf` in place; returns the plaintext, a part of `buf`. On an
    /// integrity failure nothing unverified is left behind (the decrypted bytes are wiped).
    ///
    /// # Errors
    /// [`Error::InvalidToken`] if `buf` is shorter than [`overhead`](Self::overhead);
    /// [`Error::MessageAltered`] if the integrity check fails.
    pub fn decrypt_in_place<'a>(&self, buf: &'a mut [u8]) -> Result<&'a mut [u8]> {
        let (start, len) = self.decrypt_in_place_range(buf)?;
        buf.get_mut(start..start + len).ok_or(Error::InvalidToken("ciphertext length"))
    }

    /// Decrypts and verifies `ciphertext` into `out` (at least `ciphertext.len()` bytes: the
    /// work is done there); returns the plaintext length, the plaintext being at the start
    /// of `out`.
    ///
    /// # Errors
    /// [`Error::InvalidToken`] (too short), [`Error::BufferTooSmall`],
    /// [`Error::MessageAltered`].
    pub fn decrypt_into(&self, ciphertext: &[u8], out: &mut [u8]) -> Result<usize> {
        self.check_ciphertext_len(ciphertext.len())?;
        let work = out
            .get_mut(..ciphertext.len())
            .ok_or(Error::BufferTooSmall { needed: ciphertext.len() })?;
        work.copy_from_slice(ciphertext);
        let (start, len) = self.decrypt_in_place_range(work)?;
        work.copy_within(start..start + len, 0);
        work.get_mut(len..).unwrap_or_default().zeroize();
        Ok(len)
    }

    /// The checksum of `data` into `out` (at least [`checksum_len`](Self::checksum_len)
    /// bytes); returns its length.
    ///
    /// # Errors
    /// [`Error::BufferTooSmall`] if `out` is too short.
    pub fn checksum_into(&self, data: &[u8], out: &mut [u8]) -> Result<usize> {
        let n = self.checksum_len();
        let out = out.get_mut(..n).ok_or(Error::BufferTooSmall { needed: n })?;
        match &self.keys {
            Keys::Aes { kc, .. } => kc.tag_into(&[data], out),
            Keys::Rc4 { ksign, t, .. } => {
                out.copy_from_slice(&rc4::checksum(ksign, t, data));
            }
        }
        Ok(n)
    }

    /// Verifies `checksum` over `data`, in constant time.
    ///
    /// # Errors
    /// [`Error::MessageAltered`] if it does not verify or has the wrong length.
    pub fn verify_checksum(&self, data: &[u8], checksum: &[u8]) -> Result<()> {
        if checksum.len() != self.checksum_len() {
            return Err(Error::MessageAltered);
        }
        let ok = match &self.keys {
            Keys::Aes { kc, .. } => kc.verify(&[data], checksum),
            Keys::Rc4 { ksign, t, .. } => {
                crate::crypto::ct_eq(&rc4::checksum(ksign, t, data), checksum)
            }
        };
        if ok { Ok(()) } else { Err(Error::MessageAltered) }
    }
}
