//! The AP exchange (RFC 4120 section 3.2): the AP-REQ an initiator sends with a service ticket,
//! its checks on the acceptor, and the AP-REP of mutual authentication. Sans-IO: bytes in,
//! bytes and checked values out; the security contexts (`kerberos::context`) frame them as GSS
//! tokens and keep the state.
//!
//! ```text
//!  initiator                                              acceptor (service key)
//!  build_ap_req(ticket, authenticator{cksum 0x8003,
//!               subkey, seq}, usage 11)  ──AP-REQ──▶  read_ap_req: ticket (usage 2),
//!                                                       authenticator (usage 11), checks
//!  read_ap_rep (usage 12, ctime/cusec    ◀──AP-REP──  build_ap_rep(ctime, cusec, subkey, seq)
//!               echoed)
//! ```
//! The checks that give an AP-REQ its meaning are ours, one named function each
//! ([`check_client_matches`], [`check_authenticator_time`], [`check_ticket_valid`],
//! [`check_bindings`]); a test breaks each on purpose.

use super::gss::{AuthenticatorChecksum, CKSUMTYPE_GSSAPI};
use super::kdc::convert::{
    asn_name, flags, flags_value, int, int32, kstring, ktime, principal, unix_time,
};
use super::kdc::{
    EnvRandom, Wiped, decode, der, der_with_key, encrypted, key_of, now, placeholder_key, wipe_key,
};
use super::{AuthData, Credential, EncType, Key, Principal};
use crate::env::Environment;
use crate::error::{Error, Result};
use crate::kerberos::crypto::{self, KeyUsage};
use picky_asn1::wrapper::{
    ExplicitContextTag0, ExplicitContextTag1, ExplicitContextTag2, ExplicitContextTag3,
    ExplicitContextTag4, ExplicitContextTag5, ExplicitContextTag6, ExplicitContextTag7,
    IntegerAsn1, OctetStringAsn1, Optional,
};
use picky_asn1_der::application_tag::ApplicationTag;
use picky_krb::data_types::{
    Authenticator, AuthenticatorInner, Checksum, EncApRepPart, EncApRepPartInner, EncTicketPart,
    Ticket,
};
use picky_krb::messages::{ApRep, ApRepInner, ApReq, ApReqInner};
use sha2::Digest;
use zeroize::Zeroizing;

/// AP options (RFC 4120 section 5.5.1): bit 2, mutual-required (bit numbering from the most
/// significant bit of the first octet, as KerberosFlags are).
pub const AP_OPTION_MUTUAL_REQUIRED: u32 = 1 << (31 - 2);
/// AP option bit 1, use-session-key (user-to-user: not supported).
pub const AP_OPTION_USE_SESSION_KEY: u32 = 1 << (31 - 1);

/// What the initiator puts into its AP-REQ.
pub struct ApReqParams<'a> {
    /// The service ticket and its session key.
    pub ticket: &'a Credential,
    /// The GSS checksum (flags, channel bindings, delegation).
    pub checksum: &'a AuthenticatorChecksum,
    /// Ask for an AP-REP.
    pub mutual: bool,
    /// The initiator's subkey.
    pub subkey: &'a Key,
    /// The initiator's first sequence number.
    pub seq_number: u32,
}

/// The authenticator time of an AP-REQ, which the AP-REP must echo.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ApTime {
    /// `ctime`, seconds since the Unix epoch.
    pub ctime: i64,
    /// `cusec`.
    pub cusec: i32,
}

fn uint(value: u32) -> IntegerAsn1 {
    IntegerAsn1::from_bytes_be_unsigned(value.to_be_bytes().to_vec())
}

/// A UInt32 (RFC 4120 section 5.2.4). Negative 32-bit values are read as their unsigned
/// bit pattern: RFC 4120 section 5.2.4 asks receivers to, because old implementations sent
/// sequence numbers as signed.
fn uint32(i: &IntegerAsn1) -> Result<u32> {
    let bytes = i.0.as_slice();
    if bytes.len() == 5 && bytes.first() == Some(&0) {
        let mut four = [0u8; 4];
        four.copy_from_slice(bytes.get(1..).unwrap_or_default());
        return Ok(u32::from_be_bytes(four));
    }
    Ok(int32(i)?.cast_unsigned())
}

/// Builds the AP-REQ (DER, without the GSS framing); returns it with the authenticator time
/// the AP-REP must echo.
///
/// # Errors
/// [`Error::InvalidToken`] if the ticket's bytes do not parse; [`Error::RandomSource`];
/// [`Error::NotSupported`] for a session key of a type not implemented.
pub fn build_ap_req(params: &ApReqParams<'_>, env: &Environment) -> Result<(Vec<u8>, ApTime)> {
    let ticket_cred = params.ticket;
    let (ctime, cusec) = now(env);
    let authenticator: Authenticator = ApplicationTag::from(AuthenticatorInner {
        authenticator_vno: ExplicitContextTag0::from(int(5)),
        crealm: ExplicitContextTag1::from(kstring(&ticket_cred.client.realm)?),
        cname: ExplicitContextTag2::from(asn_name(&ticket_cred.client.name)?),
        cksum: Optional::from(Some(ExplicitContextTag3::from(Checksum {
            cksumtype: ExplicitContextTag0::from(int(CKSUMTYPE_GSSAPI)),
            checksum: ExplicitContextTag1::from(OctetStringAsn1::from(params.checksum.encode()?)),
        }))),
        cusec: ExplicitContextTag4::from(int(cusec)),
        ctime: ExplicitContextTag5::from(ktime(ctime)),
        subkey: Optional::from(Some(ExplicitContextTag6::from(placeholder_key(params.subkey)))),
        seq_number: Optional::from(Some(ExplicitContextTag7::from(uint(params.seq_number)))),
        authorization_data: Optional::from(None),
    });
    let plain = der_with_key(&authenticator, params.subkey)?;
    let enc =
        encrypted(&ticket_cred.session_key, KeyUsage::AP_REQ_AUTHENTICATOR, &plain, env, None)?;
    let ticket: Ticket = decode(&ticket_cred.ticket, "the service ticket")?;
    let options = if params.mutual { AP_OPTION_MUTUAL_REQUIRED } else { 0 };
    let ap_req: ApReq = ApplicationTag::from(ApReqInner {
        pvno: ExplicitContextTag0::from(int(5)),
        msg_type: ExplicitContextTag1::from(int(14)),
        ap_options: ExplicitContextTag2::from(flags(options)),
        ticket: ExplicitContextTag3::from(ticket),
        authenticator: ExplicitContextTag4::from(enc),
    });
    Ok((der(&ap_req)?, ApTime { ctime, cusec }))
}

/// What the acceptor learned from a valid AP-REQ.
pub struct ReceivedApReq {
    /// The client, from the ticket (the authenticator was checked to name the same).
    pub client: Principal,
    /// The service the ticket is for (its `sname` and realm).
    pub server: Principal,
    /// The ticket's session key.
    pub session_key: Key,
    /// The service key that decrypted the ticket (it also signs the PAC, MS-PAC 2.8).
    pub ticket_key: Key,
    /// The initiator's subkey, if it sent one.
    pub subkey: Option<Key>,
    /// The initiator's first sequence number, if it sent one.
    pub seq_number: Option<u32>,
    /// The authenticator time (echoed in the AP-REP; the replay cache entry's time).
    pub time: ApTime,
    /// The GSS checksum (an AP-REQ without one is refused).
    pub checksum: AuthenticatorChecksum,
    /// AP options (mutual-required, ...).
    pub ap_options: u32,
    /// Ticket flags.
    pub ticket_flags: u32,
    /// Ticket times (seconds since the Unix epoch): authtime, starttime (authtime when
    /// absent), endtime.
    pub auth_time: u32,
    /// See [`ReceivedApReq::auth_time`].
    pub start_time: u32,
    /// See [`ReceivedApReq::auth_time`].
    pub end_time: u32,
    /// The ticket's authorization data (where a PAC is).
    pub auth_data: Vec<AuthData>,
    /// SHA-256 of the authenticator's ciphertext: the replay cache's key (as MIT's since 1.18).
    pub replay_tag: [u8; 32],
}

/// The checks on an AP-REQ's ticket and authenticator, as configured by the acceptor.
pub struct AcceptChecks<'a> {
    /// The acceptor's clock.
    pub env: &'a Environment,
    /// The largest accepted clock skew, in seconds.
    pub max_skew: u32,
    /// The MD5 of the acceptor's channel bindings, if it has any.
    pub bindings: Option<[u8; 16]>,
}

/// Finds the service key for a ticket's `sname`, kvno and etype.
pub type ServiceKey<'a> = dyn Fn(&Principal, Option<u32>, EncType) -> Result<Key> + 'a;

/// The largest AP-REQ read.
pub const MAX_AP_REQ_LEN: usize = super::gss::MAX_TOKEN_LEN;

/// Reads and checks an AP-REQ (DER, unframed). `service_key` returns the service's key for the
/// ticket's `sname`, realm, kvno and etype (or the reason there is none).
///
/// # Errors
/// [`Error::InvalidToken`] for a malformed message, an AP-REQ without the GSS checksum, or
/// user-to-user; [`Error::WrongPrincipal`] or [`Error::UnknownCredentials`] from
/// `service_key`; [`Error::MessageAltered`] if the ticket or authenticator does not decrypt;
/// [`Error::LogonDenied`] if the authenticator names another client; [`Error::TimeSkew`];
/// [`Error::ContextExpired`] for a ticket out of its validity; [`Error::BadBindings`].
pub fn read_ap_req(
    ap_req: &[u8],
    service_key: &ServiceKey<'_>,
    checks: &AcceptChecks<'_>,
) -> Result<ReceivedApReq> {
    if ap_req.len() > MAX_AP_REQ_LEN {
        return Err(Error::InvalidToken("AP-REQ too long"));
    }
    application_sequence(ap_req, 14, "expected an AP-REQ")?;
    let req: ApReq = decode(ap_req, "AP-REQ")?;
    canonical(&req, ap_req)?;
    let req = req.0;
    if int32(&req.pvno.0)? != 5 || int32(&req.msg_type.0)? != 14 {
        return Err(Error::InvalidToken("AP-REQ: wrong pvno or msg-type"));
    }
    let options = &req.ap_options.0;
    // RFC 4120 5.2.8: KerberosFlags are at least 32 bits; every peer sends exactly 32, with
    // no unused bits (an unused-bit count is another encoding of the same, unauthenticated,
    // options: refused rather than ignored).
    if options.0.get_num_unused_bits() != 0 || options.0.payload_view().len() < 4 {
        return Err(Error::InvalidToken("AP-REQ: ap-options are not 32 whole bits"));
    }
    let ap_options = flags_value(options);
    // Only use-session-key and mutual-required are defined (RFC 4120 5.5.1); MIT, Heimdal
    // and Windows send nothing else. An unknown bit, which nothing authenticates, is refused.
    if ap_options & !(AP_OPTION_USE_SESSION_KEY | AP_OPTION_MUTUAL_REQUIRED) != 0
        || options.0.payload_view().iter().skip(4).any(|b| *b != 0)
    {
        return Err(Error::InvalidToken("AP-REQ: unknown ap-options"));
    }
    if ap_options & AP_OPTION_USE_SESSION_KEY != 0 {
        return Err(Error::NotSupported("user-to-user AP-REQ (use-session-key)"));
    }
    let ticket = &req.ticket.0.0;
    if int32(&ticket.tkt_vno.0)? != 5 {
        return Err(Error::InvalidToken("ticket: wrong tkt-vno"));
    }
    let server = principal(&ticket.realm.0, &ticket.sname.0)?;
    let tenc = &ticket.enc_part.0;
    let kvno = tenc.kvno.0.as_ref().map(|k| uint32(&k.0)).transpose()?;
    let key = service_key(&server, kvno, EncType(int32(&tenc.etype.0)?))?;
    let ticket_plain =
        Zeroizing::new(crypto::decrypt(&key, KeyUsage::KDC_REP_TICKET, &tenc.cipher.0.0)?);
    application_sequence(&ticket_plain, 3, "not an EncTicketPart")?;
    let part: EncTicketPart = decode(&ticket_plain, "EncTicketPart")?;
    let part = Wiped::new(part.0, |p| wipe_key(&mut p.key.0));
    let session_key = key_of(&part.key.0)?;
    let client = principal(&part.crealm.0, &part.cname.0)?;
    let auth_time = unix_time(&part.auth_time.0)?;
    let start_time = match &part.starttime.0 {
        Some(t) => unix_time(&t.0)?,
        None => auth_time,
    };
    let end_time = unix_time(&part.endtime.0)?;
    let auth_data = match &part.authorization_data.0 {
        Some(ad) => ad
            .0
            .0
            .iter()
            .map(|a| Ok(AuthData { ad_type: int32(&a.ad_type.0)?, data: a.ad_data.0.0.clone() }))
            .collect::<Result<Vec<_>>>()?,
        None => Vec::new(),
    };

    let aenc = &req.authenticator.0;
    if EncType(int32(&aenc.etype.0)?) != session_key.etype() {
        return Err(Error::InvalidToken(
            "authenticator: not encrypted in the ticket's session key type",
        ));
    }
    let cipher = &aenc.cipher.0.0;
    let replay_tag: [u8; 32] = sha2::Sha256::digest(cipher).into();
    let auth_plain =
        Zeroizing::new(crypto::decrypt(&session_key, KeyUsage::AP_REQ_AUTHENTICATOR, cipher)?);
    application_sequence(&auth_plain, 2, "not an Authenticator")?;
    let auth: Authenticator = decode(&auth_plain, "Authenticator")?;
    let auth = Wiped::new(auth.0, |a| {
        if let Some(k) = a.subkey.0.as_mut() {
            wipe_key(&mut k.0);
        }
    });
    if int32(&auth.authenticator_vno.0)? != 5 {
        return Err(Error::InvalidToken("authenticator: wrong vno"));
    }
    check_client_matches(&client, &principal(&auth.crealm.0, &auth.cname.0)?)?;
    let time = ApTime { ctime: i64::from(unix_time(&auth.ctime.0)?), cusec: int32(&auth.cusec.0)? };
    let (now_secs, _) = now(checks.env);
    check_authenticator_time(time.ctime, now_secs, checks.max_skew)?;
    check_ticket_valid(start_time, end_time, now_secs, checks.max_skew)?;
    let checksum = match &auth.cksum.0 {
        Some(c) if int32(&c.0.cksumtype.0)? == CKSUMTYPE_GSSAPI => {
            AuthenticatorChecksum::decode(&c.0.checksum.0.0)?
        }
        _ => {
            return Err(Error::InvalidToken(
                "AP-REQ without the GSS-API checksum (RFC 4121 4.1.1)",
            ));
        }
    };
    check_bindings(checks.bindings, &checksum.bindings)?;
    check_mutual_consistent(ap_options, checksum.flags)?;
    let subkey = auth.subkey.0.as_ref().map(|k| key_of(&k.0)).transpose()?;
    let seq_number = auth.seq_number.0.as_ref().map(|s| uint32(&s.0)).transpose()?;
    Ok(ReceivedApReq {
        client,
        server,
        session_key,
        ticket_key: key,
        subkey,
        seq_number,
        time,
        checksum,
        ap_options,
        ticket_flags: flags_value(&part.flags.0),
        auth_time,
        start_time,
        end_time,
        auth_data,
        replay_tag,
    })
}

/// Checks the framing picky-krb's reader is lax about: every length of the tree consistent
/// ([`super::kdc::der::check_tree`]), and `[APPLICATION n]` holding exactly one SEQUENCE
/// (picky takes a SET, tag 0x31, for it). Found by flipping every bit of an AP-REQ.
fn application_sequence(bytes: &[u8], application: u8, what: &'static str) -> Result<()> {
    super::kdc::der::check_tree(bytes)?;
    let outer = super::kdc::der::read_only(bytes)?;
    if outer.tag != 0x60 | application {
        return Err(Error::InvalidToken(what));
    }
    if super::kdc::der::read_only(outer.content)?.tag != 0x30 {
        return Err(Error::InvalidToken("DER: expected a SEQUENCE"));
    }
    Ok(())
}

/// The unauthenticated parts of an AP-REQ or AP-REP (options, the ticket's names, key
/// versions, types) must be exactly what was decoded: the message must be the DER encoding of
/// its decoded value. picky-krb's reader takes an INTEGER under a BIT STRING tag and
/// similar; re-encoding and comparing refuses every such variant at once (MIT, Heimdal and
/// Windows all send DER). Found by flipping every bit of an AP-REQ.
fn canonical<T: serde::Serialize>(decoded: &T, wire: &[u8]) -> Result<()> {
    if der(decoded)? != wire {
        return Err(Error::InvalidToken("Kerberos message not in DER"));
    }
    Ok(())
}

/// The authenticator must name the ticket's client (RFC 4120 section 3.2.3).
///
/// # Errors
/// [`Error::LogonDenied`] otherwise.
pub fn check_client_matches(ticket: &Principal, authenticator: &Principal) -> Result<()> {
    if ticket.realm != authenticator.realm
        || ticket.name.components != authenticator.name.components
    {
        return Err(Error::LogonDenied);
    }
    Ok(())
}

/// The authenticator's time must be within `max_skew` seconds of the acceptor's clock (RFC
/// 4120 section 3.2.3).
///
/// # Errors
/// [`Error::TimeSkew`] otherwise.
pub fn check_authenticator_time(ctime: i64, now: i64, max_skew: u32) -> Result<()> {
    if ctime.abs_diff(now) > u64::from(max_skew) {
        return Err(Error::TimeSkew);
    }
    Ok(())
}

/// The ticket must be valid now, give or take the skew (RFC 4120 section 3.2.3: starttime
/// later than now + skew is "not yet valid", endtime earlier than now - skew "expired").
///
/// # Errors
/// [`Error::ContextExpired`] for an expired ticket, [`Error::TimeSkew`] for one not yet valid.
pub fn check_ticket_valid(start: u32, end: u32, now: i64, max_skew: u32) -> Result<()> {
    let skew = i64::from(max_skew);
    if i64::from(start) - skew > now {
        return Err(Error::TimeSkew);
    }
    if i64::from(end) + skew < now {
        return Err(Error::ContextExpired);
    }
    Ok(())
}

/// The unauthenticated mutual-required AP option must say what the authenticated GSS flags
/// say (RFC 4121 section 4.1.1.1: the initiator sets both from GSS_C_MUTUAL_FLAG, as MIT,
/// Heimdal and Windows do); a mismatch is a token altered in flight.
///
/// # Errors
/// [`Error::InvalidToken`] otherwise.
pub fn check_mutual_consistent(ap_options: u32, gss_flags: u32) -> Result<()> {
    let option = ap_options & AP_OPTION_MUTUAL_REQUIRED != 0;
    let flag = gss_flags & super::gss::flags::MUTUAL != 0;
    if option != flag {
        return Err(Error::InvalidToken(
            "AP-REQ: mutual-required option and GSS mutual flag disagree",
        ));
    }
    Ok(())
}

/// Channel bindings (RFC 4121 section 4.1.1.2): when the acceptor has bindings, the client's
/// `Bnd` must be their MD5; a client that sent none (all zeros) is refused then, as Windows
/// refuses it when bindings are required. An acceptor without bindings accepts any `Bnd`
/// (MIT's behaviour; the client may be behind a TLS terminator).
///
/// # Errors
/// [`Error::BadBindings`] otherwise.
pub fn check_bindings(expected: Option<[u8; 16]>, received: &[u8; 16]) -> Result<()> {
    match expected {
        Some(hash) if !crate::crypto::ct_eq(&hash, received) => Err(Error::BadBindings),
        _ => Ok(()),
    }
}

/// Builds the AP-REP (DER, unframed) of mutual authentication: the echo of the
/// authenticator's time, the acceptor's subkey and first sequence number, encrypted in the
/// ticket's session key (usage 12).
///
/// # Errors
/// [`Error::RandomSource`]; [`Error::NotSupported`] for a key type not implemented.
pub fn build_ap_rep(
    session_key: &Key,
    time: ApTime,
    subkey: Option<&Key>,
    seq_number: u32,
    env: &Environment,
) -> Result<Vec<u8>> {
    let part: EncApRepPart = ApplicationTag::from(EncApRepPartInner {
        ctime: ExplicitContextTag0::from(ktime(time.ctime)),
        cusec: ExplicitContextTag1::from(int(time.cusec)),
        subkey: Optional::from(subkey.map(|k| ExplicitContextTag2::from(placeholder_key(k)))),
        seq_number: Optional::from(Some(ExplicitContextTag3::from(uint(seq_number)))),
    });
    let plain = match subkey {
        Some(k) => der_with_key(&part, k)?,
        None => Zeroizing::new(der(&part)?),
    };
    let enc = encrypted(session_key, KeyUsage::AP_REP_ENC_PART, &plain, env, None)?;
    let rep: ApRep = ApplicationTag::from(ApRepInner {
        pvno: ExplicitContextTag0::from(int(5)),
        msg_type: ExplicitContextTag1::from(int(15)),
        enc_part: ExplicitContextTag2::from(enc),
    });
    der(&rep)
}

/// Reads an AP-REP (DER, unframed): decrypts it with the ticket's session key and checks that
/// it echoes `sent`; returns the acceptor's subkey and first sequence number.
///
/// # Errors
/// [`Error::InvalidToken`] for a malformed message; [`Error::MessageAltered`] if it does not
/// decrypt or does not echo the authenticator's time (not the acceptor we authenticated to).
pub fn read_ap_rep(
    ap_rep: &[u8],
    session_key: &Key,
    sent: ApTime,
) -> Result<(Option<Key>, Option<u32>)> {
    application_sequence(ap_rep, 15, "expected an AP-REP")?;
    let rep: ApRep = decode(ap_rep, "AP-REP")?;
    canonical(&rep, ap_rep)?;
    let rep = rep.0;
    if int32(&rep.pvno.0)? != 5 || int32(&rep.msg_type.0)? != 15 {
        return Err(Error::InvalidToken("AP-REP: wrong pvno or msg-type"));
    }
    if EncType(int32(&rep.enc_part.0.etype.0)?) != session_key.etype()
        || rep.enc_part.0.kvno.0.is_some()
    {
        return Err(Error::InvalidToken("AP-REP: not encrypted in the ticket's session key"));
    }
    let plain = Zeroizing::new(crypto::decrypt(
        session_key,
        KeyUsage::AP_REP_ENC_PART,
        &rep.enc_part.0.cipher.0.0,
    )?);
    application_sequence(&plain, 27, "not an EncAPRepPart")?;
    let part: EncApRepPart = decode(&plain, "EncAPRepPart")?;
    let part = Wiped::new(part.0, |p| {
        if let Some(k) = p.subkey.0.as_mut() {
            wipe_key(&mut k.0);
        }
    });
    let echoed =
        ApTime { ctime: i64::from(unix_time(&part.ctime.0)?), cusec: int32(&part.cusec.0)? };
    if echoed != sent {
        return Err(Error::MessageAltered);
    }
    let subkey = part.subkey.0.as_ref().map(|k| key_of(&k.0)).transpose()?;
    let seq = part.seq_number.0.as_ref().map(|s| uint32(&s.0)).transpose()?;
    Ok((subkey, seq))
}

/// A random key of `etype` from the environment's randomness.
///
/// # Errors
/// [`Error::NotSupported`] for a type not implemented; [`Error::RandomSource`].
pub fn random_key(etype: EncType, env: &Environment) -> Result<Key> {
    crypto::random_key(etype, &EnvRandom(env))
}
