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
//! assert_eq!(server.peer_name()?, "EXAMPLE\\alice");
//!
//! let token = client.wrap(b"hello")?;
//! assert_eq!(server.unwrap(&token)?, b"hello");
//! # Ok::<(), sspi_emu::Error>(())
//! ```

use crate::bindings::ChannelBindings;
use crate::crypto::{Key16, NtHash, Password};
use crate::env::{Environment, FileTime};
use crate::error::{Error, Result};
use crate::export::{self, ExportOptions, Exported, ImportOptions, PackageId};
use crate::flags::{AscReq, IscReq};
use crate::ntlm::client::{Client, ClientConfig, ClientSecret};
use crate::ntlm::flags::NegotiateFlags;
use crate::ntlm::server::Announced;
use crate::ntlm::server::{Server, ServerConfig};
use crate::ntlm::session::{MessageParts, Part, SIGNATURE_SIZE};
use crate::ntlm::users::UserStore;
use crate::ntlm::{self, Identity, NtlmContext, OemCodePage, Role, ServerNames, Version};
use std::sync::Arc;
use std::time::Duration;

/// Credentials: who an initiator is, or how an acceptor checks who its clients are.
#[derive(Clone)]
pub struct Credentials {
    kind: CredentialKind,
}

#[derive(Clone)]
enum CredentialKind {
    Initiator(Arc<ClientSecret>),
    Acceptor(Arc<dyn UserStore>),
}

impl Credentials {
    /// Initiator credentials from a user name, a domain and a password.
    pub fn initiator(user: &str, domain: &str, password: Password) -> Self {
        Self::initiator_with_nt_hash(user, domain, NtHash::from_password(password.as_str()))
    }

    /// Initiator credentials from a user name, a domain and the NT hash of the password.
    pub fn initiator_with_nt_hash(user: &str, domain: &str, nt_hash: NtHash) -> Self {
        Self {
            kind: CredentialKind::Initiator(ClientSecret::new(
                user.to_owned(),
                domain.to_owned(),
                nt_hash,
            )),
        }
    }

    /// Acceptor credentials: a user store (a [`ntlm::users::MemoryUserStore`], possibly
    /// loaded from a file, or any `Fn(user, domain) -> Option<NtHash>`).
    pub fn acceptor(users: impl UserStore + 'static) -> Self {
        Self { kind: CredentialKind::Acceptor(Arc::new(users)) }
    }

    pub(crate) fn user_store(&self) -> Option<Arc<dyn UserStore>> {
        match &self.kind {
            CredentialKind::Acceptor(users) => Some(Arc::clone(users)),
            CredentialKind::Initiator(_) => None,
        }
    }

    /// Whether these are initiator credentials.
    pub fn is_initiator(&self) -> bool {
        matches!(self.kind, CredentialKind::Initiator(_))
    }

    /// The initiator's `DOMAIN\user`, if these are initiator credentials.
    pub fn user_name(&self) -> Option<String> {
        match &self.kind {
            CredentialKind::Initiator(who) => Some(ntlm::down_level_name(&who.domain, &who.user)),
            CredentialKind::Acceptor(_) => None,
        }
    }
}

impl core::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match &self.kind {
            CredentialKind::Initiator(who) => f
                .debug_struct("Credentials::Initiator")
                .field("user", &who.user)
                .field("domain", &who.domain)
                .finish_non_exhaustive(),
            CredentialKind::Acceptor(_) => f.write_str("Credentials::Acceptor"),
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

/// The default names, shared: making (or importing) acceptors allocates no copy of them.
pub(crate) fn default_names() -> Arc<Announced> {
    static DEFAULT: std::sync::LazyLock<Arc<Announced>> =
        std::sync::LazyLock::new(|| Arc::new(Announced::new(ServerNames::default())));
    Arc::clone(&DEFAULT)
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

/// `SecPkgContext_Sizes`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sizes {
    /// Largest token of the handshake.
    pub max_token: u32,
    /// Size of a signature (`make_signature`).
    pub max_signature: u32,
    /// Block size of the cipher (0: RC4 is a stream cipher).
    pub block_size: u32,
    /// Size of the security trailer of a sealed message.
    pub security_trailer: u32,
}

/// `SecPkgInfo`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackageInfo {
    /// `fCapabilities` (`SECPKG_FLAG_*`).
    pub capabilities: u32,
    /// `wVersion`.
    pub version: u16,
    /// `wRPCID`.
    pub rpc_id: u16,
    /// `cbMaxToken`.
    pub max_token: u32,
    /// `Name`.
    pub name: &'static str,
    /// `Comment`.
    pub comment: &'static str,
}

/// `cbMaxToken` of the NTLM package: no handshake token is larger.
pub const MAX_TOKEN_SIZE: usize = 2888;

impl PackageInfo {
    /// The NTLM package.
    pub fn ntlm() -> Self {
        // SECPKG_FLAG_INTEGRITY | PRIVACY | TOKEN_ONLY | CONNECTION | MULTI_REQUIRED |
        // IMPERSONATION | ACCEPT_WIN32_NAME | NEGOTIABLE | LOGON | RESTRICTED_TOKENS |
        // APPCONTAINER_CHECKS, as Windows reports for NTLM.
        Self {
            capabilities: 0x0008_2B37,
            version: 1,
            rpc_id: 10,      // RPC_C_AUTHN_WINNT
            max_token: 2888, // MAX_TOKEN_SIZE
            name: ntlm::PACKAGE_NAME,
            comment: "NTLM Security Package",
        }
    }
}

/// A security context of any package (today NTLM), initiator or acceptor.
pub struct SecurityContext {
    inner: Package,
}

// `Deleted` is a tombstone; boxing the live variant would cost an allocation per context.
#[allow(clippy::large_enum_variant)]
enum Package {
    Ntlm(NtlmContext),
    /// Exported with `SECPKG_CONTEXT_EXPORT_DELETE_OLD`: every call is `SEC_E_INVALID_HANDLE`.
    Deleted,
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
    /// A new NTLM initiator context.
    ///
    /// # Errors
    /// [`Error::UnknownCredentials`] (`SEC_E_UNKNOWN_CREDENTIALS`) for acceptor credentials;
    /// [`Error::NotSupported`] (`SEC_E_UNSUPPORTED_FUNCTION`) for datagram or anonymous.
    pub fn initiator(credentials: &Credentials, options: InitiatorOptions) -> Result<Self> {
        let CredentialKind::Initiator(secret) = &credentials.kind else {
            return Err(Error::UnknownCredentials("acceptor credentials cannot initiate"));
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
        Ok(Self { inner: Package::Ntlm(NtlmContext { role }) })
    }

    /// A new NTLM acceptor context.
    ///
    /// # Errors
    /// [`Error::UnknownCredentials`] (`SEC_E_UNKNOWN_CREDENTIALS`) for initiator credentials;
    /// [`Error::NotSupported`] (`SEC_E_UNSUPPORTED_FUNCTION`) for datagram.
    pub fn acceptor(credentials: &Credentials, options: AcceptorOptions) -> Result<Self> {
        let CredentialKind::Acceptor(users) = &credentials.kind else {
            return Err(Error::UnknownCredentials("initiator credentials cannot accept"));
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
        Ok(Self { inner: Package::Ntlm(NtlmContext { role }) })
    }

    fn ntlm(&mut self) -> Result<&mut NtlmContext> {
        match &mut self.inner {
            Package::Ntlm(n) => Ok(n),
            Package::Deleted => Err(Error::InvalidHandle),
        }
    }

    fn ntlm_ref(&self) -> Result<&NtlmContext> {
        match &self.inner {
            Package::Ntlm(n) => Ok(n),
            Package::Deleted => Err(Error::InvalidHandle),
        }
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
        let out = self.ntlm()?.step(input)?;
        Ok(Step { token: out.token, complete: out.complete })
    }

    /// Sets channel bindings before the handshake leg that uses them (the initiator's
    /// AUTHENTICATE, the acceptor's check of it).
    ///
    /// # Errors
    /// `SEC_E_OUT_OF_SEQUENCE` once the handshake completed.
    pub fn set_channel_bindings(&mut self, bindings: ChannelBindings) -> Result<()> {
        self.ntlm()?.set_channel_bindings(bindings)
    }

    /// Whether the handshake completed.
    pub fn is_established(&self) -> bool {
        self.ntlm_ref().is_ok_and(|n| n.established().is_some())
    }

    /// Whether this is the initiator.
    pub fn is_initiator(&self) -> bool {
        self.ntlm_ref().is_ok_and(NtlmContext::is_client)
    }

    /// The package name (`"NTLM"`).
    pub fn package_name(&self) -> &'static str {
        match self.inner {
            Package::Ntlm(_) | Package::Deleted => ntlm::PACKAGE_NAME,
        }
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
        let ntlm = self.ntlm_ref()?;
        let reset = flags & export::SECPKG_CONTEXT_EXPORT_RESET_NEW != 0;
        let state = ntlm.to_v1(reset)?;
        let packed = export::pack(PackageId::Ntlm, &state, ntlm.to_v2_options(), options)?;
        drop(state); // it borrows the context
        // A reset blob authenticates no one: it has no identity to hand out.
        let identity = if reset { None } else { ntlm.peer_identity() };
        if flags & export::SECPKG_CONTEXT_EXPORT_DELETE_OLD != 0 {
            self.inner = Package::Deleted;
        }
        Ok(Exported { packed, identity })
    }

    /// `ImportSecurityContext`: brings back a context packed by [`SecurityContext::export`].
    ///
    /// `package` must be the package that exported it. An acceptor exported before its
    /// handshake completed needs its credentials (user store) in `options`. Nothing is
    /// created unless every check passes.
    ///
    /// # Errors
    /// `SEC_E_SECPKG_NOT_FOUND` for an unknown package; `SEC_E_INVALID_TOKEN` for a damaged
    /// blob ([`Error::CorruptContext`]) or one of another package ([`Error::WrongPackage`]);
    /// `SEC_E_DECRYPT_FAILURE` for a blob sealed with another key ([`Error::WrongKey`]);
    /// `SEC_E_UNSUPPORTED_FUNCTION` for a newer format ([`Error::UnsupportedVersion`]) or an
    /// unprotected blob without the dangerous option; `SEC_E_UNKNOWN_CREDENTIALS` for
    /// missing or wrong credentials; `SEC_E_WRONG_PRINCIPAL` if the expected identity does
    /// not match.
    pub fn import(package: &str, packed: &[u8], options: &ImportOptions) -> Result<Self> {
        let id = PackageId::from_name(package)?;
        let (version, body) = export::unpack(id, packed, &options.protection)?;
        let (state, extra) = export::decode(version, &body)?;
        let ntlm = NtlmContext::from_v1(&state, extra, options)?;
        if let Some(expected) = &options.identity {
            if ntlm.peer_identity().as_ref() != Some(expected) {
                return Err(Error::WrongPrincipal);
            }
        }
        Ok(Self { inner: Package::Ntlm(ntlm) })
    }

    /// Signs `message`; returns the 16-byte signature (`MakeSignature`).
    ///
    /// A context that negotiated neither integrity nor confidentiality (authentication
    /// only, as with curl) returns the dummy signature of MS-NLMP 3.4.4.3 (version 1, then
    /// zeros), as Windows does: it protects nothing. Check for `ISC_RET_INTEGRITY` /
    /// `ASC_RET_INTEGRITY` in [`SecurityContext::attributes`] before relying on signatures.
    ///
    /// # Errors
    /// `SEC_E_OUT_OF_SEQUENCE` before the handshake completed; `SEC_E_UNSUPPORTED_FUNCTION`
    /// on a context that negotiated neither integrity nor `ALWAYS_SIGN`.
    pub fn sign(&mut self, message: &[u8]) -> Result<[u8; SIGNATURE_SIZE]> {
        self.sign_parts(&[message][..])
    }

    /// Signs a message given in several parts (their concatenation is signed).
    ///
    /// # Errors
    /// As [`SecurityContext::sign`].
    pub fn sign_parts<P: MessageParts + ?Sized>(
        &mut self,
        parts: &P,
    ) -> Result<[u8; SIGNATURE_SIZE]> {
        Ok(match self.ntlm()?.signing_session()? {
            Some(session) => session.sign(parts),
            None => ntlm::session::DUMMY_SIGNATURE,
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
    pub fn verify_parts<P: MessageParts + ?Sized>(
        &mut self,
        parts: &P,
        signature: &[u8],
    ) -> Result<()> {
        match self.ntlm()?.signing_session()? {
            Some(session) => session.verify(parts, signature),
            None => ntlm::session::verify_dummy(signature),
        }
    }

    /// Encrypts `data` in place and returns the detached signature (`EncryptMessage`).
    ///
    /// # Errors
    /// `SEC_E_OUT_OF_SEQUENCE` before the handshake completed; `SEC_E_UNSUPPORTED_FUNCTION`
    /// if confidentiality was not negotiated.
    pub fn seal(&mut self, data: &mut [u8]) -> Result<[u8; SIGNATURE_SIZE]> {
        Ok(self.ntlm()?.sealing_session()?.seal(&mut [Part::Seal(data)][..]))
    }

    /// Decrypts `data` in place and checks the detached signature (`DecryptMessage`). On
    /// failure `data` holds the ciphertext again and the context is unchanged.
    ///
    /// # Errors
    /// As [`SecurityContext::verify`].
    pub fn unseal(&mut self, data: &mut [u8], signature: &[u8]) -> Result<()> {
        self.ntlm()?.sealing_session()?.unseal(&mut [Part::Seal(data)][..], signature)
    }

    /// Seals a message of several parts, some encrypted and some only signed.
    ///
    /// # Errors
    /// As [`SecurityContext::seal`].
    pub fn seal_parts<P: MessageParts + ?Sized>(
        &mut self,
        parts: &mut P,
    ) -> Result<[u8; SIGNATURE_SIZE]> {
        Ok(self.ntlm()?.sealing_session()?.seal(parts))
    }

    /// Unseals a message of several parts.
    ///
    /// # Errors
    /// As [`SecurityContext::unseal`].
    pub fn unseal_parts<P: MessageParts + ?Sized>(
        &mut self,
        parts: &mut P,
        signature: &[u8],
    ) -> Result<()> {
        self.ntlm()?.sealing_session()?.unseal(parts, signature)
    }

    /// GSS-style wrap in place: `token[..16]` receives the signature, `token[16..]` holds the
    /// plaintext and is encrypted in place. The token layout is gss-ntlmssp's:
    /// signature followed by the sealed data.
    ///
    /// # Errors
    /// `SEC_E_BUFFER_TOO_SMALL` if `token` is shorter than 16 bytes; as
    /// [`SecurityContext::seal`].
    pub fn wrap_in_place(&mut self, token: &mut [u8]) -> Result<()> {
        let (sig, data) = token
            .split_first_chunk_mut::<SIGNATURE_SIZE>()
            .ok_or(Error::BufferTooSmall { needed: SIGNATURE_SIZE })?;
        *sig = self.seal(data)?;
        Ok(())
    }

    /// GSS-style unwrap in place; returns the plaintext, which is `token[16..]`.
    ///
    /// # Errors
    /// `SEC_E_MESSAGE_ALTERED` for a token shorter than a signature; as
    /// [`SecurityContext::unseal`].
    pub fn unwrap_in_place<'t>(&mut self, token: &'t mut [u8]) -> Result<&'t mut [u8]> {
        let (sig, data) =
            token.split_first_chunk_mut::<SIGNATURE_SIZE>().ok_or(Error::MessageAltered)?;
        self.unseal(data, &sig[..])?;
        Ok(data)
    }

    /// GSS-style wrap: returns signature || sealed `message`.
    ///
    /// # Errors
    /// As [`SecurityContext::seal`].
    pub fn wrap(&mut self, message: &[u8]) -> Result<Vec<u8>> {
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
        let len = self.unwrap_in_place(&mut copy)?.len();
        copy.drain(..copy.len() - len);
        Ok(copy)
    }

    fn identity_ref(&self) -> Result<ntlm::IdentityRef<'_>> {
        self.ntlm_ref()?.identity().ok_or(Error::WrongState("the handshake has not completed"))
    }

    fn established(&self) -> Result<&ntlm::Established> {
        self.ntlm_ref()?.established().ok_or(Error::WrongState("the handshake has not completed"))
    }

    /// `SECPKG_ATTR_SIZES`.
    pub fn sizes(&self) -> Sizes {
        Sizes {
            max_token: PackageInfo::ntlm().max_token,
            max_signature: 16,
            block_size: 0,
            security_trailer: 16,
        }
    }

    /// `SECPKG_ATTR_NAMES`: on the acceptor the authenticated client as `DOMAIN\user`, on the
    /// initiator its own user.
    ///
    /// # Errors
    /// `SEC_E_OUT_OF_SEQUENCE` before the handshake completed.
    pub fn peer_name(&self) -> Result<String> {
        let who = self.identity_ref()?;
        Ok(ntlm::down_level_name(who.domain, who.user))
    }

    /// The authenticated identity, with the workstation the client named.
    ///
    /// # Errors
    /// As [`SecurityContext::peer_name`].
    pub fn identity(&self) -> Result<Identity> {
        Ok(self.identity_ref()?.to_identity())
    }

    /// `SECPKG_ATTR_SESSION_KEY`: the exported session key. Key material: keep it secret.
    ///
    /// # Errors
    /// As [`SecurityContext::peer_name`].
    pub fn dangerous_session_key(&self) -> Result<Key16> {
        Ok(self.established()?.session.exported_session_key.clone())
    }

    /// The NTLM flags of the AUTHENTICATE message, which govern message security.
    ///
    /// # Errors
    /// As [`SecurityContext::peer_name`].
    pub fn negotiated_flags(&self) -> Result<NegotiateFlags> {
        Ok(self.established()?.session.flags)
    }

    /// The context attributes, `ISC_RET_*` on the initiator or `ASC_RET_*` on the acceptor
    /// (`SECPKG_ATTR_FLAGS`).
    ///
    /// # Errors
    /// As [`SecurityContext::peer_name`].
    pub fn attributes(&self) -> Result<u32> {
        Ok(self.established()?.attributes)
    }

    /// `SECPKG_ATTR_PACKAGE_INFO`.
    pub fn package_info(&self) -> PackageInfo {
        PackageInfo::ntlm()
    }

    /// When the context expires: NTLM contexts do not, so [`FileTime::NEVER`] (what
    /// Windows reports).
    pub fn expiry(&self) -> FileTime {
        FileTime::NEVER
    }

    /// The next (send, receive) sequence numbers.
    ///
    /// # Errors
    /// As [`SecurityContext::peer_name`].
    pub fn sequence_numbers(&self) -> Result<(u32, u32)> {
        Ok(self.established()?.session.sequence_numbers())
    }
}
