//! Tickets made without a KDC, for fuzz targets, golden blobs and benchmarks. Not part of the
//! API: a KDC's job, done here with a service key the caller holds, so that the acceptor's
//! AP-REQ processing can be driven deterministically and offline.

use super::kdc::convert::{asn_name, flags, int, kstring, ktime};
use super::kdc::{EnvRandom, der, der_with_key, encrypted, placeholder_key};
use super::{AuthData, Credential, Key, Principal};
use crate::env::Environment;
use crate::error::Result;
use crate::kerberos::crypto::{self, KeyUsage};
use picky_asn1::wrapper::{
    Asn1SequenceOf, ExplicitContextTag0, ExplicitContextTag1, ExplicitContextTag2,
    ExplicitContextTag3, ExplicitContextTag4, ExplicitContextTag5, ExplicitContextTag6,
    ExplicitContextTag7, ExplicitContextTag10, OctetStringAsn1, Optional,
};
use picky_asn1_der::application_tag::ApplicationTag;
use picky_krb::data_types::{
    AuthorizationDataInner, EncTicketPart, EncTicketPartInner, Ticket, TicketInner,
    TransitedEncoding,
};

/// Issues a ticket for `client` to `service`, encrypted in `service_key` (key version
/// `kvno`), with a fresh session key of `session_etype`, valid from `start` for `lifetime`
/// seconds (Unix times), carrying `auth_data` (ad-type and data; a PAC goes in as
/// AD-IF-RELEVANT the caller builds). Returns the credential an initiator holds.
///
/// # Errors
/// [`crate::Error::NotSupported`] for a key type not implemented; [`crate::Error::RandomSource`].
#[allow(clippy::too_many_arguments)]
pub fn issue_ticket(
    client: &Principal,
    service: &Principal,
    service_key: &Key,
    kvno: u32,
    session_etype: super::EncType,
    start: u32,
    lifetime: u32,
    auth_data: &[AuthData],
    env: &Environment,
) -> Result<Credential> {
    let session_key = crypto::random_key(session_etype, &EnvRandom(env))?;
    let end = start.saturating_add(lifetime);
    let part: EncTicketPart = ApplicationTag::from(EncTicketPartInner {
        flags: ExplicitContextTag0::from(flags(0x0040_0000 | 0x0080_0000)), // initial, pre-authent
        key: ExplicitContextTag1::from(placeholder_key(&session_key)),
        crealm: ExplicitContextTag2::from(kstring(&client.realm)?),
        cname: ExplicitContextTag3::from(asn_name(&client.name)?),
        transited: ExplicitContextTag4::from(TransitedEncoding {
            tr_type: ExplicitContextTag0::from(int(1)),
            contents: ExplicitContextTag1::from(OctetStringAsn1::from(Vec::new())),
        }),
        auth_time: ExplicitContextTag5::from(ktime(i64::from(start))),
        starttime: Optional::from(Some(ExplicitContextTag6::from(ktime(i64::from(start))))),
        endtime: ExplicitContextTag7::from(ktime(i64::from(end))),
        renew_till: Optional::from(None),
        caddr: Optional::from(None),
        authorization_data: Optional::from((!auth_data.is_empty()).then(|| {
            ExplicitContextTag10::from(Asn1SequenceOf::from(
                auth_data
                    .iter()
                    .map(|a| AuthorizationDataInner {
                        ad_type: ExplicitContextTag0::from(int(a.ad_type)),
                        ad_data: ExplicitContextTag1::from(OctetStringAsn1::from(a.data.clone())),
                    })
                    .collect::<Vec<_>>(),
            ))
        })),
    });
    let plain = der_with_key(&part, &session_key)?;
    let enc = encrypted(service_key, KeyUsage::KDC_REP_TICKET, &plain, env, Some(kvno))?;
    let ticket: Ticket = ApplicationTag::from(TicketInner {
        tkt_vno: ExplicitContextTag0::from(int(5)),
        realm: ExplicitContextTag1::from(kstring(&service.realm)?),
        sname: ExplicitContextTag2::from(asn_name(&service.name)?),
        enc_part: ExplicitContextTag3::from(enc),
    });
    Ok(Credential {
        client: client.clone(),
        server: service.clone(),
        session_key,
        auth_time: start,
        start_time: start,
        end_time: end,
        renew_till: 0,
        is_skey: false,
        ticket_flags: 0x0040_0000 | 0x0080_0000,
        addresses: Vec::new(),
        auth_data: Vec::new(),
        ticket: der(&ticket)?,
        second_ticket: Vec::new(),
    })
}
