//! KRB-CRED (RFC 4120 section 5.8): how an initiator delegates its TGT to the acceptor inside
//! the GSS checksum (RFC 4121 section 4.1.1.1, `GSS_C_DELEG_FLAG`), and how the acceptor reads
//! it back into a credential it can use.
//!
//! The enc-part is encrypted in the ticket's session key (key usage 14), as MIT, Heimdal and
//! Windows do; an unencrypted enc-part (etype 0, RFC 6448) is read too, since the whole
//! checksum travels inside the encrypted authenticator. The acceptor keeps the credential as
//! an unencrypted KRB-CRED ([`to_plain`]): that is what its exported state holds (inside the
//! protected blob).

use super::kdc::convert::{
    asn_name, flags, flags_value, int, int32, kstring, ktime, principal, unix_time,
};
use super::kdc::{decode, der, der_with_key, encrypted, key_of, placeholder_key};
use super::{Credential, Key};
use crate::env::Environment;
use crate::error::{Error, Result};
use crate::kerberos::crypto::{self, KeyUsage};
use picky_asn1::wrapper::{
    Asn1SequenceOf, ExplicitContextTag0, ExplicitContextTag1, ExplicitContextTag2,
    ExplicitContextTag3, ExplicitContextTag4, ExplicitContextTag5, ExplicitContextTag6,
    ExplicitContextTag7, ExplicitContextTag8, ExplicitContextTag9, OctetStringAsn1, Optional,
};
use picky_asn1_der::application_tag::ApplicationTag;
use picky_krb::data_types::{
    EncKrbCredPart, EncKrbCredPartInner, EncryptedData, KrbCredInfo, Ticket,
};
use picky_krb::messages::{KrbCred, KrbCredInner};
use zeroize::Zeroizing;

/// The largest KRB-CRED read (it rides in a 16-bit `Dlgth`).
pub const MAX_KRB_CRED_LEN: usize = 65_535;

fn cred_info(c: &Credential) -> Result<KrbCredInfo> {
    let time = |t: u32| ExplicitContextTag4::from(ktime(i64::from(t)));
    Ok(KrbCredInfo {
        key: ExplicitContextTag0::from(placeholder_key(&c.session_key)),
        prealm: Optional::from(Some(ExplicitContextTag1::from(kstring(&c.client.realm)?))),
        pname: Optional::from(Some(ExplicitContextTag2::from(asn_name(&c.client.name)?))),
        flags: Optional::from(Some(ExplicitContextTag3::from(flags(c.ticket_flags)))),
        auth_time: Optional::from(Some(time(c.auth_time))),
        start_time: Optional::from(
            (c.start_time != 0).then(|| ExplicitContextTag5::from(ktime(i64::from(c.start_time)))),
        ),
        end_time: Optional::from(Some(ExplicitContextTag6::from(ktime(i64::from(c.end_time))))),
        renew_till: Optional::from(
            (c.renew_till != 0).then(|| ExplicitContextTag7::from(ktime(i64::from(c.renew_till)))),
        ),
        srealm: Optional::from(Some(ExplicitContextTag8::from(kstring(&c.server.realm)?))),
        sname: Optional::from(Some(ExplicitContextTag9::from(asn_name(&c.server.name)?))),
        caddr: Optional::from(None),
    })
}

fn krb_cred(ticket: &[u8], enc: EncryptedData) -> Result<Vec<u8>> {
    let ticket: Ticket = decode(ticket, "the delegated ticket")?;
    let cred: KrbCred = ApplicationTag::from(KrbCredInner {
        pvno: ExplicitContextTag0::from(int(5)),
        msg_type: ExplicitContextTag1::from(int(22)),
        tickets: ExplicitContextTag2::from(Asn1SequenceOf::from(vec![ticket])),
        enc_part: ExplicitContextTag3::from(enc),
    });
    der(&cred)
}

fn enc_part(c: &Credential) -> Result<Zeroizing<Vec<u8>>> {
    let part: EncKrbCredPart = ApplicationTag::from(EncKrbCredPartInner {
        ticket_info: ExplicitContextTag0::from(Asn1SequenceOf::from(vec![cred_info(c)?])),
        nonce: Optional::from(None),
        timestamp: Optional::from(None),
        usec: Optional::from(None),
        s_address: Optional::from(None),
        r_address: Optional::from(None),
    });
    der_with_key(&part, &c.session_key)
}

/// A KRB-CRED delivering `tgt`, its enc-part encrypted in `key` (the service ticket's session
/// key), key usage 14.
///
/// # Errors
/// [`Error::InvalidToken`] if the ticket's bytes do not parse; [`Error::RandomSource`].
pub fn build(tgt: &Credential, key: &Key, env: &Environment) -> Result<Vec<u8>> {
    let plain = enc_part(tgt)?;
    let enc = encrypted(key, KeyUsage::KRB_CRED_ENC_PART, &plain, env, None)?;
    krb_cred(&tgt.ticket, enc)
}

/// The same credential as an unencrypted KRB-CRED (etype 0, RFC 6448).
///
/// # Errors
/// As [`build`].
pub fn to_plain(c: &Credential) -> Result<Zeroizing<Vec<u8>>> {
    let plain = enc_part(c)?;
    let enc = EncryptedData {
        etype: ExplicitContextTag0::from(int(0)),
        kvno: Optional::from(None),
        cipher: ExplicitContextTag2::from(OctetStringAsn1::from(plain.to_vec())),
    };
    Ok(Zeroizing::new(krb_cred(&c.ticket, enc)?))
}

/// Reads a KRB-CRED holding exactly one ticket, its enc-part encrypted in one of `keys`
/// (usage 14) or unencrypted (etype 0); returns the credential.
///
/// # Errors
/// [`Error::InvalidToken`] for a malformed message or not exactly one ticket;
/// [`Error::MessageAltered`] if no key decrypts it.
pub fn read(bytes: &[u8], keys: &[&Key]) -> Result<Credential> {
    if bytes.len() > MAX_KRB_CRED_LEN {
        return Err(Error::InvalidToken("KRB-CRED too long"));
    }
    super::kdc::der::check_tree(bytes)?;
    let cred: KrbCred = decode(bytes, "KRB-CRED")?;
    let cred = cred.0;
    if int32(&cred.pvno.0)? != 5 || int32(&cred.msg_type.0)? != 22 {
        return Err(Error::InvalidToken("KRB-CRED: wrong pvno or msg-type"));
    }
    let tickets = &cred.tickets.0.0;
    let [ticket] = tickets.as_slice() else {
        return Err(Error::InvalidToken("KRB-CRED: not exactly one ticket"));
    };
    let enc = &cred.enc_part.0;
    let etype = int32(&enc.etype.0)?;
    let cipher = &enc.cipher.0.0;
    let plain = if etype == 0 {
        Zeroizing::new(cipher.clone())
    } else {
        keys.iter()
            .filter(|k| k.etype().0 == etype)
            .find_map(|k| crypto::decrypt(k, KeyUsage::KRB_CRED_ENC_PART, cipher).ok())
            .map(Zeroizing::new)
            .ok_or(Error::MessageAltered)?
    };
    super::kdc::der::check_tree(&plain)?;
    let part: EncKrbCredPart = decode(&plain, "EncKrbCredPart")?;
    let part = super::kdc::Wiped::new(part, |p| {
        for info in &mut p.0.ticket_info.0.0 {
            super::kdc::wipe_key(&mut info.key.0);
        }
    });
    let infos = &part.0.ticket_info.0.0;
    let [info] = infos.as_slice() else {
        return Err(Error::InvalidToken("KRB-CRED: not exactly one ticket-info"));
    };
    let missing = || Error::InvalidToken("KRB-CRED: ticket-info without names or times");
    let client = principal(
        &info.prealm.0.as_ref().ok_or_else(missing)?.0,
        &info.pname.0.as_ref().ok_or_else(missing)?.0,
    )?;
    let server = principal(
        &info.srealm.0.as_ref().ok_or_else(missing)?.0,
        &info.sname.0.as_ref().ok_or_else(missing)?.0,
    )?;
    let time = |t: Option<u32>| t.unwrap_or(0);
    let auth_time = time(info.auth_time.0.as_ref().map(|t| unix_time(&t.0)).transpose()?);
    let start_time = time(info.start_time.0.as_ref().map(|t| unix_time(&t.0)).transpose()?);
    let end_time =
        info.end_time.0.as_ref().map(|t| unix_time(&t.0)).transpose()?.ok_or_else(missing)?;
    let renew_till = time(info.renew_till.0.as_ref().map(|t| unix_time(&t.0)).transpose()?);
    Ok(Credential {
        client,
        server,
        session_key: key_of(&info.key.0)?,
        auth_time,
        start_time,
        end_time,
        renew_till,
        is_skey: false,
        ticket_flags: info.flags.0.as_ref().map_or(0, |f| flags_value(&f.0)),
        addresses: Vec::new(),
        auth_data: Vec::new(),
        ticket: der(ticket)?,
        second_ticket: Vec::new(),
    })
}
