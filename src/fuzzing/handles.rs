//! The `handles` fuzz target: an arbitrary sequence of calls on the `sspi::` handle layer over
//! several credentials and contexts at once, with tokens, messages and exported blobs altered
//! in flight.
//!
//! # The input
//!
//! The first byte seeds the randomness every context of the run draws from; then each
//! operation is one opcode byte (`% 16`, see [`Op`]) followed by its argument bytes. Missing
//! bytes read as 0, so every input is a valid program; a run stops after [`MAX_OPS`]
//! operations. [`Program`] writes programs in this encoding (the seed generator uses it).
//!
//! # What is checked (a failed check is a crash)
//!
//! - No call panics.
//! - A deleted context, or one exported with `DELETE_OLD`, answers `SEC_E_INVALID_HANDLE`
//!   to every call that takes it (checked right away and again later, at random); so does a
//!   freed credentials handle.
//! - Export refuses `TO_KERNEL` and unknown flag bits, and a failed export leaves the handle
//!   as it was.
//! - An import never succeeds with a blob changed in flight, a key other than the one that
//!   sealed it, or an identity other than the exporter's.
//! - Twins (a context and its import, made by [`Op::Twin`] without `DELETE_OLD`) answer every
//!   later call that is made on one of them, which is then made on the other too, byte for
//!   byte alike: the import continues exactly as the context that never moved.
//! - A message changed in flight never verifies on a context that has integrity.
//! - At the end every handle the run created is deleted or freed, after which none of them
//!   is valid and (for the fuzz target, alone in its process) the table holds as many handles
//!   as before the run.
//!
//! # Packages
//!
//! Every context has the package of the credentials that made it (or of the blob it was
//! imported from): NTLM, or Kerberos in the offline world of [`crate::fuzzing::kerberos`]
//! (alice holding a ticket for `HTTP/web.example.test`, the service's keytab; the same T0).
//! The package decides the target name of a new initiator (the world's service), the room
//! of an output token buffer (its `cbMaxToken`, unless the argument asks for NTLM's), the
//! size of a signature (16; Kerberos 28 for a MIC, 60 for EncryptMessage's token) and the
//! credentials a twin is imported with. For Kerberos the checks above hold as they are,
//! with two readings:
//!
//! - A Kerberos context always has integrity once established (every RFC 4121 token is
//!   checked with the context key), and a token's length is part of it: a changed or longer
//!   token buffer is a change (NTLM reads the first 16 bytes only).
//! - Twins of an acceptor each get a replay cache of their own (fresh credentials on
//!   import), so both take the same AP-REQ; two contexts from one credentials handle share
//!   one, and the second refuses it (a replay, not a divergence). With sequence detection
//!   an early token is refused but counted (see `manual`, "Sequence numbers"): both twins
//!   count it, so they stay alike.
//!
//! # Determinism
//!
//! Every context the run creates gets one [`Environment`] (through
//! [`crate::sspi::with_environment`]): a fixed clock the run can move, and randomness that is
//! a function of the run's seed and the request's size only. Two contexts in the same state
//! therefore draw the same bytes, so twins stay identical even through handshake legs.
//! (Randomness this poor is only good for a fuzzer; the production default is the OS.)

use crate::api::{Credentials, ImportOptions, Package};
use crate::bindings::ChannelBindings;
use crate::crypto::{NtHash, Password};
use crate::env::{Clock, Environment, FileTime, ManualClock, RandomSource};
use crate::error::Result;
use crate::export::{
    ClientIdentity, ExportKey, ExportOptions, KEY_FILE_ENV, Protection,
    SECPKG_CONTEXT_EXPORT_DELETE_OLD, SECPKG_CONTEXT_EXPORT_RESET_NEW,
    SECPKG_CONTEXT_EXPORT_TO_KERNEL,
};
use crate::flags::{AscReq, AscRet, IscReq, IscRet};
use crate::fuzzing::kerberos::{krb_acceptor_credentials, krb_initiator_credentials};
use crate::ntlm::users::MemoryUserStore;
use crate::sspi::{self, ContextAttribute, ContextBuffer, SecBuffer, SecBufferData, SecHandle};
use crate::sspi::{
    SECBUFFER_CHANNEL_BINDINGS, SECBUFFER_DATA, SECBUFFER_EMPTY, SECBUFFER_PADDING,
    SECBUFFER_READONLY, SECBUFFER_STREAM, SECBUFFER_TOKEN,
};
use crate::status::SecurityStatus as S;
use std::collections::VecDeque;
use std::time::Duration;

/// The most operations a run makes.
pub const MAX_OPS: usize = 96;
const CRED_SLOTS: usize = 4;
const CTX_SLOTS: usize = 6;
const KEPT: usize = 4;
/// NTLM's `cbMaxToken`: the room of a call whose output buffer is sized for NTLM.
const TOKEN_ROOM: usize = crate::api::MAX_TOKEN_SIZE;
/// The clock of the Kerberos world of [`crate::fuzzing::kerberos`] too.
const T0: FileTime = FileTime(134_116_992_000_000_000);
/// The service of the Kerberos world's only ticket: the target of its initiators.
const KRB_SPN: &str = "HTTP/web.example.test";

/// `cbMaxToken` of `package` (48,000 for Kerberos): the room of an output token buffer.
fn room(package: Package) -> usize {
    usize::try_from(package.info().max_token).unwrap_or(usize::MAX)
}

/// How many bytes a successful `make_signature` (`sealed` false) or `encrypt_message` writes
/// into the token buffer: NTLM's 16-byte signature; for Kerberos the world's
/// aes256-cts-hmac-sha1-96 MIC token (28) or split Wrap token header (60).
fn signature_len(package: Package, sealed: bool) -> usize {
    match (package, sealed) {
        (Package::Ntlm, _) => 16,
        (Package::Kerberos, false) => 28,
        (Package::Kerberos, true) => 60,
    }
}

/// The operations, by opcode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Op {
    /// `kind`: acquire credentials of kind `kind % 16` (see `acquire`).
    Acquire = 0,
    /// `slot`: free a credentials handle.
    FreeCredentials = 1,
    /// `cred flags target bindings output`: a new initiator context (its first leg).
    Initialize = 2,
    /// `cred from tamper.. flags bindings output`: a new acceptor context taking the last
    /// token of context `from`.
    Accept = 3,
    /// `slot from tamper.. flags bindings output`: the next leg of a context.
    Step = 4,
    /// `slot layout len bytes..`: make_signature (layout bit 7 clear) or encrypt_message.
    Protect = 5,
    /// `slot message layout tamper..`: verify_signature or decrypt_message of a kept message.
    Check = 6,
    /// `slot flags protection identity`: export_security_context(_ex).
    Export = 7,
    /// `blob key package identity tamper.. credentials`: import_security_context(_ex).
    Import = 8,
    /// `slot`: delete_security_context.
    Delete = 9,
    /// `slot attribute`: query_context_attributes.
    Query = 10,
    /// `which slot`: the calls that take no context or only look at one.
    Misc = 11,
    /// `index call`: a call on a handle deleted earlier.
    ProbeDead = 12,
    /// `slot`: export without `DELETE_OLD` and import at once: the two copies are twins.
    Twin = 13,
    /// `m`: moves the clock forward `m` minutes (`m` < 128) or `m - 127` days.
    Clock = 14,
    /// `client server flags`: a whole handshake between two new contexts.
    Handshake = 15,
}

/// Writes a program in the input encoding (for seeds and tests).
#[derive(Debug, Clone)]
pub struct Program(pub Vec<u8>);

impl Program {
    /// A program whose randomness has seed `seed`.
    pub fn new(seed: u8) -> Self {
        Self(vec![seed])
    }

    /// Appends an operation and its argument bytes.
    pub fn op(mut self, op: Op, args: &[u8]) -> Self {
        self.0.push(op as u8);
        self.0.extend_from_slice(args);
        self
    }
}

/// Reads the input; missing bytes are 0.
struct Input<'a> {
    data: &'a [u8],
}

impl<'a> Input<'a> {
    fn byte(&mut self) -> u8 {
        match self.data.split_first() {
            Some((&b, rest)) => {
                self.data = rest;
                b
            }
            None => 0,
        }
    }

    fn u16(&mut self) -> u16 {
        u16::from_le_bytes([self.byte(), self.byte()])
    }

    fn u32(&mut self) -> u32 {
        u32::from_le_bytes([self.byte(), self.byte(), self.byte(), self.byte()])
    }

    fn bytes(&mut self, n: usize) -> &'a [u8] {
        let (head, rest) = self.data.split_at(n.min(self.data.len()));
        self.data = rest;
        head
    }

    fn is_empty(&self) -> bool {
        self.data.is_empty()
    }
}

/// Randomness that depends on the seed and the size of the request only: contexts in the
/// same state draw the same bytes (see the module docs). Fuzzing only.
struct StatelessRandom(u64);

impl RandomSource for StatelessRandom {
    fn fill(&self, dest: &mut [u8]) -> Result<()> {
        let len = dest.len() as u64;
        for (i, chunk) in dest.chunks_mut(16).enumerate() {
            let block =
                crate::crypto::md5(&[&self.0.to_le_bytes(), &len.to_le_bytes(), &i.to_le_bytes()]);
            chunk.copy_from_slice(&block[..chunk.len()]);
        }
        Ok(())
    }
}

fn key_a() -> ExportKey {
    ExportKey::from_bytes([0xA5; 32])
}

fn key_b() -> ExportKey {
    ExportKey::from_bytes([0x5A; 32])
}

/// How a blob is protected: 0 the per-host key (only when [`KEY_FILE_ENV`] names a file, so
/// a run never writes into the user's home; else key A), 1 key A, 2 key B, 3 none.
fn protection(choice: u8) -> Protection {
    match choice % 4 {
        0 if std::env::var_os(KEY_FILE_ENV).is_some() => Protection::HostKey,
        0 | 1 => Protection::Key(key_a()),
        2 => Protection::Key(key_b()),
        _ => Protection::DangerousUnprotected,
    }
}

/// The protection actually used for `choice` (0 falls back to 1 without a host key file).
fn effective_protection(choice: u8) -> u8 {
    match choice % 4 {
        0 if std::env::var_os(KEY_FILE_ENV).is_none() => 1,
        c => c,
    }
}

fn users() -> MemoryUserStore {
    let mut users = MemoryUserStore::new();
    users.add_password("EXAMPLE", "alice", &Password::new("pw"));
    users.add_password("", "bob", &Password::new("pw2"));
    users
}

fn bindings(choice: u8) -> Option<Vec<u8>> {
    match choice % 4 {
        0 => None,
        1 => ChannelBindings::application(&b"cb"[..]).to_sec_channel_bindings().ok(),
        2 => ChannelBindings::application(&b"other"[..]).to_sec_channel_bindings().ok(),
        _ => Some(vec![1, 2, 3]),
    }
}

/// Changes a token, a message or a blob as the next argument bytes say. Returns whether the
/// bytes changed.
fn tamper(input: &mut Input<'_>, bytes: &mut Vec<u8>) -> bool {
    let before = bytes.clone();
    match input.byte() % 8 {
        5 => {
            let at = usize::from(input.u16());
            let bit = input.byte() % 8;
            if !bytes.is_empty() {
                let at = at % bytes.len();
                bytes[at] ^= 1 << bit;
            }
        }
        6 => {
            let len = usize::from(input.u16());
            bytes.truncate(len % (bytes.len() + 1));
        }
        7 => {
            let n = usize::from(input.byte() % 32);
            let extra = input.bytes(n).to_vec();
            bytes.extend_from_slice(&extra);
        }
        _ => {}
    }
    *bytes != before
}

struct Cred {
    handle: SecHandle,
    package: Package,
}

/// The first leg of an initiator made by `initialize`.
#[derive(Clone)]
struct FirstLeg {
    token: Vec<u8>,
    status: S,
    /// The clock then: a Kerberos AP-REQ carries the time it was made.
    at: FileTime,
}

struct Ctx {
    handle: SecHandle,
    initiator: bool,
    package: Package,
    /// The last token this context produced.
    outbox: Vec<u8>,
    /// The slot of its twin.
    twin: Option<usize>,
    /// An initiator made by this run's `initialize`: the first token it sent, which the
    /// context again sends first after an export with RESET_NEW.
    first: Option<FirstLeg>,
}

/// A message a context protected, kept for a `Check`.
struct Message {
    sealed: bool,
    signature: Vec<u8>,
    /// Data parts and whether each is read-only (signed, not sealed).
    parts: Vec<(Vec<u8>, bool)>,
}

struct Blob {
    bytes: Vec<u8>,
    initiator: bool,
    package: Package,
    /// The last token of the exported context (its peer has it; the import carries on).
    outbox: Vec<u8>,
    protection: u8,
    identity: Option<ClientIdentity>,
    /// With RESET_NEW, of an initiator whose first token is known: that token.
    reset_first: Option<FirstLeg>,
}

/// What a call produced, compared between twins.
#[derive(Debug, PartialEq, Eq)]
struct Outcome {
    status: S,
    bytes: Vec<Vec<u8>>,
    value: u64,
}

impl Outcome {
    fn of(status: S) -> Self {
        Self { status, bytes: Vec::new(), value: 0 }
    }
}

struct Run {
    creds: [Option<Cred>; CRED_SLOTS],
    ctxs: [Option<Ctx>; CTX_SLOTS],
    messages: VecDeque<Message>,
    blobs: VecDeque<Blob>,
    dead: VecDeque<SecHandle>,
    /// Every handle the run created, and whether it is a context (to check they are all
    /// gone at the end).
    created: Vec<(SecHandle, bool)>,
    clock: ManualClock,
    env: Environment,
    /// What the run got to ([`REACHED_ESTABLISHED`] and the others): lets the seed tests
    /// check that the seeds go deep.
    reached: u32,
}

/// A handshake completed.
pub const REACHED_ESTABLISHED: u32 = 1;
/// A message made by one context passed the checks of another.
pub const REACHED_CHECKED: u32 = 2;
/// A blob was imported.
pub const REACHED_IMPORTED: u32 = 4;
/// Twins were made.
pub const REACHED_TWINS: u32 = 8;
/// A context was exported with `DELETE_OLD`.
pub const REACHED_DELETE_OLD: u32 = 16;
/// A message was sealed (`encrypt_message` succeeded).
pub const REACHED_SEALED: u32 = 32;
/// A blob exported with `RESET_NEW` started over as its context did.
pub const REACHED_RESET: u32 = 64;

fn slot(index: u8, len: usize) -> usize {
    usize::from(index) % len
}

/// The caller memory for the output token of a handshake call: the package's `cbMaxToken`,
/// or NTLM's with bit 6 of `choice` (too small for a Kerberos first leg).
fn output_room(package: Package, choice: u8) -> usize {
    if choice & 0x40 != 0 { TOKEN_ROOM } else { room(package) }
}

/// The output buffer of a handshake call, as `choice` says: whether to ask the provider to
/// allocate and what memory the caller passes.
fn output_buffers(choice: u8, memory: &mut [u8]) -> (bool, Vec<SecBuffer<'_>>) {
    match choice % 8 {
        1 => (true, vec![SecBuffer::empty(SECBUFFER_TOKEN)]),
        2 => {
            let len = memory.len().min(100);
            (false, vec![SecBuffer::new(SECBUFFER_TOKEN, &mut memory[..len])])
        }
        3 => (false, vec![SecBuffer::read_only(SECBUFFER_TOKEN, memory)]),
        4 => (false, vec![SecBuffer::empty(SECBUFFER_EMPTY)]),
        5 => (true, vec![SecBuffer::new(SECBUFFER_TOKEN, memory)]),
        6 => (false, vec![SecBuffer::empty(SECBUFFER_TOKEN)]),
        _ => (
            false,
            vec![SecBuffer::empty(SECBUFFER_PADDING), SecBuffer::new(SECBUFFER_TOKEN, memory)],
        ),
    }
}

/// The signature buffer of a message to protect: `(missing, read-only memory, read-only
/// flag)`.
fn sig_buffer(kind: (bool, bool, bool), sig: &mut [u8]) -> Option<SecBuffer<'_>> {
    match kind {
        (true, _, _) => None,
        (_, true, _) => Some(SecBuffer::read_only(SECBUFFER_TOKEN, sig)),
        (_, _, true) => Some(SecBuffer::new(SECBUFFER_TOKEN | SECBUFFER_READONLY, sig)),
        _ => Some(SecBuffer::new(SECBUFFER_TOKEN, sig)),
    }
}

/// The token a handshake call wrote, if any.
fn written_token(output: &mut [SecBuffer<'_>]) -> Vec<u8> {
    let Some(out) = output.iter_mut().find(|b| b.base_type() == SECBUFFER_TOKEN) else {
        return Vec::new();
    };
    match out.take_allocated() {
        Some(buffer) => {
            let bytes = buffer.as_slice().to_vec();
            assert_eq!(sspi::free_context_buffer(buffer), S::SEC_E_OK);
            bytes
        }
        None => out.as_slice().to_vec(),
    }
}

/// 0-2 and the raw bits (3, 7) as NTLM clients ask; 4-6 with mutual authentication (a
/// Kerberos AP-REP; NTLM ignores it).
fn isc_flags(choice: u8, raw: u32) -> IscReq {
    match choice % 8 {
        0 => IscReq::CONFIDENTIALITY | IscReq::INTEGRITY | IscReq::REPLAY_DETECT,
        1 => IscReq::EMPTY,
        2 => IscReq::INTEGRITY | IscReq::SEQUENCE_DETECT,
        4 => {
            IscReq::MUTUAL_AUTH
                | IscReq::CONFIDENTIALITY
                | IscReq::INTEGRITY
                | IscReq::REPLAY_DETECT
        }
        5 => {
            IscReq::MUTUAL_AUTH
                | IscReq::INTEGRITY
                | IscReq::REPLAY_DETECT
                | IscReq::SEQUENCE_DETECT
        }
        6 => IscReq::MUTUAL_AUTH,
        _ => IscReq(raw & !IscReq::ALLOCATE_MEMORY.0),
    }
}

fn asc_flags(choice: u8, raw: u32) -> AscReq {
    match choice % 4 {
        0 => AscReq::CONFIDENTIALITY | AscReq::REPLAY_DETECT,
        1 => AscReq::EMPTY,
        2 => AscReq::INTEGRITY,
        _ => AscReq(raw & !AscReq::ALLOCATE_MEMORY.0),
    }
}

impl Run {
    fn new(seed: u8) -> Self {
        let clock = ManualClock::new(T0);
        let env = Environment::new(StatelessRandom(u64::from(seed)), clock.clone());
        Self {
            creds: Default::default(),
            ctxs: Default::default(),
            messages: VecDeque::new(),
            blobs: VecDeque::new(),
            dead: VecDeque::new(),
            created: Vec::new(),
            clock,
            env,
            reached: 0,
        }
    }

    fn remember_dead(&mut self, handle: SecHandle) {
        if self.dead.len() == 2 * KEPT {
            self.dead.pop_front();
        }
        self.dead.push_back(handle);
    }

    fn free_ctx_slot(&self) -> Option<usize> {
        self.ctxs.iter().position(Option::is_none)
    }

    fn add_ctx(
        &mut self,
        handle: SecHandle,
        initiator: bool,
        package: Package,
        outbox: Vec<u8>,
    ) -> Option<usize> {
        self.created.push((handle, true));
        match self.free_ctx_slot() {
            Some(at) => {
                self.ctxs[at] =
                    Some(Ctx { handle, initiator, package, outbox, twin: None, first: None });
                Some(at)
            }
            None => {
                // No room: the run drops it at once.
                assert_eq!(sspi::delete_security_context(&handle), S::SEC_E_OK);
                self.remember_dead(handle);
                None
            }
        }
    }

    /// Forgets a context that is gone (deleted or exported with DELETE_OLD), and its twin
    /// relation.
    fn forget(&mut self, at: usize) {
        if let Some(ctx) = self.ctxs[at].take() {
            if let Some(t) = ctx.twin
                && let Some(other) = self.ctxs[t].as_mut()
            {
                other.twin = None;
            }
            assert_dead(&ctx.handle);
            self.remember_dead(ctx.handle);
        }
    }

    /// Runs `call` on the context in `at` and, if it has a twin, on the twin too: both must
    /// give the same outcome.
    fn on_ctx(
        &mut self,
        at: usize,
        mut call: impl FnMut(&SecHandle) -> Outcome,
    ) -> Option<Outcome> {
        let ctx = self.ctxs[at].as_ref()?;
        let first = call(&ctx.handle);
        if let Some(t) = ctx.twin {
            let twin = self.ctxs[t].as_ref().expect("twins are forgotten together");
            let second = call(&twin.handle);
            assert_eq!(first, second, "twins diverged");
        }
        Some(first)
    }

    fn set_outbox(&mut self, at: usize, token: &[u8]) {
        let twin = self.ctxs[at].as_ref().and_then(|c| c.twin);
        for i in [Some(at), twin].into_iter().flatten() {
            if let Some(c) = self.ctxs[i].as_mut() {
                c.outbox = token.to_vec();
            }
        }
    }

    /// Kinds 0-3 and 6 are NTLM credentials that work, 4 and 8 the Kerberos world's
    /// initiator (alice with her ticket) and acceptor (the service's keytab, a replay cache
    /// of its own), the others credentials that are refused.
    fn acquire(&mut self, kind: u8) {
        let Some(at) = self.creds.iter().position(Option::is_none) else { return };
        let ntlm_initiator = || Credentials::initiator("alice", "EXAMPLE", Password::new("pw"));
        let (package, usage, auth, should_work) = match kind % 16 {
            0 => ("NTLM", sspi::SECPKG_CRED_OUTBOUND, Some(ntlm_initiator()), true),
            1 => (
                "ntlm",
                sspi::SECPKG_CRED_OUTBOUND,
                Some(Credentials::initiator("alice", "EXAMPLE", Password::new("wrong"))),
                true,
            ),
            2 => (
                "NTLM",
                sspi::SECPKG_CRED_OUTBOUND,
                Some(Credentials::initiator_with_nt_hash("BOB", "", NtHash::from_password("pw2"))),
                true,
            ),
            3 => ("NTLM", sspi::SECPKG_CRED_INBOUND, Some(Credentials::acceptor(users())), true),
            4 => ("Kerberos", sspi::SECPKG_CRED_OUTBOUND, Some(krb_initiator_credentials()), true),
            5 => ("NTLM", sspi::SECPKG_CRED_OUTBOUND, Some(Credentials::acceptor(users())), false),
            // From the file NTLM_USER_FILE names, when it is set (the fuzz target sets it).
            6 => (
                "NTLM",
                sspi::SECPKG_CRED_INBOUND,
                None,
                std::env::var_os(sspi::NTLM_USER_FILE).is_some(),
            ),
            7 => ("NTLM", sspi::SECPKG_CRED_BOTH, Some(ntlm_initiator()), false),
            8 => ("kerberos", sspi::SECPKG_CRED_INBOUND, Some(krb_acceptor_credentials()), true),
            9 => ("Kerberos", sspi::SECPKG_CRED_BOTH, Some(krb_initiator_credentials()), false),
            10 => ("Kerberos", sspi::SECPKG_CRED_OUTBOUND, Some(krb_acceptor_credentials()), false),
            11 => ("Kerberos", sspi::SECPKG_CRED_INBOUND, Some(krb_initiator_credentials()), false),
            12 => ("Kerberos", sspi::SECPKG_CRED_OUTBOUND, Some(ntlm_initiator()), false),
            13 => ("NTLM", sspi::SECPKG_CRED_INBOUND, Some(krb_acceptor_credentials()), false),
            14 => ("Negotiate", sspi::SECPKG_CRED_OUTBOUND, Some(ntlm_initiator()), false),
            _ => ("Kerberos", 0, Some(krb_initiator_credentials()), false),
        };
        let mut handle = SecHandle::default();
        let mut expiry = FileTime::default();
        let status = sspi::acquire_credentials_handle(
            None,
            package,
            usage,
            auth.as_ref(),
            &mut handle,
            &mut expiry,
        );
        assert_eq!(status == S::SEC_E_OK, should_work, "{status:?}");
        if status == S::SEC_E_OK {
            self.created.push((handle, false));
            let package = Package::from_name(package).expect("a package that acquired");
            self.creds[at] = Some(Cred { handle, package });
        }
    }

    fn free_credentials(&mut self, index: u8) {
        let at = slot(index, CRED_SLOTS);
        if let Some(cred) = self.creds[at].take() {
            assert_eq!(sspi::free_credentials_handle(&cred.handle), S::SEC_E_OK);
            assert_eq!(sspi::free_credentials_handle(&cred.handle), S::SEC_E_INVALID_HANDLE);
            // A freed handle starts nothing.
            let mut memory = vec![0u8; TOKEN_ROOM];
            let mut out = [SecBuffer::new(SECBUFFER_TOKEN, &mut memory)];
            let (mut new, mut attrs, mut expiry) = (SecHandle::default(), 0, FileTime::default());
            let status = sspi::initialize_security_context(
                Some(&cred.handle),
                None,
                None,
                IscReq::EMPTY,
                0,
                None,
                &mut new,
                &mut out,
                &mut attrs,
                &mut expiry,
            );
            assert_eq!(status, S::SEC_E_INVALID_HANDLE);
        }
    }

    fn cred_handle(&self, index: u8) -> SecHandle {
        // An empty slot gives a handle that was never issued.
        self.creds[slot(index, CRED_SLOTS)]
            .as_ref()
            .map_or(SecHandle { lower: u64::MAX, upper: 0 }, |c| c.handle)
    }

    /// The package of the credentials in the slot (NTLM for an empty one).
    fn cred_package(&self, index: u8) -> Package {
        self.creds[slot(index, CRED_SLOTS)].as_ref().map_or(Package::Ntlm, |c| c.package)
    }

    fn initialize(&mut self, input: &mut Input<'_>) {
        let index = input.byte();
        let (cred, package) = (self.cred_handle(index), self.cred_package(index));
        let flags = input.byte();
        let raw = input.u32();
        // A Kerberos initiator targets the world's service unless bit 7 says otherwise
        // (another name sends it to a KDC the world has not: an error).
        let choice = input.byte();
        let target = match choice % 4 {
            _ if package == Package::Kerberos && choice & 0x80 == 0 => Some(KRB_SPN),
            0 => None,
            1 => Some("HTTP/server"),
            2 => Some(""),
            _ => Some(KRB_SPN),
        };
        let cb = bindings(input.byte());
        let output_choice = input.byte();
        let mut memory = vec![0u8; output_room(package, output_choice)];
        let (allocate, mut output) = output_buffers(output_choice, &mut memory);
        let mut req = isc_flags(flags, raw);
        if allocate {
            req |= IscReq::ALLOCATE_MEMORY;
        }
        let mut input_buffers: Vec<SecBuffer<'_>> =
            cb.iter().map(|b| SecBuffer::read_only(SECBUFFER_CHANNEL_BINDINGS, b)).collect();
        let (mut new, mut attrs, mut expiry) = (SecHandle::default(), 0, FileTime::default());
        let status = sspi::initialize_security_context(
            Some(&cred),
            None,
            target,
            req,
            0,
            (!input_buffers.is_empty()).then_some(&mut input_buffers[..]),
            &mut new,
            &mut output,
            &mut attrs,
            &mut expiry,
        );
        if status.is_success() {
            assert_eq!(attrs & IscRet::ALLOCATED_MEMORY.0 != 0, allocate);
            let token = written_token(&mut output);
            let first = FirstLeg { token: token.clone(), status, at: self.clock.now() };
            if let Some(at) = self.add_ctx(new, true, package, token) {
                self.ctxs[at].as_mut().expect("just added").first = Some(first);
            }
        } else {
            assert_eq!(new, SecHandle::default(), "a failed first call creates no handle");
        }
    }

    fn accept(&mut self, input: &mut Input<'_>) {
        let index = input.byte();
        let (cred, package) = (self.cred_handle(index), self.cred_package(index));
        let mut token = self.outbox(input.byte());
        tamper(input, &mut token);
        let flags = input.byte();
        let raw = input.u32();
        let cb = bindings(input.byte());
        let output_choice = input.byte();
        let mut memory = vec![0u8; output_room(package, output_choice)];
        let (allocate, mut output) = output_buffers(output_choice, &mut memory);
        let mut req = asc_flags(flags, raw);
        if allocate {
            req |= AscReq::ALLOCATE_MEMORY;
        }
        let mut input_buffers = vec![SecBuffer::read_only(SECBUFFER_TOKEN, &token)];
        if let Some(cb) = &cb {
            input_buffers.push(SecBuffer::read_only(SECBUFFER_CHANNEL_BINDINGS, cb));
        }
        let (mut new, mut attrs, mut expiry) = (SecHandle::default(), 0, FileTime::default());
        let status = sspi::accept_security_context(
            Some(&cred),
            None,
            Some(&mut input_buffers),
            req,
            0,
            &mut new,
            &mut output,
            &mut attrs,
            &mut expiry,
        );
        if status.is_success() {
            assert_eq!(attrs & AscRet::ALLOCATED_MEMORY.0 != 0, allocate);
            let token = written_token(&mut output);
            self.add_ctx(new, false, package, token);
        } else {
            assert_eq!(new, SecHandle::default(), "a failed first call creates no handle");
        }
    }

    fn outbox(&self, index: u8) -> Vec<u8> {
        self.ctxs[slot(index, CTX_SLOTS)].as_ref().map(|c| c.outbox.clone()).unwrap_or_default()
    }

    fn step(&mut self, input: &mut Input<'_>) {
        let at = slot(input.byte(), CTX_SLOTS);
        let mut token = self.outbox(input.byte());
        tamper(input, &mut token);
        let flags = input.byte();
        let raw = input.u32();
        let cb = bindings(input.byte());
        let output_choice = input.byte();
        let no_token = output_choice & 0x80 != 0;
        let Some((initiator, package)) = self.ctxs[at].as_ref().map(|c| (c.initiator, c.package))
        else {
            return;
        };
        let outcome = self.on_ctx(at, |handle| {
            let mut memory = vec![0u8; output_room(package, output_choice)];
            let (allocate, mut output) = output_buffers(output_choice, &mut memory);
            let mut input_buffers = Vec::new();
            if !no_token {
                input_buffers.push(SecBuffer::read_only(SECBUFFER_TOKEN, &token));
            }
            if let Some(cb) = &cb {
                input_buffers.push(SecBuffer::read_only(SECBUFFER_CHANNEL_BINDINGS, cb));
            }
            let input = (!input_buffers.is_empty()).then_some(&mut input_buffers[..]);
            let (mut new, mut attrs, mut expiry) = (SecHandle::default(), 0, FileTime::default());
            let status = if initiator {
                let mut req = isc_flags(flags, raw);
                if allocate {
                    req |= IscReq::ALLOCATE_MEMORY;
                }
                sspi::initialize_security_context(
                    None,
                    Some(*handle),
                    None,
                    req,
                    0,
                    input,
                    &mut new,
                    &mut output,
                    &mut attrs,
                    &mut expiry,
                )
            } else {
                let mut req = asc_flags(flags, raw);
                if allocate {
                    req |= AscReq::ALLOCATE_MEMORY;
                }
                sspi::accept_security_context(
                    None,
                    Some(*handle),
                    input,
                    req,
                    0,
                    &mut new,
                    &mut output,
                    &mut attrs,
                    &mut expiry,
                )
            };
            if status.is_success() {
                assert_eq!(new, *handle, "a later leg keeps the handle");
            }
            let token = if status.is_success() { written_token(&mut output) } else { Vec::new() };
            Outcome { status, bytes: vec![token], value: u64::from(attrs) }
        });
        if let Some(o) = outcome {
            if o.status.is_success() {
                self.set_outbox(at, &o.bytes[0]);
            }
            if o.status == S::SEC_E_OK {
                self.reached |= REACHED_ESTABLISHED;
            }
        }
    }

    fn protect(&mut self, input: &mut Input<'_>) {
        let at = slot(input.byte(), CTX_SLOTS);
        let layout = input.byte();
        let qop = if input.byte() == 0xFF { 1 } else { 0 };
        let len = usize::from(input.byte() % 80);
        let data = input.bytes(len).to_vec();
        let sealed = layout & 0x80 != 0;
        let Some(package) = self.ctxs[at].as_ref().map(|c| c.package) else { return };
        // Bits 0-2: the signature buffer (its size around what the call writes); 3-4: how the
        // data is split and marked; 5: an extra buffer; 6: the signature buffer after the data.
        let written = signature_len(package, sealed);
        let sig_len = [written, 0, written - 1, written + 1, 128, written, written, written]
            [usize::from(layout & 7)];
        let read_only_sig = layout & 7 == 5;
        let flagged_sig = layout & 7 == 6;
        let missing_sig = layout & 7 == 7;
        let split = (layout >> 3) & 3;
        let extra = layout & 0x20 != 0;
        let sig_last = layout & 0x40 != 0;
        let outcome = self.on_ctx(at, |handle| {
            let mut sig = vec![0u8; sig_len];
            let mut parts: Vec<(Vec<u8>, bool)> = match split {
                0 => vec![(data.clone(), false)],
                1 => {
                    let (a, b) = data.split_at(data.len() / 2);
                    vec![(a.to_vec(), false), (b.to_vec(), true)]
                }
                2 => {
                    let (a, b) = data.split_at(data.len() / 3);
                    vec![(a.to_vec(), true), (b.to_vec(), false), (Vec::new(), false)]
                }
                _ => vec![(data.clone(), true)],
            };
            let mut allocated_data = split == 3 && data.len() % 2 == 1;
            let mut buffers = Vec::new();
            let sig_kind = (missing_sig, read_only_sig, flagged_sig);
            let mut sig_slot = Some(&mut sig);
            if !sig_last {
                buffers.extend(sig_buffer(sig_kind, sig_slot.take().expect("once")));
            }
            for (part, read_only) in parts.iter_mut() {
                if allocated_data {
                    // Provider memory where the caller's is expected: refused.
                    allocated_data = false;
                    buffers.push(SecBuffer {
                        buffer_type: SECBUFFER_DATA,
                        data: SecBufferData::Allocated(ContextBuffer(part.clone())),
                    });
                    *read_only = false;
                } else if *read_only {
                    buffers.push(SecBuffer::read_only(SECBUFFER_DATA, part));
                } else {
                    buffers.push(SecBuffer::new(SECBUFFER_DATA, part));
                }
            }
            if extra {
                buffers.push(SecBuffer::empty(SECBUFFER_PADDING));
            }
            if let Some(sig) = sig_slot.take() {
                buffers.extend(sig_buffer(sig_kind, sig));
            }
            let status = if sealed {
                sspi::encrypt_message(handle, qop, &mut buffers, 0)
            } else {
                sspi::make_signature(handle, qop, &mut buffers, 0)
            };
            let written_sig = buffers
                .iter()
                .find(|b| b.base_type() == SECBUFFER_TOKEN)
                .map(|b| b.as_slice().to_vec())
                .unwrap_or_default();
            drop(buffers);
            if status == S::SEC_E_OK {
                assert_eq!(written_sig.len(), written, "the signature buffer is narrowed");
            }
            let mut bytes = vec![written_sig];
            bytes.extend(parts.iter().map(|(p, _)| p.clone()));
            Outcome { status, bytes, value: parts.iter().map(|p| u64::from(p.1)).sum() }
        });
        let Some(o) = outcome else { return };
        if o.status == S::SEC_E_OK {
            if sealed {
                self.reached |= REACHED_SEALED;
            }
            // Which parts were read-only is recomputed the same way (the closure's copy is
            // gone): the split, with the allocated part refused before anything was made.
            let read_only: &[bool] = match split {
                0 => &[false],
                1 => &[false, true],
                2 => &[true, false, false],
                _ => &[true],
            };
            let parts = o.bytes[1..].iter().cloned().zip(read_only.iter().copied()).collect();
            if self.messages.len() == KEPT {
                self.messages.pop_front();
            }
            self.messages.push_back(Message { sealed, signature: o.bytes[0].clone(), parts });
        }
    }

    fn check(&mut self, input: &mut Input<'_>) {
        let at = slot(input.byte(), CTX_SLOTS);
        let which = input.byte();
        let layout = input.byte();
        let Some(message) = (!self.messages.is_empty())
            .then(|| &self.messages[usize::from(which) % self.messages.len()])
        else {
            return;
        };
        let mut signature = message.signature.clone();
        let mut parts = message.parts.clone();
        let sealed = message.sealed;
        let package = self.ctxs[at].as_ref().map_or(Package::Ntlm, |c| c.package);
        tamper(input, &mut signature);
        let decrypt = sealed != (layout & 1 != 0);
        // Bits 1-2: 0 the signature and the data buffers as sent; 1 one SECBUFFER_STREAM
        // (signature then data) and an empty data buffer; 2 a stream without the data buffer;
        // 3 the signature buffer longer than a signature.
        let form = (layout >> 1) & 3;
        let mut changed = match package {
            // A token buffer longer than a signature is accepted: only its first 16 bytes
            // count.
            Package::Ntlm => signature.get(..16) != message.signature.get(..16),
            // A Kerberos token's length is part of it: every byte counts, and so do the bytes
            // form 3 appends.
            Package::Kerberos => signature != message.signature || form == 3,
        };
        if let Some((first, _)) = parts.first_mut() {
            changed |= tamper(input, first);
        }
        let integrity = self.has_integrity(at);
        let outcome = self.on_ctx(at, |handle| {
            let mut signature = signature.clone();
            let mut parts = parts.clone();
            let mut qop = 7;
            let mut stream: Vec<u8>;
            let status = if decrypt && (form == 1 || form == 2) {
                stream = signature.clone();
                for (p, _) in &parts {
                    stream.extend_from_slice(p);
                }
                let mut buffers = vec![SecBuffer::new(SECBUFFER_STREAM, &mut stream)];
                if form == 1 {
                    buffers.push(SecBuffer::empty(SECBUFFER_DATA));
                }
                let status = sspi::decrypt_message(handle, &mut buffers, 0, &mut qop);
                let plain = buffers.get(1).map(|b| b.as_slice().to_vec()).unwrap_or_default();
                drop(buffers);
                return Outcome { status, bytes: vec![plain, stream], value: u64::from(qop) };
            } else {
                if form == 3 {
                    signature.extend_from_slice(&[0xEE; 20]);
                }
                let mut buffers = vec![SecBuffer::read_only(SECBUFFER_TOKEN, &signature)];
                for (p, read_only) in parts.iter_mut() {
                    buffers.push(if *read_only {
                        SecBuffer::read_only(SECBUFFER_DATA, p)
                    } else {
                        SecBuffer::new(SECBUFFER_DATA, p)
                    });
                }
                if decrypt {
                    sspi::decrypt_message(handle, &mut buffers, 0, &mut qop)
                } else {
                    sspi::verify_signature(handle, &mut buffers, 0, &mut qop)
                }
            };
            let mut bytes: Vec<Vec<u8>> = parts.into_iter().map(|(p, _)| p).collect();
            bytes.push(signature);
            Outcome { status, bytes, value: u64::from(qop) }
        });
        if let Some(o) = outcome
            && o.status == S::SEC_E_OK
        {
            self.reached |= REACHED_CHECKED;
            assert_eq!(o.value, 0, "qop is set to 0");
            assert!(!(changed && integrity), "a message changed in flight verified");
        }
    }

    /// Whether the context in `at` negotiated integrity (its signatures are real).
    fn has_integrity(&self, at: usize) -> bool {
        let Some(ctx) = self.ctxs[at].as_ref() else { return false };
        let mut value = None;
        if sspi::query_context_attributes(&ctx.handle, sspi::SECPKG_ATTR_FLAGS, &mut value)
            != S::SEC_E_OK
        {
            return false;
        }
        if ctx.package == Package::Kerberos {
            // Every RFC 4121 token is checked with the context key (a MIC's checksum, a Wrap
            // token's encryption and checksum), whatever flags were asked for.
            return true;
        }
        let Some(ContextAttribute::Flags(flags)) = value else { return false };
        let integrity = if ctx.initiator {
            IscRet::INTEGRITY.0 | IscRet::CONFIDENTIALITY.0
        } else {
            AscRet::INTEGRITY.0 | AscRet::CONFIDENTIALITY.0
        };
        flags & integrity != 0
    }

    /// Exports the context in `at`; returns the blob on success.
    fn export(&mut self, at: usize, flags: u32, prot: u8, want_identity: bool) -> Option<Blob> {
        let (handle, initiator, package, outbox, first) = self.ctxs[at]
            .as_ref()
            .map(|c| (c.handle, c.initiator, c.package, c.outbox.clone(), c.first.clone()))?;
        let mut packed = None;
        let mut identity = None;
        let token = want_identity.then_some(&mut identity);
        let status = if prot.is_multiple_of(4) && std::env::var_os(KEY_FILE_ENV).is_some() {
            sspi::export_security_context(&handle, flags, &mut packed, token)
        } else {
            let options =
                ExportOptions::new().protection(protection(prot)).environment(self.env.clone());
            sspi::export_security_context_ex(&handle, flags, &options, &mut packed, token)
        };
        let known = SECPKG_CONTEXT_EXPORT_RESET_NEW
            | SECPKG_CONTEXT_EXPORT_DELETE_OLD
            | SECPKG_CONTEXT_EXPORT_TO_KERNEL;
        if flags & !known != 0 {
            assert_eq!(status, S::SEC_E_INVALID_PARAMETER);
        } else if flags & SECPKG_CONTEXT_EXPORT_TO_KERNEL != 0 {
            assert_eq!(status, S::SEC_E_NOT_SUPPORTED);
        }
        if status != S::SEC_E_OK {
            assert!(packed.is_none(), "a failed export hands out nothing");
            assert_live(&handle);
            return None;
        }
        if flags & SECPKG_CONTEXT_EXPORT_DELETE_OLD != 0 {
            self.reached |= REACHED_DELETE_OLD;
            self.forget(at);
        } else {
            assert_live(&handle);
        }
        if flags & SECPKG_CONTEXT_EXPORT_RESET_NEW != 0 {
            assert!(identity.is_none(), "a reset context has no identity");
        }
        let packed = packed.expect("a successful export hands out a blob");
        let bytes = packed.as_slice().to_vec();
        assert_eq!(sspi::free_context_buffer(packed), S::SEC_E_OK);
        let reset_first = first.filter(|_| flags & SECPKG_CONTEXT_EXPORT_RESET_NEW != 0);
        Some(Blob {
            bytes,
            initiator,
            package,
            outbox,
            protection: effective_protection(prot),
            identity,
            reset_first,
        })
    }

    fn export_op(&mut self, input: &mut Input<'_>) {
        let at = slot(input.byte(), CTX_SLOTS);
        let flags = match input.byte() % 12 {
            f @ 0..=7 => u32::from(f),
            8 => 8,
            9 => 0x8000_0000,
            10 => SECPKG_CONTEXT_EXPORT_DELETE_OLD | 0x100,
            _ => input.u32(),
        };
        let prot = input.byte();
        let want_identity = input.byte() & 1 == 0;
        if let Some(blob) = self.export(at, flags, prot, want_identity) {
            if self.blobs.len() == KEPT {
                self.blobs.pop_front();
            }
            self.blobs.push_back(blob);
        }
    }

    /// Imports `bytes` (a blob sealed as `sealed_with` says, or not) with the choices given;
    /// checks what must fail does.
    #[allow(clippy::too_many_arguments)]
    fn import(
        &mut self,
        bytes: &[u8],
        sealed_with: u8,
        key_choice: u8,
        package: &str,
        identity: Option<&ClientIdentity>,
        identity_wrong: bool,
        changed: bool,
        credentials: u8,
    ) -> core::result::Result<SecHandle, S> {
        let mut handle = SecHandle::default();
        let use_host = key_choice.is_multiple_of(4) && std::env::var_os(KEY_FILE_ENV).is_some();
        let status = if use_host && credentials & 1 == 0 {
            sspi::import_security_context(package, bytes, identity, &mut handle)
        } else {
            let mut options = ImportOptions::new()
                .protection(protection(key_choice))
                .environment(self.env.clone());
            // A Kerberos blob takes only Kerberos credentials of its role (an NTLM one any
            // NTLM credentials once established, an acceptor's users before).
            match credentials % 5 {
                0 => options = options.credentials(Credentials::acceptor(users())),
                1 => {
                    options = options.credentials(Credentials::initiator(
                        "alice",
                        "EXAMPLE",
                        Password::new("pw"),
                    ));
                }
                3 => options = options.credentials(krb_acceptor_credentials()),
                4 => options = options.credentials(krb_initiator_credentials()),
                _ => {}
            }
            sspi::import_security_context_ex(package, bytes, identity, &options, &mut handle)
        };
        if status == S::SEC_E_OK {
            assert!(!changed, "a blob changed in flight was imported");
            assert_eq!(
                effective_protection(key_choice),
                sealed_with,
                "a blob was opened with another key"
            );
            assert!(!identity_wrong, "a blob was imported for another identity");
            assert_live(&handle);
            self.reached |= REACHED_IMPORTED;
            Ok(handle)
        } else {
            assert_eq!(handle, SecHandle::default(), "a failed import creates no handle");
            Err(status)
        }
    }

    fn import_op(&mut self, input: &mut Input<'_>) {
        let which = input.byte();
        let key_choice = input.byte();
        let package_choice = input.byte();
        let identity_choice = input.byte();
        if self.blobs.is_empty() {
            return;
        }
        let blob = &self.blobs[usize::from(which) % self.blobs.len()];
        let mut bytes = blob.bytes.clone();
        let (sealed_with, initiator, blob_package, outbox, reset_first) = (
            blob.protection,
            blob.initiator,
            blob.package,
            blob.outbox.clone(),
            blob.reset_first.clone(),
        );
        // 0-3: the blob's own package (3 in capitals); then fixed names, which are another
        // package's for some blobs.
        let upper = blob_package.name().to_uppercase();
        let package = match package_choice % 8 {
            0..=2 => blob_package.name(),
            3 => upper.as_str(),
            4 => "ntlm",
            5 => "Kerberos",
            6 => "Negotiate",
            _ => "Bogus",
        };
        let other = ClientIdentity {
            package: "NTLM".into(),
            user: "mallory".into(),
            domain: "EXAMPLE".into(),
            workstation: String::new(),
            logon_time: T0,
            sids: Vec::new(),
        };
        let (identity, wrong) = match identity_choice % 4 {
            0 | 1 => (None, false),
            2 => (blob.identity.clone(), false),
            _ => (Some(other), true),
        };
        let changed = tamper(input, &mut bytes);
        let credentials = input.byte();
        let Ok(handle) = self.import(
            &bytes,
            sealed_with,
            key_choice,
            package,
            identity.as_ref(),
            wrong,
            changed,
            credentials,
        ) else {
            return;
        };
        self.add_ctx(handle, initiator, blob_package, outbox);
        // A context exported with RESET_NEW starts over as the context it was before its
        // first token: a second import of the blob sends exactly the first token the original
        // sent (a NEGOTIATE depends on the configuration only).
        if let Some(first) = reset_first {
            let again = self
                .import(
                    &bytes,
                    sealed_with,
                    key_choice,
                    package,
                    identity.as_ref(),
                    wrong,
                    changed,
                    credentials,
                )
                .unwrap_or_else(|s| panic!("a blob that imported imports again: {s:?}"));
            let mut memory = vec![0u8; room(blob_package)];
            let mut output = [SecBuffer::new(SECBUFFER_TOKEN, &mut memory)];
            let (mut new, mut attrs, mut expiry) = (SecHandle::default(), 0, FileTime::default());
            let status = sspi::initialize_security_context(
                None,
                Some(again),
                None,
                IscReq(0),
                0,
                None,
                &mut new,
                &mut output,
                &mut attrs,
                &mut expiry,
            );
            // A Kerberos AP-REQ carries the time (and needs a ticket still valid then): the
            // same token only on the same clock.
            if blob_package == Package::Ntlm || self.clock.now() == first.at {
                assert_eq!(status, first.status, "a reset initiator starts over");
                assert_eq!(
                    written_token(&mut output),
                    first.token,
                    "a reset initiator sends its first token again"
                );
                self.reached |= REACHED_RESET;
            }
            assert_eq!(sspi::delete_security_context(&again), S::SEC_E_OK);
        }
    }

    fn twin(&mut self, input: &mut Input<'_>) {
        let at = slot(input.byte(), CTX_SLOTS);
        let prot = input.byte();
        let Some(ctx) = self.ctxs[at].as_ref() else { return };
        if ctx.twin.is_some() || self.free_ctx_slot().is_none() {
            return;
        }
        let (handle, initiator, package, outbox) =
            (ctx.handle, ctx.initiator, ctx.package, ctx.outbox.clone());
        let Some(blob) = self.export(at, 0, prot, true) else { return };
        // Credentials given directly (odd choices: never the host-key call, which takes
        // NTLM_USER_FILE's): for NTLM the acceptor's users (an acceptor exported before its
        // handshake completed needs them); for Kerberos those of the context's role, fresh
        // ones (an acceptor before its AP-REQ gets a replay cache of its own, so both twins
        // take the same AP-REQ; one shared cache would refuse it the second time).
        // An established Kerberos acceptor gets none: one imported without credentials
        // exports a blob that no longer names its service, and refuses the service's (see
        // the test kerberos_acceptor_reexported_takes_its_credentials).
        let established = {
            let mut names = None;
            sspi::query_context_attributes(&handle, sspi::SECPKG_ATTR_NAMES, &mut names)
                == S::SEC_E_OK
        };
        let credentials = match (package, initiator) {
            (Package::Ntlm, _) => 5,
            (Package::Kerberos, true) => 9,
            (Package::Kerberos, false) if established => 7,
            (Package::Kerberos, false) => 3,
        };
        let handle = self
            .import(
                &blob.bytes,
                blob.protection,
                prot,
                package.name(),
                blob.identity.as_ref(),
                false,
                false,
                credentials,
            )
            .unwrap_or_else(|s| panic!("a context exported without changes imports: {s:?}"));
        let t = self.add_ctx(handle, initiator, package, outbox).expect("a slot was free");
        self.ctxs[t].as_mut().expect("just added").twin = Some(at);
        self.ctxs[at].as_mut().expect("exported without DELETE_OLD").twin = Some(t);
        self.reached |= REACHED_TWINS;
        // The same answers to every query.
        for attribute in [0, 1, 2, 9, 10, 14] {
            self.query(at, attribute);
        }
    }

    fn delete(&mut self, index: u8) {
        let at = slot(index, CTX_SLOTS);
        let Some(handle) = self.ctxs[at].as_ref().map(|c| c.handle) else { return };
        assert_eq!(sspi::delete_security_context(&handle), S::SEC_E_OK);
        self.forget(at);
    }

    fn query(&mut self, at: usize, attribute: u32) {
        self.on_ctx(at, |handle| {
            let mut value = None;
            let status = sspi::query_context_attributes(handle, attribute, &mut value);
            assert_eq!(status == S::SEC_E_OK, value.is_some());
            let bytes = match value {
                None => Vec::new(),
                Some(ContextAttribute::SessionKey(k)) => k.dangerous_bytes().to_vec(),
                Some(other) => format!("{other:?}").into_bytes(),
            };
            Outcome { status, bytes: vec![bytes], value: 0 }
        });
    }

    fn misc(&mut self, input: &mut Input<'_>) {
        let which = input.byte();
        let at = slot(input.byte(), CTX_SLOTS);
        match which % 4 {
            0 => {
                self.on_ctx(at, |handle| {
                    let mut token = [0u8; 4];
                    let mut buffers = [SecBuffer::new(SECBUFFER_TOKEN, &mut token)];
                    let status = sspi::complete_auth_token(handle, &mut buffers);
                    assert_eq!(status, S::SEC_E_OK);
                    Outcome::of(status)
                });
            }
            1 => {
                for name in ["NTLM", "ntlm", "Kerberos", "Negotiate", "", "NTLM\0"] {
                    if let Ok(info) = sspi::query_security_package_info(name) {
                        assert!(info.name.eq_ignore_ascii_case(name));
                    }
                }
            }
            2 => {
                for info in sspi::enumerate_security_packages() {
                    assert!(sspi::query_security_package_info(info.name).is_ok());
                }
            }
            _ => {
                let attribute = match input.byte() % 8 {
                    0 => sspi::SECPKG_ATTR_SIZES,
                    1 => sspi::SECPKG_ATTR_NAMES,
                    2 => sspi::SECPKG_ATTR_LIFESPAN,
                    3 => sspi::SECPKG_ATTR_SESSION_KEY,
                    4 => sspi::SECPKG_ATTR_PACKAGE_INFO,
                    5 => sspi::SECPKG_ATTR_FLAGS,
                    6 => 3,
                    _ => input.u32(),
                };
                self.query(at, attribute);
            }
        }
    }

    fn probe_dead(&mut self, input: &mut Input<'_>) {
        let which = input.byte();
        let call = input.byte();
        if self.dead.is_empty() {
            return;
        }
        let handle = self.dead[usize::from(which) % self.dead.len()];
        assert_eq!(dead_call(&handle, call), S::SEC_E_INVALID_HANDLE);
    }

    /// A whole handshake: NTLM's three legs, or Kerberos' AP-REQ and, with mutual
    /// authentication, AP-REP (the acceptor is established after its first call, the
    /// initiator after its first without mutual authentication).
    fn handshake(&mut self, input: &mut Input<'_>) {
        let client_index = input.byte();
        let client = self.cred_handle(client_index);
        let package = self.cred_package(client_index);
        let server = self.cred_handle(input.byte());
        let flags = input.byte();
        if self.ctxs.iter().filter(|c| c.is_none()).count() < 2 {
            return;
        }
        let target = if package == Package::Kerberos { KRB_SPN } else { "HTTP/server" };
        let mut memory = vec![0u8; TOKEN_ROOM];
        let (mut new, mut attrs, mut expiry) = (SecHandle::default(), 0, FileTime::default());
        let req = isc_flags(flags, 0) | IscReq::ALLOCATE_MEMORY;
        let mut out = [SecBuffer::new(SECBUFFER_TOKEN, &mut memory)];
        let status = sspi::initialize_security_context(
            Some(&client),
            None,
            Some(target),
            req,
            0,
            None,
            &mut new,
            &mut out,
            &mut attrs,
            &mut expiry,
        );
        if !status.is_success() {
            return;
        }
        let client_done = status == S::SEC_E_OK;
        let first = written_token(&mut out);
        let Some(ci) = self.add_ctx(new, true, package, first.clone()) else { return };
        let mut inp = [SecBuffer::read_only(SECBUFFER_TOKEN, &first)];
        let mut out = [SecBuffer::empty(SECBUFFER_TOKEN)];
        let mut snew = SecHandle::default();
        let status = sspi::accept_security_context(
            Some(&server),
            None,
            Some(&mut inp),
            asc_flags(flags, 0) | AscReq::ALLOCATE_MEMORY,
            0,
            &mut snew,
            &mut out,
            &mut attrs,
            &mut expiry,
        );
        if !status.is_success() {
            return;
        }
        let server_done = status == S::SEC_E_OK;
        let server_package = self
            .creds
            .iter()
            .flatten()
            .find(|c| c.handle == server)
            .map_or(Package::Ntlm, |c| c.package);
        let answer = written_token(&mut out);
        let Some(si) = self.add_ctx(snew, false, server_package, answer.clone()) else { return };
        let mut last = first;
        if !client_done {
            let mut inp = [SecBuffer::read_only(SECBUFFER_TOKEN, &answer)];
            let mut out = [SecBuffer::empty(SECBUFFER_TOKEN)];
            let status = sspi::initialize_security_context(
                None,
                Some(new),
                None,
                req,
                0,
                Some(&mut inp),
                &mut new,
                &mut out,
                &mut attrs,
                &mut expiry,
            );
            if status != S::SEC_E_OK {
                return;
            }
            last = written_token(&mut out);
            self.set_outbox(ci, &last);
        }
        if !server_done {
            let mut inp = [SecBuffer::read_only(SECBUFFER_TOKEN, &last)];
            let mut out = [SecBuffer::empty(SECBUFFER_TOKEN)];
            let status = sspi::accept_security_context(
                None,
                Some(snew),
                Some(&mut inp),
                asc_flags(flags, 0),
                0,
                &mut snew,
                &mut out,
                &mut attrs,
                &mut expiry,
            );
            if status != S::SEC_E_OK {
                return;
            }
            self.set_outbox(si, &[]);
        }
        self.reached |= REACHED_ESTABLISHED;
    }

    /// Deletes and frees everything the run holds; checks nothing it made is left.
    fn finish(mut self) -> u32 {
        for at in 0..CTX_SLOTS {
            self.delete(u8::try_from(at).expect("few slots"));
        }
        for at in 0..CRED_SLOTS {
            self.free_credentials(u8::try_from(at).expect("few slots"));
        }
        for (handle, context) in &self.created {
            let status = if *context {
                sspi::delete_security_context(handle)
            } else {
                sspi::free_credentials_handle(handle)
            };
            assert_eq!(status, S::SEC_E_INVALID_HANDLE, "a handle of the run was left");
        }
        self.reached
    }
}

/// The handle is valid (a context answers a query for its package).
fn assert_live(handle: &SecHandle) {
    let mut value = None;
    assert_eq!(
        sspi::query_context_attributes(handle, sspi::SECPKG_ATTR_PACKAGE_INFO, &mut value),
        S::SEC_E_OK,
        "a live handle answers"
    );
}

/// Every call on a dead context handle is INVALID_HANDLE.
fn assert_dead(handle: &SecHandle) {
    for call in 0..10 {
        assert_eq!(
            dead_call(handle, call),
            S::SEC_E_INVALID_HANDLE,
            "call {call} on a dead handle"
        );
    }
}

/// One call on `handle`, with arguments that are otherwise valid.
fn dead_call(handle: &SecHandle, call: u8) -> S {
    let mut memory = vec![0u8; TOKEN_ROOM];
    let mut sig = [0u8; 16];
    let mut data = *b"data";
    let mut message =
        [SecBuffer::new(SECBUFFER_TOKEN, &mut sig), SecBuffer::new(SECBUFFER_DATA, &mut data)];
    let mut qop = 0;
    let (mut new, mut attrs, mut expiry) = (SecHandle::default(), 0, FileTime::default());
    match call % 10 {
        0 => sspi::make_signature(handle, 0, &mut message, 0),
        1 => sspi::verify_signature(handle, &mut message, 0, &mut qop),
        2 => sspi::encrypt_message(handle, 0, &mut message, 0),
        3 => sspi::decrypt_message(handle, &mut message, 0, &mut qop),
        4 => {
            let mut value = None;
            sspi::query_context_attributes(handle, sspi::SECPKG_ATTR_SIZES, &mut value)
        }
        5 => {
            let mut packed = None;
            let options = ExportOptions::new().protection(Protection::Key(key_a()));
            sspi::export_security_context_ex(handle, 0, &options, &mut packed, None)
        }
        6 => sspi::complete_auth_token(handle, &mut message),
        7 => {
            let mut out = [SecBuffer::new(SECBUFFER_TOKEN, &mut memory)];
            sspi::initialize_security_context(
                None,
                Some(*handle),
                None,
                IscReq::EMPTY,
                0,
                None,
                &mut new,
                &mut out,
                &mut attrs,
                &mut expiry,
            )
        }
        8 => {
            let mut out = [SecBuffer::new(SECBUFFER_TOKEN, &mut memory)];
            sspi::accept_security_context(
                None,
                Some(*handle),
                None,
                AscReq::EMPTY,
                0,
                &mut new,
                &mut out,
                &mut attrs,
                &mut expiry,
            )
        }
        _ => sspi::delete_security_context(handle),
    }
}

/// Runs the program in `data` (see the module docs); returns what it reached
/// ([`REACHED_ESTABLISHED`] and the others).
fn run(data: &[u8]) -> u32 {
    let mut input = Input { data };
    let mut run = Run::new(input.byte());
    let env = run.env.clone();
    sspi::with_environment(env, || {
        for _ in 0..MAX_OPS {
            if input.is_empty() {
                break;
            }
            match input.byte() % 16 {
                0 => run.acquire(input.byte()),
                1 => run.free_credentials(input.byte()),
                2 => run.initialize(&mut input),
                3 => run.accept(&mut input),
                4 => run.step(&mut input),
                5 => run.protect(&mut input),
                6 => run.check(&mut input),
                7 => run.export_op(&mut input),
                8 => run.import_op(&mut input),
                9 => run.delete(input.byte()),
                10 => {
                    let at = slot(input.byte(), CTX_SLOTS);
                    let attribute = u32::from(input.byte() % 16);
                    run.query(at, attribute);
                }
                11 => run.misc(&mut input),
                12 => run.probe_dead(&mut input),
                13 => run.twin(&mut input),
                14 => {
                    // 0-127 minutes, or 1-128 days.
                    let b = u64::from(input.byte());
                    let minutes = if b < 128 { b } else { (b - 127) * 24 * 60 };
                    run.clock.advance(Duration::from_secs(60 * minutes));
                }
                _ => run.handshake(&mut input),
            }
        }
        run.finish()
    })
}

/// The `handles` fuzz target: runs the program, then checks the handle table holds as many
/// handles as before. Only valid when nothing else in the process uses the table meanwhile
/// (a fuzz target); tests use [`handles_replay`].
pub fn handles(data: &[u8]) {
    let before = sspi::live_handles();
    run(data);
    assert_eq!(sspi::live_handles(), before, "the run left handles in the table");
}

/// [`handles`] without the table count (which other threads of a test binary change): every
/// handle the run created is still checked to be gone.
pub fn handles_replay(data: &[u8]) -> u32 {
    run(data)
}

/// The seed programs of `fuzz/seeds/handles`: real handshakes over the handle layer with
/// every kind of operation after them, each named for what it shows.
pub fn seeds() -> Vec<(&'static str, Vec<u8>)> {
    use Op::*;
    let raw0 = [0u8; 4];
    let leg = |slot: u8, from: u8, cb: u8, output: u8| -> Vec<u8> {
        [&[slot, from, 0, 0][..], &raw0, &[cb, output]].concat()
    };
    // Credentials 0: alice (client), 1: the acceptor's users; contexts 0: client, 1: server.
    let base = |seed: u8, flags: u8| {
        Program::new(seed).op(Acquire, &[0]).op(Acquire, &[3]).op(Handshake, &[0, 1, flags])
    };
    let initialize = [&[0u8, 0][..], &raw0, &[1, 1, 0]].concat();
    let accept = [&[1u8, 0, 0, 0][..], &raw0, &[1, 1]].concat();
    let mut seeds = vec![
        (
            "handshake-seal-sign",
            base(1, 0)
                .op(Protect, &[0, 0x80, 0, 5, b'h', b'e', b'l', b'l', b'o'])
                .op(Check, &[1, 0, 0, 0, 0])
                .op(Protect, &[1, 0x00, 0, 3, b'a', b'b', b'c'])
                .op(Check, &[0, 1, 0, 0, 0])
                .op(Check, &[0, 1, 0, 0, 0]),
        ),
        (
            "legs-one-by-one-stream",
            Program::new(2)
                .op(Acquire, &[0])
                .op(Acquire, &[3])
                .op(Initialize, &initialize)
                .op(Accept, &accept)
                .op(Step, &leg(0, 1, 1, 0))
                .op(Step, &leg(1, 0, 1, 6))
                .op(Protect, &[0, 0x80, 0, 4, b'd', b'a', b't', b'a'])
                .op(Check, &[1, 0, 2, 0, 0])
                .op(Protect, &[1, 0x80, 0, 4, b'a', b't', b'a', b'd'])
                .op(Check, &[0, 1, 4, 0, 0]),
        ),
        (
            "twins-established",
            base(3, 0)
                .op(Twin, &[0, 1])
                .op(Protect, &[0, 0x80, 0, 5, 1, 2, 3, 4, 5])
                .op(Check, &[1, 0, 0, 0, 0])
                .op(Twin, &[1, 1])
                .op(Protect, &[1, 0x08, 0, 6, 1, 2, 3, 4, 5, 6])
                .op(Check, &[0, 1, 1, 0, 0])
                .op(Misc, &[3, 0, 3])
                .op(Query, &[1, 1]),
        ),
        (
            "twins-mid-handshake",
            Program::new(4)
                .op(Acquire, &[0])
                .op(Acquire, &[3])
                .op(Initialize, &initialize)
                .op(Twin, &[0, 3])
                .op(Accept, &accept)
                .op(Step, &leg(0, 2, 1, 0))
                .op(Twin, &[2, 1])
                .op(Step, &leg(2, 0, 1, 6))
                .op(Protect, &[2, 0x80, 0, 2, 7, 7])
                .op(Check, &[0, 0, 0, 0, 0]),
        ),
        (
            "export-delete-old-import",
            base(5, 0)
                .op(Export, &[0, 2, 1, 0])
                .op(ProbeDead, &[0, 0])
                .op(ProbeDead, &[0, 7])
                .op(Import, &[0, 1, 0, 2, 0, 0])
                .op(Protect, &[0, 0x80, 0, 3, 9, 9, 9])
                .op(Check, &[1, 0, 0, 0, 0]),
        ),
        (
            "export-flags",
            base(6, 0)
                .op(Export, &[0, 1, 1, 0])
                .op(Export, &[0, 4, 1, 0])
                .op(Export, &[0, 8, 1, 0])
                .op(Export, &[0, 9, 1, 0])
                .op(Export, &[0, 10, 1, 0])
                .op(Export, &[0, 11, 1, 0xFF, 0xFF, 0xFF, 0xFF, 0])
                .op(Export, &[1, 3, 2, 0])
                .op(Import, &[0, 1, 0, 0, 0, 0])
                .op(Import, &[1, 2, 0, 0, 0, 0])
                .op(Step, &leg(2, 0, 0, 0)),
        ),
        (
            "import-refusals",
            base(7, 0)
                .op(Export, &[0, 0, 1, 0])
                .op(Import, &[0, 2, 0, 0, 0, 0])
                .op(Import, &[0, 3, 0, 0, 0, 0])
                .op(Import, &[0, 1, 0, 3, 0, 0])
                .op(Import, &[0, 1, 0, 0, 5, 10, 0, 3, 0])
                .op(Import, &[0, 1, 0, 0, 6, 20, 0, 0])
                .op(Import, &[0, 1, 0, 0, 7, 3, b'a', b'b', b'c', 0])
                .op(Import, &[0, 1, 5, 0, 0, 0])
                .op(Import, &[0, 1, 7, 0, 0, 0])
                .op(Import, &[0, 1, 0, 2, 0, 1])
                .op(Import, &[0, 1, 0, 2, 0, 0]),
        ),
        (
            "acceptor-exported-before-authenticate",
            Program::new(8)
                .op(Acquire, &[0])
                .op(Acquire, &[3])
                .op(Initialize, &initialize)
                .op(Accept, &accept)
                .op(Export, &[1, 2, 1, 0])
                .op(Import, &[0, 1, 0, 0, 0, 2])
                .op(Import, &[0, 1, 0, 0, 0, 0])
                .op(Step, &leg(0, 1, 1, 0))
                .op(Step, &leg(1, 0, 1, 6))
                .op(Protect, &[0, 0x00, 0, 1, 1])
                .op(Check, &[1, 0, 0, 0, 0]),
        ),
        (
            "host-key-and-unprotected",
            base(9, 0)
                .op(Export, &[0, 0, 0, 0])
                .op(Import, &[0, 0, 0, 0, 0, 1])
                .op(Export, &[1, 0, 3, 0])
                .op(Import, &[1, 3, 0, 2, 0, 0])
                .op(Import, &[1, 1, 0, 0, 0, 0]),
        ),
        (
            "signature-buffers",
            base(10, 0)
                .op(Protect, &[0, 1, 0, 2, 1, 2])
                .op(Protect, &[0, 2, 0, 2, 1, 2])
                .op(Protect, &[0, 3, 0, 2, 1, 2])
                .op(Protect, &[0, 4, 0, 2, 1, 2])
                .op(Protect, &[0, 5, 0, 2, 1, 2])
                .op(Protect, &[0, 6, 0, 2, 1, 2])
                .op(Protect, &[0, 7, 0, 2, 1, 2])
                .op(Protect, &[0, 0x10, 0xFF, 2, 1, 2])
                .op(Protect, &[0, 0x98, 0, 3, 1, 2, 3])
                .op(Protect, &[0, 0xF0, 0, 9, 1, 2, 3, 4, 5, 6, 7, 8, 9])
                .op(Check, &[1, 0, 6, 0, 0])
                .op(Check, &[1, 1, 0, 0, 0]),
        ),
        (
            "data-buffers",
            base(11, 0)
                .op(Protect, &[0, 0x88, 0, 8, 1, 2, 3, 4, 5, 6, 7, 8])
                .op(Check, &[1, 0, 0, 0, 0])
                .op(Protect, &[0, 0x90, 0, 9, 1, 2, 3, 4, 5, 6, 7, 8, 9])
                .op(Check, &[1, 1, 0, 0, 0])
                .op(Protect, &[0, 0x98, 0, 7, 1, 2, 3, 4, 5, 6, 7])
                .op(Protect, &[0, 0xA0, 0, 4, 1, 2, 3, 4])
                .op(Check, &[1, 2, 2, 0, 0])
                .op(Check, &[1, 2, 1, 0, 0]),
        ),
        (
            "kerberos-and-packages",
            Program::new(12)
                .op(Acquire, &[4])
                .op(Initialize, &initialize)
                .op(Acquire, &[7])
                .op(Misc, &[1, 0])
                .op(Misc, &[2, 0]),
        ),
        (
            "wrong-password-and-bad-credentials",
            Program::new(13)
                .op(Acquire, &[1])
                .op(Acquire, &[3])
                .op(Handshake, &[0, 1, 0])
                .op(Acquire, &[5])
                .op(Acquire, &[6])
                .op(Acquire, &[2])
                .op(Handshake, &[2, 1, 0])
                .op(Handshake, &[1, 0, 0]),
        ),
        (
            "tampered-legs",
            Program::new(14)
                .op(Acquire, &[0])
                .op(Acquire, &[3])
                .op(Initialize, &initialize)
                .op(Accept, &[1, 0, 5, 12, 0, 1, 0, 0, 0, 0, 0, 1, 1])
                .op(Accept, &[1, 0, 6, 16, 0, 0, 0, 0, 0, 0, 1, 1])
                .op(Accept, &accept)
                .op(Step, &[0, 2, 5, 40, 0, 2, 0, 0, 0, 0, 0, 1, 0])
                .op(Initialize, &initialize)
                .op(Accept, &accept)
                .op(Step, &[3, 4, 7, 4, 1, 2, 3, 4, 0, 0, 0, 0, 0, 1, 0]),
        ),
        (
            "queries",
            base(15, 0)
                .op(Query, &[0, 0])
                .op(Query, &[0, 1])
                .op(Query, &[0, 2])
                .op(Query, &[1, 9])
                .op(Query, &[1, 10])
                .op(Query, &[1, 14])
                .op(Query, &[1, 3])
                .op(Misc, &[3, 1, 7, 0xFF, 0xFF, 0, 0])
                .op(Misc, &[0, 1]),
        ),
        (
            "clock-skew",
            Program::new(16)
                .op(Acquire, &[0])
                .op(Acquire, &[3])
                .op(Initialize, &initialize)
                .op(Accept, &accept)
                .op(Step, &leg(0, 1, 1, 0))
                .op(Clock, &[200])
                .op(Step, &leg(1, 0, 1, 6)),
        ),
        (
            "dead-handles",
            base(17, 0)
                .op(Delete, &[0])
                .op(ProbeDead, &[0, 1])
                .op(ProbeDead, &[0, 3])
                .op(ProbeDead, &[0, 8])
                .op(Delete, &[0])
                .op(FreeCredentials, &[0])
                .op(FreeCredentials, &[0])
                .op(Handshake, &[0, 1, 0]),
        ),
        (
            "channel-bindings-mismatch",
            Program::new(18)
                .op(Acquire, &[0])
                .op(Acquire, &[3])
                .op(Initialize, &initialize)
                .op(Accept, &[1, 0, 0, 0, 0, 0, 0, 0, 2, 1])
                .op(Step, &leg(0, 1, 1, 0))
                .op(Step, &leg(1, 0, 2, 6))
                .op(Step, &leg(1, 0, 3, 6)),
        ),
        (
            "authentication-only",
            base(19, 1)
                .op(Protect, &[0, 0, 0, 2, 1, 2])
                .op(Check, &[1, 0, 0, 5, 0, 0, 1, 0])
                .op(Protect, &[0, 0x80, 0, 2, 1, 2])
                .op(Check, &[1, 1, 0, 0, 0]),
        ),
        (
            "many-contexts",
            base(20, 2)
                .op(Handshake, &[0, 1, 0])
                .op(Handshake, &[0, 1, 0])
                .op(Handshake, &[0, 1, 0])
                .op(Twin, &[5, 1])
                .op(Import, &[0, 1, 0, 0, 0, 0])
                .op(Delete, &[3])
                .op(Twin, &[5, 1]),
        ),
        (
            "output-buffers",
            Program::new(21)
                .op(Acquire, &[0])
                .op(Acquire, &[3])
                .op(Initialize, &[0, 0, 0, 0, 0, 0, 1, 0, 2])
                .op(Initialize, &[0, 0, 0, 0, 0, 0, 1, 0, 3])
                .op(Initialize, &[0, 0, 0, 0, 0, 0, 1, 0, 4])
                .op(Initialize, &[0, 0, 0, 0, 0, 0, 1, 0, 6])
                .op(Initialize, &[0, 0, 0, 0, 0, 0, 1, 0, 5])
                .op(Accept, &[1, 0, 0, 0, 0, 0, 0, 0, 0, 7])
                .op(Step, &leg(0, 1, 0, 1))
                .op(Step, &leg(1, 0, 0, 0x84)),
        ),
        (
            "replay-and-reorder",
            base(22, 0)
                .op(Protect, &[0, 0x00, 0, 1, 1])
                .op(Protect, &[0, 0x00, 0, 1, 2])
                .op(Check, &[1, 1, 0, 0, 0])
                .op(Check, &[1, 0, 0, 0, 0])
                .op(Check, &[1, 0, 0, 0, 0])
                .op(Check, &[0, 0, 0, 0, 0]),
        ),
    ];
    // The same handshake with the flags Windows clients ask for, and with raw flag bits.
    seeds.push((
        "handshake-integrity",
        base(23, 2).op(Protect, &[1, 0, 0, 1, 1]).op(Check, &[0, 0, 0, 0, 0]),
    ));
    seeds.push((
        "raw-flags",
        Program::new(24)
            .op(Acquire, &[0])
            .op(Acquire, &[3])
            .op(Initialize, &[0, 3, 0xFF, 0xFF, 0xFF, 0xFF, 1, 0, 0])
            .op(Initialize, &[0, 3, 0x14, 0x00, 0x01, 0x00, 1, 0, 0])
            .op(Accept, &[1, 0, 0, 3, 0x10, 0, 0, 0, 0, 0])
            .op(Step, &leg(0, 1, 0, 0))
            .op(Step, &leg(1, 0, 0, 6)),
    ));
    // An initiator exported with RESET_NEW (flags 1) under key A, imported (blob 0, key A,
    // "NTLM", no identity, no tampering, no credentials): it starts over.
    seeds.push((
        "reset-initiator",
        Program::new(25)
            .op(Acquire, &[0])
            .op(Initialize, &initialize)
            .op(Export, &[0, 1, 1, 1])
            .op(Import, &[0, 1, 0, 0, 0, 2]),
    ));
    seeds.extend(kerberos_seeds());
    seeds.into_iter().map(|(name, p)| (name, p.0)).collect()
}

/// The Kerberos seeds: credentials 0 are alice's (acquire kind 4), 1 the service's (kind 8);
/// every context targets the world's service.
fn kerberos_seeds() -> Vec<(&'static str, Program)> {
    use Op::*;
    let raw0 = [0u8; 4];
    let leg = |slot: u8, from: u8, cb: u8, output: u8| -> Vec<u8> {
        [&[slot, from, 0, 0][..], &raw0, &[cb, output]].concat()
    };
    // Flags choice 4: mutual authentication, confidentiality, integrity, replay detection.
    let base = |seed: u8, flags: u8| {
        Program::new(seed).op(Acquire, &[4]).op(Acquire, &[8]).op(Handshake, &[0, 1, flags])
    };
    // Initialize: credentials 0, flags 4, the world's service, no bindings, caller memory of
    // 48,000 bytes. Accept: credentials 1, the token of context 0 as sent, provider memory.
    let initialize = |flags: u8| [&[0u8, flags][..], &raw0, &[0, 0, 0]].concat();
    let accept = [&[1u8, 0, 0, 0][..], &raw0, &[0, 1]].concat();
    vec![
        (
            "kerberos-handshake-messages",
            base(40, 4)
                .op(Protect, &[0, 0x80, 0, 5, b'h', b'e', b'l', b'l', b'o'])
                .op(Check, &[1, 0, 0, 0, 0])
                .op(Protect, &[1, 0x00, 0, 3, b'a', b'b', b'c'])
                .op(Check, &[0, 1, 0, 0, 0])
                .op(Protect, &[1, 0x80, 0, 4, b'd', b'a', b't', b'a'])
                .op(Check, &[0, 2, 2, 0, 0])
                .op(Protect, &[0, 0x88, 0, 6, 1, 2, 3, 4, 5, 6])
                .op(Check, &[1, 3, 0, 0, 0])
                .op(Protect, &[0, 0x00, 0, 2, 1, 2])
                .op(Check, &[1, 3, 0, 5, 1, 0, 0, 0])
                .op(Check, &[1, 3, 6, 0, 0])
                .op(Query, &[0, 0])
                .op(Query, &[1, 1])
                .op(Query, &[1, 2])
                .op(Query, &[0, 9])
                .op(Query, &[1, 10])
                .op(Query, &[0, 14]),
        ),
        (
            "kerberos-handshake-without-mutual",
            base(41, 0)
                .op(Protect, &[0, 0x80, 0, 3, 1, 2, 3])
                .op(Check, &[1, 0, 0, 0, 0])
                .op(Protect, &[1, 0x80, 0, 3, 4, 5, 6])
                .op(Check, &[0, 1, 2, 0, 0]),
        ),
        (
            "kerberos-legs-one-by-one",
            Program::new(42)
                .op(Acquire, &[4])
                .op(Acquire, &[8])
                .op(Initialize, &initialize(4))
                .op(Accept, &accept)
                .op(Step, &leg(0, 1, 0, 6))
                .op(Protect, &[0, 0x80, 0, 4, b'd', b'a', b't', b'a'])
                .op(Check, &[1, 0, 2, 0, 0])
                .op(Protect, &[1, 0x00, 0, 1, 1])
                .op(Check, &[0, 1, 0, 0, 0])
                .op(Step, &leg(0, 1, 0, 6))
                .op(Step, &leg(1, 0, 0, 6)),
        ),
        (
            "kerberos-twins-every-state",
            Program::new(43)
                .op(Acquire, &[4])
                .op(Acquire, &[8])
                .op(Initialize, &initialize(4))
                // The initiator waiting for the AP-REP (0) and its twin (1).
                .op(Twin, &[0, 1])
                .op(Accept, &[1, 0, 0, 0, 0, 0, 0, 0, 0, 1])
                // The established acceptor (2) and its twin (3).
                .op(Twin, &[2, 2])
                .op(Step, &leg(0, 2, 0, 6))
                .op(Protect, &[0, 0x80, 0, 5, 1, 2, 3, 4, 5])
                .op(Check, &[2, 0, 0, 0, 0])
                .op(Protect, &[2, 0x80, 0, 5, 5, 4, 3, 2, 1])
                .op(Check, &[0, 1, 2, 0, 0])
                .op(Protect, &[2, 0x00, 0, 2, 9, 9])
                .op(Check, &[0, 2, 0, 0, 0])
                .op(Check, &[0, 2, 0, 0, 0])
                .op(Misc, &[3, 2, 0]),
        ),
        (
            "kerberos-twins-established",
            base(44, 5)
                .op(Twin, &[0, 3])
                .op(Twin, &[1, 1])
                .op(Protect, &[0, 0x80, 0, 4, 1, 2, 3, 4])
                .op(Protect, &[0, 0x80, 0, 4, 5, 6, 7, 8])
                .op(Check, &[1, 1, 0, 0, 0])
                .op(Check, &[1, 0, 0, 0, 0])
                .op(Protect, &[1, 0x00, 0, 2, 1, 2])
                .op(Check, &[0, 2, 0, 0, 0]),
        ),
        (
            "kerberos-export-import",
            Program::new(45)
                .op(Acquire, &[4])
                .op(Acquire, &[8])
                .op(Initialize, &initialize(4))
                // The initiator mid-handshake, exported with DELETE_OLD and imported.
                .op(Export, &[0, 2, 1, 0])
                .op(Import, &[0, 1, 0, 0, 0, 2])
                .op(Accept, &accept)
                .op(Step, &leg(0, 1, 0, 6))
                // Established, both (blobs 1 and 2): with the NTLM credentials (refused),
                // another package's name (refused), none, the role's own, the other role's
                // (refused).
                .op(Export, &[0, 0, 1, 0])
                .op(Export, &[1, 0, 2, 0])
                .op(Import, &[1, 1, 0, 0, 0, 0])
                .op(Import, &[1, 1, 4, 0, 0, 2])
                .op(Import, &[1, 1, 3, 2, 0, 2])
                .op(Import, &[2, 2, 0, 2, 0, 3])
                .op(Import, &[2, 2, 0, 0, 0, 4])
                .op(Protect, &[2, 0x80, 0, 3, 7, 7, 7])
                .op(Check, &[3, 0, 0, 0, 0])
                .op(Protect, &[3, 0x00, 0, 3, 7, 7, 7])
                .op(Check, &[2, 1, 0, 0, 0]),
        ),
        (
            "kerberos-reset",
            Program::new(46)
                .op(Acquire, &[4])
                .op(Acquire, &[8])
                .op(Initialize, &initialize(4))
                // RESET_NEW: the initiator starts over with alice's credentials (and is
                // refused without them); the acceptor before its AP-REQ takes the service's.
                .op(Export, &[0, 1, 1, 1])
                .op(Import, &[0, 1, 0, 0, 0, 2])
                .op(Import, &[0, 1, 0, 0, 0, 4])
                // Contexts: 0 the initiator, 1 its reset copy, 2 the acceptor; its reset copy
                // (3) takes the AP-REQ again (a replay cache of its own).
                .op(Accept, &accept)
                .op(Export, &[2, 1, 1, 1])
                .op(Import, &[1, 1, 0, 0, 0, 2])
                .op(Import, &[1, 1, 0, 0, 0, 3])
                .op(Step, &[3, 0, 0, 0, 0, 0, 0, 0, 0, 1])
                .op(Step, &leg(0, 3, 0, 6))
                .op(Protect, &[0, 0x80, 0, 2, 1, 2])
                .op(Check, &[3, 0, 0, 0, 0]),
        ),
        (
            "kerberos-tampered-ap-req",
            Program::new(47)
                .op(Acquire, &[4])
                .op(Acquire, &[8])
                .op(Initialize, &initialize(4))
                .op(Accept, &[1, 0, 5, 40, 0, 3, 0, 0, 0, 0, 0, 0, 1])
                .op(Accept, &[1, 0, 5, 0, 2, 0, 0, 0, 0, 0, 0, 0, 1])
                .op(Accept, &[1, 0, 6, 100, 0, 0, 0, 0, 0, 0, 0, 1])
                .op(Accept, &[1, 0, 7, 4, 1, 2, 3, 4, 0, 0, 0, 0, 0, 0, 1])
                .op(Accept, &accept)
                // The same AP-REQ again: a replay.
                .op(Accept, &accept)
                .op(Step, &[0, 1, 5, 30, 0, 1, 0, 0, 0, 0, 0, 0, 6])
                .op(Step, &leg(0, 1, 0, 6)),
        ),
        (
            "kerberos-and-ntlm-crossed",
            Program::new(48)
                .op(Acquire, &[0])
                .op(Acquire, &[8])
                .op(Acquire, &[4])
                .op(Acquire, &[3])
                // An NTLM NEGOTIATE to the Kerberos acceptor, an AP-REQ to the NTLM one.
                .op(Initialize, &[0, 0, 0, 0, 0, 0, 1, 0, 0])
                .op(Initialize, &[2, 4, 0, 0, 0, 0, 0, 0, 0])
                .op(Accept, &[1, 0, 0, 0, 0, 0, 0, 0, 0, 1])
                .op(Accept, &[3, 1, 0, 0, 0, 0, 0, 0, 0, 1])
                .op(Handshake, &[0, 1, 0])
                .op(Handshake, &[2, 3, 4])
                .op(Step, &leg(1, 0, 0, 6)),
        ),
        (
            "kerberos-refused-credentials",
            Program::new(49)
                .op(Acquire, &[9])
                .op(Acquire, &[10])
                .op(Acquire, &[11])
                .op(Acquire, &[12])
                .op(Acquire, &[13])
                .op(Acquire, &[14])
                .op(Acquire, &[15])
                .op(Acquire, &[4])
                // Another service than the world's: its ticket is asked of a KDC there is not.
                .op(Initialize, &[0, 4, 0, 0, 0, 0, 0x81, 0, 0])
                .op(Initialize, &[0, 4, 0, 0, 0, 0, 0x80, 0, 0])
                .op(Misc, &[1, 0])
                .op(Misc, &[2, 0]),
        ),
        (
            "kerberos-output-buffers",
            Program::new(50)
                .op(Acquire, &[4])
                .op(Acquire, &[8])
                .op(Initialize, &[0, 4, 0, 0, 0, 0, 0, 0, 0x40])
                .op(Initialize, &[0, 4, 0, 0, 0, 0, 0, 0, 2])
                .op(Initialize, &[0, 4, 0, 0, 0, 0, 0, 0, 3])
                .op(Initialize, &[0, 4, 0, 0, 0, 0, 0, 0, 4])
                .op(Initialize, &[0, 4, 0, 0, 0, 0, 0, 0, 6])
                .op(Initialize, &[0, 4, 0, 0, 0, 0, 0, 0, 5])
                .op(Accept, &[1, 0, 0, 0, 0, 0, 0, 0, 0, 0x40])
                .op(Accept, &[1, 0, 0, 0, 0, 0, 0, 0, 0, 7])
                .op(Step, &leg(0, 1, 0, 0x41))
                .op(Step, &leg(0, 1, 0, 4)),
        ),
        (
            "kerberos-clock",
            Program::new(51)
                .op(Acquire, &[4])
                .op(Acquire, &[8])
                .op(Initialize, &initialize(4))
                .op(Clock, &[10])
                // Ten minutes late: outside the acceptor's five minutes of skew.
                .op(Accept, &accept)
                .op(Handshake, &[0, 1, 4])
                // Past the ticket's ten hours.
                .op(Clock, &[128])
                .op(Protect, &[1, 0x80, 0, 2, 1, 2])
                .op(Check, &[2, 0, 0, 0, 0])
                // The credentials' clock is the world's (their ticket still looks valid to
                // them); the acceptor's is the run's: the ticket has expired.
                .op(Initialize, &initialize(4))
                .op(Accept, &[1, 3, 0, 0, 0, 0, 0, 0, 0, 1]),
        ),
        (
            "kerberos-sequence",
            base(52, 5)
                .op(Protect, &[0, 0x00, 0, 1, 1])
                .op(Protect, &[0, 0x00, 0, 1, 2])
                .op(Protect, &[0, 0x00, 0, 1, 3])
                .op(Check, &[1, 1, 0, 0, 0])
                .op(Check, &[1, 0, 0, 0, 0])
                .op(Check, &[1, 2, 0, 0, 0])
                .op(Check, &[1, 2, 0, 0, 0])
                .op(Check, &[0, 2, 0, 0, 0]),
        ),
        (
            "kerberos-signature-buffers",
            base(53, 4)
                .op(Protect, &[0, 1, 0, 2, 1, 2])
                .op(Protect, &[0, 2, 0, 2, 1, 2])
                .op(Protect, &[0, 3, 0, 2, 1, 2])
                .op(Protect, &[0, 4, 0, 2, 1, 2])
                .op(Protect, &[0, 5, 0, 2, 1, 2])
                .op(Protect, &[0, 0x82, 0, 2, 1, 2])
                .op(Protect, &[0, 0x83, 0, 2, 1, 2])
                .op(Protect, &[0, 0x84, 0, 2, 1, 2])
                .op(Protect, &[0, 0x90, 0, 9, 1, 2, 3, 4, 5, 6, 7, 8, 9])
                .op(Protect, &[0, 0xF0, 0, 9, 1, 2, 3, 4, 5, 6, 7, 8, 9])
                .op(Check, &[1, 0, 0, 0, 0])
                .op(Check, &[1, 1, 0, 0, 0])
                .op(Check, &[1, 2, 0, 0, 0])
                .op(Check, &[1, 3, 0, 0, 0]),
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeds_reach_what_they_are_for() {
        let reached: u32 = seeds()
            .iter()
            .map(|(name, seed)| {
                assert!(seed.len() < 4096, "{name}: under -max_len");
                handles_replay(seed)
            })
            .fold(0, |a, b| a | b);
        for (what, flag) in [
            ("established", REACHED_ESTABLISHED),
            ("checked", REACHED_CHECKED),
            ("imported", REACHED_IMPORTED),
            ("twins", REACHED_TWINS),
            ("reset", REACHED_RESET),
            ("delete-old", REACHED_DELETE_OLD),
            ("sealed", REACHED_SEALED),
        ] {
            assert_ne!(reached & flag, 0, "no seed reaches {what}");
        }
        for (name, seed) in seeds() {
            let r = handles_replay(&seed);
            if name.starts_with("handshake") || name.starts_with("twins") {
                assert_eq!(r & REACHED_ESTABLISHED, REACHED_ESTABLISHED, "{name}");
                assert_ne!(r & REACHED_CHECKED, 0, "{name}");
            }
            if name.starts_with("twins") {
                assert_ne!(r & REACHED_TWINS, 0, "{name}");
            }
        }
    }

    /// The Kerberos seeds go as deep as the NTLM ones: handshakes, messages checked both
    /// ways and sealed, imports, twins, DELETE_OLD and RESET_NEW.
    #[test]
    fn kerberos_seeds_reach_what_they_are_for() {
        let mut all = 0;
        for (name, program) in kerberos_seeds() {
            assert!(program.0.len() < 4096, "{name}: under -max_len");
            let r = handles_replay(&program.0);
            all |= r;
            if name.starts_with("kerberos-handshake") || name.starts_with("kerberos-twins") {
                let deep = REACHED_ESTABLISHED | REACHED_CHECKED | REACHED_SEALED;
                assert_eq!(r & deep, deep, "{name}");
            }
            if name.starts_with("kerberos-twins") {
                assert_ne!(r & REACHED_TWINS, 0, "{name}");
            }
            if name == "kerberos-reset" {
                assert_ne!(r & REACHED_RESET, 0, "{name}");
            }
        }
        for flag in [REACHED_IMPORTED, REACHED_DELETE_OLD] {
            assert_ne!(all & flag, 0, "no Kerberos seed reaches {flag}");
        }
    }

    /// `import_security_context` (the call without `_ex`) of an established Kerberos context
    /// while `NTLM_USER_FILE` is set, as in the fuzz target's process: the blob imports with
    /// `import_security_context_ex` and the same host key, so it must import here too. The
    /// variables are process-wide: the check runs in a child process (this test binary on
    /// `kerberos_import_with_user_file_child`).
    ///
    /// Found by reading the handle layer for the Kerberos `handles` target: today the call
    /// hands the user file's NTLM acceptor credentials to every blob, and a Kerberos blob
    /// refuses credentials of another package (`SEC_E_UNKNOWN_CREDENTIALS`), even an
    /// established one, which needs none.
    #[test]
    fn kerberos_import_with_user_file_set() {
        let dir = std::env::temp_dir().join(format!("sspi-emu-h16-import-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let users = dir.join("users");
        std::fs::write(&users, "EXAMPLE:alice:pw\n").unwrap();
        let out = std::process::Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "fuzzing::handles::tests::kerberos_import_with_user_file_child",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(sspi::NTLM_USER_FILE, &users)
            .env(KEY_FILE_ENV, dir.join("export.key"))
            .env("SSPI_EMU_H16_IMPORT_CHILD", "1")
            .output()
            .unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(stdout.contains("child: import_security_context_ex SEC_E_OK"), "{stdout}");
        assert!(stdout.contains("child: import_security_context SEC_E_OK"), "{stdout}");
    }

    /// The child half of `kerberos_import_with_user_file_set`; does nothing on its own.
    #[test]
    fn kerberos_import_with_user_file_child() {
        if std::env::var_os("SSPI_EMU_H16_IMPORT_CHILD").is_none() {
            return;
        }
        // The world's clock: its ticket is valid then.
        sspi::with_environment(crate::fuzzing::krb_env(5), || {
            let (mut client_cred, mut server_cred) = (SecHandle::default(), SecHandle::default());
            let mut expiry = FileTime::default();
            for (usage, creds, handle) in [
                (sspi::SECPKG_CRED_OUTBOUND, krb_initiator_credentials(), &mut client_cred),
                (sspi::SECPKG_CRED_INBOUND, krb_acceptor_credentials(), &mut server_cred),
            ] {
                let st = sspi::acquire_credentials_handle(
                    None,
                    "Kerberos",
                    usage,
                    Some(&creds),
                    handle,
                    &mut expiry,
                );
                assert_eq!(st, S::SEC_E_OK);
            }
            let (mut client, mut server, mut attrs) =
                (SecHandle::default(), SecHandle::default(), 0);
            let mut out = [SecBuffer::empty(SECBUFFER_TOKEN)];
            let st = sspi::initialize_security_context(
                Some(&client_cred),
                None,
                Some(KRB_SPN),
                IscReq::ALLOCATE_MEMORY,
                0,
                None,
                &mut client,
                &mut out,
                &mut attrs,
                &mut expiry,
            );
            assert_eq!(st, S::SEC_E_OK, "without mutual authentication: one leg");
            let ap_req = written_token(&mut out);
            let mut input = [SecBuffer::read_only(SECBUFFER_TOKEN, &ap_req)];
            let mut out = [SecBuffer::empty(SECBUFFER_TOKEN)];
            let st = sspi::accept_security_context(
                Some(&server_cred),
                None,
                Some(&mut input),
                AscReq::ALLOCATE_MEMORY,
                0,
                &mut server,
                &mut out,
                &mut attrs,
                &mut expiry,
            );
            assert_eq!(st, S::SEC_E_OK);
            let mut packed = None;
            assert_eq!(sspi::export_security_context(&server, 0, &mut packed, None), S::SEC_E_OK);
            let blob = packed.expect("a blob").as_slice().to_vec();
            let mut imported = SecHandle::default();
            let options = ImportOptions::new().protection(Protection::HostKey);
            let st =
                sspi::import_security_context_ex("Kerberos", &blob, None, &options, &mut imported);
            println!("child: import_security_context_ex {st:?}");
            let mut again = SecHandle::default();
            let st = sspi::import_security_context("Kerberos", &blob, None, &mut again);
            println!("child: import_security_context {st:?}");
            for h in [client, server, imported, again] {
                sspi::delete_security_context(&h);
            }
            sspi::free_credentials_handle(&client_cred);
            sspi::free_credentials_handle(&server_cred);
        });
    }

    /// An established Kerberos acceptor imported without credentials (it needs none) and
    /// exported again no longer names its service in the blob: the service's own
    /// credentials are then refused (`SEC_E_UNKNOWN_CREDENTIALS`, "for another service"),
    /// where the first blob took them. An initiator keeps its client from the state; the
    /// acceptor could keep the service it was established for likewise.
    #[test]
    fn kerberos_acceptor_reexported_takes_its_credentials() {
        use crate::export::ExportOptions;
        let (_, mut server, _, _) = crate::fuzzing::krb_pair();
        let protection = Protection::Key(key_a());
        let export = ExportOptions::new().protection(protection.clone());
        let blob = server.export(0, &export).expect("exports").packed;
        let with_creds = ImportOptions::new()
            .protection(protection.clone())
            .credentials(krb_acceptor_credentials());
        crate::api::SecurityContext::import(blob.as_bytes(), &with_creds)
            .expect("the first blob takes the service's credentials");
        let without = ImportOptions::new().protection(protection.clone());
        let mut moved = crate::api::SecurityContext::import(blob.as_bytes(), &without)
            .expect("an established acceptor needs no credentials");
        let again = moved.export(0, &export).expect("exports again").packed;
        crate::api::SecurityContext::import(again.as_bytes(), &with_creds)
            .expect("the blob of the moved acceptor takes the service's credentials too");
    }

    /// The fuzz run's crash (fuzz/artifacts/handles/crash-53f59720...): an established
    /// Kerberos acceptor imported without credentials, then twinned; the twin's import was
    /// given the service's credentials and refused. Twins of established acceptors now get
    /// none.
    #[test]
    fn twin_of_a_moved_kerberos_acceptor() {
        let reached = handles_replay(&[
            0x2c, 0x00, 0x04, 0x00, 0x08, 0x0f, 0x00, 0x01, 0x05, 0x0d, 0x00, 0x08, 0x00, 0x00,
            0x00, 0x03, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x01, 0x00, 0x03, 0x01,
            0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x01, 0x07, 0x01, 0x02, 0x01, 0x00,
            0x08, 0x00, 0x01, 0x01, 0x07, 0x01, 0x02, 0x01, 0x00, 0x08, 0x00, 0x01, 0x00, 0x00,
            0x40, 0x01, 0x01, 0x00, 0x03, 0x01, 0x00, 0x00, 0x00, 0x00, 0x03, 0x0d, 0x01, 0x01,
            0xa8, 0x96, 0x96, 0x96, 0x96, 0x96, 0x96, 0x96, 0x00, 0x80, 0x01, 0x00, 0x00, 0x02,
            0x03, 0x04, 0x05, 0x00, 0xe0, 0x80, 0x00, 0x04, 0x00, 0x00, 0x00, 0x00, 0x01, 0x02,
            0x06, 0x00, 0xad, 0xad, 0xad, 0xad, 0xad, 0xad, 0xad, 0xa9, 0x00, 0x00, 0x00, 0x01,
            0x00, 0x08, 0x00, 0x01, 0x00, 0x00, 0x00, 0x02, 0x08, 0x00, 0x01, 0x00, 0x00, 0x00,
            0x20, 0x04, 0xad, 0xad, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xad, 0xad,
            0xad, 0x01, 0x00, 0xd9, 0x04, 0x01, 0x00, 0x00, 0x00, 0x01, 0x06, 0x01, 0xad, 0xad,
            0x00, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00,
        ]);
        assert_ne!(reached & REACHED_TWINS, 0);
    }

    #[test]
    fn any_bytes_run() {
        handles_replay(&[]);
        handles_replay(&[0; 300]);
        handles_replay(&[0xFF; 300]);
        let mut x = 7u32;
        let noise: Vec<u8> = (0..2000)
            .map(|_| {
                x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
                x.to_le_bytes()[2]
            })
            .collect();
        handles_replay(&noise);
    }

    /// `fuzz/seeds/handles` is what [`seeds`] makes.
    #[test]
    fn committed_seeds_are_current() {
        let seeds = seeds();
        crate::fuzzing::seeds_are_current(
            seeds.iter().map(|(name, seed)| ("handles", *name, seed.as_slice())),
        );
    }
}
