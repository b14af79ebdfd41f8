//! Kerberos initiator credentials: who the user is, where its tickets come from, and the
//! tickets obtained so far.
//!
//! What `AcquireCredentialsHandle` for Kerberos outbound returns. As on Windows, acquiring
//! contacts no KDC: the first ticket is asked for when it is needed ([`InitiatorCredentials::tgt`],
//! [`InitiatorCredentials::service_ticket`]), then kept in memory, shared by every clone of the
//! credentials, until it expires. Three sources, as Windows and MIT offer:
//!
//! - a password ([`InitiatorCredentials::with_password`]): an AS exchange with encrypted-timestamp
//!   pre-authentication;
//! - a client keytab ([`InitiatorCredentials::with_keytab`]): the same with the keytab's key;
//! - no secret at all ([`InitiatorCredentials::from_ccache`], or
//!   [`InitiatorCredentials::from_default_ccache`]): the TGT a user's `kinit` left in the
//!   credential cache (`KRB5CCNAME`), as a Windows user is signed in by logon.
//!
//! The tickets can be written to a FILE credential cache ([`InitiatorCredentials::store_in_ccache`])
//! that MIT's `klist` lists and its tools use.

use super::ccache::{self, CredentialCache};
use super::keytab::Keytab;
use super::transport::{KdcClient, store_in_ccache};
use super::{Credential, Principal};
use crate::crypto::Password;
use crate::error::{Error, Result};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// How long before its end a ticket is no longer handed out (it would expire in flight).
const EXPIRY_MARGIN_SECS: u32 = 60;

/// Where the credentials' TGT comes from.
enum Source {
    Password(Password),
    Keytab(Keytab),
    /// The cache's TGT (no secret: when it expires, the user runs `kinit` again).
    Cache(PathBuf),
    /// Only the tickets given ([`InitiatorCredentials::with_tickets`]).
    Given,
}

/// Kerberos initiator credentials (see the [module documentation](self)).
pub struct InitiatorCredentials {
    client: Principal,
    source: Source,
    kdc: KdcClient,
    /// The TGT first, then service tickets, newest last.
    tickets: Mutex<Vec<Credential>>,
}

impl core::fmt::Debug for InitiatorCredentials {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let source = match self.source {
            Source::Password(_) => "password",
            Source::Keytab(_) => "keytab",
            Source::Cache(_) => "credential cache",
            Source::Given => "tickets given",
        };
        f.debug_struct("InitiatorCredentials")
            .field("client", &self.client.to_string())
            .field("source", &source)
            .finish_non_exhaustive()
    }
}

impl InitiatorCredentials {
    /// Credentials of `client` with its password; tickets come from `kdc`.
    pub fn with_password(client: Principal, password: Password, kdc: KdcClient) -> Self {
        Self::new(client, Source::Password(password), kdc, Vec::new())
    }

    /// Credentials holding `tickets` and nothing to get more with (no secret, no cache): for a
    /// caller that obtained its tickets elsewhere, and for tests. Asking for a ticket they do
    /// not hold (or that expired) is [`Error::UnknownCredentials`].
    pub fn with_tickets(client: Principal, tickets: Vec<Credential>, kdc: KdcClient) -> Self {
        Self::new(client, Source::Given, kdc, tickets)
    }

    /// Credentials of `client` with its keys in `keytab` (a client keytab, as `kinit -k`
    /// uses).
    ///
    /// # Errors
    /// [`Error::Keytab`] if the keytab holds no key of `client`.
    pub fn with_keytab(client: Principal, keytab: Keytab, kdc: KdcClient) -> Result<Self> {
        let has_key = keytab.entries.iter().any(|e| {
            e.principal.realm == client.realm
                && e.principal.name.components == client.name.components
        });
        if !has_key {
            return Err(Error::Keytab(format!("the keytab has no key for {client}")));
        }
        Ok(Self::new(client, Source::Keytab(keytab), kdc, Vec::new()))
    }

    /// Credentials of the user whose TGT is in the FILE credential cache at `path` (its
    /// default principal); its other tickets are used too.
    ///
    /// # Errors
    /// [`Error::CredentialCache`] if the cache cannot be read.
    pub fn from_ccache(path: &Path, kdc: KdcClient) -> Result<Self> {
        let cache = CredentialCache::read(path)?;
        let tickets =
            cache.credentials.into_iter().filter(|c| !ccache::is_config_entry(c)).collect();
        Ok(Self::new(cache.default_principal, Source::Cache(path.to_owned()), kdc, tickets))
    }

    /// [`InitiatorCredentials::from_ccache`] for the default cache: `KRB5CCNAME` (`FILE:` or a
    /// path), else `/tmp/krb5cc_<uid>`.
    ///
    /// # Errors
    /// [`Error::CredentialCache`]: no usable default cache (`DIR:`, `KEYRING:` and other
    /// types are refused, naming the type), or it cannot be read.
    pub fn from_default_ccache(kdc: KdcClient) -> Result<Self> {
        Self::from_default_ccache_with(|name| std::env::var(name).ok(), kdc)
    }

    /// [`InitiatorCredentials::from_default_ccache`] with the environment read through
    /// `lookup`.
    ///
    /// # Errors
    /// As [`InitiatorCredentials::from_default_ccache`].
    pub fn from_default_ccache_with(
        lookup: impl Fn(&str) -> Option<String>,
        kdc: KdcClient,
    ) -> Result<Self> {
        let path = ccache::default_ccache_path_from(lookup, ccache::current_uid())?;
        Self::from_ccache(&path, kdc)
    }

    fn new(client: Principal, source: Source, kdc: KdcClient, tickets: Vec<Credential>) -> Self {
        Self { client, source, kdc, tickets: Mutex::new(tickets) }
    }

    /// The client principal.
    pub fn client(&self) -> &Principal {
        &self.client
    }

    /// The KDC client the credentials get tickets with.
    pub fn kdc(&self) -> &KdcClient {
        &self.kdc
    }

    fn now(&self) -> u32 {
        u32::try_from(self.kdc.unix_time()).unwrap_or(u32::MAX)
    }

    fn valid(&self, ticket: &Credential, now: u32) -> bool {
        let starts = if ticket.start_time == 0 { ticket.auth_time } else { ticket.start_time };
        starts <= now.saturating_add(EXPIRY_MARGIN_SECS) // clock skew: accept a little early
            && now.saturating_add(EXPIRY_MARGIN_SECS) < ticket.end_time
    }

    fn cached(&self, server: &Principal) -> Option<Credential> {
        let now = self.now();
        let tickets = self.tickets.lock().unwrap_or_else(|e| e.into_inner());
        tickets
            .iter()
            .rev()
            .find(|t| t.client == self.client && same_name(&t.server, server) && self.valid(t, now))
            .cloned()
    }

    fn remember(&self, ticket: &Credential) {
        let mut tickets = self.tickets.lock().unwrap_or_else(|e| e.into_inner());
        tickets.retain(|t| !(t.client == ticket.client && same_name(&t.server, &ticket.server)));
        tickets.push(ticket.clone());
    }

    /// A valid ticket-granting ticket for the client's realm: the one in memory, else a new
    /// one from the password or keytab (or, for cache credentials, the cache's, read again in
    /// case the user ran `kinit` since).
    ///
    /// # Errors
    /// [`Error::Kdc`] (wrong password: `SEC_E_LOGON_DENIED`, ...), [`Error::NoAuthority`] when
    /// no KDC answers in time, [`Error::CredentialCache`] when a cache holds no valid TGT.
    pub fn tgt(&self) -> Result<Credential> {
        let krbtgt = Principal::krbtgt(&self.client.realm);
        if let Some(tgt) = self.cached(&krbtgt) {
            return Ok(tgt);
        }
        let tgt = match &self.source {
            Source::Password(password) => self.kdc.tgt_with_password(&self.client, password)?,
            Source::Keytab(keytab) => self.kdc.tgt_with_keytab(&self.client, keytab)?,
            Source::Cache(path) => self.kdc.tgt_from_ccache(&CredentialCache::read(path)?)?,
            Source::Given => {
                return Err(Error::UnknownCredentials(
                    "these credentials hold only the tickets they were given",
                ));
            }
        };
        self.remember(&tgt);
        Ok(tgt)
    }

    /// A valid service ticket for `service` (`HTTP/web.example.test`,
    /// `HTTP@web.example.test` or a full principal): the one in memory, else one from a TGS
    /// exchange with the TGT.
    ///
    /// # Errors
    /// As [`InitiatorCredentials::tgt`]; [`Error::TargetUnknown`] if the KDC does not know
    /// the service; [`Error::InvalidParameter`] for a malformed name.
    pub fn service_ticket(&self, service: &str) -> Result<Credential> {
        let principal = self.kdc.service_principal(service, &self.client.realm)?;
        if let Some(ticket) = self.cached(&principal) {
            return Ok(ticket);
        }
        let tgt = self.tgt()?;
        let ticket = self.kdc.service_ticket_for(&tgt, &principal)?;
        self.remember(&ticket);
        Ok(ticket)
    }

    /// A forwarded TGT to delegate, if the TGT is forwardable (`None` if it is not: the
    /// context then delegates nothing, as Windows and MIT do). Not kept: each delegation asks
    /// for its own.
    ///
    /// # Errors
    /// As [`InitiatorCredentials::tgt`].
    pub fn forwarded_tgt(&self) -> Result<Option<Credential>> {
        const FORWARDABLE: u32 = 1 << (31 - 1);
        let tgt = self.tgt()?;
        if tgt.ticket_flags & FORWARDABLE == 0 {
            return Ok(None);
        }
        self.kdc.forwarded_tgt(&tgt).map(Some)
    }

    /// The tickets obtained (or read from the cache) so far.
    pub fn tickets(&self) -> Vec<Credential> {
        self.tickets.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Writes the tickets into the FILE credential cache at `path` (version 4, as `kinit`
    /// writes; replaced atomically, owner-only permissions), for MIT's tools and other
    /// processes.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] with no ticket yet; [`Error::CredentialCache`] if the file
    /// cannot be written.
    pub fn store_in_ccache(&self, path: &Path) -> Result<()> {
        store_in_ccache(path, &self.tickets())
    }
}

/// Principal names compared as the KDC does: realm and components (the name type is advisory,
/// RFC 4120 section 6.2).
fn same_name(a: &Principal, b: &Principal) -> bool {
    a.realm == b.realm && a.name.components == b.name.components
}

/// Kerberos acceptor credentials: the service's keys (a keytab) and the replay cache that every
/// context accepted with them shares (what `AcceptCredentialsHandle` for Kerberos inbound
/// returns).
///
/// With a `service` principal, a ticket is accepted only if it names exactly that service
/// (realm and components): a ticket for another service whose key happens to be in the same
/// keytab, or is the same key, is refused with `SEC_E_WRONG_PRINCIPAL`. Without one, any
/// service in the keytab is accepted (MIT's `GSS_C_NO_NAME` acceptor).
pub struct AcceptorCredentials {
    keytab: super::keytab::Keytab,
    service: Option<Principal>,
    replay: super::replay::ReplayCache,
}

impl core::fmt::Debug for AcceptorCredentials {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("AcceptorCredentials")
            .field("service", &self.service.as_ref().map(ToString::to_string))
            .field("keys", &self.keytab.entries.len())
            .finish_non_exhaustive()
    }
}

impl AcceptorCredentials {
    /// Credentials with the keys of `keytab`, for `service` (or any service in it).
    ///
    /// # Errors
    /// [`Error::Keytab`] if the keytab holds no key (of `service`, when given).
    pub fn new(keytab: Keytab, service: Option<Principal>) -> Result<Self> {
        let has_key = match &service {
            Some(s) => keytab.find(s, None, None).is_some(),
            None => !keytab.entries.is_empty(),
        };
        if !has_key {
            return Err(Error::Keytab(match &service {
                Some(s) => format!("the keytab has no key for {s}"),
                None => "the keytab holds no key".to_owned(),
            }));
        }
        Ok(Self { keytab, service, replay: super::replay::ReplayCache::default() })
    }

    /// Replaces the replay cache by one of at most `capacity` live entries.
    #[must_use]
    pub fn with_replay_capacity(mut self, capacity: usize) -> Self {
        self.replay = super::replay::ReplayCache::new(capacity);
        self
    }

    /// Replaces the replay cache by the file at `path`, shared with every process (and every
    /// credential) that uses the same file: an authenticator accepted through one is refused
    /// as a replay by all (the format and its checks: [`super::replay`]). Created if missing.
    ///
    /// # Errors
    /// As [`super::replay::ReplayCache::file`].
    pub fn with_replay_file(mut self, path: impl AsRef<std::path::Path>) -> Result<Self> {
        self.replay = super::replay::ReplayCache::file(path)?;
        Ok(self)
    }

    /// The service these credentials accept for, if restricted to one.
    pub fn service(&self) -> Option<&Principal> {
        self.service.as_ref()
    }

    /// The replay cache shared by every context of these credentials.
    pub fn replay_cache(&self) -> &super::replay::ReplayCache {
        &self.replay
    }

    /// The key that decrypts a ticket for `sname`, of key version `kvno` and type `etype`.
    ///
    /// # Errors
    /// [`Error::WrongPrincipal`] if `sname` is not the service these credentials are for;
    /// [`Error::UnknownCredentials`] if the keytab has no such key.
    pub fn service_key(
        &self,
        sname: &Principal,
        kvno: Option<u32>,
        etype: super::EncType,
    ) -> Result<super::Key> {
        if let Some(service) = &self.service
            && !same_name(service, sname)
        {
            return Err(Error::WrongPrincipal);
        }
        self.keytab.find(sname, kvno, Some(etype)).map(|e| e.key.clone()).ok_or(
            Error::UnknownCredentials(
                "no key in the keytab for the ticket's service, key version and type",
            ),
        )
    }
}
