//! The Windows-shaped layer: the SSPI functions by their Windows names in snake case, over
//! handles, with [`SecBuffer`] lists and [`SecurityStatus`] results.
//!
//! Code ported from Windows maps one call to one call. Handles live in a process-wide table
//! that is safe to use from many threads: each context has its own lock, so calls on
//! different contexts never wait for each other, and every lookup is O(1). A handle that was
//! never issued, was deleted, or names the other kind of object gives
//! `SEC_E_INVALID_HANDLE`; handle values are never reused.
//!
//! Differences from Windows that a port must know are listed in [`crate::manual`].
//!
//! ```
//! use sspi_emu::sspi::*;
//! use sspi_emu::{Credentials, Password, SecurityStatus, FileTime};
//! use sspi_emu::flags::{IscReq, AscReq};
//! use sspi_emu::ntlm::users::MemoryUserStore;
//!
//! let mut users = MemoryUserStore::new();
//! users.add_password("EXAMPLE", "alice", &Password::new("pw"));
//! let (mut client_cred, mut server_cred) = (SecHandle::default(), SecHandle::default());
//! let mut expiry = FileTime::default();
//! let client_id = Credentials::initiator("alice", "EXAMPLE", Password::new("pw"));
//! assert_eq!(acquire_credentials_handle(None, "NTLM", SECPKG_CRED_OUTBOUND,
//!     Some(&client_id), &mut client_cred, &mut expiry), SecurityStatus::SEC_E_OK);
//! assert_eq!(acquire_credentials_handle(None, "NTLM", SECPKG_CRED_INBOUND,
//!     Some(&Credentials::acceptor(users)), &mut server_cred, &mut expiry), SecurityStatus::SEC_E_OK);
//!
//! let (mut client, mut server) = (SecHandle::default(), SecHandle::default());
//! let mut attrs = 0;
//! let mut token = vec![0u8; 2888];
//! let mut out = [SecBuffer::new(SECBUFFER_TOKEN, &mut token)];
//! let status = initialize_security_context(Some(&client_cred), None, Some("HTTP/server"),
//!     IscReq::CONFIDENTIALITY, 0, None, &mut client, &mut out, &mut attrs, &mut expiry);
//! assert_eq!(status, SecurityStatus::SEC_I_CONTINUE_NEEDED);
//! let negotiate = out[0].as_slice().to_vec();
//!
//! let mut input = [SecBuffer::read_only(SECBUFFER_TOKEN, &negotiate)];
//! let mut out = [SecBuffer::empty(SECBUFFER_TOKEN)];
//! let status = accept_security_context(Some(&server_cred), None, Some(&mut input),
//!     AscReq::CONFIDENTIALITY | AscReq::ALLOCATE_MEMORY, 0, &mut server, &mut out, &mut attrs, &mut expiry);
//! assert_eq!(status, SecurityStatus::SEC_I_CONTINUE_NEEDED);
//! let challenge = out[0].take_allocated().unwrap();
//!
//! let mut input = [SecBuffer::read_only(SECBUFFER_TOKEN, challenge.as_slice())];
//! let mut token = vec![0u8; 2888];
//! let mut out = [SecBuffer::new(SECBUFFER_TOKEN, &mut token)];
//! let status = initialize_security_context(Some(&client_cred), Some(client), None,
//!     IscReq::CONFIDENTIALITY, 0, Some(&mut input), &mut client, &mut out, &mut attrs, &mut expiry);
//! assert_eq!(status, SecurityStatus::SEC_E_OK);
//! free_context_buffer(challenge);
//! let authenticate = out[0].as_slice().to_vec();
//!
//! let mut input = [SecBuffer::read_only(SECBUFFER_TOKEN, &authenticate)];
//! let mut out = [SecBuffer::empty(SECBUFFER_TOKEN)];
//! let status = accept_security_context(Some(&server_cred), Some(server), Some(&mut input),
//!     AscReq::CONFIDENTIALITY, 0, &mut server, &mut out, &mut attrs, &mut expiry);
//! assert_eq!(status, SecurityStatus::SEC_E_OK);
//!
//! let mut data = *b"hello";
//! let mut sig = [0u8; 16];
//! let mut msg = [SecBuffer::new(SECBUFFER_TOKEN, &mut sig), SecBuffer::new(SECBUFFER_DATA, &mut data)];
//! assert_eq!(encrypt_message(&client, 0, &mut msg, 0), SecurityStatus::SEC_E_OK);
//! let mut qop = 0;
//! assert_eq!(decrypt_message(&server, &mut msg, 0, &mut qop), SecurityStatus::SEC_E_OK);
//! assert_eq!(msg[1].as_slice(), b"hello");
//!
//! for h in [&client, &server] { assert_eq!(delete_security_context(h), SecurityStatus::SEC_E_OK); }
//! assert_eq!(delete_security_context(&client), SecurityStatus::SEC_E_INVALID_HANDLE);
//! free_credentials_handle(&client_cred);
//! free_credentials_handle(&server_cred);
//! ```

mod buffers;

pub use buffers::*;

use crate::api::MAX_TOKEN_SIZE;
use crate::api::{
    AcceptorOptions, Credentials, ImportOptions, InitiatorOptions, Package, PackageInfo,
    SecurityContext, Signature, Sizes,
};
use crate::bindings::ChannelBindings;
use crate::crypto::Key16;
use crate::env::{Environment, FileTime};
use crate::error::{Error, Result};
use crate::export::{ClientIdentity, ExportOptions};
use crate::flags::{AscReq, IscReq};
use crate::ntlm::SIGNATURE_SIZE;
use crate::ntlm::users::MemoryUserStore;
use crate::status::SecurityStatus;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, LazyLock, Mutex, RwLock};

/// `SECPKG_CRED_INBOUND`.
pub const SECPKG_CRED_INBOUND: u32 = 1;
/// `SECPKG_CRED_OUTBOUND`.
pub const SECPKG_CRED_OUTBOUND: u32 = 2;
/// `SECPKG_CRED_BOTH`.
pub const SECPKG_CRED_BOTH: u32 = 3;

/// `SECPKG_ATTR_SIZES`.
pub const SECPKG_ATTR_SIZES: u32 = 0;
/// `SECPKG_ATTR_NAMES`.
pub const SECPKG_ATTR_NAMES: u32 = 1;
/// `SECPKG_ATTR_LIFESPAN`.
pub const SECPKG_ATTR_LIFESPAN: u32 = 2;
/// `SECPKG_ATTR_SESSION_KEY`.
pub const SECPKG_ATTR_SESSION_KEY: u32 = 9;
/// `SECPKG_ATTR_PACKAGE_INFO`.
pub const SECPKG_ATTR_PACKAGE_INFO: u32 = 10;
/// `SECPKG_ATTR_FLAGS`.
pub const SECPKG_ATTR_FLAGS: u32 = 14;

/// The environment variable naming a `DOMAIN:USER:PASSWORD` file, read by
/// [`acquire_credentials_handle`] for inbound credentials given no auth data.
pub const NTLM_USER_FILE: &str = "NTLM_USER_FILE";

/// A credentials or context handle (`CredHandle`, `CtxtHandle`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct SecHandle {
    /// `dwLower`: the handle number.
    pub lower: u64,
    /// `dwUpper`: the kind of object.
    pub upper: u64,
}

const KIND_CREDENTIALS: u64 = 0x4352_4544; // "CRED"
const KIND_CONTEXT: u64 = 0x4354_5854; // "CTXT"

/// What `query_context_attributes` returns.
#[derive(Debug)]
#[non_exhaustive]
pub enum ContextAttribute {
    /// `SECPKG_ATTR_SIZES`.
    Sizes(Sizes),
    /// `SECPKG_ATTR_NAMES`.
    Names(String),
    /// `SECPKG_ATTR_LIFESPAN`: (start, expiry).
    Lifespan(FileTime, FileTime),
    /// `SECPKG_ATTR_SESSION_KEY` of an NTLM context (the exported session key).
    SessionKey(Key16),
    /// `SECPKG_ATTR_SESSION_KEY` of a Kerberos context: the key its messages are protected
    /// with (the acceptor's subkey, else the initiator's, else the ticket's session key).
    KerberosSessionKey(crate::kerberos::Key),
    /// `SECPKG_ATTR_PACKAGE_INFO`.
    PackageInfo(PackageInfo),
    /// `SECPKG_ATTR_FLAGS`: `ISC_RET_*` or `ASC_RET_*`.
    Flags(u32),
}

struct CredEntry {
    credentials: Credentials,
    usage: u32,
}

struct Table {
    next: AtomicU64,
    credentials: RwLock<HashMap<u64, Arc<CredEntry>>>,
    contexts: RwLock<HashMap<u64, Arc<Mutex<SecurityContext>>>>,
}

static TABLE: LazyLock<Table> = LazyLock::new(|| Table {
    next: AtomicU64::new(1),
    credentials: RwLock::new(HashMap::new()),
    contexts: RwLock::new(HashMap::new()),
});

fn new_handle(kind: u64) -> SecHandle {
    SecHandle { lower: TABLE.next.fetch_add(1, Ordering::Relaxed), upper: kind }
}

fn credentials(handle: &SecHandle) -> Result<Arc<CredEntry>> {
    if handle.upper != KIND_CREDENTIALS {
        return Err(Error::InvalidHandle);
    }
    let table = TABLE.credentials.read().unwrap_or_else(|e| e.into_inner());
    table.get(&handle.lower).cloned().ok_or(Error::InvalidHandle)
}

fn context(handle: &SecHandle) -> Result<Arc<Mutex<SecurityContext>>> {
    if handle.upper != KIND_CONTEXT {
        return Err(Error::InvalidHandle);
    }
    let table = TABLE.contexts.read().unwrap_or_else(|e| e.into_inner());
    table.get(&handle.lower).cloned().ok_or(Error::InvalidHandle)
}

fn with_context<T>(
    handle: &SecHandle,
    f: impl FnOnce(&mut SecurityContext) -> Result<T>,
) -> Result<T> {
    let ctx = context(handle)?;
    let mut guard = ctx.lock().unwrap_or_else(|e| e.into_inner());
    f(&mut guard)
}

fn insert_context(ctx: SecurityContext) -> SecHandle {
    let handle = new_handle(KIND_CONTEXT);
    TABLE
        .contexts
        .write()
        .unwrap_or_else(|e| e.into_inner())
        .insert(handle.lower, Arc::new(Mutex::new(ctx)));
    handle
}

/// The number of live credentials and context handles in the table. For the `handles` fuzz
/// target ([`crate::fuzzing::handles`]) and the races test ([`crate::fuzzing::live_handles`]),
/// which check that a run leaves none behind.
pub(crate) fn live_handles() -> (usize, usize) {
    let credentials = TABLE.credentials.read().unwrap_or_else(|e| e.into_inner()).len();
    let contexts = TABLE.contexts.read().unwrap_or_else(|e| e.into_inner()).len();
    (credentials, contexts)
}

thread_local! {
    /// The environment given to the contexts this thread creates through this layer (first
    /// `initialize_security_context` / `accept_security_context` call, and
    /// `import_security_context`). `None`, the system's randomness and clock, everywhere but
    /// inside [`with_environment`], which only [`crate::fuzzing`] calls (crate-private: no
    /// caller of the library can reach it).
    static ENVIRONMENT: std::cell::RefCell<Option<Environment>> =
        const { std::cell::RefCell::new(None) };
}

/// Runs `f` with the contexts this thread creates through this layer getting `env`: how the
/// `handles` fuzz target makes a run deterministic without a test-only crypto shortcut.
pub(crate) fn with_environment<T>(env: Environment, f: impl FnOnce() -> T) -> T {
    struct Restore(Option<Environment>);
    impl Drop for Restore {
        fn drop(&mut self) {
            let old = self.0.take();
            ENVIRONMENT.with(|e| *e.borrow_mut() = old);
        }
    }
    let _restore = Restore(ENVIRONMENT.with(|e| e.borrow_mut().replace(env)));
    f()
}

/// The environment set by [`with_environment`], if any.
fn environment() -> Option<Environment> {
    ENVIRONMENT.with(|e| e.borrow().clone())
}

fn status_of(result: Result<SecurityStatus>) -> SecurityStatus {
    result.unwrap_or_else(|e| SecurityStatus::from(&e))
}

/// `QuerySecurityPackageInfo`, for the packages [`enumerate_security_packages`] lists.
///
/// # Errors
/// `SEC_E_SECPKG_NOT_FOUND` for an unknown package (callers such as curl probe with this
/// call whether a package can authenticate).
pub fn query_security_package_info(package: &str) -> Result<PackageInfo> {
    let found = Package::from_name(package)?;
    if !found.has_contexts() {
        return Err(Error::PackageNotFound(package.to_owned()));
    }
    Ok(found.info())
}

/// `EnumerateSecurityPackages`: the packages whose security contexts this build has
/// ([`Package::with_contexts`]), so that code choosing a package from the list gets one it
/// can authenticate with.
pub fn enumerate_security_packages() -> Vec<PackageInfo> {
    Package::with_contexts().map(Package::info).collect()
}

/// `AcquireCredentialsHandle`.
///
/// `auth_data` stands for `pAuthData`: initiator credentials for `SECPKG_CRED_OUTBOUND`,
/// acceptor credentials (a user store) for `SECPKG_CRED_INBOUND`, of the package named.
/// `principal` is accepted and ignored. Credentials never expire: `expiry` is set to
/// [`FileTime::NEVER`] (a Kerberos ticket's own lifetime shows on the context).
///
/// - NTLM: inbound credentials without auth data are read from the file named by
///   [`NTLM_USER_FILE`]; outbound ones need auth data.
/// - Kerberos outbound: auth data from [`Credentials::kerberos`] and its siblings (a
///   password, a client keytab or a credential cache); without auth data, the user whose TGT
///   is in the default credential cache (`KRB5CCNAME`), as a Windows user is signed in by
///   logon. No KDC is contacted here.
/// - Kerberos inbound: auth data from [`Credentials::kerberos_acceptor`] (a service's keys,
///   restricted to one service or not); without auth data, every service in the default
///   keytab (`KRB5_KTNAME`, else `/etc/krb5.keytab`), as Windows accepts for every SPN of
///   the machine account.
///
/// Returns `SEC_E_SECPKG_NOT_FOUND` for an unknown package, `SEC_E_NO_CREDENTIALS` when none
/// can be found, `SEC_E_UNKNOWN_CREDENTIALS` when they do not fit the use or are of another
/// package, `SEC_E_UNSUPPORTED_FUNCTION` for `SECPKG_CRED_BOTH` or an unknown use.
///
pub fn acquire_credentials_handle(
    principal: Option<&str>,
    package: &str,
    credential_use: u32,
    auth_data: Option<&Credentials>,
    credential: &mut SecHandle,
    expiry: &mut FileTime,
) -> SecurityStatus {
    let _ = principal;
    status_of((|| {
        let package = Package::from_name(package)?;
        if !matches!(credential_use, SECPKG_CRED_OUTBOUND | SECPKG_CRED_INBOUND) {
            return Err(Error::NotSupported("credential use other than INBOUND or OUTBOUND"));
        }
        if auth_data.is_some_and(|c| c.package() != package) {
            return Err(Error::UnknownCredentials("credentials of another package"));
        }
        let credentials = match (package, credential_use, auth_data) {
            (Package::Ntlm, _, _) => ntlm_credentials(credential_use, auth_data)?,
            (Package::Kerberos, SECPKG_CRED_OUTBOUND, Some(c)) if c.is_initiator() => c.clone(),
            (Package::Kerberos, SECPKG_CRED_INBOUND, Some(c)) if !c.is_initiator() => c.clone(),
            (Package::Kerberos, _, Some(_)) => {
                return Err(Error::UnknownCredentials(
                    "initiator credentials for inbound use, or acceptor credentials for outbound",
                ));
            }
            (Package::Kerberos, SECPKG_CRED_OUTBOUND, None) => {
                Credentials::kerberos_from_default_ccache()?
            }
            (Package::Kerberos, _, None) => Credentials::kerberos_acceptor_from_keytab(None, None)?,
        };
        let handle = new_handle(KIND_CREDENTIALS);
        TABLE
            .credentials
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(handle.lower, Arc::new(CredEntry { credentials, usage: credential_use }));
        *credential = handle;
        *expiry = FileTime::NEVER;
        Ok(SecurityStatus::SEC_E_OK)
    })())
}

/// The NTLM credentials of `AcquireCredentialsHandle`.
fn ntlm_credentials(credential_use: u32, auth_data: Option<&Credentials>) -> Result<Credentials> {
    Ok(match (credential_use, auth_data) {
        (SECPKG_CRED_OUTBOUND, Some(c)) if c.is_initiator() => c.clone(),
        (SECPKG_CRED_INBOUND, Some(c)) if !c.is_initiator() => c.clone(),
        (SECPKG_CRED_OUTBOUND | SECPKG_CRED_INBOUND, Some(_)) => {
            return Err(Error::UnknownCredentials("credentials do not fit the credential use"));
        }
        (SECPKG_CRED_OUTBOUND, None) => {
            return Err(Error::UserFile("outbound NTLM credentials need auth data".into()));
        }
        (SECPKG_CRED_INBOUND, None) => {
            let path = std::env::var_os(NTLM_USER_FILE).ok_or_else(|| {
                Error::UserFile(format!("no auth data and {NTLM_USER_FILE} is not set"))
            })?;
            Credentials::acceptor(MemoryUserStore::from_file(path)?)
        }
        _ => {
            return Err(Error::NotSupported("credential use other than INBOUND or OUTBOUND"));
        }
    })
}

/// `FreeCredentialsHandle`. Contexts made from the credentials keep working.
pub fn free_credentials_handle(credential: &SecHandle) -> SecurityStatus {
    if credential.upper != KIND_CREDENTIALS {
        return SecurityStatus::SEC_E_INVALID_HANDLE;
    }
    match TABLE.credentials.write().unwrap_or_else(|e| e.into_inner()).remove(&credential.lower) {
        Some(_) => SecurityStatus::SEC_E_OK,
        None => SecurityStatus::SEC_E_INVALID_HANDLE,
    }
}

/// The token and channel bindings among the input buffers.
fn parse_input<'b>(
    input: Option<&'b mut [SecBuffer<'_>]>,
) -> Result<(Option<&'b [u8]>, Option<ChannelBindings>)> {
    let mut token = None;
    let mut bindings = None;
    for buf in input.into_iter().flatten() {
        match buf.base_type() {
            SECBUFFER_TOKEN if token.is_none() => token = Some(buf.as_slice()),
            SECBUFFER_CHANNEL_BINDINGS => {
                bindings = Some(ChannelBindings::from_sec_channel_bindings(buf.as_slice())?);
            }
            _ => {}
        }
    }
    Ok((token, bindings))
}

fn output_token<'o, 'a>(output: &'o mut [SecBuffer<'a>]) -> Result<&'o mut SecBuffer<'a>> {
    output
        .iter_mut()
        .find(|b| b.base_type() == SECBUFFER_TOKEN)
        .ok_or(Error::InvalidParameter("no SECBUFFER_TOKEN output buffer"))
}

/// Checks, before any state changes, that the output can take whatever the call produces:
/// a `SECBUFFER_TOKEN` buffer exists and, unless the provider allocates, is writable caller
/// memory of `needed` bytes (the package's `cbMaxToken` when the call may write a token) or at
/// least writable (or empty) when the call writes none (`needed` 0). No call produces a
/// larger token than its package's `cbMaxToken` (it refuses first).
fn check_output(output: &mut [SecBuffer<'_>], allocate: bool, needed: usize) -> Result<()> {
    let out = output_token(output)?;
    if allocate {
        return Ok(());
    }
    match out.data {
        SecBufferData::Borrowed(ref b) if b.len() >= needed => Ok(()),
        SecBufferData::Empty if needed == 0 => Ok(()),
        SecBufferData::Borrowed(_) | SecBufferData::Empty => Err(Error::BufferTooSmall { needed }),
        SecBufferData::ReadOnly(_) | SecBufferData::Allocated(_) => {
            Err(Error::InvalidParameter("the output token buffer is not writable caller memory"))
        }
    }
}

/// `cbMaxToken` of the credentials' package (NTLM's when there are none: the call fails on
/// the missing handle next).
fn max_token(package: Option<Package>) -> usize {
    package.map_or(MAX_TOKEN_SIZE, |p| usize::try_from(p.info().max_token).unwrap_or(usize::MAX))
}

fn finish_step(
    step: crate::api::Step,
    output: &mut [SecBuffer<'_>],
    allocate: bool,
) -> Result<SecurityStatus> {
    let out = output_token(output)?;
    if step.token.is_empty() && !allocate {
        if let SecBufferData::Borrowed(_) = out.data {
            let memory = out.take_mut()?;
            out.data = SecBufferData::Borrowed(&mut memory[..0]);
        }
    } else {
        out.write(step.token, allocate)?;
    }
    Ok(if step.complete { SecurityStatus::SEC_E_OK } else { SecurityStatus::SEC_I_CONTINUE_NEEDED })
}

/// `InitializeSecurityContext`.
///
/// On the first call `context` is `None` and a new context handle is written to
/// `new_context`; on later calls pass the handle in both. `target_name` is the SPN sent as
/// `MsvAvTargetName`. Channel bindings come in a `SECBUFFER_CHANNEL_BINDINGS` input buffer.
/// Without `ISC_REQ_ALLOCATE_MEMORY` the output token buffer must hold `cbMaxToken` (2888)
/// bytes. A failure on the first call creates no handle; a failure later leaves the handle
/// valid but unusable (delete it).
#[allow(clippy::too_many_arguments)]
pub fn initialize_security_context(
    credential: Option<&SecHandle>,
    context: Option<SecHandle>,
    target_name: Option<&str>,
    context_req: IscReq,
    target_data_rep: u32,
    input: Option<&mut [SecBuffer<'_>]>,
    new_context: &mut SecHandle,
    output: &mut [SecBuffer<'_>],
    context_attr: &mut u32,
    expiry: &mut FileTime,
) -> SecurityStatus {
    let _ = target_data_rep;
    status_of((|| {
        let allocate = context_req.contains(IscReq::ALLOCATE_MEMORY);
        // Every NTLM initiator call writes a token; a Kerberos initiator only its first (the
        // AP-REQ): reading the AP-REP writes nothing.
        let needed = match context {
            None => {
                max_token(credential.map(credentials).transpose()?.map(|c| c.credentials.package()))
            }
            Some(handle) => with_context(&handle, |ctx| {
                Ok(if ctx.package() == Package::Ntlm { MAX_TOKEN_SIZE } else { 0 })
            })?,
        };
        check_output(output, allocate, needed)?;
        let (token, bindings) = parse_input(input)?;
        let (step, handle, attrs) = match context {
            None => {
                let cred = credentials(credential.ok_or(Error::InvalidHandle)?)?;
                if cred.usage != SECPKG_CRED_OUTBOUND {
                    return Err(Error::UnknownCredentials("inbound credentials cannot initiate"));
                }
                let mut options = InitiatorOptions::new().flags(context_req);
                if let Some(env) = environment() {
                    options = options.environment(env);
                }
                if let Some(spn) = target_name {
                    options = options.target_name(spn);
                }
                if let Some(cb) = bindings {
                    options = options.channel_bindings(cb);
                }
                let mut ctx = SecurityContext::initiator(&cred.credentials, options)?;
                let step = ctx.step(token)?;
                let attrs = (ctx.attributes().unwrap_or(0), ctx.expiry());
                (step, insert_context(ctx), attrs)
            }
            Some(handle) => with_context(&handle, |ctx| {
                if !ctx.is_initiator() {
                    return Err(Error::InvalidHandle);
                }
                if let Some(cb) = bindings {
                    ctx.set_channel_bindings(cb)?;
                }
                let step = ctx.step(token)?;
                Ok((step, handle, (ctx.attributes().unwrap_or(0), ctx.expiry())))
            })?,
        };
        *new_context = handle;
        let (attrs, expires) = attrs;
        *context_attr = attrs | if allocate { crate::flags::IscRet::ALLOCATED_MEMORY.0 } else { 0 };
        *expiry = expires;
        finish_step(step, output, allocate)
    })())
}

/// `AcceptSecurityContext`.
///
/// On the first call (`context` is `None`) a new context handle is written to
/// `new_context`. Channel bindings to require come in a `SECBUFFER_CHANNEL_BINDINGS` input
/// buffer. Output rules are those of [`initialize_security_context`], except that the
/// call that takes the AUTHENTICATE message writes no token, so its output buffer may be
/// empty.
#[allow(clippy::too_many_arguments)]
pub fn accept_security_context(
    credential: Option<&SecHandle>,
    context: Option<SecHandle>,
    input: Option<&mut [SecBuffer<'_>]>,
    context_req: AscReq,
    target_data_rep: u32,
    new_context: &mut SecHandle,
    output: &mut [SecBuffer<'_>],
    context_attr: &mut u32,
    expiry: &mut FileTime,
) -> SecurityStatus {
    let _ = target_data_rep;
    status_of((|| {
        let allocate = context_req.contains(AscReq::ALLOCATE_MEMORY);
        // Only the first call answers with a token (CHALLENGE); the AUTHENTICATE leg
        // writes none, so its output buffer may be empty.
        let needed = match context {
            None => {
                max_token(credential.map(credentials).transpose()?.map(|c| c.credentials.package()))
            }
            Some(_) => 0,
        };
        check_output(output, allocate, needed)?;
        let (token, bindings) = parse_input(input)?;
        let (step, handle, attrs) = match context {
            None => {
                let cred = credentials(credential.ok_or(Error::InvalidHandle)?)?;
                if cred.usage != SECPKG_CRED_INBOUND {
                    return Err(Error::UnknownCredentials("outbound credentials cannot accept"));
                }
                let mut options = AcceptorOptions::new().flags(context_req);
                if let Some(env) = environment() {
                    options = options.environment(env);
                }
                if let Some(cb) = bindings {
                    options = options.channel_bindings(cb);
                }
                let mut ctx = SecurityContext::acceptor(&cred.credentials, options)?;
                let step = ctx.step(token)?;
                let attrs = (ctx.attributes().unwrap_or(0), ctx.expiry());
                (step, insert_context(ctx), attrs)
            }
            Some(handle) => with_context(&handle, |ctx| {
                if ctx.is_initiator() {
                    return Err(Error::InvalidHandle);
                }
                if let Some(cb) = bindings {
                    ctx.set_channel_bindings(cb)?;
                }
                let step = ctx.step(token)?;
                Ok((step, handle, (ctx.attributes().unwrap_or(0), ctx.expiry())))
            })?,
        };
        *new_context = handle;
        let (attrs, expires) = attrs;
        *context_attr = attrs | if allocate { crate::flags::AscRet::ALLOCATED_MEMORY.0 } else { 0 };
        *expiry = expires;
        finish_step(step, output, allocate)
    })())
}

/// `CompleteAuthToken`. NTLM never asks for it (no call returns `SEC_I_COMPLETE_NEEDED`);
/// it succeeds on a live context.
pub fn complete_auth_token(context: &SecHandle, token: &mut [SecBuffer<'_>]) -> SecurityStatus {
    let _ = token;
    status_of(self::context(context).map(|_| SecurityStatus::SEC_E_OK))
}

/// `DeleteSecurityContext`. The handle is invalid afterwards.
pub fn delete_security_context(context: &SecHandle) -> SecurityStatus {
    if context.upper != KIND_CONTEXT {
        return SecurityStatus::SEC_E_INVALID_HANDLE;
    }
    match TABLE.contexts.write().unwrap_or_else(|e| e.into_inner()).remove(&context.lower) {
        Some(_) => SecurityStatus::SEC_E_OK,
        None => SecurityStatus::SEC_E_INVALID_HANDLE,
    }
}

/// `QueryContextAttributes`. Supported: `SECPKG_ATTR_SIZES`, `NAMES`, `LIFESPAN`,
/// `SESSION_KEY`, `PACKAGE_INFO`, `FLAGS`; others give `SEC_E_UNSUPPORTED_FUNCTION`.
/// Attributes of the established context give `SEC_E_OUT_OF_SEQUENCE` before it is.
pub fn query_context_attributes(
    context: &SecHandle,
    attribute: u32,
    value: &mut Option<ContextAttribute>,
) -> SecurityStatus {
    status_of(with_context(context, |ctx| {
        *value = Some(match attribute {
            SECPKG_ATTR_SIZES => ContextAttribute::Sizes(ctx.sizes()),
            SECPKG_ATTR_NAMES => ContextAttribute::Names(ctx.client_name()?),
            SECPKG_ATTR_LIFESPAN => ContextAttribute::Lifespan(FileTime(0), ctx.expiry()),
            SECPKG_ATTR_SESSION_KEY if ctx.package() == Package::Kerberos => {
                ContextAttribute::KerberosSessionKey(ctx.dangerous_kerberos_session_key()?)
            }
            SECPKG_ATTR_SESSION_KEY => ContextAttribute::SessionKey(ctx.dangerous_session_key()?),
            SECPKG_ATTR_PACKAGE_INFO => ContextAttribute::PackageInfo(ctx.package_info()),
            SECPKG_ATTR_FLAGS => ContextAttribute::Flags(ctx.attributes()?),
            _ => return Err(Error::NotSupported("this context attribute")),
        });
        Ok(SecurityStatus::SEC_E_OK)
    }))
}

/// `ExportSecurityContext`: packs the context into `packed` (free it with
/// [`free_context_buffer`]) and, when `token` is given, writes the identity of an
/// established context there (`None` before the handshake completed). The blob is protected
/// with the per-host key; [`export_security_context_ex`] takes other options.
///
/// `flags`: `SECPKG_CONTEXT_EXPORT_RESET_NEW`, `SECPKG_CONTEXT_EXPORT_DELETE_OLD` (the handle
/// is invalid afterwards), `SECPKG_CONTEXT_EXPORT_TO_KERNEL` (`SEC_E_NOT_SUPPORTED`); unknown
/// bits are `SEC_E_INVALID_PARAMETER`. On failure nothing changes.
pub fn export_security_context(
    context: &SecHandle,
    flags: u32,
    packed: &mut Option<ContextBuffer>,
    token: Option<&mut Option<ClientIdentity>>,
) -> SecurityStatus {
    export_security_context_ex(context, flags, &ExportOptions::new(), packed, token)
}

/// [`export_security_context`] with explicit [`ExportOptions`] (key, nonce randomness).
pub fn export_security_context_ex(
    context: &SecHandle,
    flags: u32,
    options: &ExportOptions,
    packed: &mut Option<ContextBuffer>,
    token: Option<&mut Option<ClientIdentity>>,
) -> SecurityStatus {
    status_of((|| {
        let ctx = self::context(context)?;
        // With DELETE_OLD the context is marked deleted under its lock, in the same step as
        // the export, so no call on another thread can slip in between and use a keystream
        // the blob also carries. The handle is then dropped from the table.
        let exported = ctx.lock().unwrap_or_else(|e| e.into_inner()).export(flags, options)?;
        if flags & crate::export::SECPKG_CONTEXT_EXPORT_DELETE_OLD != 0 {
            TABLE.contexts.write().unwrap_or_else(|e| e.into_inner()).remove(&context.lower);
        }
        *packed = Some(ContextBuffer(exported.packed.as_bytes().to_vec()));
        if let Some(token) = token {
            *token = exported.identity;
        }
        Ok(SecurityStatus::SEC_E_OK)
    })())
}

/// `ImportSecurityContext`: a new context handle from a packed context, protected with the
/// per-host key. An NTLM acceptor packed before its handshake completed gets its user store
/// from the file named by [`NTLM_USER_FILE`]; a Kerberos context before its first token
/// needs its credentials through [`import_security_context_ex`], which takes credentials, a
/// key and an environment directly. `token`, when given, must be the identity the
/// exporter handed out. On failure no handle is created.
///
/// `package` is checked against the package the blob names before the blob is opened:
/// another package's blob is `SEC_E_INVALID_TOKEN` ([`Error::WrongPackage`]), an unknown
/// name `SEC_E_SECPKG_NOT_FOUND`. ([`SecurityContext::import`] takes the package from the
/// blob.)
pub fn import_security_context(
    package: &str,
    packed: &[u8],
    token: Option<&ClientIdentity>,
    context: &mut SecHandle,
) -> SecurityStatus {
    // The user file matters only for an acceptor imported mid-handshake: a file that cannot
    // be read is reported only if the import then needs it.
    let mut options = ImportOptions::new();
    if let Some(env) = environment() {
        options = options.environment(env);
    }
    let mut file_error = None;
    // The user file is NTLM's: a Kerberos blob gets no credentials here (an established
    // context needs none; one before its first token is imported with
    // `import_security_context_ex` and its credentials).
    let ntlm = Package::from_name(package).is_ok_and(|p| p == Package::Ntlm);
    if let Some(path) = std::env::var_os(NTLM_USER_FILE).filter(|_| ntlm) {
        match MemoryUserStore::from_file(path) {
            Ok(users) => options = options.credentials(Credentials::acceptor(users)),
            Err(e) => file_error = Some(e),
        }
    }
    let status = import_security_context_ex(package, packed, token, &options, context);
    match file_error {
        Some(e) if status == SecurityStatus::SEC_E_UNKNOWN_CREDENTIALS => SecurityStatus::from(&e),
        _ => status,
    }
}

/// [`import_security_context`] with explicit [`ImportOptions`].
pub fn import_security_context_ex(
    package: &str,
    packed: &[u8],
    token: Option<&ClientIdentity>,
    options: &ImportOptions,
    context: &mut SecHandle,
) -> SecurityStatus {
    status_of((|| {
        let options = match token {
            Some(identity) => options.clone().identity(identity.clone()),
            None => options.clone(),
        };
        // As Windows hands the blob to the named package, which refuses a foreign one before
        // anything else is checked.
        let expected = Package::from_name(package)?;
        let found = SecurityContext::package_of(packed)?;
        if found != expected {
            return Err(Error::WrongPackage { expected: expected.name(), found: found.name() });
        }
        let ctx = SecurityContext::import(packed, &options)?;
        *context = insert_context(ctx);
        Ok(SecurityStatus::SEC_E_OK)
    })())
}

/// `FreeContextBuffer`: releases (and zeroizes) memory the provider allocated.
pub fn free_context_buffer(buffer: ContextBuffer) -> SecurityStatus {
    drop(buffer);
    SecurityStatus::SEC_E_OK
}

/// Takes the signature buffer (the first `SECBUFFER_TOKEN`) out of the message: its index.
fn signature_index(message: &[SecBuffer<'_>]) -> Result<usize> {
    message
        .iter()
        .position(|b| b.base_type() == SECBUFFER_TOKEN)
        .ok_or(Error::InvalidToken("no SECBUFFER_TOKEN for the signature"))
}

/// Runs `make` (which produces a signature over the data buffers) and writes the signature
/// into the token buffer, narrowed to its length. The token buffer must hold `needed` bytes
/// (the package's largest signature or trailer) before anything is done. Nothing is
/// allocated.
fn produce_signature(
    message: &mut [SecBuffer<'_>],
    needed: usize,
    make: impl FnOnce(&mut DataBuffers<'_, '_>) -> Result<Signature>,
) -> Result<()> {
    let at = signature_index(message)?;
    let sig_buf = message.get_mut(at).ok_or(Error::InvalidHandle)?;
    if sig_buf.len() < needed || sig_buf.is_read_only() {
        return Err(Error::BufferTooSmall { needed });
    }
    let sig_memory = sig_buf.take_mut()?;
    let mut data = DataBuffers(message);
    let result = data.check().and_then(|()| make(&mut data));
    let sig_buf = message.get_mut(at).ok_or(Error::InvalidHandle)?;
    sig_buf.data = SecBufferData::Borrowed(sig_memory);
    sig_buf.write_slice(&result?)
}

/// Reads the signature (the first `SECBUFFER_TOKEN`) of a received message.
fn received_signature(ctx: &SecurityContext, message: &[SecBuffer<'_>]) -> Result<Signature> {
    let at = signature_index(message)?;
    let sig = message.get(at).map(SecBuffer::as_slice).unwrap_or_default();
    match ctx.package() {
        // A token buffer longer than a signature is accepted; its first 16 bytes are the
        // signature.
        Package::Ntlm => {
            Signature::copy_of(sig.get(..SIGNATURE_SIZE).ok_or(Error::MessageAltered)?)
        }
        // A Kerberos token's length is part of it (the split Wrap form tells EC by it).
        Package::Kerberos => Signature::copy_of(sig),
    }
}

fn check_qop(qop: u32) -> Result<()> {
    if qop != 0 {
        return Err(Error::QopNotSupported);
    }
    Ok(())
}

/// `MakeSignature`. `seq_no` is ignored: NTLM keeps its own sequence numbers on a
/// connection, as Windows does. The first `SECBUFFER_TOKEN` receives the 16-byte
/// signature; every `SECBUFFER_DATA` buffer is signed.
pub fn make_signature(
    context: &SecHandle,
    qop: u32,
    message: &mut [SecBuffer<'_>],
    seq_no: u32,
) -> SecurityStatus {
    let _ = seq_no;
    status_of(with_context(context, |ctx| {
        check_qop(qop)?;
        let needed = usize::try_from(ctx.sizes().max_signature).unwrap_or(usize::MAX);
        produce_signature(message, needed, |data| ctx.sign_parts(data))?;
        Ok(SecurityStatus::SEC_E_OK)
    }))
}

/// `VerifySignature`. `qop` receives 0.
pub fn verify_signature(
    context: &SecHandle,
    message: &mut [SecBuffer<'_>],
    seq_no: u32,
    qop: &mut u32,
) -> SecurityStatus {
    let _ = seq_no;
    status_of(with_context(context, |ctx| {
        let sig = received_signature(ctx, message)?;
        let data = DataBuffers(message);
        data.check()?;
        ctx.verify_parts(&data, &sig)?;
        *qop = 0;
        Ok(SecurityStatus::SEC_E_OK)
    }))
}

/// `SECQOP_WRAP_NO_ENCRYPT`: `EncryptMessage` only signs (Kerberos); `DecryptMessage`
/// reports it for a message that was not encrypted.
pub const SECQOP_WRAP_NO_ENCRYPT: u32 = 0x8000_0001;

/// `EncryptMessage`: encrypts every writable `SECBUFFER_DATA` buffer in place, signs them
/// and the read-only ones, and writes the signature into the first `SECBUFFER_TOKEN`.
/// `qop` 0, or for Kerberos [`SECQOP_WRAP_NO_ENCRYPT`] (the data stays in the clear, the
/// token carries its checksum); any other gives `SEC_E_QOP_NOT_SUPPORTED`.
pub fn encrypt_message(
    context: &SecHandle,
    qop: u32,
    message: &mut [SecBuffer<'_>],
    seq_no: u32,
) -> SecurityStatus {
    let _ = seq_no;
    status_of(with_context(context, |ctx| {
        if qop == SECQOP_WRAP_NO_ENCRYPT && ctx.package() == Package::Kerberos {
            let needed = usize::try_from(ctx.sizes().max_signature).unwrap_or(usize::MAX);
            produce_signature(message, needed, |data| ctx.seal_parts_integrity_only(data))?;
            return Ok(SecurityStatus::SEC_E_OK);
        }
        check_qop(qop)?;
        let needed = ctx.seal_signature_len();
        produce_signature(message, needed, |data| ctx.seal_parts(data))?;
        Ok(SecurityStatus::SEC_E_OK)
    }))
}

/// `DecryptMessage`: either a `SECBUFFER_TOKEN` signature with `SECBUFFER_DATA` buffers, or
/// one `SECBUFFER_STREAM` (signature then ciphertext) and an empty `SECBUFFER_DATA` that is
/// pointed at the plaintext. On failure the data holds its ciphertext again and the context
/// is ready for the next valid message.
pub fn decrypt_message(
    context: &SecHandle,
    message: &mut [SecBuffer<'_>],
    seq_no: u32,
    qop: &mut u32,
) -> SecurityStatus {
    let _ = seq_no;
    status_of(with_context(context, |ctx| {
        if let Some(stream_at) = message.iter().position(|b| b.base_type() == SECBUFFER_STREAM) {
            let data_at = message
                .iter()
                .position(|b| b.base_type() == SECBUFFER_DATA)
                .ok_or(Error::InvalidParameter("SECBUFFER_STREAM needs a SECBUFFER_DATA buffer"))?;
            let stream = message.get_mut(stream_at).ok_or(Error::InvalidHandle)?;
            let whole = stream.take_mut()?;
            // The stream is one whole token (NTLM: signature then ciphertext; Kerberos: a
            // Wrap token of any rotation); the data buffer is pointed at its plaintext.
            let range = match ctx.unwrap_range(whole) {
                Ok(range) => range,
                Err(e) => {
                    stream.data = SecBufferData::Borrowed(whole);
                    return Err(e);
                }
            };
            let (head, rest) = whole.split_at_mut(range.start);
            let (data, _) = rest.split_at_mut(range.end - range.start);
            stream.data = SecBufferData::Borrowed(head);
            if let Some(d) = message.get_mut(data_at) {
                d.data = SecBufferData::Borrowed(data);
            }
        } else {
            let sig = received_signature(ctx, message)?;
            let mut data = DataBuffers(message);
            data.check()?;
            if !ctx.unseal_parts_qop(&mut data, &sig)? {
                *qop = SECQOP_WRAP_NO_ENCRYPT;
                return Ok(SecurityStatus::SEC_E_OK);
            }
        }
        *qop = 0;
        Ok(SecurityStatus::SEC_E_OK)
    }))
}
