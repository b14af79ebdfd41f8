//! Kerberos contexts to and from the frozen export structs ([`crate::export::krb`]).
//!
//! Every state exports: an initiator before its first token, one waiting for the AP-REP, an
//! acceptor before the AP-REQ, and established contexts of both roles. Credentials never
//! travel (see [`crate::export::krb`]): a context that still needs them (a start state) is
//! imported with them, and they must be the ones it was made with (the same client, the
//! same service), so an acceptor imported mid-conversation keeps using the replay cache the
//! importing process shares among that credential's contexts.

use super::context::{
    AcceptorConfig, AwaitingApRep, Config, Established, EstablishedParts, InitiatorConfig,
    KerberosContext, State,
};
use super::credentials::{AcceptorCredentials, InitiatorCredentials};
use super::{EncType, Key, NameType, Principal, PrincipalName};
use crate::env::{Environment, FileTime};
use crate::error::{Error, Result};
use crate::export::{ClientIdentity, ExportOptions, PackedContext, krb};
use crate::flags::{AscReq, IscReq};
use crate::ntlm::export::{bindings_in, bindings_out};
use std::sync::Arc;

/// The credentials an import may be given.
pub(crate) enum ImportCredentials {
    Initiator(Arc<InitiatorCredentials>),
    Acceptor(Arc<AcceptorCredentials>),
}

fn key_out(k: &Key) -> krb::Key<'_> {
    krb::Key { etype: k.etype().0, bytes: k.bytes() }
}

fn key_in(k: &krb::Key<'_>) -> Result<Key> {
    let etype = EncType(k.etype);
    if !super::crypto::supported(etype) {
        return Err(Error::CorruptContext("a Kerberos key of an unknown type"));
    }
    let key = Key::new(etype, k.bytes);
    // Derivation checks the length for the type.
    super::crypto::DerivedKeys::new(&key, super::crypto::KeyUsage(0))
        .map_err(|_| Error::CorruptContext("a Kerberos key of the wrong length"))?;
    Ok(key)
}

fn principal_out(p: &Principal) -> krb::Principal<'_> {
    krb::Principal {
        name_type: p.name.name_type.0,
        components: p.name.components.iter().map(String::as_str).collect(),
        realm: &p.realm,
    }
}

fn principal_in(p: &krb::Principal<'_>) -> Principal {
    Principal {
        name: PrincipalName {
            name_type: NameType(p.name_type),
            components: p.components.iter().map(|c| (*c).to_owned()).collect(),
        },
        realm: p.realm.to_owned(),
    }
}

fn same(a: &Principal, b: &Principal) -> bool {
    a.realm == b.realm && a.name.components == b.name.components
}

fn established_out(e: &Established) -> krb::Established<'_> {
    let (recv_base, recv_next, recv_seen) = e.window.parts();
    krb::Established {
        key: key_out(&e.key),
        acceptor_subkey: e.acceptor_subkey,
        send_seq: e.send_seq,
        recv_base,
        recv_next,
        recv_seen,
        gss_flags: e.gss_flags,
        attributes: e.attributes,
        client: principal_out(&e.client),
        server: principal_out(&e.server),
        end_time: e.end_time,
        delegated: e.delegated.as_ref().map(|d| d.as_slice()),
        logon_time: e.logon_time.0,
        pac: e.pac.as_ref().map(super::pac::Pac::as_bytes),
    }
}

fn established_in(e: &krb::Established<'_>, initiator: bool) -> Result<Box<Established>> {
    let key = key_in(&e.key)?;
    Established::new(EstablishedParts {
        initiator,
        key,
        acceptor_subkey: e.acceptor_subkey,
        send_seq: e.send_seq,
        recv: Err((e.recv_base, e.recv_next, e.recv_seen)),
        gss_flags: e.gss_flags,
        attributes: e.attributes,
        client: principal_in(&e.client),
        server: principal_in(&e.server),
        end_time: e.end_time,
        delegated: e.delegated.map(|d| crate::crypto::SecretBytes(d.to_vec())),
        logon_time: FileTime(e.logon_time),
        pac: e
            .pac
            .map(super::pac::Pac::parse)
            .transpose()
            .map_err(|_| Error::CorruptContext("an undecodable PAC"))?,
    })
    .map(Box::new)
}

/// The SIDs of a PAC's logon info: the user's, the primary group's, then the groups, extra
/// SIDs and resource groups, as a Windows token lists them.
pub(crate) fn sids_of(info: &super::pac::LogonInfo) -> Vec<String> {
    let mut sids = vec![info.user_sid.to_string(), info.primary_group_sid.to_string()];
    for sid in info.group_sids.iter().chain(&info.extra_sids).chain(&info.resource_group_sids) {
        let text = sid.to_string();
        if !sids.contains(&text) {
            sids.push(text);
        }
    }
    sids
}

/// The credentials' client, for an initiator's config (none once imported without them).
fn initiator_client(c: &InitiatorConfig, state: &State) -> Result<Principal> {
    match (&c.credentials, state) {
        (Some(creds), _) => Ok(creds.client().clone()),
        (None, State::AwaitingApRep(s)) => Ok(s.client.clone()),
        (None, State::Established(e)) => Ok(e.client.clone()),
        (None, _) => Err(Error::WrongState("an initiator without credentials")),
    }
}

impl KerberosContext {
    /// The identity an established context hands out on export: the client (on an initiator,
    /// itself).
    pub(crate) fn client_identity(&self) -> Option<ClientIdentity> {
        self.established().map(|e| ClientIdentity {
            package: crate::package::Package::Kerberos.name().to_owned(),
            user: e.client.name.components.join("/"),
            domain: e.client.realm.clone(),
            workstation: String::new(),
            logon_time: e.logon_time,
            sids: e.pac.as_ref().and_then(|p| p.logon_info()).map(sids_of).unwrap_or_default(),
        })
    }

    /// Packs this context (format version 2, package Kerberos); with `reset`, the context it
    /// was before its first token.
    ///
    /// # Errors
    /// [`Error::WrongState`] for a context whose handshake failed (without `reset`).
    pub(crate) fn pack(
        &self,
        reset: bool,
        options: &ExportOptions,
    ) -> Result<(PackedContext, Option<ClientIdentity>)> {
        let state = match &self.config {
            Config::Initiator(c) => {
                let client = initiator_client(c, &self.state)?;
                let state = match (&self.state, reset) {
                    (_, true) | (State::Start, false) => krb::InitiatorState::Start,
                    (State::AwaitingApRep(s), false) => {
                        krb::InitiatorState::AwaitingApRep(awaiting_out(s))
                    }
                    (State::Established(e), false) => {
                        krb::InitiatorState::Established(established_out(e))
                    }
                    (State::Failed, false) => {
                        return Err(Error::WrongState(
                            "a context whose handshake failed exports only with RESET_NEW",
                        ));
                    }
                };
                let packed = crate::export::pack_kerberos(
                    &krb::Context::Initiator {
                        config: krb::InitiatorConfig {
                            target: c.target.as_deref(),
                            requested: c.requested.0,
                            channel_bindings: bindings_out(&c.bindings),
                            client: principal_out(&client),
                        },
                        state,
                    },
                    options,
                )?;
                return Ok((packed, if reset { None } else { self.client_identity() }));
            }
            Config::Acceptor(c) => c,
        };
        let c = state;
        let state = match (&self.state, reset) {
            (_, true) | (State::Start, false) => krb::AcceptorState::Start,
            (State::Established(e), false) => krb::AcceptorState::Established(established_out(e)),
            (State::Failed | State::AwaitingApRep(_), false) => {
                return Err(Error::WrongState(
                    "a context whose handshake failed exports only with RESET_NEW",
                ));
            }
        };
        let service =
            c.credentials.as_ref().and_then(|k| k.service().cloned()).or_else(|| c.service.clone());
        let packed = crate::export::pack_kerberos(
            &krb::Context::Acceptor {
                config: krb::AcceptorConfig {
                    requested: c.requested.0,
                    channel_bindings: bindings_out(&c.bindings),
                    max_skew_secs: c.max_skew,
                    service: service.as_ref().map(principal_out),
                },
                state,
            },
            options,
        )?;
        Ok((packed, if reset { None } else { self.client_identity() }))
    }

    /// Rebuilds a context from the opened state of a Kerberos blob of format `version`.
    ///
    /// # Errors
    /// [`Error::CorruptContext`] for a state that does not decode or check;
    /// [`Error::UnknownCredentials`] when a start state comes without credentials, or with
    /// credentials of the other role, another client or another service.
    pub(crate) fn unpack(
        version: u16,
        body: &[u8],
        env: Option<Environment>,
        credentials: Option<ImportCredentials>,
    ) -> Result<Self> {
        let state = crate::export::decode_kerberos(version, body)?;
        let env = env.unwrap_or_else(Environment::system);
        match state {
            krb::Context::Initiator { config, state } => {
                let creds = match credentials {
                    Some(ImportCredentials::Initiator(c)) => {
                        if !same(c.client(), &principal_in(&config.client)) {
                            return Err(Error::UnknownCredentials(
                                "the credentials are another client's",
                            ));
                        }
                        Some(c)
                    }
                    Some(ImportCredentials::Acceptor(_)) => {
                        return Err(Error::UnknownCredentials(
                            "acceptor credentials for an initiator",
                        ));
                    }
                    None => None,
                };
                let state = match &state {
                    krb::InitiatorState::Start if creds.is_none() => {
                        return Err(Error::UnknownCredentials(
                            "an initiator before its first token needs its Kerberos credentials",
                        ));
                    }
                    krb::InitiatorState::Start => State::Start,
                    krb::InitiatorState::AwaitingApRep(s) => {
                        State::AwaitingApRep(Box::new(awaiting_in(s)?))
                    }
                    krb::InitiatorState::Established(e) => {
                        State::Established(established_in(e, true)?)
                    }
                };
                let config = InitiatorConfig {
                    credentials: creds,
                    target: config.target.map(str::to_owned),
                    requested: IscReq(config.requested),
                    bindings: bindings_in(&config.channel_bindings),
                    env,
                };
                Ok(Self { config: Config::Initiator(config), state })
            }
            krb::Context::Acceptor { config, state } => {
                let creds = match credentials {
                    Some(ImportCredentials::Acceptor(c)) => {
                        let expected = config.service.as_ref().map(principal_in);
                        let matches = match (c.service(), &expected) {
                            (Some(a), Some(b)) => same(a, b),
                            (None, None) => true,
                            _ => false,
                        };
                        if !matches {
                            return Err(Error::UnknownCredentials(
                                "the credentials are for another service",
                            ));
                        }
                        Some(c)
                    }
                    Some(ImportCredentials::Initiator(_)) => {
                        return Err(Error::UnknownCredentials(
                            "initiator credentials for an acceptor",
                        ));
                    }
                    None => None,
                };
                let state = match &state {
                    krb::AcceptorState::Start if creds.is_none() => {
                        return Err(Error::UnknownCredentials(
                            "an acceptor before the AP-REQ needs its Kerberos credentials",
                        ));
                    }
                    krb::AcceptorState::Start => State::Start,
                    krb::AcceptorState::Established(e) => {
                        State::Established(established_in(e, false)?)
                    }
                };
                let config = AcceptorConfig {
                    credentials: creds,
                    requested: AscReq(config.requested),
                    bindings: bindings_in(&config.channel_bindings),
                    max_skew: config.max_skew_secs,
                    env,
                    service: config.service.as_ref().map(principal_in),
                };
                Ok(Self { config: Config::Acceptor(config), state })
            }
        }
    }
}

fn awaiting_out(s: &AwaitingApRep) -> krb::AwaitingApRep<'_> {
    krb::AwaitingApRep {
        session_key: key_out(&s.session_key),
        subkey: key_out(&s.subkey),
        seq_number: s.seq_number,
        ctime: s.time.ctime,
        cusec: s.time.cusec,
        gss_flags: s.gss_flags,
        client: principal_out(&s.client),
        server: principal_out(&s.server),
        end_time: s.end_time,
    }
}

fn awaiting_in(s: &krb::AwaitingApRep<'_>) -> Result<AwaitingApRep> {
    Ok(AwaitingApRep {
        session_key: key_in(&s.session_key)?,
        subkey: key_in(&s.subkey)?,
        seq_number: s.seq_number,
        time: super::ap::ApTime { ctime: s.ctime, cusec: s.cusec },
        gss_flags: s.gss_flags,
        client: principal_in(&s.client),
        server: principal_in(&s.server),
        end_time: s.end_time,
    })
}
