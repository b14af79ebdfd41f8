//! The AS and TGS exchanges (RFC 4120 sections 3.1 and 3.3), sans-IO: each exchange is a state
//! that hands out the bytes of a request and takes the bytes of the reply. Which KDC the bytes
//! go to, and how, is [`super::transport`]'s business (or the caller's).
//!
//! ```text
//!  AS exchange (a TGT for a password or a client keytab)
//!
//!  AsExchange::start ──AS-REQ (no padata)──────────────────────▶ KDC
//!        AsAwaitingReply ◀──KRB-ERROR 25 PREAUTH_REQUIRED + ETYPE-INFO2──
//!        handle_reply ──AS-REQ + PA-ENC-TIMESTAMP (usage 1)─────▶
//!        AsAwaitingReply ◀──AS-REP (enc-part, usage 3)───────────
//!        handle_reply ──▶ AsProgress::Done(Credential)
//!
//!  TGS exchange (a service ticket for a TGT)
//!
//!  TgsExchange::start ──TGS-REQ: PA-TGS-REQ = AP-REQ(TGT, authenticator usage 7,
//!                         checksum of the req-body usage 6)──▶ KDC
//!        TgsAwaitingReply ◀──TGS-REP (enc-part, usage 8, or 9 with a subkey)──
//!        handle_reply ──▶ Credential
//! ```
//! Any KRB-ERROR ends the exchange with a clear [`Error`] (see [`kdc_error`]), except
//! PREAUTH_REQUIRED to a first AS-REQ, which is the normal second round.
//!
//! The checks that give a reply its meaning are ours, one named function each, and a test
//! breaks each on purpose: [`check_nonce`], [`check_client`], [`check_server`],
//! [`check_etype_offered`], [`check_ticket_times`].
//!
//! # Where Windows differs (MS-KILE)
//! - Active Directory always requires pre-authentication, and its salt for a user is the
//!   realm and the account name as stored (case matters), for a computer
//!   `REALMhostname.domain`: the salt is taken from PA-ETYPE-INFO2 as given whenever the KDC
//!   sends one, and computed (realm + components, RFC 4120 section 4) only when it does not.
//! - A domain controller answers a UDP request whose reply (a ticket with a large PAC) does not
//!   fit with KRB_ERR_RESPONSE_TOO_BIG: [`is_response_too_big`] lets the transport retry over
//!   TCP.
//! - Its KRB-ERRORs may carry KERB-ERROR-DATA with an NTSTATUS in e-data; it is not decoded
//!   here: the error code alone decides the [`Error`].
//! - No PA-PAC-REQUEST is sent: AD then includes the PAC, its default.
//!
//! Not done here (yet): FAST armoring, cross-realm referrals (a TGS-REP for another realm's
//! krbtgt fails the service check), S4U, PKINIT, user-to-user.
//!
//! # Why picky-krb (and not rasn-kerberos) for the ASN.1
//! Both crates define the RFC 4120 types. picky-krb 0.13 (Devolutions, the ASN.1 under
//! sspi-rs, which talks to Active Directory every day) also has what the later parts need:
//! KRB-CRED, the RFC 4121 GSS tokens, the MS-PAC structures, PKINIT, with its own types for
//! every MS-KILE quirk; its MSRV (1.85) and edition (2024) are ours exactly, and it was already
//! in our dependency tree through the `sspi` dev-dependency, so the lock file gains nothing
//! new. rasn-kerberos 0.30 covers RFC 4120 (and OTP) only: no GSS, no PAC, so those would be
//! hand-written anyway; it pulls rasn's codec framework (num-bigint, bitvec, nom, chrono,
//! snafu) and states no MSRV. Against picky-krb: it is heavy (its own crypto, DES, a bignum, rand,
//! uuid and the X.509 types come along; we use none of them), and its serde-based DER reader is
//! lax: it accepts non-minimal long-form lengths, does not insist on the input ending with the
//! message, holds KerberosString as IA5 (ASCII) only, and types a KRB-ERROR's `cusec` as a time.
//! So sspi-emu checks the outer framing itself with a strict reader (`der`: definite, minimal
//! lengths, no trailing bytes) before handing a message to picky-krb, reads KRB-ERROR with that
//! reader, keeps the ticket's bytes exactly as the KDC sent them, and fuzzes the reply
//! handlers (`fuzz_targets/kdc_reply.rs`). The enc-parts it decodes are authenticated
//! before parsing, so laxness there costs nothing.

pub(super) mod convert;
pub(super) mod der;

use crate::crypto::Password;
use crate::env::Environment;
use crate::error::{Error, Result};
use crate::kerberos::crypto::{self, KeyUsage};
use crate::kerberos::{
    AuthData, Credential, EncType, HostAddress, Key, NameType, Principal, PrincipalName,
};
use convert::{asn_name, flags, flags_value, int, int32, kstring, ktime, principal, unix_time};
use core::time::Duration;
use picky_asn1::wrapper::{
    Asn1SequenceOf, ExplicitContextTag0, ExplicitContextTag1, ExplicitContextTag2,
    ExplicitContextTag3, ExplicitContextTag4, ExplicitContextTag5, ExplicitContextTag6,
    ExplicitContextTag7, ExplicitContextTag8, IntegerAsn1, OctetStringAsn1, Optional,
};
use picky_asn1_der::application_tag::ApplicationTag;
use picky_krb::data_types::{
    Authenticator, AuthenticatorInner, Checksum, EncryptedData, EncryptionKey, EtypeInfo2, PaData,
    PaEncTsEnc, Ticket,
};
use picky_krb::messages::{
    ApReq, ApReqInner, AsRep, EncAsRepPart, EncKdcRepPart, EncTgsRepPart, KdcReq, KdcReqBody,
    TgsRep,
};

/// Padata types (RFC 4120 section 7.5.2).
const PA_TGS_REQ: i32 = 1;
const PA_ENC_TIMESTAMP: i32 = 2;
const PA_ETYPE_INFO2: i32 = 19;

/// Key usages (RFC 4120 section 7.5.1).
const USAGE_PA_ENC_TIMESTAMP: KeyUsage = KeyUsage::AS_REQ_PA_ENC_TIMESTAMP;
const USAGE_AS_REP_ENC_PART: KeyUsage = KeyUsage::AS_REP_ENC_PART;
const USAGE_TGS_REQ_CHECKSUM: KeyUsage = KeyUsage::TGS_REQ_PA_TGS_REQ_CHECKSUM;
const USAGE_TGS_REQ_AUTHENTICATOR: KeyUsage = KeyUsage::TGS_REQ_PA_TGS_REQ_AUTHENTICATOR;
const USAGE_TGS_REP_SESSION_KEY: KeyUsage = KeyUsage::TGS_REP_ENC_PART_SESSION_KEY;
const USAGE_TGS_REP_SUBKEY: KeyUsage = KeyUsage::TGS_REP_ENC_PART_SUBKEY;

/// KRB-ERROR codes this module treats specially (RFC 4120 section 7.5.9).
const KDC_ERR_PREAUTH_REQUIRED: i32 = 25;
/// KRB_ERR_RESPONSE_TOO_BIG: the reply does not fit a UDP datagram; ask again over TCP.
pub const KRB_ERR_RESPONSE_TOO_BIG: i32 = 52;

/// The largest reply the handlers accept (a ticket with a large PAC is a few tens of KiB).
pub const MAX_REPLY_LEN: usize = 1 << 20;

/// KDC options (RFC 4120 section 5.4.1), as bits of the 32-bit KerberosFlags value.
const OPT_FORWARDABLE: u32 = 1 << (31 - 1);
const OPT_FORWARDED: u32 = 1 << (31 - 2);
const OPT_PROXIABLE: u32 = 1 << (31 - 3);
const OPT_RENEWABLE: u32 = 1 << (31 - 8);
const OPT_CANONICALIZE: u32 = 1 << (31 - 15);

/// What the client asks for in an AS or TGS request.
#[derive(Clone, Debug)]
pub struct RequestOptions {
    /// The ticket lifetime asked for (`till` = now + lifetime). Default 10 hours (MIT's
    /// `ticket_lifetime` default is 1 day; 10 hours is Windows').
    pub lifetime: Duration,
    /// A renewable ticket until now + this, if set.
    pub renew_lifetime: Option<Duration>,
    /// Ask for a forwardable ticket.
    pub forwardable: bool,
    /// Ask for a forwarded TGT (TGS only: the TGT to delegate, RFC 4120 section 2.6).
    pub forwarded: bool,
    /// Ask for a proxiable ticket.
    pub proxiable: bool,
    /// Allow the KDC to canonicalize names (RFC 6806): the reply may then name the client or
    /// the service differently from the request.
    pub canonicalize: bool,
    /// The encryption types offered, most preferred first. Types this build does not
    /// implement are left out of the request.
    pub etypes: Vec<EncType>,
    /// Send a fresh subkey in the TGS-REQ authenticator (the reply is then encrypted in it,
    /// usage 9).
    pub tgs_subkey: bool,
}

impl Default for RequestOptions {
    fn default() -> Self {
        Self {
            lifetime: Duration::from_secs(10 * 3600),
            renew_lifetime: None,
            forwardable: false,
            forwarded: false,
            proxiable: false,
            canonicalize: false,
            etypes: vec![
                EncType::AES256_CTS_HMAC_SHA1_96,
                EncType::AES128_CTS_HMAC_SHA1_96,
                EncType::AES256_CTS_HMAC_SHA384_192,
                EncType::AES128_CTS_HMAC_SHA256_128,
                EncType::RC4_HMAC,
            ],
            tgs_subkey: false,
        }
    }
}

impl RequestOptions {
    fn kdc_options(&self) -> u32 {
        let mut bits = 0;
        if self.forwardable {
            bits |= OPT_FORWARDABLE;
        }
        if self.forwarded {
            bits |= OPT_FORWARDED;
        }
        if self.proxiable {
            bits |= OPT_PROXIABLE;
        }
        if self.renew_lifetime.is_some() {
            bits |= OPT_RENEWABLE;
        }
        if self.canonicalize {
            bits |= OPT_CANONICALIZE;
        }
        bits
    }

    fn offered(&self) -> Result<Vec<EncType>> {
        let mut out: Vec<EncType> = Vec::new();
        for e in &self.etypes {
            if crypto::supported(*e) && !out.contains(e) {
                out.push(*e);
            }
        }
        if out.is_empty() {
            return Err(Error::InvalidParameter(
                "none of the requested encryption types is implemented",
            ));
        }
        Ok(out)
    }
}

/// A client key from a keytab: its version number and the key.
#[derive(Clone, Debug)]
pub struct ClientKey {
    /// The key version number.
    pub kvno: u32,
    /// The key.
    pub key: Key,
}

/// What proves the client's identity in the AS exchange.
#[derive(Clone, Debug)]
pub enum ClientSecret {
    /// A password: the key is derived with the salt and parameters the KDC names
    /// (PA-ETYPE-INFO2), or the default salt (the realm and the name's components).
    Password(Password),
    /// Keys from a keytab (all the client's keys; the one of the type the KDC picks is used).
    Keys(Vec<ClientKey>),
}

/// Seconds since the Unix epoch and the microseconds, from the injected clock.
pub(super) fn now(env: &Environment) -> (i64, i32) {
    let ft = env.now().0;
    let secs = i64::try_from(ft / 10_000_000).unwrap_or(i64::MAX) - 11_644_473_600;
    let micros = i32::try_from(ft % 10_000_000 / 10).unwrap_or(0);
    (secs, micros)
}

fn till(env: &Environment, d: Duration) -> i64 {
    now(env).0.saturating_add(i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// A nonce: 31 random bits (MIT and Windows both keep nonces positive).
pub(super) fn nonce(env: &Environment) -> Result<i32> {
    let bytes: [u8; 4] = env.random()?;
    Ok(i32::from_be_bytes(bytes) & 0x7fff_ffff)
}

pub(super) fn der<T: serde::Serialize + ?Sized>(value: &T) -> Result<Vec<u8>> {
    picky_asn1_der::to_vec(value)
        .map_err(|_| Error::InvalidParameter("cannot DER-encode a request"))
}

/// A decoded ASN.1 value holding key bytes (picky-krb's types keep them in plain `Vec`s),
/// whose keys are wiped when it drops: the function given wipes them in place.
pub(super) struct Wiped<T> {
    value: T,
    wipe: fn(&mut T),
}

impl<T> Wiped<T> {
    pub(super) fn new(value: T, wipe: fn(&mut T)) -> Self {
        Self { value, wipe }
    }
}

impl<T> core::ops::Deref for Wiped<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.value
    }
}

impl<T> Drop for Wiped<T> {
    fn drop(&mut self) {
        (self.wipe)(&mut self.value);
    }
}

/// Wipes the key bytes of an `EncryptionKey`.
pub(super) fn wipe_key(key: &mut EncryptionKey) {
    zeroize::Zeroize::zeroize(&mut key.key_value.0.0);
}

/// An `EncryptionKey` whose bytes are a placeholder of `key`'s length (see
/// [`der_with_key`]): the real key never enters picky-krb's encoder, whose intermediate
/// buffers are freed unwiped.
pub(super) fn placeholder_key(key: &Key) -> EncryptionKey {
    EncryptionKey {
        key_type: ExplicitContextTag0::from(int(key.etype().0)),
        key_value: ExplicitContextTag1::from(OctetStringAsn1::from(placeholder(key.bytes().len()))),
    }
}

fn placeholder(len: usize) -> Vec<u8> {
    use sha2::Digest;
    let digest = sha2::Sha512::digest(b"sspi-emu: a key's place in a DER encoding");
    digest.iter().copied().cycle().take(len).collect()
}

/// DER of `value`, which holds [`placeholder_key`]`(key)` exactly once, with the placeholder
/// replaced by `key`'s bytes in the (wiped on drop) output.
///
/// # Errors
/// [`Error::InvalidParameter`] if the placeholder is not found exactly once.
pub(super) fn der_with_key<T: serde::Serialize + ?Sized>(
    value: &T,
    key: &Key,
) -> Result<zeroize::Zeroizing<Vec<u8>>> {
    let mut out = zeroize::Zeroizing::new(der(value)?);
    let marker = placeholder(key.bytes().len());
    let mut found = out.windows(marker.len()).enumerate().filter(|(_, w)| *w == marker.as_slice());
    let (Some((at, _)), None) = (found.next(), found.next()) else {
        return Err(Error::InvalidParameter("a key's placeholder is not in the encoding once"));
    };
    out.get_mut(at..at + marker.len())
        .ok_or(Error::InvalidParameter("placeholder"))?
        .copy_from_slice(key.bytes());
    Ok(out)
}

pub(super) fn decode<'a, T: serde::Deserialize<'a>>(
    bytes: &'a [u8],
    what: &'static str,
) -> Result<T> {
    picky_asn1_der::from_bytes(bytes).map_err(|_| Error::InvalidToken(what))
}

fn padata(kind: i32, data: Vec<u8>) -> PaData {
    PaData {
        padata_type: ExplicitContextTag1::from(int(kind)),
        padata_data: ExplicitContextTag2::from(OctetStringAsn1::from(data)),
    }
}

pub(super) fn encrypted(
    key: &Key,
    usage: KeyUsage,
    plain: &[u8],
    env: &Environment,
    kvno: Option<u32>,
) -> Result<EncryptedData> {
    let cipher = crypto::encrypt(key, usage, plain, &EnvRandom(env))?;
    Ok(EncryptedData {
        etype: ExplicitContextTag0::from(int(key.etype().0)),
        kvno: Optional::from(kvno.map(|k| {
            ExplicitContextTag1::from(IntegerAsn1::from_bytes_be_unsigned(k.to_be_bytes().to_vec()))
        })),
        cipher: ExplicitContextTag2::from(OctetStringAsn1::from(cipher)),
    })
}

/// The environment's randomness as a [`crate::env::RandomSource`] for the crypto module.
pub(super) struct EnvRandom<'a>(pub(super) &'a Environment);

impl crate::env::RandomSource for EnvRandom<'_> {
    fn fill(&self, dest: &mut [u8]) -> Result<()> {
        // Environment hands out fixed-size arrays; go through 16-byte blocks.
        for chunk in dest.chunks_mut(16) {
            let block: [u8; 16] = self.0.random()?;
            let n = chunk.len();
            chunk.copy_from_slice(block.get(..n).ok_or(Error::RandomSource)?);
        }
        Ok(())
    }
}

fn request_body(
    options: &RequestOptions,
    cname: Option<&PrincipalName>,
    realm: &str,
    sname: &PrincipalName,
    nonce: i32,
    etypes: &[EncType],
    env: &Environment,
) -> Result<KdcReqBody> {
    Ok(KdcReqBody {
        kdc_options: ExplicitContextTag0::from(flags(options.kdc_options())),
        cname: Optional::from(cname.map(asn_name).transpose()?.map(ExplicitContextTag1::from)),
        realm: ExplicitContextTag2::from(kstring(realm)?),
        sname: Optional::from(Some(ExplicitContextTag3::from(asn_name(sname)?))),
        from: Optional::from(None),
        till: ExplicitContextTag5::from(ktime(till(env, options.lifetime))),
        rtime: Optional::from(
            options.renew_lifetime.map(|d| ExplicitContextTag6::from(ktime(till(env, d)))),
        ),
        nonce: ExplicitContextTag7::from(int(nonce)),
        etype: ExplicitContextTag8::from(Asn1SequenceOf::from(
            etypes.iter().map(|e| int(e.0)).collect::<Vec<_>>(),
        )),
        addresses: Optional::from(None),
        enc_authorization_data: Optional::from(None),
        additional_tickets: Optional::from(None),
    })
}

fn kdc_req<const TAG: u8>(
    msg_type: i32,
    padata: Vec<PaData>,
    body: KdcReqBody,
) -> ApplicationTag<KdcReq, TAG> {
    ApplicationTag::from(KdcReq {
        pvno: ExplicitContextTag1::from(int(5)),
        msg_type: ExplicitContextTag2::from(int(msg_type)),
        padata: Optional::from(
            (!padata.is_empty()).then(|| ExplicitContextTag3::from(Asn1SequenceOf::from(padata))),
        ),
        req_body: ExplicitContextTag4::from(body),
    })
}

// ---------------------------------------------------------------------------------------------
// KRB-ERROR

/// The parts of a KRB-ERROR (RFC 4120 section 5.9.1) the exchanges use, read with the strict
/// reader (picky-krb mistypes `cusec`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KrbError {
    /// The error code.
    pub code: i32,
    /// The realm of the server that answered.
    pub realm: String,
    /// The KDC's explanation, if any.
    pub e_text: Option<String>,
    /// Extra data (METHOD-DATA for PREAUTH_REQUIRED).
    pub e_data: Option<Vec<u8>>,
}

fn der_int(tlv: der::Tlv<'_>) -> Result<i32> {
    if tlv.tag != 0x02 {
        return Err(Error::InvalidToken("KRB-ERROR: expected an INTEGER"));
    }
    int32(&IntegerAsn1(tlv.content.to_vec()))
}

/// Reads a KRB-ERROR (`[APPLICATION 30]`). Returns `Ok(None)` if `reply` is not one.
///
/// # Errors
/// [`Error::InvalidToken`] if it has a KRB-ERROR's tag but is malformed.
pub fn parse_krb_error(reply: &[u8]) -> Result<Option<KrbError>> {
    if reply.first() != Some(&0x7e) {
        return Ok(None);
    }
    let outer = der::read_only(reply)?;
    let seq = der::read_only(outer.content)?;
    if seq.tag != 0x30 {
        return Err(Error::InvalidToken("KRB-ERROR: expected a SEQUENCE"));
    }
    let (mut code, mut realm, mut e_text, mut e_data) = (None, None, None, None);
    let mut last_tag = None;
    let mut rest = seq.content;
    while !rest.is_empty() {
        let (field, after) = der::read_tlv(rest)?;
        rest = after;
        // Fields are context-tagged [0]..[12], in increasing order (X.690 section 8.9).
        let n = field.tag.checked_sub(0xa0).filter(|n| *n <= 12);
        let Some(n) = n else { return Err(Error::InvalidToken("KRB-ERROR: unexpected field")) };
        if last_tag.is_some_and(|l| l >= n) {
            return Err(Error::InvalidToken("KRB-ERROR: fields out of order"));
        }
        last_tag = Some(n);
        let inner = der::read_only(field.content)?;
        match n {
            0 if der_int(inner)? != 5 => {
                return Err(Error::InvalidToken("KRB-ERROR: pvno is not 5"));
            }
            1 if der_int(inner)? != 30 => {
                return Err(Error::InvalidToken("KRB-ERROR: msg-type is not 30"));
            }
            6 => code = Some(der_int(inner)?),
            9 | 11 => {
                if inner.tag != 0x1b {
                    return Err(Error::InvalidToken("KRB-ERROR: expected a GeneralString"));
                }
                let s = String::from_utf8_lossy(inner.content).into_owned();
                if n == 9 { realm = Some(s) } else { e_text = Some(s) }
            }
            12 => {
                if inner.tag != 0x04 {
                    return Err(Error::InvalidToken("KRB-ERROR: e-data is not an OCTET STRING"));
                }
                e_data = Some(inner.content.to_vec());
            }
            _ => {}
        }
    }
    let code = code.ok_or(Error::InvalidToken("KRB-ERROR without an error-code"))?;
    let realm = realm.ok_or(Error::InvalidToken("KRB-ERROR without a realm"))?;
    Ok(Some(KrbError { code, realm, e_text, e_data }))
}

/// Whether `reply` is a KRB_ERR_RESPONSE_TOO_BIG error (the transport then asks over TCP).
pub fn is_response_too_big(reply: &[u8]) -> bool {
    matches!(parse_krb_error(reply), Ok(Some(KrbError { code: KRB_ERR_RESPONSE_TOO_BIG, .. })))
}

/// What a request was about, for the text of an error.
#[derive(Clone, Copy, Debug)]
pub enum ErrorContext<'a> {
    /// An AS exchange for this client, with a password (`true`) or a keytab.
    As {
        /// The client.
        client: &'a Principal,
        /// Whether the secret was a password.
        password: bool,
    },
    /// A TGS exchange of this client for this service.
    Tgs {
        /// The client.
        client: &'a Principal,
        /// The service.
        service: &'a Principal,
    },
}

/// The RFC 4120 section 7.5.9 name of an error code.
fn code_name(code: i32) -> &'static str {
    match code {
        1 => "KDC_ERR_NAME_EXP",
        2 => "KDC_ERR_SERVICE_EXP",
        3 => "KDC_ERR_BAD_PVNO",
        6 => "KDC_ERR_C_PRINCIPAL_UNKNOWN",
        7 => "KDC_ERR_S_PRINCIPAL_UNKNOWN",
        8 => "KDC_ERR_PRINCIPAL_NOT_UNIQUE",
        9 => "KDC_ERR_NULL_KEY",
        10 => "KDC_ERR_CANNOT_POSTDATE",
        11 => "KDC_ERR_NEVER_VALID",
        12 => "KDC_ERR_POLICY",
        13 => "KDC_ERR_BADOPTION",
        14 => "KDC_ERR_ETYPE_NOSUPP",
        15 => "KDC_ERR_SUMTYPE_NOSUPP",
        18 => "KDC_ERR_CLIENT_REVOKED",
        19 => "KDC_ERR_SERVICE_REVOKED",
        20 => "KDC_ERR_TGT_REVOKED",
        23 => "KDC_ERR_KEY_EXPIRED",
        24 => "KDC_ERR_PREAUTH_FAILED",
        25 => "KDC_ERR_PREAUTH_REQUIRED",
        31 => "KRB_AP_ERR_BAD_INTEGRITY",
        32 => "KRB_AP_ERR_TKT_EXPIRED",
        34 => "KRB_AP_ERR_REPEAT",
        37 => "KRB_AP_ERR_SKEW",
        41 => "KRB_AP_ERR_MODIFIED",
        52 => "KRB_ERR_RESPONSE_TOO_BIG",
        60 => "KRB_ERR_GENERIC",
        68 => "KDC_ERR_WRONG_REALM",
        _ => "unknown error",
    }
}

/// The [`Error`] for a KRB-ERROR, with a text naming who and what. Wrong password, unknown
/// client and the like are [`Error::Kdc`] (their status is `SEC_E_LOGON_DENIED`, mapped in
/// [`crate::status`]); an unknown service is [`Error::TargetUnknown`].
pub fn kdc_error(e: &KrbError, context: ErrorContext<'_>) -> Error {
    let extra = match e.e_text.as_deref().filter(|t| !t.is_empty()) {
        Some(t) => format!(" (KDC says: {t})"),
        None => String::new(),
    };
    let message = match (e.code, context) {
        (24 | 31, ErrorContext::As { client, password: true }) => {
            format!("wrong password for {client}")
        }
        (24 | 31, ErrorContext::As { client, password: false }) => {
            format!("the keytab's key for {client} is not the KDC's (wrong or old kvno)")
        }
        (6, ErrorContext::As { client, .. } | ErrorContext::Tgs { client, .. }) => {
            format!("{client} is unknown to the KDC of {}", e.realm)
        }
        (7, ErrorContext::Tgs { service, .. }) => {
            return Error::TargetUnknown(format!(
                "{service} is unknown to the KDC of {}{extra}",
                e.realm
            ));
        }
        (7, ErrorContext::As { .. }) => {
            return Error::TargetUnknown(format!("the KDC of {} has no krbtgt{extra}", e.realm));
        }
        (37, _) => format!(
            "the clocks of this host and the KDC of {} differ by more than the allowed skew",
            e.realm
        ),
        (14, _) => format!("the KDC of {} supports none of the encryption types offered", e.realm),
        (18, ErrorContext::As { client, .. }) => {
            format!("{client}'s account is disabled or locked")
        }
        (23, ErrorContext::As { client, .. }) => format!("{client}'s password has expired"),
        (code, _) => format!("{} from the KDC of {}", code_name(code), e.realm),
    };
    Error::Kdc { code: e.code, message: format!("{message}{extra}") }
}

// ---------------------------------------------------------------------------------------------
// Checks: each one a named function a test breaks on purpose.

/// The reply's nonce must be the request's (RFC 4120 section 3.1.5): else the reply is for
/// another request (a replay).
///
/// # Errors
/// [`Error::InvalidToken`] if they differ.
pub fn check_nonce(sent: i32, received: i32) -> Result<()> {
    if sent == received {
        Ok(())
    } else {
        Err(Error::InvalidToken("the KDC reply's nonce is not the request's"))
    }
}

fn same_name(a: &PrincipalName, b: &PrincipalName) -> bool {
    // Name types are advisory (RFC 4120 section 6.2): compare the components.
    a.components == b.components
}

/// The client the reply names must be the one asked for (RFC 4120 section 3.1.5), compared
/// by realm and components (name types are advisory). Only when the client asked the KDC to
/// canonicalize (RFC 6806) may the KDC answer with another name: the reply's enc-part, which
/// only the KDC and the client can make, vouches for it.
///
/// # Errors
/// [`Error::InvalidToken`] if it differs without canonicalization.
pub fn check_client(requested: &Principal, replied: &Principal, canonicalize: bool) -> Result<()> {
    if canonicalize
        || (same_name(&requested.name, &replied.name) && requested.realm == replied.realm)
    {
        Ok(())
    } else {
        Err(Error::InvalidToken("the KDC reply names another client than the request"))
    }
}

/// The service of the ticket (from the encrypted part) must be the one asked for: krbtgt of
/// the client's realm in the AS exchange, the requested service in the TGS exchange (RFC
/// 4120 section 3.1.5 "the server name ... match"). With canonicalization a different name
/// of the same realm is accepted.
///
/// # Errors
/// [`Error::InvalidToken`] if it differs.
pub fn check_server(requested: &Principal, replied: &Principal, canonicalize: bool) -> Result<()> {
    let realm_ok = requested.realm == replied.realm;
    if realm_ok && (canonicalize || same_name(&requested.name, &replied.name)) {
        Ok(())
    } else {
        Err(Error::InvalidToken("the KDC reply is for another service than the request"))
    }
}

/// An encryption type the KDC chose must be one the client offered.
///
/// # Errors
/// [`Error::InvalidToken`] if it is not.
pub fn check_etype_offered(offered: &[EncType], chosen: EncType) -> Result<()> {
    if offered.contains(&chosen) {
        Ok(())
    } else {
        Err(Error::InvalidToken("the KDC chose an encryption type the client did not offer"))
    }
}

/// The ticket's times must make sense: it ends after it starts, and not after what was asked
/// for (`till`, with a minute of slack for the KDC's own rounding).
///
/// # Errors
/// [`Error::InvalidToken`] if not.
pub fn check_ticket_times(start: u32, end: u32, till: i64) -> Result<()> {
    if end <= start {
        return Err(Error::InvalidToken("the ticket ends before it starts"));
    }
    if i64::from(end) > till.saturating_add(60) {
        return Err(Error::InvalidToken("the ticket lasts longer than was asked"));
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// The reply's encrypted part, common to AS and TGS.

/// Decrypts and reads an EncASRepPart or EncTGSRepPart (either tag is accepted in either
/// exchange, RFC 4120 section 5.4.2 "Compatibility note").
fn enc_rep_part(key: &Key, usage: KeyUsage, enc: &EncryptedData) -> Result<Wiped<EncKdcRepPart>> {
    // The plaintext holds the session key: wiped when done, and so is the decoded part.
    let plain = zeroize::Zeroizing::new(crypto::decrypt(key, usage, &enc.cipher.0.0)?);
    let tlv = der::read_only(&plain)?;
    let part = match tlv.tag {
        0x79 => decode::<EncAsRepPart>(&plain, "EncASRepPart")?.0,
        0x7a => decode::<EncTgsRepPart>(&plain, "EncTGSRepPart")?.0,
        _ => return Err(Error::InvalidToken("the reply's enc-part is not an EncKDCRepPart")),
    };
    Ok(Wiped::new(part, |p| wipe_key(&mut p.key.0)))
}

pub(super) fn key_of(ek: &EncryptionKey) -> Result<Key> {
    Ok(Key::new(EncType(int32(&ek.key_type.0)?), &ek.key_value.0.0))
}

struct Reply {
    client: Principal,
    ticket: Vec<u8>,
    enc: EncryptedData,
}

/// Common reading of an AS-REP or TGS-REP (application tag 11 or 13): framing, pvno and
/// msg-type, the client, the raw ticket.
fn read_kdc_rep(reply: &[u8], application: u8) -> Result<(Reply, Option<Vec<PaData>>)> {
    if reply.len() > MAX_REPLY_LEN {
        return Err(Error::InvalidToken("the KDC reply is too long"));
    }
    der::read_only(reply)?;
    let rep = if application == 11 {
        decode::<AsRep>(reply, "AS-REP")?.0
    } else {
        decode::<TgsRep>(reply, "TGS-REP")?.0
    };
    if int32(&rep.pvno.0)? != 5 || int32(&rep.msg_type.0)? != i32::from(application) {
        return Err(Error::InvalidToken("the KDC reply has the wrong pvno or msg-type"));
    }
    let ticket = der::field_of_application(reply, application, 5)?
        .ok_or(Error::InvalidToken("the KDC reply has no ticket"))?
        .to_vec();
    let client = principal(&rep.crealm.0, &rep.cname.0)?;
    let padata = rep.padata.0.map(|p| p.0.0);
    Ok((Reply { client, ticket, enc: rep.enc_part.0 }, padata))
}

fn credential(client: Principal, ticket: Vec<u8>, part: &EncKdcRepPart) -> Result<Credential> {
    let server = principal(&part.srealm.0, &part.sname.0)?;
    let auth_time = unix_time(&part.auth_time.0)?;
    let start_time = match &part.start_time.0 {
        Some(t) => unix_time(&t.0)?,
        None => 0,
    };
    let renew_till = match &part.renew_till.0 {
        Some(t) => unix_time(&t.0)?,
        None => 0,
    };
    let addresses = match &part.caddr.0 {
        Some(a) => {
            a.0.0
                .iter()
                .map(|h| {
                    Ok(HostAddress {
                        addr_type: int32(&h.addr_type.0)?,
                        address: h.address.0.0.clone(),
                    })
                })
                .collect::<Result<Vec<_>>>()?
        }
        None => Vec::new(),
    };
    Ok(Credential {
        client,
        server,
        session_key: key_of(&part.key.0)?,
        auth_time,
        start_time,
        end_time: unix_time(&part.end_time.0)?,
        renew_till,
        is_skey: false,
        ticket_flags: flags_value(&part.flags.0),
        addresses,
        auth_data: Vec::<AuthData>::new(),
        ticket,
        second_ticket: Vec::new(),
    })
}

/// Checks common to both replies once the enc-part is read.
fn check_part(
    part: &EncKdcRepPart,
    nonce_sent: i32,
    offered: &[EncType],
    server: &Principal,
    canonicalize: bool,
    till: i64,
) -> Result<()> {
    check_nonce(nonce_sent, int32(&part.nonce.0)?)?;
    check_etype_offered(offered, EncType(int32(&part.key.0.key_type.0)?))?;
    check_server(server, &principal(&part.srealm.0, &part.sname.0)?, canonicalize)?;
    let start = match &part.start_time.0 {
        Some(t) => unix_time(&t.0)?,
        None => unix_time(&part.auth_time.0)?,
    };
    check_ticket_times(start, unix_time(&part.end_time.0)?, till)
}

// ---------------------------------------------------------------------------------------------
// AS exchange

/// The AS exchange (RFC 4120 section 3.1): gets a TGT (`krbtgt/REALM@REALM`) for a client.
#[derive(Debug)]
pub struct AsExchange;

/// An AS-REQ was sent; waiting for the KDC's reply.
#[derive(Debug)]
pub struct AsAwaitingReply {
    client: Principal,
    secret: ClientSecret,
    options: RequestOptions,
    env: Environment,
    offered: Vec<EncType>,
    nonce: i32,
    till: i64,
    /// The request body (resent, with pre-authentication, after PREAUTH_REQUIRED).
    body: Vec<u8>,
    /// The key, salt and parameters pre-authentication used (None before it).
    preauth: Option<Key>,
    /// The salt and s2kparams the KDC named per etype (PA-ETYPE-INFO2).
    etype_info: Vec<EtypeInfo>,
}

/// What the AS exchange does next.
#[derive(Debug)]
pub enum AsProgress {
    /// Send this request (a second AS-REQ, now with pre-authentication) and hand the reply to
    /// the state.
    Send(Box<AsAwaitingReply>, Vec<u8>),
    /// The exchange is done: the TGT.
    Done(Box<Credential>),
}

impl AsExchange {
    /// Starts the exchange: the first AS-REQ (without pre-authentication; the KDC says which
    /// key it wants in its PREAUTH_REQUIRED error). `env` gives the nonce and the time.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] if no offered encryption type is implemented or a name is
    /// not ASCII; [`Error::RandomSource`].
    pub fn start(
        client: &Principal,
        secret: ClientSecret,
        options: &RequestOptions,
        env: &Environment,
    ) -> Result<(AsAwaitingReply, Vec<u8>)> {
        let mut offered = options.offered()?;
        if let ClientSecret::Keys(keys) = &secret {
            // As MIT does with a keytab: the types we hold keys of first (stable), so a KDC
            // that needs no pre-authentication answers in a key we have.
            offered.sort_by_key(|e| !keys.iter().any(|k| k.key.etype() == *e));
        }
        let nonce = nonce(env)?;
        let body = request_body(
            options,
            Some(&client.name),
            &client.realm,
            &Principal::krbtgt(&client.realm).name,
            nonce,
            &offered,
            env,
        )?;
        let body_der = der(&body)?;
        let request = der(&kdc_req::<10>(10, Vec::new(), body))?;
        let state = AsAwaitingReply {
            client: client.clone(),
            secret,
            options: options.clone(),
            env: env.clone(),
            offered,
            nonce,
            till: till(env, options.lifetime),
            body: body_der,
            preauth: None,
            etype_info: Vec::new(),
        };
        Ok((state, request))
    }
}

/// The default salt (RFC 4120 section 4): the realm, then the name's components.
pub fn default_salt(client: &Principal) -> Vec<u8> {
    let mut salt = client.realm.as_bytes().to_vec();
    for c in &client.name.components {
        salt.extend_from_slice(c.as_bytes());
    }
    salt
}

/// One PA-ETYPE-INFO2 entry: an encryption type, its salt (empty: the default salt) and its
/// string-to-key parameters.
#[derive(Clone, Debug)]
struct EtypeInfo {
    etype: EncType,
    salt: Vec<u8>,
    params: Option<Vec<u8>>,
}

/// Reads PA-ETYPE-INFO2 from a padata list.
fn etype_info2(padata: &[PaData]) -> Result<Vec<EtypeInfo>> {
    let mut out = Vec::new();
    for pa in padata {
        if int32(&pa.padata_type.0)? != PA_ETYPE_INFO2 {
            continue;
        }
        let info: EtypeInfo2 = decode(&pa.padata_data.0.0, "PA-ETYPE-INFO2")?;
        for entry in info.0 {
            let etype = EncType(int32(&entry.etype.0)?);
            let salt = entry.salt.0.map(|s| s.0.0.as_bytes().to_vec());
            let params = entry.s2kparams.0.map(|p| p.0.0);
            out.push(EtypeInfo { etype, salt: salt.unwrap_or_default(), params });
            // An absent salt means the default salt; marked by an empty one here and
            // replaced by the caller, who knows the client.
        }
    }
    Ok(out)
}

impl AsAwaitingReply {
    /// The nonce of the request (for tests and logs).
    pub fn nonce(&self) -> i32 {
        self.nonce
    }

    fn context(&self) -> ErrorContext<'_> {
        ErrorContext::As {
            client: &self.client,
            password: matches!(self.secret, ClientSecret::Password(_)),
        }
    }

    /// The client's key of `etype`, from the password (with the KDC's salt) or the keytab.
    fn reply_key(&self, etype: EncType, kvno: Option<u32>) -> Result<Key> {
        match &self.secret {
            ClientSecret::Password(password) => {
                let (salt, params) = match self.etype_info.iter().find(|i| i.etype == etype) {
                    Some(i) if !i.salt.is_empty() => (i.salt.clone(), i.params.clone()),
                    Some(i) => (default_salt(&self.client), i.params.clone()),
                    None => (default_salt(&self.client), None),
                };
                crypto::string_to_key(etype, password.as_str().as_bytes(), &salt, params.as_deref())
            }
            ClientSecret::Keys(keys) => keys
                .iter()
                .filter(|k| k.key.etype() == etype)
                .max_by_key(|k| (kvno == Some(k.kvno), k.kvno))
                .map(|k| k.key.clone())
                .ok_or_else(|| {
                    Error::Keytab(format!(
                        "no key of type {etype:?} for {} in the keytab",
                        self.client
                    ))
                }),
        }
    }

    /// Takes the KDC's reply: a PREAUTH_REQUIRED error (then the next request is returned), an
    /// AS-REP (then the TGT), or another KRB-ERROR.
    ///
    /// # Errors
    /// - [`Error::Kdc`] / [`Error::TargetUnknown`] for a KRB-ERROR (see [`kdc_error`]): a
    ///   wrong password is code 24 with the text "wrong password for alice@REALM";
    /// - [`Error::MessageAltered`] if the reply's enc-part does not decrypt with the client's
    ///   key (for a KDC that does not require pre-authentication: a wrong password);
    /// - [`Error::InvalidToken`] for a malformed reply or a failed check (nonce, names,
    ///   encryption type, times);
    /// - [`Error::Keytab`] if the keytab has no key of the type the KDC wants.
    pub fn handle_reply(mut self, reply: &[u8]) -> Result<AsProgress> {
        if let Some(error) = parse_krb_error(reply)? {
            if error.code != KDC_ERR_PREAUTH_REQUIRED || self.preauth.is_some() {
                return Err(kdc_error(&error, self.context()));
            }
            return self.preauthenticate(&error).map(|(s, r)| AsProgress::Send(Box::new(s), r));
        }
        if reply.first() != Some(&0x6b) {
            return Err(Error::InvalidToken("expected an AS-REP or a KRB-ERROR"));
        }
        let (rep, padata) = read_kdc_rep(reply, 11)?;
        let etype = EncType(int32(&rep.enc.etype.0)?);
        check_etype_offered(&self.offered, etype)?;
        if let Some(padata) = &padata {
            let info = etype_info2(padata)?;
            if !info.is_empty() {
                self.etype_info = info;
            }
        }
        let kvno = match &rep.enc.kvno.0 {
            Some(k) => u32::try_from(int32(&k.0)?).ok(),
            None => None,
        };
        let key = match &self.preauth {
            Some(k) if k.etype() == etype => k.clone(),
            _ => self.reply_key(etype, kvno)?,
        };
        let part = match enc_rep_part(&key, USAGE_AS_REP_ENC_PART, &rep.enc) {
            // Without pre-authentication the KDC cannot tell a wrong password: the reply then
            // does not decrypt. Said as the KDC would have: KRB_AP_ERR_BAD_INTEGRITY.
            Err(Error::MessageAltered) => {
                return Err(kdc_error(
                    &KrbError {
                        code: 31,
                        realm: self.client.realm.clone(),
                        e_text: None,
                        e_data: None,
                    },
                    self.context(),
                ));
            }
            other => other?,
        };
        check_part(
            &part,
            self.nonce,
            &self.offered,
            &Principal::krbtgt(&self.client.realm),
            false,
            self.till,
        )?;
        check_client(&self.client, &rep.client, self.options.canonicalize)?;
        Ok(AsProgress::Done(Box::new(credential(rep.client, rep.ticket, &part)?)))
    }

    /// After PREAUTH_REQUIRED: picks the key the KDC asks for and sends the AS-REQ again with
    /// PA-ENC-TIMESTAMP (RFC 4120 section 5.2.7.2, key usage 1).
    fn preauthenticate(mut self, error: &KrbError) -> Result<(AsAwaitingReply, Vec<u8>)> {
        let method_data: Vec<PaData> = match &error.e_data {
            Some(data) => decode::<Asn1SequenceOf<PaData>>(data, "METHOD-DATA")?.0,
            None => Vec::new(),
        };
        self.etype_info = etype_info2(&method_data)?;
        // The KDC lists what it accepts, best first; take the first we offered (and, with a
        // keytab, have a key for). Without ETYPE-INFO2, our first choice and the default salt.
        let etype = {
            let have = |e: &EncType| match &self.secret {
                ClientSecret::Password(_) => true,
                ClientSecret::Keys(keys) => keys.iter().any(|k| k.key.etype() == *e),
            };
            let from_kdc = self
                .etype_info
                .iter()
                .map(|i| i.etype)
                .find(|e| self.offered.contains(e) && have(e));
            match from_kdc {
                Some(e) => e,
                None if self.etype_info.is_empty() => {
                    self.offered.iter().copied().find(|e| have(e)).ok_or(Error::Keytab(format!(
                        "no usable key for {} in the keytab",
                        self.client
                    )))?
                }
                None if matches!(self.secret, ClientSecret::Keys(_))
                    && self.etype_info.iter().any(|i| self.offered.contains(&i.etype)) =>
                {
                    return Err(Error::Keytab(format!(
                        "no key of a type the KDC accepts ({:?}) for {} in the keytab",
                        self.etype_info.iter().map(|i| i.etype).collect::<Vec<_>>(),
                        self.client
                    )));
                }
                None => {
                    return Err(Error::Kdc {
                        code: 14,
                        message: format!(
                            "the KDC of {} accepts none of the encryption types offered for {}",
                            self.client.realm, self.client
                        ),
                    });
                }
            }
        };
        let key = self.reply_key(etype, None)?;
        let (secs, micros) = now(&self.env);
        let ts = PaEncTsEnc {
            patimestamp: ExplicitContextTag0::from(ktime(secs)),
            pausec: Optional::from(Some(ExplicitContextTag1::from(int(micros)))),
        };
        let enc = encrypted(&key, USAGE_PA_ENC_TIMESTAMP, &der(&ts)?, &self.env, None)?;
        let body: KdcReqBody = decode(&self.body, "own request body")?;
        let request = der(&kdc_req::<10>(10, vec![padata(PA_ENC_TIMESTAMP, der(&enc)?)], body))?;
        self.preauth = Some(key);
        Ok((self, request))
    }
}

// ---------------------------------------------------------------------------------------------
// TGS exchange

/// The TGS exchange (RFC 4120 section 3.3): a service ticket for a TGT.
#[derive(Debug)]
pub struct TgsExchange;

/// A TGS-REQ was sent; waiting for the reply.
#[derive(Debug)]
pub struct TgsAwaitingReply {
    client: Principal,
    service: Principal,
    reply_key: Key,
    reply_usage: KeyUsage,
    offered: Vec<EncType>,
    nonce: i32,
    till: i64,
    canonicalize: bool,
}

/// Parses a service name: `HTTP/web.example.test` (realm from `realm_of(host)`),
/// `HTTP@web.example.test` (host-based, GSS style; the host is lowercased) or a full
/// principal `HTTP/web.example.test@REALM`. `realm_of` maps a host to its realm (krb5.conf
/// `[domain_realm]`, else the default realm).
///
/// # Errors
/// [`Error::InvalidParameter`] for an empty name or no realm.
pub fn service_principal(
    service: &str,
    realm_of: impl Fn(&str) -> Option<String>,
) -> Result<Principal> {
    let unescaped_at = service.find('@').filter(|_| !service.contains('\\'));
    if let (Some(at), false) = (unescaped_at, service.contains('/')) {
        // GSS host-based service name: service@host.
        let (svc, host) = (&service[..at], &service[at + 1..]);
        if svc.is_empty() || host.is_empty() {
            return Err(Error::InvalidParameter("empty service or host name"));
        }
        let host = host.to_ascii_lowercase();
        let realm =
            realm_of(&host).ok_or(Error::InvalidParameter("no realm for the service's host"))?;
        return Ok(Principal::new(NameType::SRV_HST, &[svc, &host], &realm));
    }
    if service.contains('@') {
        return Principal::parse(service, None);
    }
    let host = service.split('/').nth(1).unwrap_or_default();
    let realm = realm_of(host);
    Principal::parse(service, realm.as_deref())
}

impl TgsExchange {
    /// Starts the exchange: the TGS-REQ for `service` with the TGT `tgt` (sent to the KDC
    /// of the TGT's realm). The authenticator (key usage 7) carries a checksum of the
    /// req-body (key usage 6).
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] if no offered encryption type is implemented or a name is
    /// not ASCII; [`Error::InvalidToken`] if the TGT's ticket bytes do not parse;
    /// [`Error::NotSupported`] if the session key's type has no checksum here;
    /// [`Error::RandomSource`].
    pub fn start(
        tgt: &Credential,
        service: &Principal,
        options: &RequestOptions,
        env: &Environment,
    ) -> Result<(TgsAwaitingReply, Vec<u8>)> {
        let offered = options.offered()?;
        let nonce = nonce(env)?;
        let body =
            request_body(options, None, &service.realm, &service.name, nonce, &offered, env)?;
        let body_der = der(&body)?;
        let session = &tgt.session_key;
        let cksumtype = crypto::checksum_type(session.etype())
            .ok_or(Error::NotSupported("no checksum type for the TGT session key's type"))?;
        let cksum = crypto::make_checksum(session, USAGE_TGS_REQ_CHECKSUM, &body_der)?;
        let subkey = if options.tgs_subkey {
            Some(crypto::random_key(session.etype(), &EnvRandom(env))?)
        } else {
            None
        };
        let (secs, micros) = now(env);
        let authenticator: Authenticator = ApplicationTag::from(AuthenticatorInner {
            authenticator_vno: ExplicitContextTag0::from(int(5)),
            crealm: ExplicitContextTag1::from(kstring(&tgt.client.realm)?),
            cname: ExplicitContextTag2::from(asn_name(&tgt.client.name)?),
            cksum: Optional::from(Some(ExplicitContextTag3::from(Checksum {
                cksumtype: ExplicitContextTag0::from(int(cksumtype)),
                checksum: ExplicitContextTag1::from(OctetStringAsn1::from(cksum)),
            }))),
            cusec: ExplicitContextTag4::from(int(micros)),
            ctime: ExplicitContextTag5::from(ktime(secs)),
            subkey: Optional::from(
                subkey.as_ref().map(|k| ExplicitContextTag6::from(placeholder_key(k))),
            ),
            seq_number: Optional::from(None),
            authorization_data: Optional::from(None),
        });
        let auth_plain = match &subkey {
            Some(k) => der_with_key(&authenticator, k)?,
            None => zeroize::Zeroizing::new(der(&authenticator)?),
        };
        let enc_auth = encrypted(session, USAGE_TGS_REQ_AUTHENTICATOR, &auth_plain, env, None)?;
        let ticket: Ticket = decode(&tgt.ticket, "the TGT's ticket")?;
        let ap_req: ApReq = ApplicationTag::from(ApReqInner {
            pvno: ExplicitContextTag0::from(int(5)),
            msg_type: ExplicitContextTag1::from(int(14)),
            ap_options: ExplicitContextTag2::from(flags(0)),
            ticket: ExplicitContextTag3::from(ticket),
            authenticator: ExplicitContextTag4::from(enc_auth),
        });
        let request = der(&kdc_req::<12>(12, vec![padata(PA_TGS_REQ, der(&ap_req)?)], body))?;
        let (reply_key, reply_usage) = match subkey {
            Some(k) => (k, USAGE_TGS_REP_SUBKEY),
            None => (session.clone(), USAGE_TGS_REP_SESSION_KEY),
        };
        let state = TgsAwaitingReply {
            client: tgt.client.clone(),
            service: service.clone(),
            reply_key,
            reply_usage,
            offered,
            nonce,
            till: till(env, options.lifetime),
            canonicalize: options.canonicalize,
        };
        Ok((state, request))
    }
}

impl TgsAwaitingReply {
    /// The nonce of the request.
    pub fn nonce(&self) -> i32 {
        self.nonce
    }

    /// Takes the TGS-REP (or KRB-ERROR) and returns the service ticket.
    ///
    /// # Errors
    /// [`Error::TargetUnknown`] if the KDC does not know the service; [`Error::Kdc`] for other
    /// KRB-ERRORs; [`Error::MessageAltered`] if the enc-part does not decrypt;
    /// [`Error::InvalidToken`] for a malformed reply or a failed check (nonce, client, service,
    /// encryption type, times).
    pub fn handle_reply(self, reply: &[u8]) -> Result<Credential> {
        if let Some(error) = parse_krb_error(reply)? {
            return Err(kdc_error(
                &error,
                ErrorContext::Tgs { client: &self.client, service: &self.service },
            ));
        }
        if reply.first() != Some(&0x6d) {
            return Err(Error::InvalidToken("expected a TGS-REP or a KRB-ERROR"));
        }
        let (rep, _) = read_kdc_rep(reply, 13)?;
        let part = enc_rep_part(&self.reply_key, self.reply_usage, &rep.enc)?;
        check_part(&part, self.nonce, &self.offered, &self.service, self.canonicalize, self.till)?;
        check_client(&self.client, &rep.client, false)?;
        credential(rep.client, rep.ticket, &part)
    }
}

#[cfg(test)]
mod tests;
