//! The idiomatic layer: credentials, one [`SecurityContext`] type over the packages, and
//! message security.
//!
//! ```
//! use sspi_emu::{AcceptorOptions, Credentials, InitiatorOptions, Password, SecurityContext};
//! use sspi_emu::flags::{AscReq, IscReq};
//! use sspi_emu::ntlm::users::MemoryUserStore;
//!
//! let mut users = MemoryUserStore::new();
//! users.add_password("EXAMPLE", "alice", &Password::new("s3cret"));
//! let server_creds = Credentials::acceptor(users);
//! let client_creds = Credentials::initiator("alice", "EXAMPLE", Password::new("s3cret"));
//!
//! let mut client = SecurityContext::initiator(
//!     &client_creds,
//!     InitiatorOptions::new().flags(IscReq::CONFIDENTIALITY | IscReq::INTEGRITY),
//! )?;
//! let mut server = SecurityContext::acceptor(
//!     &server_creds,
//!     AcceptorOptions::new().flags(AscReq::CONFIDENTIALITY),
//! )?;
//! let negotiate = client.step(None)?;
//! let challenge = server.step(Some(&negotiate.token))?;
//! let authenticate = client.step(Some(&challenge.token))?;
//! let done = server.step(Some(&authenticate.token))?;
//! assert!(done.complete && server.is_established());
//! assert_eq!(server.client_name()?, "EXAMPLE\\alice");
//!
//! let token = client.wrap(b"hello")?;
//! assert_eq!(server.unwrap(&token)?, b"hello");
//! # Ok::<(), sspi_emu::Error>(())
//! ```

use crate::bindings::ChannelBindings;
use crate::crypto::{Key16, NtHash, Password};
use crate::env::{Environment, FileTime};
use crate::error::{Error, Result};
use crate::export::{self, ClientIdentity, ExportOptions, Exported, PackageId, Protection};
use crate::flags::{AscReq, IscReq};
use crate::kerberos::context::{
    AcceptorConfig as KerberosAcceptorConfig, InitiatorConfig as KerberosInitiatorConfig,
    KerberosContext,
};
use crate::kerberos::export::ImportCredentials as KerberosImportCredentials;
use crate::kerberos::{self, Principal, transport::KdcClient};
use crate::ntlm::client::{Client, ClientConfig, ClientSecret};
use crate::ntlm::flags::NegotiateFlags;
use crate::ntlm::server::{Announced, Server, ServerConfig, default_names};
use crate::ntlm::session::{MessageParts, Part, SIGNATURE_SIZE};
use crate::ntlm::users::UserStore;
use crate::ntlm::{self, Identity, NtlmContext, OemCodePage, Role, ServerNames, Version};
pub use crate::package::{Package, PackageInfo, Sizes};
use std::sync::Arc;
use std::time::Duration;

/// Credentials: who an initiator is, or how an acceptor checks who its clients are.
#[derive(Clone)]
pub struct Credentials {
    kind: CredentialKind,
}

/// One variant per package and role: credentials of any package go through the same
/// `AcquireCredentialsHandle` and context calls, and the context takes its package from them.
#[derive(Clone)]
enum CredentialKind {
    NtlmInitiator(Arc<ClientSecret>),
    NtlmAcceptor(Arc<dyn UserStore>),
    KerberosInitiator(Arc<kerberos::credentials::InitiatorCredentials>),
    KerberosAcceptor(Arc<kerberos::credentials::AcceptorCredentials>),
}

impl Credentials {
    /// Initiator credentials from a user name, a domain and a password.
    pub fn initiator(user: &str, domain: &str, password: Password) -> Self {
        Self::initiator_with_nt_hash(user, domain, NtHash::from_password(password.as_str()))
    }

    /// Initiator credentials from a user name, a domain and the NT hash of the password.
    pub fn initiator_with_nt_hash(user: &str, domain: &str, nt_hash: NtHash) -> Self {
        Self {
            kind: CredentialKind::NtlmInitiator(ClientSecret::new(
                user.to_owned(),
                domain.to_owned(),
                nt_hash,
            )),
        }
    }

    /// Acceptor credentials: a user store (a [`ntlm::users::MemoryUserStore`], possibly
    /// loaded from a file, or any `Fn(user, domain) -> Option<NtHash>`).
    pub fn acceptor(users: impl UserStore + 'static) -> Self {
        Self { kind: CredentialKind::NtlmAcceptor(Arc::new(users)) }
    }

    /// Kerberos initiator credentials (see [`kerberos::credentials`]): a password, a client
    /// keytab, or a credential cache, with the KDC client that gets their tickets.
    pub fn kerberos(credentials: kerberos::credentials::InitiatorCredentials) -> Self {
        Self { kind: CredentialKind::KerberosInitiator(Arc::new(credentials)) }
    }

    /// Kerberos initiator credentials of `principal` (`alice`, in the default realm, or
    /// `alice@EXAMPLE.TEST`) with a password, getting tickets from the KDCs that `krb5.conf`
    /// (`KRB5_CONFIG`, else `/etc/krb5.conf`) names. No KDC is contacted until a ticket is
    /// needed.
    ///
    /// # Errors
    /// [`Error::Krb5Config`] (`SEC_E_NO_AUTHORITY`) if `krb5.conf` cannot be read;
    /// [`Error::InvalidParameter`] for a malformed name, or no realm.
    pub fn kerberos_with_password(principal: &str, password: Password) -> Result<Self> {
        let kdc = KdcClient::from_default_config()?;
        let client = Principal::parse(principal, kdc.default_realm())?;
        Ok(Self::kerberos(kerberos::credentials::InitiatorCredentials::with_password(
            client, password, kdc,
        )))
    }

    /// Kerberos initiator credentials of `principal` with its keys in a client keytab (the
    /// file at `keytab`, else `KRB5_CLIENT_KTNAME`, else `KRB5_KTNAME`, else
    /// `/etc/krb5.keytab`), as `kinit -k` does; KDCs from `krb5.conf`.
    ///
    /// # Errors
    /// As [`Credentials::kerberos_with_password`]; [`Error::Keytab`]
    /// (`SEC_E_NO_CREDENTIALS`) if the keytab cannot be read or holds no key of `principal`.
    pub fn kerberos_with_keytab(principal: &str, keytab: Option<&std::path::Path>) -> Result<Self> {
        let kdc = KdcClient::from_default_config()?;
        let client = Principal::parse(principal, kdc.default_realm())?;
        let path = match keytab {
            Some(path) => path.to_owned(),
            None => kerberos::keytab::default_client_keytab_path()?,
        };
        let keytab = kerberos::keytab::Keytab::read(&path)?;
        Ok(Self::kerberos(kerberos::credentials::InitiatorCredentials::with_keytab(
            client, keytab, kdc,
        )?))
    }

    /// Kerberos initiator credentials with no secret: the user whose ticket-granting ticket
    /// is in the default credential cache (`KRB5CCNAME`, `FILE:` or a path, else
    /// `/tmp/krb5cc_<uid>`). A user who ran `kinit` is signed in, as a Windows user is by
    /// logon. KDCs from `krb5.conf` (for service tickets).
    ///
    /// # Errors
    /// [`Error::CredentialCache`] (`SEC_E_NO_CREDENTIALS`) if there is no usable default
    /// cache; as [`Credentials::kerberos_with_password`] for `krb5.conf`.
    pub fn kerberos_from_default_ccache() -> Result<Self> {
        let kdc = KdcClient::from_default_config()?;
        Ok(Self::kerberos(kerberos::credentials::InitiatorCredentials::from_default_ccache(kdc)?))
    }

    /// Kerberos acceptor credentials (see [`kerberos::credentials::AcceptorCredentials`]):
    /// a service's keys and the replay cache its contexts share.
    pub fn kerberos_acceptor(credentials: kerberos::credentials::AcceptorCredentials) -> Self {
        Self { kind: CredentialKind::KerberosAcceptor(Arc::new(credentials)) }
    }

    /// Kerberos acceptor credentials from a keytab file (`keytab`, else `KRB5_KTNAME`, else
    /// `/etc/krb5.keytab`), for the service `service` (`HTTP/web.example.test`, with
    /// `@REALM` or in `krb5.conf`'s default realm), or for any service in the keytab
    /// (`None`).
    ///
    /// # Errors
    /// [`Error::Keytab`] (`SEC_E_NO_CREDENTIALS`) if the keytab cannot be read or holds no
    /// key of `service`; [`Error::InvalidParameter`] for a malformed name or no realm.
    pub fn kerberos_acceptor_from_keytab(
        service: Option<&str>,
        keytab: Option<&std::path::Path>,
    ) -> Result<Self> {
        let path = match keytab {
            Some(path) => path.to_owned(),
            None => kerberos::keytab::default_keytab_path()?,
        };
        let keytab = kerberos::keytab::Keytab::read(&path)?;
        let service = match service {
            Some(name) if name.contains('@') => Some(Principal::parse(name, None)?),
            Some(name) => {
                let config = kerberos::config::Krb5Config::load_default().ok();
                Some(Principal::parse(name, config.as_ref().and_then(|c| c.default_realm()))?)
            }
            None => None,
        };
        Ok(Self::kerberos_acceptor(kerberos::credentials::AcceptorCredentials::new(
            keytab, service,
        )?))
    }

    /// The Kerberos initiator credentials, if these are.
    pub fn as_kerberos(&self) -> Option<&kerberos::credentials::InitiatorCredentials> {
        match &self.kind {
            CredentialKind::KerberosInitiator(k) => Some(k),
            _ => None,
        }
    }

    pub(crate) fn user_store(&self) -> Option<Arc<dyn UserStore>> {
        match &self.kind {
            CredentialKind::NtlmAcceptor(users) => Some(Arc::clone(users)),
            CredentialKind::NtlmInitiator(_)
            | CredentialKind::KerberosInitiator(_)
            | CredentialKind::KerberosAcceptor(_) => None,
        }
    }

    /// The package these credentials are for.
    pub fn package(&self) -> Package {
        match self.kind {
            CredentialKind::NtlmInitiator(_) | CredentialKind::NtlmAcceptor(_) => Package::Ntlm,
            CredentialKind::KerberosInitiator(_) | CredentialKind::KerberosAcceptor(_) => {
                Package::Kerberos
            }
        }
    }

    /// Whether these are initiator credentials.
    pub fn is_initiator(&self) -> bool {
        matches!(self.kind, CredentialKind::NtlmInitiator(_) | CredentialKind::KerberosInitiator(_))
    }

    /// The initiator's name, if these are initiator credentials: `DOMAIN\user` for NTLM,
    /// `user@REALM` for Kerberos.
    pub fn user_name(&self) -> Option<String> {
        match &self.kind {
            CredentialKind::NtlmInitiator(who) => {
                Some(ntlm::down_level_name(&who.domain, &who.user))
            }
            CredentialKind::KerberosInitiator(k) => Some(k.client().to_string()),
            CredentialKind::NtlmAcceptor(_) | CredentialKind::KerberosAcceptor(_) => None,
        }
    }
}

impl core::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match &self.kind {
            CredentialKind::NtlmInitiator(who) => f
                .debug_struct("Credentials::Initiator")
                .field("user", &who.user)
                .field("domain", &who.domain)
                .finish_non_exhaustive(),
            CredentialKind::NtlmAcceptor(_) => f.write_str("Credentials::Acceptor"),
            CredentialKind::KerberosInitiator(k) => {
                f.debug_tuple("Credentials::Kerberos").field(k).finish()
            }
            CredentialKind::KerberosAcceptor(k) => {
                f.debug_tuple("Credentials::KerberosAcceptor").field(k).finish()
            }
        }
    }
}

/// Options of an initiator context.
#[derive(Debug, Clone)]
pub struct InitiatorOptions {
    flags: IscReq,
    target_name: Option<String>,
    channel_bindings: Option<ChannelBindings>,
    workstation: String,
    version: Option<Version>,
    oem_code_page: OemCodePage,
    env: Environment,
}

impl Default for InitiatorOptions {
    fn default() -> Self {
        Self {
            flags: IscReq::EMPTY,
            target_name: None,
            channel_bindings: None,
            workstation: String::new(),
            version: Some(ntlm::DEFAULT_VERSION),
            oem_code_page: OemCodePage::default(),
            env: Environment::system(),
        }
    }
}

impl InitiatorOptions {
    /// Defaults: no flags, no target name, no channel bindings, system randomness and clock.
    pub fn new() -> Self {
        Self::default()
    }

    /// The `ISC_REQ_*` flags.
    pub fn flags(mut self, flags: IscReq) -> Self {
        self.flags = flags;
        self
    }

    /// The service principal name, e.g. `HTTP/www.example.com`, sent as `MsvAvTargetName`.
    pub fn target_name(mut self, spn: impl Into<String>) -> Self {
        self.target_name = Some(spn.into());
        self
    }

    /// Channel bindings, sent as `MsvAvChannelBindings`.
    pub fn channel_bindings(mut self, bindings: ChannelBindings) -> Self {
        self.channel_bindings = Some(bindings);
        self
    }

    /// The workstation name sent in AUTHENTICATE (empty by default).
    pub fn workstation(mut self, name: impl Into<String>) -> Self {
        self.workstation = name.into();
        self
    }

    /// The VERSION announced (`None` to send none).
    pub fn version(mut self, version: Option<Version>) -> Self {
        self.version = version;
        self
    }

    /// The code page of the names sent to a server that answers in OEM rather than Unicode
    /// (437 by default; see [`OemCodePage`]). The initiator offers Unicode, which every
    /// current server chooses.
    pub fn oem_code_page(mut self, code_page: OemCodePage) -> Self {
        self.oem_code_page = code_page;
        self
    }

    /// Randomness and clock (see [`Environment::deterministic`] for tests).
    pub fn environment(mut self, env: Environment) -> Self {
        self.env = env;
        self
    }
}

/// Options of an acceptor context.
#[derive(Debug, Clone)]
pub struct AcceptorOptions {
    flags: AscReq,
    names: Arc<Announced>,
    channel_bindings: Option<ChannelBindings>,
    accepted_targets: Vec<String>,
    max_clock_skew: Duration,
    version: Option<Version>,
    require_mic: bool,
    oem_code_page: OemCodePage,
    env: Environment,
}

impl Default for AcceptorOptions {
    fn default() -> Self {
        Self {
            flags: AscReq::EMPTY,
            names: default_names(),
            channel_bindings: None,
            accepted_targets: Vec::new(),
            max_clock_skew: Self::DEFAULT_MAX_CLOCK_SKEW,
            version: Some(ntlm::DEFAULT_VERSION),
            require_mic: false,
            oem_code_page: OemCodePage::default(),
            env: Environment::system(),
        }
    }
}

impl AcceptorOptions {
    /// How far the client's NTLMv2 timestamp may be from the server's clock by default.
    pub const DEFAULT_MAX_CLOCK_SKEW: Duration = Duration::from_secs(5 * 60);

    /// Defaults: no flags, names `SERVER` / `WORKGROUP`, no bindings, any target name, a
    /// five-minute clock window, a MIC required only when the client announces one, OEM
    /// names read as code page 437.
    pub fn new() -> Self {
        Self::default()
    }

    /// The `ASC_REQ_*` flags.
    pub fn flags(mut self, flags: AscReq) -> Self {
        self.flags = flags;
        self
    }

    /// The names announced in the CHALLENGE.
    pub fn names(mut self, names: ServerNames) -> Self {
        self.names = Arc::new(Announced::new(names));
        self
    }

    /// Require the client's channel bindings to equal these (`SEC_E_BAD_BINDINGS`
    /// otherwise, including when the client sends none).
    pub fn channel_bindings(mut self, bindings: ChannelBindings) -> Self {
        self.channel_bindings = Some(bindings);
        self
    }

    /// Require the client's `MsvAvTargetName` to be one of these (compared ignoring ASCII
    /// case; `SEC_E_WRONG_PRINCIPAL` otherwise, including when the client sends none).
    pub fn accepted_target_names(mut self, names: impl IntoIterator<Item = String>) -> Self {
        self.accepted_targets = names.into_iter().collect();
        self
    }

    /// How far the client's timestamp may be from the server's clock.
    pub fn max_clock_skew(mut self, skew: Duration) -> Self {
        self.max_clock_skew = skew;
        self
    }

    /// The VERSION announced (`None` to send none).
    pub fn version(mut self, version: Option<Version>) -> Self {
        self.version = version;
        self
    }

    /// Require a MIC from every client (`SEC_E_INVALID_TOKEN` for an AUTHENTICATE whose
    /// NTLMv2 blob does not announce one). Off by default, as on Windows: curl and other
    /// authentication-only clients send no MIC. A MIC that a client announces is always
    /// required and checked, whatever this says.
    ///
    /// Without it, a client that sends no MIC must at least hand back the timestamp of this
    /// acceptor's CHALLENGE in its blob (curl and gss-ntlmssp do), so an attacker cannot
    /// hide the timestamp to make a MIC-sending client send none. What stays open is the
    /// logon of a client that never sends a MIC: its NEGOTIATE and CHALLENGE flags are
    /// not covered, so an attacker in the middle can change them unseen (never the
    /// password proof, nor anything this acceptor itself requires). Turn it on for servers
    /// whose clients are all current Windows, Samba, macOS or browsers (they always send
    /// one). See [`crate::manual`].
    pub fn require_mic(mut self, require: bool) -> Self {
        self.require_mic = require;
        self
    }

    /// The code page of the names of clients that do not use Unicode (437 by default; see
    /// [`OemCodePage`]).
    pub fn oem_code_page(mut self, code_page: OemCodePage) -> Self {
        self.oem_code_page = code_page;
        self
    }

    /// Randomness and clock.
    pub fn environment(mut self, env: Environment) -> Self {
        self.env = env;
        self
    }
}

/// The result of one handshake step.
#[derive(Debug)]
pub struct Step {
    /// The token to send to the peer (may be empty: NTLM's acceptor sends nothing after
    /// AUTHENTICATE).
    pub token: Vec<u8>,
    /// `true` when the context is established (`SEC_E_OK`), `false` when another leg is
    /// needed (`SEC_I_CONTINUE_NEEDED`).
    pub complete: bool,
}

/// A signature (`MakeSignature`) or security trailer (`EncryptMessage`), held inline: no
/// allocation. 16 bytes for NTLM; an RFC 4121 MIC token or the header part of a Wrap token
/// for Kerberos. Dereferences to its bytes.
#[derive(Clone, Copy)]
pub struct Signature {
    bytes: [u8; kerberos::context::MAX_SIGNATURE],
    len: usize,
}

impl Signature {
    fn empty() -> Self {
        Self { bytes: [0; kerberos::context::MAX_SIGNATURE], len: 0 }
    }

    /// A copy of `bytes` (a received signature or token buffer).
    ///
    /// # Errors
    /// [`Error::InvalidToken`] if it is longer than any signature.
    pub(crate) fn copy_of(bytes: &[u8]) -> Result<Self> {
        let mut s = Self::empty();
        s.bytes
            .get_mut(..bytes.len())
            .ok_or(Error::InvalidToken("signature buffer longer than any signature"))?
            .copy_from_slice(bytes);
        s.len = bytes.len();
        Ok(s)
    }

    fn set_len(&mut self, len: usize) -> Result<()> {
        if len > self.bytes.len() {
            return Err(Error::InvalidParameter("signature longer than its buffer"));
        }
        self.len = len;
        Ok(())
    }
}

impl From<[u8; SIGNATURE_SIZE]> for Signature {
    fn from(sig: [u8; SIGNATURE_SIZE]) -> Self {
        let mut s = Self::empty();
        s.bytes[..SIGNATURE_SIZE].copy_from_slice(&sig);
        s.len = SIGNATURE_SIZE;
        s
    }
}

impl core::ops::Deref for Signature {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        self.bytes.get(..self.len).unwrap_or_default()
    }
}

impl AsRef<[u8]> for Signature {
    fn as_ref(&self) -> &[u8] {
        self
    }
}

impl PartialEq for Signature {
    fn eq(&self, other: &Self) -> bool {
        **self == **other
    }
}

impl Eq for Signature {}

impl<const N: usize> PartialEq<[u8; N]> for Signature {
    fn eq(&self, other: &[u8; N]) -> bool {
        **self == other[..]
    }
}

impl core::fmt::Debug for Signature {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "Signature(")?;
        for b in self.iter() {
            write!(f, "{b:02x}")?;
        }
        write!(f, ")")
    }
}

/// `cbMaxToken` of the NTLM package (see [`PackageInfo::max_token`] for every package).
pub const MAX_TOKEN_SIZE: usize = ntlm::MAX_TOKEN_SIZE;

/// Options of [`SecurityContext::import`].
#[derive(Debug, Clone, Default)]
pub struct ImportOptions {
    pub(crate) protection: Protection,
    pub(crate) credentials: Option<Credentials>,
    pub(crate) env: Option<Environment>,
    pub(crate) identity: Option<ClientIdentity>,
}

impl ImportOptions {
    /// Defaults: the per-host key, no credentials, the system environment.
    pub fn new() -> Self {
        Self::default()
    }

    /// How the blob is protected.
    pub fn protection(mut self, protection: Protection) -> Self {
        self.protection = protection;
        self
    }

    /// The acceptor's credentials (its user store): required to import an acceptor that has
    /// not finished its handshake, since the store itself does not travel in the blob.
    pub fn credentials(mut self, credentials: Credentials) -> Self {
        self.credentials = Some(credentials);
        self
    }

    /// Randomness and clock of the imported context.
    pub fn environment(mut self, env: Environment) -> Self {
        self.env = Some(env);
        self
    }

    /// The identity (the "token") the exporter handed over: the import fails with
    /// `SEC_E_WRONG_PRINCIPAL` unless the blob is an established context of that identity.
    pub fn identity(mut self, identity: ClientIdentity) -> Self {
        self.identity = Some(identity);
        self
    }
}

/// What a Kerberos context answers to an NTLM-only call.
const NOT_FOR_KERBEROS: Error = Error::NotSupported("an NTLM-only call on a Kerberos context");
/// A query that needs the established Kerberos context.
const KERBEROS_NOT_ESTABLISHED: Error =
    Error::WrongState("the Kerberos handshake has not completed");

/// A security context of any package, initiator or acceptor.
///
/// This is the package seam: one variant per package whose contexts exist, and every call
/// dispatches to the package with one `match`. A package adds a variant and an arm here; it
/// never needs the others' states, and `api` never reaches into its states.
pub struct SecurityContext {
    inner: Inner,
}

// `Deleted` is a tombstone; boxing the live variant would cost an allocation per context.
#[allow(clippy::large_enum_variant)]
enum Inner {
    Ntlm(NtlmContext),
    Kerberos(KerberosContext),
    /// Exported with `SECPKG_CONTEXT_EXPORT_DELETE_OLD`: every call is `SEC_E_INVALID_HANDLE`
    /// (it still knows its package).
    Deleted(Package),
}

/// Dispatches to the live package context: `$call` with the NTLM context bound to `$ctx`,
/// `$kcall` with the Kerberos one bound to `$k` (without it, the call is NTLM-only); a deleted
/// context is `SEC_E_INVALID_HANDLE`.
macro_rules! dispatch {
    ($self:expr, $ctx:ident => $call:expr) => {
        dispatch!($self, $ctx => $call, _k => Err(NOT_FOR_KERBEROS))
    };
    ($self:expr, $ctx:ident => $call:expr, $k:ident => $kcall:expr) => {
        match $self {
            Inner::Ntlm($ctx) => $call,
            Inner::Kerberos($k) => $kcall,
            Inner::Deleted(_) => Err(Error::InvalidHandle),
        }
    };
}

impl core::fmt::Debug for SecurityContext {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("SecurityContext")
            .field("package", &self.package_name())
            .field("initiator", &self.is_initiator())
            .field("established", &self.is_established())
            .finish_non_exhaustive()
    }
}

impl SecurityContext {
    /// A new initiator context of the credentials' package.
    ///
    /// # Errors
    /// [`Error::UnknownCredentials`] (`SEC_E_UNKNOWN_CREDENTIALS`) for acceptor credentials;
    /// [`Error::NotSupported`] (`SEC_E_UNSUPPORTED_FUNCTION`) for datagram or anonymous, and
    /// for a package whose contexts this build does not have.
    pub fn initiator(credentials: &Credentials, options: InitiatorOptions) -> Result<Self> {
        let secret = match &credentials.kind {
            CredentialKind::NtlmInitiator(secret) => secret,
            CredentialKind::NtlmAcceptor(_) => {
                return Err(Error::UnknownCredentials("acceptor credentials cannot initiate"));
            }
            CredentialKind::KerberosInitiator(credentials) => {
                let config = KerberosInitiatorConfig {
                    credentials: Some(Arc::clone(credentials)),
                    target: options.target_name,
                    requested: options.flags,
                    bindings: options.channel_bindings,
                    env: options.env,
                };
                let inner = Inner::Kerberos(KerberosContext::initiator(config)?);
                return Ok(Self { inner });
            }
            CredentialKind::KerberosAcceptor(_) => {
                return Err(Error::UnknownCredentials("acceptor credentials cannot initiate"));
            }
        };
        let config = ClientConfig {
            secret: Arc::clone(secret),
            workstation: options.workstation,
            version: options.version,
            target_name: options.target_name,
            channel_bindings: options.channel_bindings,
            requested: options.flags,
            oem_code_page: options.oem_code_page,
            env: options.env,
        };
        let role = Role::Client(Client::new(config)?);
        Ok(Self { inner: Inner::Ntlm(NtlmContext { role }) })
    }

    /// A new acceptor context of the credentials' package.
    ///
    /// # Errors
    /// [`Error::UnknownCredentials`] (`SEC_E_UNKNOWN_CREDENTIALS`) for initiator credentials;
    /// [`Error::NotSupported`] (`SEC_E_UNSUPPORTED_FUNCTION`) for datagram, and for a package
    /// whose contexts this build does not have.
    pub fn acceptor(credentials: &Credentials, options: AcceptorOptions) -> Result<Self> {
        let users = match &credentials.kind {
            CredentialKind::NtlmAcceptor(users) => users,
            CredentialKind::NtlmInitiator(_) | CredentialKind::KerberosInitiator(_) => {
                return Err(Error::UnknownCredentials("initiator credentials cannot accept"));
            }
            CredentialKind::KerberosAcceptor(credentials) => {
                let config = KerberosAcceptorConfig {
                    credentials: Some(Arc::clone(credentials)),
                    requested: options.flags,
                    bindings: options.channel_bindings,
                    max_skew: u32::try_from(options.max_clock_skew.as_secs()).unwrap_or(u32::MAX),
                    env: options.env,
                    service: None,
                };
                return Ok(Self { inner: Inner::Kerberos(KerberosContext::acceptor(config)?) });
            }
        };
        let config = ServerConfig {
            users: Arc::clone(users),
            names: options.names,
            version: options.version,
            requested: options.flags,
            channel_bindings: options.channel_bindings,
            accepted_targets: options.accepted_targets,
            max_clock_skew: options.max_clock_skew,
            require_mic: options.require_mic,
            oem_code_page: options.oem_code_page,
            env: options.env,
        };
        let role = Role::Server(Server::new(config)?);
        Ok(Self { inner: Inner::Ntlm(NtlmContext { role }) })
    }

    /// One handshake leg: `input` is the peer's last token (`None` on the initiator's first
    /// call). Any error ends the handshake: the context refuses every later step.
    ///
    /// # Errors
    /// `SEC_E_INVALID_TOKEN` for a malformed or unexpected token, `SEC_E_LOGON_DENIED` for a
    /// wrong password or unknown user, `SEC_E_MESSAGE_ALTERED` for a bad MIC,
    /// `SEC_E_TIME_SKEW`, `SEC_E_WRONG_PRINCIPAL`, `SEC_E_BAD_BINDINGS`, and
    /// `SEC_E_UNSUPPORTED_FUNCTION` for LM, NTLMv1 and other refused variants.
    pub fn step(&mut self, input: Option<&[u8]>) -> Result<Step> {
        match &mut self.inner {
            Inner::Ntlm(c) => {
                let out = c.step(input)?;
                Ok(Step { token: out.token, complete: out.complete })
            }
            Inner::Kerberos(k) => {
                let out = k.step(input)?;
                Ok(Step { token: out.token, complete: out.complete })
            }
            Inner::Deleted(_) => Err(Error::InvalidHandle),
        }
    }

    /// Sets channel bindings before the handshake leg that uses them (the initiator's
    /// AUTHENTICATE, the acceptor's check of it).
    ///
    /// # Errors
    /// `SEC_E_OUT_OF_SEQUENCE` once the handshake completed.
    pub fn set_channel_bindings(&mut self, bindings: ChannelBindings) -> Result<()> {
        dispatch!(&mut self.inner, c => c.set_channel_bindings(bindings), k => k.set_channel_bindings(bindings))
    }

    /// Whether the handshake completed.
    pub fn is_established(&self) -> bool {
        match &self.inner {
            Inner::Ntlm(c) => c.established().is_some(),
            Inner::Kerberos(k) => k.established().is_some(),
            Inner::Deleted(_) => false,
        }
    }

    /// Whether this is the initiator.
    pub fn is_initiator(&self) -> bool {
        match &self.inner {
            Inner::Ntlm(c) => c.is_client(),
            Inner::Kerberos(k) => k.is_initiator(),
            Inner::Deleted(_) => false,
        }
    }

    /// The package.
    pub fn package(&self) -> Package {
        match &self.inner {
            Inner::Ntlm(_) => Package::Ntlm,
            Inner::Kerberos(_) => Package::Kerberos,
            Inner::Deleted(package) => *package,
        }
    }

    /// The package name (`"NTLM"`).
    pub fn package_name(&self) -> &'static str {
        self.package().name()
    }

    /// `ExportSecurityContext`: packs this context, in whatever state it is, into a
    /// protected blob that [`SecurityContext::import`] brings back, in this or another
    /// process, producing byte-identical output to a context that never moved.
    ///
    /// `flags` are `SECPKG_CONTEXT_EXPORT_*` ([`crate::export`]): with `DELETE_OLD` this
    /// context is deleted (every later call is `SEC_E_INVALID_HANDLE`), without it both copies
    /// live on (as on Windows; they then share sequence numbers and keystreams, so only one of
    /// them should carry on the conversation). With `RESET_NEW` the blob holds the context
    /// as it was before its first token: same role, credentials and options, none of the
    /// handshake or its keys. The identity of an established context comes back with the
    /// blob, standing in for Windows' token (not with `RESET_NEW`). A context whose handshake
    /// failed can only be exported with `RESET_NEW`.
    ///
    /// # Errors
    /// `SEC_E_UNSUPPORTED_FUNCTION` (`SEC_E_NOT_SUPPORTED`) for `TO_KERNEL`,
    /// `SEC_E_INVALID_PARAMETER` for unknown flags, `SEC_E_INVALID_HANDLE` if this context
    /// was deleted by an earlier export, `SEC_E_OUT_OF_SEQUENCE` for a context whose
    /// handshake failed, `SEC_E_NO_CREDENTIALS` if the host key file cannot be used. On error
    /// the context is unchanged.
    pub fn export(&mut self, flags: u32, options: &ExportOptions) -> Result<Exported> {
        export::check_flags(flags)?;
        let reset = flags & export::SECPKG_CONTEXT_EXPORT_RESET_NEW != 0;
        let (packed, identity) =
            dispatch!(&self.inner, c => c.pack(reset, options), k => k.pack(reset, options))?;
        if flags & export::SECPKG_CONTEXT_EXPORT_DELETE_OLD != 0 {
            self.inner = Inner::Deleted(self.package());
        }
        Ok(Exported { packed, identity })
    }

    /// `ImportSecurityContext`: brings back a context packed by [`SecurityContext::export`],
    /// of whatever package the blob names (see [`SecurityContext::package`]).
    ///
    /// An acceptor exported before its handshake completed needs its credentials (user
    /// store) in `options`. Nothing is created unless every check passes.
    ///
    /// # Errors
    /// `SEC_E_INVALID_TOKEN` for a damaged blob ([`Error::CorruptContext`]);
    /// `SEC_E_DECRYPT_FAILURE` for a blob sealed with another key ([`Error::WrongKey`]);
    /// `SEC_E_UNSUPPORTED_FUNCTION` for a newer format ([`Error::UnsupportedVersion`]), a
    /// package whose contexts this build does not have, or an unprotected blob without the
    /// dangerous option; `SEC_E_UNKNOWN_CREDENTIALS` for missing or wrong credentials;
    /// `SEC_E_WRONG_PRINCIPAL` if the expected identity does not match.
    pub fn import(packed: &[u8], options: &ImportOptions) -> Result<Self> {
        let (package, version, body) = export::unpack(packed, &options.protection)?;
        let inner = match package {
            PackageId::Kerberos => {
                let credentials = match options.credentials.as_ref().map(|c| &c.kind) {
                    None => None,
                    Some(CredentialKind::KerberosInitiator(k)) => {
                        Some(KerberosImportCredentials::Initiator(Arc::clone(k)))
                    }
                    Some(CredentialKind::KerberosAcceptor(k)) => {
                        Some(KerberosImportCredentials::Acceptor(Arc::clone(k)))
                    }
                    Some(_) => {
                        return Err(Error::UnknownCredentials(
                            "credentials of another package for a Kerberos context",
                        ));
                    }
                };
                Inner::Kerberos(KerberosContext::unpack(
                    version,
                    &body,
                    options.env.clone(),
                    credentials,
                )?)
            }
            PackageId::Ntlm => {
                let users = options.credentials.as_ref().map(|c| {
                    c.user_store()
                        .ok_or(Error::UnknownCredentials("initiator credentials for an acceptor"))
                });
                Inner::Ntlm(NtlmContext::unpack(version, &body, options.env.clone(), users)?)
            }
        };
        let ctx = Self { inner };
        if let Some(expected) = &options.identity
            && ctx.client_identity().as_ref() != Some(expected)
        {
            return Err(Error::WrongPrincipal);
        }
        Ok(ctx)
    }

    /// The package of a packed context, read from its header without opening it (the header
    /// is authenticated only by [`SecurityContext::import`]). The `sspi::` layer checks
    /// Windows' package-name argument with it before anything is decrypted.
    ///
    /// # Errors
    /// As [`SecurityContext::import`] for a blob too large, without the magic, of a newer
    /// format, or naming an unknown package or one whose contexts this build does not have.
    pub fn package_of(packed: &[u8]) -> Result<Package> {
        Ok(match export::peek_package(packed)? {
            PackageId::Ntlm => Package::Ntlm,
            PackageId::Kerberos => Package::Kerberos,
        })
    }

    fn client_identity(&self) -> Option<ClientIdentity> {
        match &self.inner {
            Inner::Ntlm(c) => c.client_identity(),
            Inner::Kerberos(k) => k.client_identity(),
            Inner::Deleted(_) => None,
        }
    }

    /// Signs `message`; returns the signature (`MakeSignature`): 16 bytes for NTLM, an RFC
    /// 4121 MIC token for Kerberos ([`Sizes::max_signature`] bytes at most).
    ///
    /// An NTLM context that negotiated neither integrity nor confidentiality (authentication
    /// only, as with curl) returns the dummy signature of MS-NLMP 3.4.4.3 (version 1, then
    /// zeros), as Windows does: it protects nothing. Check for `ISC_RET_INTEGRITY` /
    /// `ASC_RET_INTEGRITY` in [`SecurityContext::attributes`] before relying on signatures.
    ///
    /// # Errors
    /// `SEC_E_OUT_OF_SEQUENCE` before the handshake completed; `SEC_E_UNSUPPORTED_FUNCTION`
    /// on a context that negotiated neither integrity nor `ALWAYS_SIGN`.
    pub fn sign(&mut self, message: &[u8]) -> Result<Signature> {
        self.sign_parts(&[message][..])
    }

    /// Signs a message given in several parts (their concatenation is signed).
    ///
    /// # Errors
    /// As [`SecurityContext::sign`].
    #[inline]
    pub fn sign_parts<P: MessageParts + ?Sized>(&mut self, parts: &P) -> Result<Signature> {
        dispatch!(&mut self.inner, c => c.sign_parts(parts).map(Signature::from),
        k => {
            let mut sig = Signature::empty();
            let n = k.established_mut()?.sign_parts(parts, &mut sig.bytes)?;
            sig.set_len(n)?;
            Ok(sig)
        })
    }

    /// Verifies a signature (`VerifySignature`). A failure leaves the context ready for the
    /// next valid message. On an authentication-only context only the dummy signature
    /// verifies (see [`SecurityContext::sign`]).
    ///
    /// # Errors
    /// `SEC_E_MESSAGE_ALTERED`, or `SEC_E_OUT_OF_SEQUENCE` for a replayed or reordered message
    /// when replay or sequence detection was requested; as [`SecurityContext::sign`].
    pub fn verify(&mut self, message: &[u8], signature: &[u8]) -> Result<()> {
        self.verify_parts(&[message][..], signature)
    }

    /// Verifies a signature over a message in several parts.
    ///
    /// # Errors
    /// As [`SecurityContext::verify`].
    #[inline]
    pub fn verify_parts<P: MessageParts + ?Sized>(
        &mut self,
        parts: &P,
        signature: &[u8],
    ) -> Result<()> {
        dispatch!(&mut self.inner, c => c.verify_parts(parts, signature),
            k => k.established_mut()?.verify_parts(parts, signature))
    }

    /// Encrypts `data` in place and returns the detached signature (`EncryptMessage`).
    ///
    /// # Errors
    /// `SEC_E_OUT_OF_SEQUENCE` before the handshake completed; `SEC_E_UNSUPPORTED_FUNCTION`
    /// if confidentiality was not negotiated.
    pub fn seal(&mut self, data: &mut [u8]) -> Result<Signature> {
        self.seal_parts(&mut [Part::Seal(data)][..])
    }

    /// Decrypts `data` in place and checks the detached signature (`DecryptMessage`). On
    /// failure `data` holds the ciphertext again and the context is unchanged.
    ///
    /// # Errors
    /// As [`SecurityContext::verify`].
    pub fn unseal(&mut self, data: &mut [u8], signature: &[u8]) -> Result<()> {
        self.unseal_parts(&mut [Part::Seal(data)][..], signature)
    }

    /// Seals a message of several parts, some encrypted and some only signed.
    ///
    /// # Errors
    /// As [`SecurityContext::seal`].
    #[inline]
    pub fn seal_parts<P: MessageParts + ?Sized>(&mut self, parts: &mut P) -> Result<Signature> {
        dispatch!(&mut self.inner, c => c.seal_parts(parts).map(Signature::from),
        k => {
            let mut sig = Signature::empty();
            let n = k.seal_parts(parts, &mut sig.bytes, true)?;
            sig.set_len(n)?;
            Ok(sig)
        })
    }

    /// `EncryptMessage` with `SECQOP_WRAP_NO_ENCRYPT`: the parts are not encrypted, the
    /// returned token carries their checksum (a Kerberos Wrap token with the Sealed flag
    /// clear, RFC 4121 section 4.2.6.2). Kerberos only.
    ///
    /// # Errors
    /// `SEC_E_QOP_NOT_SUPPORTED` on an NTLM context; as [`SecurityContext::seal`].
    pub fn seal_parts_integrity_only<P: MessageParts + ?Sized>(
        &mut self,
        parts: &mut P,
    ) -> Result<Signature> {
        match &mut self.inner {
            Inner::Kerberos(k) => {
                let mut sig = Signature::empty();
                let n = k.seal_parts(parts, &mut sig.bytes, false)?;
                sig.set_len(n)?;
                Ok(sig)
            }
            Inner::Ntlm(_) => Err(Error::QopNotSupported),
            Inner::Deleted(_) => Err(Error::InvalidHandle),
        }
    }

    /// GSS-style wrap without confidentiality (`gss_wrap` with `conf_req` false): the message
    /// travels in the clear with a checksum. Kerberos only.
    ///
    /// # Errors
    /// As [`SecurityContext::seal_parts_integrity_only`].
    pub fn wrap_integrity_only(&mut self, message: &[u8]) -> Result<Vec<u8>> {
        match &mut self.inner {
            Inner::Kerberos(k) => k.wrap(message, false),
            Inner::Ntlm(_) => Err(Error::QopNotSupported),
            Inner::Deleted(_) => Err(Error::InvalidHandle),
        }
    }

    /// [`SecurityContext::unseal_parts`], saying whether the message was encrypted (false: a
    /// Kerberos integrity-only token, `SECQOP_WRAP_NO_ENCRYPT`).
    ///
    /// # Errors
    /// As [`SecurityContext::unseal`].
    pub fn unseal_parts_qop<P: MessageParts + ?Sized>(
        &mut self,
        parts: &mut P,
        signature: &[u8],
    ) -> Result<bool> {
        dispatch!(&mut self.inner, c => c.unseal_parts(parts, signature).map(|()| true),
            k => k.established_mut()?.unseal_parts(parts, signature))
    }

    /// Unseals a message of several parts.
    ///
    /// # Errors
    /// As [`SecurityContext::unseal`].
    #[inline]
    pub fn unseal_parts<P: MessageParts + ?Sized>(
        &mut self,
        parts: &mut P,
        signature: &[u8],
    ) -> Result<()> {
        dispatch!(&mut self.inner, c => c.unseal_parts(parts, signature),
            k => k.established_mut()?.unseal_parts(parts, signature).map(|_| ()))
    }

    /// GSS-style wrap in place: `token[..16]` receives the signature, `token[16..]` holds the
    /// plaintext and is encrypted in place. The token layout is gss-ntlmssp's:
    /// signature followed by the sealed data.
    ///
    /// # Errors
    /// `SEC_E_BUFFER_TOO_SMALL` if `token` is shorter than 16 bytes; as
    /// [`SecurityContext::seal`].
    pub fn wrap_in_place(&mut self, token: &mut [u8]) -> Result<()> {
        if let Inner::Kerberos(_) = self.inner {
            return Err(Error::NotSupported(
                "wrap_in_place on a Kerberos context (its token layout differs: use wrap)",
            ));
        }
        let (sig, data) = token
            .split_first_chunk_mut::<SIGNATURE_SIZE>()
            .ok_or(Error::BufferTooSmall { needed: SIGNATURE_SIZE })?;
        let made = self.seal(data)?;
        sig.copy_from_slice(&made);
        Ok(())
    }

    /// GSS-style unwrap in place; returns the plaintext, which is `token[16..]`.
    ///
    /// # Errors
    /// `SEC_E_MESSAGE_ALTERED` for a token shorter than a signature; as
    /// [`SecurityContext::unseal`].
    pub fn unwrap_in_place<'t>(&mut self, token: &'t mut [u8]) -> Result<&'t mut [u8]> {
        if let Inner::Kerberos(k) = &mut self.inner {
            let range = k.established_mut()?.unwrap_in_place(token)?;
            return token.get_mut(range).ok_or(Error::MessageAltered);
        }
        let (sig, data) =
            token.split_first_chunk_mut::<SIGNATURE_SIZE>().ok_or(Error::MessageAltered)?;
        self.unseal(data, &sig[..])?;
        Ok(data)
    }

    /// How many bytes [`SecurityContext::seal`] writes: 16 for NTLM; the split Wrap token
    /// header for Kerberos (60 for aes-sha1).
    pub fn seal_signature_len(&self) -> usize {
        match &self.inner {
            Inner::Kerberos(k) => k.seal_signature_len(true),
            Inner::Ntlm(_) | Inner::Deleted(_) => SIGNATURE_SIZE,
        }
    }

    /// Unwraps `token` in place (as [`SecurityContext::unwrap_in_place`]); returns where the
    /// plaintext is.
    pub(crate) fn unwrap_range(&mut self, token: &mut [u8]) -> Result<core::ops::Range<usize>> {
        match &mut self.inner {
            Inner::Kerberos(k) => k.established_mut()?.unwrap_in_place(token),
            _ => {
                let len = self.unwrap_in_place(token)?.len();
                Ok(token.len() - len..token.len())
            }
        }
    }

    /// GSS-style wrap: returns signature || sealed `message`.
    ///
    /// # Errors
    /// As [`SecurityContext::seal`].
    pub fn wrap(&mut self, message: &[u8]) -> Result<Vec<u8>> {
        if let Inner::Kerberos(k) = &mut self.inner {
            return k.wrap(message, true);
        }
        let mut token = Vec::with_capacity(SIGNATURE_SIZE + message.len());
        token.extend_from_slice(&[0; SIGNATURE_SIZE]);
        token.extend_from_slice(message);
        self.wrap_in_place(&mut token)?;
        Ok(token)
    }

    /// GSS-style unwrap of a token made by [`SecurityContext::wrap`] (or gss-ntlmssp).
    ///
    /// # Errors
    /// As [`SecurityContext::unwrap_in_place`].
    pub fn unwrap(&mut self, token: &[u8]) -> Result<Vec<u8>> {
        let mut copy = token.to_vec();
        let range = self.unwrap_range(&mut copy)?;
        copy.truncate(range.end);
        copy.drain(..range.start);
        Ok(copy)
    }

    /// `SECPKG_ATTR_SIZES` of the context's package.
    pub fn sizes(&self) -> Sizes {
        match &self.inner {
            Inner::Kerberos(k) => k.sizes(),
            Inner::Deleted(Package::Kerberos) => kerberos::context::default_sizes(),
            Inner::Ntlm(_) | Inner::Deleted(_) => NtlmContext::sizes(),
        }
    }

    /// `SECPKG_ATTR_NAMES`: the client the context authenticated, as `DOMAIN\user`. On the
    /// acceptor that is the peer; on the initiator it is the initiator's own user (as on
    /// Windows), hence the name.
    ///
    /// # Errors
    /// `SEC_E_OUT_OF_SEQUENCE` before the handshake completed.
    pub fn client_name(&self) -> Result<String> {
        dispatch!(&self.inner, c => c.client().map(|who| ntlm::down_level_name(who.domain, who.user)),
            k => k.established().map(|e| e.client.to_string()).ok_or(KERBEROS_NOT_ESTABLISHED))
    }

    /// The authenticated client, with the workstation it named (see
    /// [`SecurityContext::client_name`]).
    ///
    /// # Errors
    /// As [`SecurityContext::client_name`].
    pub fn identity(&self) -> Result<Identity> {
        dispatch!(&self.inner, c => c.client().map(ntlm::IdentityRef::to_identity),
            k => k.established().map(|e| Identity {
                user: e.client.name.components.join("/"),
                domain: e.client.realm.clone(),
                workstation: String::new(),
            }).ok_or(KERBEROS_NOT_ESTABLISHED))
    }

    /// The Windows logon information of a Kerberos client whose ticket carried a PAC (MS-PAC
    /// 2.5: user and group SIDs, names), verified with the service key on accept; `None` for
    /// a ticket without a PAC, on an initiator, and for NTLM. It travels with an exported
    /// context (see [`ClientIdentity::sids`]).
    ///
    /// # Errors
    /// `SEC_E_OUT_OF_SEQUENCE` before the handshake completed.
    pub fn logon_info(&self) -> Result<Option<kerberos::pac::LogonInfo>> {
        match &self.inner {
            Inner::Kerberos(k) => k
                .established()
                .map(|e| e.pac.as_ref().and_then(|p| p.logon_info().cloned()))
                .ok_or(KERBEROS_NOT_ESTABLISHED),
            Inner::Ntlm(c) => c.client().map(|_| None),
            Inner::Deleted(_) => Err(Error::InvalidHandle),
        }
    }

    /// The ticket-granting ticket a Kerberos client delegated (`ISC_REQ_DELEGATE`, the GSS
    /// delegation flag), on the acceptor; `None` when nothing was delegated. Holds a session
    /// key: keep it as secret as a password.
    ///
    /// # Errors
    /// `SEC_E_OUT_OF_SEQUENCE` before the handshake completed; `SEC_E_INVALID_TOKEN` for a
    /// damaged credential.
    pub fn delegated_ticket(&self) -> Result<Option<kerberos::Credential>> {
        match &self.inner {
            Inner::Kerberos(k) => {
                let e = k.established().ok_or(KERBEROS_NOT_ESTABLISHED)?;
                e.delegated.as_ref().map(|d| kerberos::cred::read(d, &[])).transpose()
            }
            Inner::Ntlm(c) => c.client().map(|_| None),
            Inner::Deleted(_) => Err(Error::InvalidHandle),
        }
    }

    /// The credentials a Kerberos client delegated, as initiator credentials of that client
    /// (getting service tickets from `kdc` with the delegated TGT): what a Windows service
    /// impersonating a client with delegation acts as. `None` when nothing was delegated.
    ///
    /// # Errors
    /// As [`SecurityContext::delegated_ticket`].
    pub fn delegated_credentials(&self, kdc: KdcClient) -> Result<Option<Credentials>> {
        Ok(self.delegated_ticket()?.map(|tgt| {
            Credentials::kerberos(kerberos::credentials::InitiatorCredentials::with_tickets(
                tgt.client.clone(),
                vec![tgt],
                kdc,
            ))
        }))
    }

    /// `SECPKG_ATTR_SESSION_KEY` of a Kerberos context: the key its messages are protected
    /// with (the acceptor's subkey if it sent one, else the initiator's subkey, else the
    /// ticket's session key), as Windows reports it. Key material: keep it secret.
    ///
    /// # Errors
    /// `SEC_E_OUT_OF_SEQUENCE` before the handshake completed; `SEC_E_UNSUPPORTED_FUNCTION`
    /// on an NTLM context (see [`SecurityContext::dangerous_session_key`]).
    pub fn dangerous_kerberos_session_key(&self) -> Result<kerberos::Key> {
        match &self.inner {
            Inner::Kerberos(k) => {
                k.established().map(|e| e.key.clone()).ok_or(KERBEROS_NOT_ESTABLISHED)
            }
            Inner::Ntlm(_) => {
                Err(Error::NotSupported("an NTLM context's key is 16 bytes: dangerous_session_key"))
            }
            Inner::Deleted(_) => Err(Error::InvalidHandle),
        }
    }

    /// `SECPKG_ATTR_SESSION_KEY`: the exported session key. Key material: keep it secret.
    ///
    /// # Errors
    /// As [`SecurityContext::client_name`].
    pub fn dangerous_session_key(&self) -> Result<Key16> {
        dispatch!(&self.inner, c => c.session_key())
    }

    /// The NTLM flags of the AUTHENTICATE message, which govern message security.
    ///
    /// # Errors
    /// As [`SecurityContext::client_name`].
    pub fn negotiated_flags(&self) -> Result<NegotiateFlags> {
        dispatch!(&self.inner, c => c.negotiated_flags())
    }

    /// The context attributes, `ISC_RET_*` on the initiator or `ASC_RET_*` on the acceptor
    /// (`SECPKG_ATTR_FLAGS`).
    ///
    /// # Errors
    /// As [`SecurityContext::client_name`].
    pub fn attributes(&self) -> Result<u32> {
        dispatch!(&self.inner, c => c.attributes(),
            k => k.established().map(|e| e.attributes).ok_or(KERBEROS_NOT_ESTABLISHED))
    }

    /// `SECPKG_ATTR_PACKAGE_INFO`.
    pub fn package_info(&self) -> PackageInfo {
        self.package().info()
    }

    /// When the context expires: NTLM contexts do not, so [`FileTime::NEVER`] (what
    /// Windows reports); a Kerberos context when its ticket does.
    pub fn expiry(&self) -> FileTime {
        match &self.inner {
            Inner::Kerberos(k) => k.expiry(),
            Inner::Ntlm(_) | Inner::Deleted(_) => FileTime::NEVER,
        }
    }

    /// The next (send, receive) sequence numbers.
    ///
    /// # Errors
    /// As [`SecurityContext::client_name`].
    pub fn sequence_numbers(&self) -> Result<(u32, u32)> {
        dispatch!(&self.inner, c => c.sequence_numbers(),
            k => k.established().map(|e| {
                let low = |n: u64| u32::try_from(n & u64::from(u32::MAX)).unwrap_or(0);
                (low(e.send_seq), low(e.window.expected()))
            }).ok_or(KERBEROS_NOT_ESTABLISHED))
    }
}
