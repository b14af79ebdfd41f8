//! NTLM contexts to and from the frozen export structs ([`crate::export::v1`], with the
//! options of [`crate::export::v2`]).

use super::client::{
    Client, ClientConfig, ClientSecret, ClientState, SentNegotiate, WaitChallenge,
};
use super::flags::NegotiateFlags;
use super::server::{Announced, Server, ServerConfig, ServerNames, ServerState, WaitAuthenticate};
use super::session::{Direction, Session};
use super::users::UserStore;
use super::{Established, IdentityRef, Names, NtlmContext, OemCodePage, Role, Version};
use crate::bindings::ChannelBindings;
use crate::crypto::{Key16, NtHash, Rc4};
use crate::env::{Environment, FileTime};
use crate::error::{Error, Result};
use crate::export::{ClientIdentity, v1, v2};
use crate::flags::{AscReq, IscReq};
use std::sync::Arc;
use std::time::Duration;

pub(crate) fn bindings_out(cb: &Option<ChannelBindings>) -> Option<v1::ChannelBindings<'_>> {
    cb.as_ref().map(|cb| v1::ChannelBindings {
        initiator_addrtype: cb.initiator_addrtype,
        initiator_address: &cb.initiator_address,
        acceptor_addrtype: cb.acceptor_addrtype,
        acceptor_address: &cb.acceptor_address,
        application_data: &cb.application_data,
    })
}

pub(crate) fn bindings_in(cb: &Option<v1::ChannelBindings<'_>>) -> Option<ChannelBindings> {
    cb.as_ref().map(|cb| ChannelBindings {
        initiator_addrtype: cb.initiator_addrtype,
        initiator_address: cb.initiator_address.to_vec(),
        acceptor_addrtype: cb.acceptor_addrtype,
        acceptor_address: cb.acceptor_address.to_vec(),
        application_data: cb.application_data.to_vec(),
    })
}

fn direction_out(d: &Direction) -> v1::Direction<'_> {
    let (s, i, j) = d.rc4.state();
    v1::Direction {
        sign_key: v1::Bytes(*d.sign_key.bytes()),
        rc4_s: s,
        rc4_i: i,
        rc4_j: j,
        seq: d.seq,
    }
}

/// The RC4 state of a frozen direction, checked: 256 bytes.
fn rc4_state<'a>(d: &v1::Direction<'a>) -> Result<&'a [u8; 256]> {
    d.rc4_s.try_into().map_err(|_| Error::CorruptContext("RC4 state is not 256 bytes"))
}

/// A frozen direction, resumed; `rc4_s` is its state, checked by [`rc4_state`]. Inlined, so
/// the direction (~350 bytes) is built where it will live, not moved there.
#[inline(always)]
fn direction_in(d: &v1::Direction<'_>, rc4_s: &[u8; 256]) -> Direction {
    Direction::resume(&d.sign_key.0, Rc4::from_state(rc4_s, d.rc4_i, d.rc4_j), d.seq)
}

fn established_out<'a>(e: &'a Established, who: IdentityRef<'a>) -> v1::Established<'a> {
    let session = &e.session;
    v1::Established {
        flags: session.flags.0,
        exported_session_key: v1::Bytes(*session.exported_session_key.bytes()),
        detect_sequence: session.detect_sequence,
        send: direction_out(&session.send),
        recv: direction_out(&session.recv),
        user: who.user,
        domain: who.domain,
        workstation: who.workstation,
        attributes: e.attributes,
        logon_time: e.logon_time.0,
    }
}

/// `own`: the names of an initiator, whose identity is its own and is not stored again (the
/// blob's must be those); `None` for an acceptor.
fn established_in(
    e: &v1::Established<'_>,
    own: Option<IdentityRef<'_>>,
) -> Result<Box<Established>> {
    let theirs = IdentityRef { user: e.user, domain: e.domain, workstation: e.workstation };
    let identity = match own {
        Some(own) if own == theirs => Names::none(),
        Some(_) => {
            return Err(Error::CorruptContext("an initiator's identity is not its own names"));
        }
        None => Names::from_ref(theirs),
    };
    // Everything that can fail is checked first; the state is then built in one expression,
    // each part where it lives in it (`Box::new` still copies the whole once, from the stack).
    let (send, recv) = (rc4_state(&e.send)?, rc4_state(&e.recv)?);
    Ok(Box::new(Established {
        session: Session {
            flags: NegotiateFlags(e.flags),
            send: direction_in(&e.send, send),
            recv: direction_in(&e.recv, recv),
            detect_sequence: e.detect_sequence,
            exported_session_key: Key16::new(e.exported_session_key.0),
        },
        identity,
        attributes: e.attributes,
        logon_time: FileTime(e.logon_time),
    }))
}

impl NtlmContext {
    /// Packs this context into a blob (format version 1, or 2 when its options need it); with
    /// `reset`, the context it was before its first token. Also returns the identity an
    /// established context hands out (none with `reset`: such a blob authenticates no one).
    pub(crate) fn pack(
        &self,
        reset: bool,
        options: &crate::export::ExportOptions,
    ) -> Result<(crate::export::PackedContext, Option<ClientIdentity>)> {
        let state = self.to_v1(reset)?;
        let packed = crate::export::pack(
            crate::export::PackageId::Ntlm,
            &state,
            self.to_v2_options(),
            options,
        )?;
        drop(state); // it borrows the context
        Ok((packed, if reset { None } else { self.client_identity() }))
    }

    /// Rebuilds a context from the opened state of a blob of format `version` (see
    /// [`NtlmContext::from_v1`] for `env` and `users`).
    pub(crate) fn unpack(
        version: u16,
        body: &[u8],
        env: Option<Environment>,
        users: Option<Result<Arc<dyn UserStore>>>,
    ) -> Result<Self> {
        let (state, extra) = crate::export::decode(version, body)?;
        crate::crypto::scrub_stack();
        Self::from_v1(&state, extra, env, users)
    }

    /// The frozen form of this context; with `reset`, of the context it was before its
    /// first token (same role and options, nothing of the handshake).
    pub(crate) fn to_v1(&self, reset: bool) -> Result<v1::Context<'_>> {
        match &self.role {
            Role::Client(Client { config, state }) => {
                let state = match state {
                    _ if reset => v1::ClientState::Initial,
                    ClientState::Initial => v1::ClientState::Initial,
                    ClientState::WaitChallenge(w) => v1::ClientState::WaitChallenge {
                        negotiate: w.negotiate.as_bytes(),
                        flags: w.flags.0,
                    },
                    ClientState::Established(e) => {
                        v1::ClientState::Established(established_out(e, config.identity()))
                    }
                    ClientState::Failed => return Err(Error::WrongState("the handshake failed")),
                };
                let config = v1::ClientConfig {
                    user: &config.secret.user,
                    domain: &config.secret.domain,
                    nt_hash: v1::Bytes(*config.secret.nt_hash.0.bytes()),
                    workstation: &config.workstation,
                    version: config.version.map(|v| v1::Bytes(v.0)),
                    target_name: config.target_name.as_deref(),
                    channel_bindings: bindings_out(&config.channel_bindings),
                    requested: config.requested.0,
                };
                Ok(v1::Context::NtlmClient { config, state })
            }
            Role::Server(Server { config, state }) => {
                let state = match state {
                    _ if reset => v1::ServerState::Initial,
                    ServerState::Initial => v1::ServerState::Initial,
                    ServerState::WaitAuthenticate(w) => v1::ServerState::WaitAuthenticate {
                        negotiate: w.transcript.get(..w.negotiate_len).unwrap_or_default(),
                        challenge: w.transcript.get(w.negotiate_len..).unwrap_or_default(),
                        server_challenge: v1::Bytes(w.server_challenge),
                        flags: w.flags.0,
                    },
                    ServerState::Established(e) => {
                        v1::ServerState::Established(established_out(e, e.identity.as_ref()))
                    }
                    ServerState::Failed => return Err(Error::WrongState("the handshake failed")),
                };
                let names = &config.names.names;
                let config = v1::ServerConfig {
                    nb_computer: &names.nb_computer,
                    nb_domain: &names.nb_domain,
                    dns_computer: &names.dns_computer,
                    dns_domain: &names.dns_domain,
                    version: config.version.map(|v| v1::Bytes(v.0)),
                    requested: config.requested.0,
                    channel_bindings: bindings_out(&config.channel_bindings),
                    accepted_targets: config.accepted_targets.iter().map(String::as_str).collect(),
                    max_clock_skew_ms: u64::try_from(config.max_clock_skew.as_millis())
                        .unwrap_or(u64::MAX),
                };
                Ok(v1::Context::NtlmServer { config, state })
            }
        }
    }

    /// The options that travel beside the version-1 state ([`v2`]).
    pub(crate) fn to_v2_options(&self) -> v2::Options {
        let (oem_code_page, require_mic) = match &self.role {
            Role::Client(c) => (c.config.oem_code_page, false),
            Role::Server(s) => (s.config.oem_code_page, s.config.require_mic),
        };
        v2::Options { oem_code_page: oem_code_page.number(), require_mic }
    }

    /// Rebuilds a context from its frozen form. Nothing exists until every field checked.
    ///
    /// `users` is the user store of the credentials given to the import: `None` when none
    /// were given, an error when they are not an NTLM acceptor's (reported only if an
    /// acceptor needs them).
    pub(crate) fn from_v1(
        state: &v1::Context<'_>,
        extra: v2::Options,
        env: Option<Environment>,
        users: Option<Result<Arc<dyn UserStore>>>,
    ) -> Result<Self> {
        let env = env.unwrap_or_else(Environment::system);
        let oem_code_page = OemCodePage::from_number(extra.oem_code_page)
            .ok_or(Error::CorruptContext("unknown OEM code page"))?;
        if extra.require_mic && matches!(state, v1::Context::NtlmClient { .. }) {
            return Err(Error::CorruptContext("a MIC policy on an initiator"));
        }
        let role = match state {
            v1::Context::NtlmClient { config, state } => {
                // An initiator's credentials travel in the blob; any given are not used.
                let state = match state {
                    v1::ClientState::Initial => ClientState::Initial,
                    v1::ClientState::WaitChallenge { negotiate, flags } => {
                        ClientState::WaitChallenge(WaitChallenge {
                            negotiate: SentNegotiate::new(negotiate).ok_or(
                                Error::CorruptContext("a NEGOTIATE longer than the client sends"),
                            )?,
                            flags: NegotiateFlags(*flags),
                        })
                    }
                    v1::ClientState::Established(e) => {
                        let own = IdentityRef {
                            user: config.user,
                            domain: config.domain,
                            workstation: config.workstation,
                        };
                        ClientState::Established(established_in(e, Some(own))?)
                    }
                };
                let config = ClientConfig {
                    secret: ClientSecret::new(
                        config.user.to_owned(),
                        config.domain.to_owned(),
                        NtHash::from_bytes(config.nt_hash.0),
                    ),
                    workstation: config.workstation.to_owned(),
                    version: config.version.as_ref().map(|v| Version(v.0)),
                    target_name: config.target_name.map(str::to_owned),
                    channel_bindings: bindings_in(&config.channel_bindings),
                    requested: IscReq(config.requested),
                    oem_code_page,
                    env,
                };
                // The same checks as a new context (a forged unprotected blob could ask for
                // what sspi-emu refuses).
                let mut client = Client::new(config)?;
                client.state = state;
                Role::Client(client)
            }
            v1::Context::NtlmServer { config, state } => {
                let state = match state {
                    v1::ServerState::Initial => ServerState::Initial,
                    v1::ServerState::WaitAuthenticate {
                        negotiate,
                        challenge,
                        server_challenge,
                        flags,
                    } => ServerState::WaitAuthenticate(WaitAuthenticate {
                        transcript: [*negotiate, *challenge].concat(),
                        negotiate_len: negotiate.len(),
                        server_challenge: server_challenge.0,
                        flags: NegotiateFlags(*flags),
                    }),
                    v1::ServerState::Established(e) => {
                        ServerState::Established(established_in(e, None)?)
                    }
                };
                let users = match (users, &state) {
                    (Some(users), _) => users?,
                    // An established acceptor never looks a user up again.
                    (None, ServerState::Established(_)) => Arc::clone(&NO_USERS),
                    (None, _) => {
                        return Err(Error::UnknownCredentials(
                            "an acceptor imported before its handshake completed needs its \
                             credentials (user store)",
                        ));
                    }
                };
                let config = ServerConfig {
                    users,
                    names: names_in(config),
                    version: config.version.as_ref().map(|v| Version(v.0)),
                    requested: AscReq(config.requested),
                    channel_bindings: bindings_in(&config.channel_bindings),
                    accepted_targets: config
                        .accepted_targets
                        .iter()
                        .map(|&t| t.to_owned())
                        .collect(),
                    max_clock_skew: Duration::from_millis(config.max_clock_skew_ms),
                    require_mic: extra.require_mic,
                    oem_code_page,
                    env,
                };
                let mut server = Server::new(config)?;
                server.state = state;
                Role::Server(server)
            }
        };
        Ok(NtlmContext { role })
    }

    /// The identity of an established context (the "token" of export).
    pub(crate) fn client_identity(&self) -> Option<ClientIdentity> {
        let who = self.identity()?;
        self.established().map(|e| ClientIdentity {
            package: super::PACKAGE_NAME.to_owned(),
            user: who.user.to_owned(),
            domain: who.domain.to_owned(),
            workstation: who.workstation.to_owned(),
            logon_time: e.logon_time,
            sids: Vec::new(),
        })
    }
}

/// The acceptor's names: the shared defaults when they are the defaults (no copies).
fn names_in(config: &v1::ServerConfig<'_>) -> Arc<Announced> {
    let defaults = super::server::default_names();
    let default = &defaults.names;
    let same = config.nb_computer == default.nb_computer
        && config.nb_domain == default.nb_domain
        && config.dns_computer == default.dns_computer
        && config.dns_domain == default.dns_domain;
    if same {
        return defaults;
    }
    Arc::new(Announced::new(ServerNames {
        nb_computer: config.nb_computer.to_owned(),
        nb_domain: config.nb_domain.to_owned(),
        dns_computer: config.dns_computer.to_owned(),
        dns_domain: config.dns_domain.to_owned(),
    }))
}

/// The store of an imported, established acceptor: it never looks anyone up, and if it
/// were asked (it is not), it knows no one.
struct NoUsers;

/// One shared [`NoUsers`] for every imported acceptor (an `Arc` each would be an allocation
/// per import for an empty value).
static NO_USERS: std::sync::LazyLock<Arc<dyn super::users::UserStore>> =
    std::sync::LazyLock::new(|| Arc::new(NoUsers));

impl super::users::UserStore for NoUsers {
    fn nt_hash(&self, _: &str, _: &str) -> Option<NtHash> {
        None
    }
}

/// Property tests: import accepts exactly the states export can write, and exporting what it
/// imported writes the same state again (every field of both roles at every stage). The
/// handshake-driven properties (a real context at each stage moves and carries on
/// identically) are in `tests/integration/export_props.rs`.
#[cfg(test)]
mod proptests {
    use super::*;
    use crate::export::v1::proptests::{Owned, options, owned};
    use crate::flags::{AscReq, IscReq};
    use proptest::prelude::*;

    /// What [`NtlmContext::from_v1`] must accept: the rules a state written by export obeys.
    fn importable(o: &Owned, extra: v2::Options) -> bool {
        let page = OemCodePage::from_number(extra.oem_code_page).is_some();
        let rc4 = o.stage != 2 || o.directions.iter().all(|(s, ..)| s.len() == 256);
        let role = if o.server {
            o.requested & AscReq::DATAGRAM.0 == 0
        } else {
            let own = o.own_identity || o.identity[..] == o.names[..3];
            !extra.require_mic
                && o.requested & (IscReq::DATAGRAM.0 | IscReq::NULL_SESSION.0) == 0
                && (o.stage != 1 || o.negotiate.len() <= 40)
                && (o.stage != 2 || own)
        };
        page && rc4 && role
    }

    proptest! {
        #[test]
        fn import_accepts_exactly_what_export_writes(o in owned(), extra in options()) {
            let state = o.view();
            let users: Arc<dyn UserStore> = Arc::new(super::super::users::MemoryUserStore::new());
            let env = Environment::deterministic(1, FileTime(0));
            match NtlmContext::from_v1(&state, extra, Some(env), Some(Ok(users))) {
                Ok(ctx) => {
                    prop_assert!(importable(&o, extra), "imported what export never writes");
                    prop_assert_eq!(&ctx.to_v1(false).unwrap(), &state);
                    prop_assert_eq!(ctx.to_v2_options(), extra);
                    let initial = ctx.to_v1(true).unwrap();
                    let stage_of = |c: &v1::Context<'_>| match c {
                        v1::Context::NtlmClient { state: v1::ClientState::Initial, .. }
                        | v1::Context::NtlmServer { state: v1::ServerState::Initial, .. } => 0,
                        _ => 1,
                    };
                    prop_assert_eq!(stage_of(&initial), 0, "a reset export starts over");
                }
                Err(e) => {
                    prop_assert!(!importable(&o, extra), "refused a state export writes: {e:?}");
                    prop_assert!(
                        matches!(e, Error::CorruptContext(_) | Error::NotSupported(_)),
                        "{e:?}"
                    );
                }
            }
        }
    }
}
