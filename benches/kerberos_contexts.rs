//! Kerberos security-context benchmarks: sspi-emu's established contexts and its AP exchange
//! next to the raw-primitive "floor" in the same criterion groups, so every ratio comes from
//! one run on one machine.
//!
//! The world is the fuzz targets' (`sspi_emu::fuzzing::krb_*`): alice's ticket for
//! `HTTP/web.example.test`, issued offline under a fixed aes256-sha1 service key, with a
//! session key of each enctype for the message groups. Every context's environment is the
//! operating system's randomness ([`OsRandom`], as `Environment::system()`) with a
//! [`ManualClock`] at the world's time (2026-01-01; the acceptor checks the authenticator's
//! time against its own clock), so the per-message confounders and the handshake's keys cost
//! what they cost a real context. Flags: mutual authentication, replay and sequence
//! detection, integrity and confidentiality (what a Windows client asks for).
//!
//! - `krb_wrap_unwrap/<etype>`: `wrap` by the initiator, `unwrap` by the acceptor (the GSS
//!   token, allocated output), 64 B, 1 KiB, 16 KiB.
//! - `krb_seal_unseal/<etype>`: `seal` + `unseal` (Windows' `EncryptMessage` split form: the
//!   data encrypted in place, the token buffer returned), same sizes.
//! - `krb_sign_verify/<etype>`: `sign` + `verify` (the RFC 4121 MIC, RFC 4757 for rc4-hmac),
//!   64 B and 1 KiB.
//! - `krb_handshake`: `accept` (one `SecurityContext::acceptor` + `step(AP-REQ)`, producing
//!   the AP-REP, with a fresh AP-REQ per iteration made outside the timing), `handshake` (the
//!   whole offline handshake: initiator with its cached ticket, AP-REQ, acceptor, AP-REP read
//!   by the initiator), both against their floors ([`HandshakeFloor`]).
//! - `krb_export_import`: export and import of an established acceptor under a caller key.
//! - `krb_floor_parts`: the floors' building blocks.
//!
//! The message floors ([`MsgFloor`]) are the cryptography the token needs, on RustCrypto with
//! every key schedule and keyed HMAC state made in advance, in place, no allocation:
//! - AES (RFC 3962 / RFC 8009 inside RFC 4121): 16 random bytes for the confounder from the
//!   OS; CBC encryption (the `cbc` crate) of `confounder | data | header`, which is a whole
//!   number of blocks at every size measured, so CBC is exactly the work of CBC-CTS; the HMAC
//!   (SHA-1 over the plaintext for aes-sha1, SHA-256/384 over `IV | ciphertext` for aes-sha2);
//!   then the receiver's CBC decryption, HMAC and constant-time compare. Sign + verify: one
//!   HMAC over `data | header` each side and the compare.
//! - rc4-hmac (RFC 4757 section 7.3): 8 random bytes for the confounder; MD5 over
//!   `usage | header | confounder | data | pad` and HMAC-MD5 of it (the checksum); Kcrypt
//!   (HMAC-MD5 of the sequence number) and RC4 over `confounder | data | pad`; Kseq (HMAC-MD5
//!   of the checksum) and RC4 over the 8-byte sequence number; the receiver the same in
//!   reverse and an 8-byte compare. Sign + verify: the checksum and the sequence number's RC4
//!   each side.
//!
//! The floors copy nothing: `wrap` must copy the message into the token and `unwrap` the
//! plaintext out of it (both allocate their output), which an in-place API would not, so
//! those copies and allocations count as overhead of the API. The split form does the same
//! cryptography in place; its floor is the same.
//!
//! Before the groups, an allocation report (counting global allocator) and paired ratios
//! (sspi-emu / floor from interleaved batches) are printed to stderr; under `--test` the
//! paired ratios run 3 rounds instead of 101.
//!
//! Run: `cargo bench --bench kerberos_contexts -- --warm-up-time 1 --measurement-time 2`.
//!
//! Why no MIT rival: driving `gss_accept_sec_context` / `gss_wrap` in process needs FFI to
//! `libgssapi_krb5` (unsafe bindings, a system library and a keytab file in the bench), and a
//! Python binding's per-call overhead (microseconds) is the size of what is measured.

// `unsafe` is needed only to implement `GlobalAlloc` (the counting allocator below), which
// forwards every call to the system allocator unchanged; the library forbids unsafe code.
#![allow(unsafe_code)]

use aes::cipher::{BlockCipherEncrypt, BlockModeDecrypt, BlockModeEncrypt, InnerIvInit, KeyInit};
use aes::{Aes128, Aes256, Block};
use criterion::{BatchSize, BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use hmac::{Hmac, Mac};
use sspi_emu::env::{ManualClock, OsRandom, RandomSource};
use sspi_emu::export::{ExportKey, ExportOptions, Protection};
use sspi_emu::flags::{AscReq, IscReq};
use sspi_emu::fuzzing::{krb_acceptor_credentials, krb_initiator_credentials_for, krb_world};
use sspi_emu::kerberos::crypto::{DerivedKeys, KeyUsage};
use sspi_emu::kerberos::{EncType, Key};
use sspi_emu::primitives::{Digest, HmacMd5, Md5, Rc4, ct_eq_words};
use sspi_emu::{
    AcceptorOptions, Credentials, Environment, ImportOptions, InitiatorOptions, SecurityContext,
};
use std::cell::RefCell;
use std::hint::black_box;
use std::rc::Rc;
use std::time::Duration;
use subtle::ConstantTimeEq;

const ETYPES: [(EncType, &str); 5] = [
    (EncType::AES128_CTS_HMAC_SHA1_96, "aes128-sha1"),
    (EncType::AES256_CTS_HMAC_SHA1_96, "aes256-sha1"),
    (EncType::AES128_CTS_HMAC_SHA256_128, "aes128-sha256"),
    (EncType::AES256_CTS_HMAC_SHA384_192, "aes256-sha384"),
    (EncType::RC4_HMAC, "rc4-hmac"),
];

const SIZES: [usize; 3] = [64, 1024, 16384];

fn quick() -> bool {
    std::env::args().any(|a| a == "--test")
}

fn profiling() -> bool {
    std::env::args().any(|a| a == "--profile-time")
}

// ---- counting allocator ----

/// Counts allocations (and their bytes) while [`counting::measure`] runs; otherwise one
/// relaxed load per call.
mod counting {
    use std::alloc::{GlobalAlloc, Layout, System};
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::Relaxed};

    pub(crate) struct Counting;

    static ON: AtomicBool = AtomicBool::new(false);
    static ALLOCS: AtomicUsize = AtomicUsize::new(0);
    static BYTES: AtomicUsize = AtomicUsize::new(0);

    fn count(size: usize) {
        if ON.load(Relaxed) {
            ALLOCS.fetch_add(1, Relaxed);
            BYTES.fetch_add(size, Relaxed);
        }
    }

    // SAFETY: every call is forwarded unchanged to `System`; the bookkeeping touches only
    // atomics and never allocates.
    unsafe impl GlobalAlloc for Counting {
        unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
            count(layout.size());
            // SAFETY: same contract as ours.
            unsafe { System.alloc(layout) }
        }
        unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
            count(layout.size());
            // SAFETY: same contract as ours.
            unsafe { System.alloc_zeroed(layout) }
        }
        unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
            // SAFETY: same contract as ours.
            unsafe { System.dealloc(ptr, layout) }
        }
        unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
            count(new_size);
            // SAFETY: same contract as ours.
            unsafe { System.realloc(ptr, layout, new_size) }
        }
    }

    /// `f`'s result and the (allocations, bytes) it made. Single-threaded use only.
    pub(crate) fn measure<T>(f: impl FnOnce() -> T) -> (T, (usize, usize)) {
        ALLOCS.store(0, Relaxed);
        BYTES.store(0, Relaxed);
        ON.store(true, Relaxed);
        let out = f();
        ON.store(false, Relaxed);
        (out, (ALLOCS.load(Relaxed), BYTES.load(Relaxed)))
    }
}

#[global_allocator]
static ALLOC: counting::Counting = counting::Counting;

// ---- the contexts ----

/// The world's clock, shared by every context's environment. The handshake benchmarks move
/// it 10 ms per AP-REQ, so the acceptor's replay cache (entries live for the 5-minute skew)
/// holds a steady ~30,000 entries instead of growing to its capacity, as a busy server's
/// would; the ticket stays valid for 3.6 million such steps.
fn clock() -> &'static ManualClock {
    static CLOCK: std::sync::OnceLock<ManualClock> = std::sync::OnceLock::new();
    CLOCK.get_or_init(|| ManualClock::new(krb_world().2))
}

fn env() -> Environment {
    Environment::new(OsRandom, clock().clone())
}

fn isc_flags() -> IscReq {
    IscReq::MUTUAL_AUTH
        | IscReq::REPLAY_DETECT
        | IscReq::SEQUENCE_DETECT
        | IscReq::CONFIDENTIALITY
        | IscReq::INTEGRITY
}

fn asc_flags() -> AscReq {
    AscReq::MUTUAL_AUTH
        | AscReq::REPLAY_DETECT
        | AscReq::SEQUENCE_DETECT
        | AscReq::CONFIDENTIALITY
        | AscReq::INTEGRITY
}

fn initiator(creds: &Credentials) -> SecurityContext {
    let options =
        InitiatorOptions::new().target_name(krb_world().1).flags(isc_flags()).environment(env());
    SecurityContext::initiator(creds, options).unwrap()
}

fn acceptor(creds: &Credentials) -> SecurityContext {
    SecurityContext::acceptor(creds, AcceptorOptions::new().flags(asc_flags()).environment(env()))
        .unwrap()
}

/// A fresh AP-REQ (and the initiator waiting for its AP-REP), the clock moved on first.
fn ap_req(creds: &Credentials) -> (SecurityContext, Vec<u8>) {
    clock().advance(Duration::from_millis(10));
    let mut client = initiator(creds);
    let token = client.step(None).unwrap().token;
    (client, token)
}

/// The whole handshake: AP-REQ, accept, AP-REP read.
fn handshake(client_creds: &Credentials, server_creds: &Credentials) -> [SecurityContext; 2] {
    let (mut client, req) = ap_req(client_creds);
    let mut server = acceptor(server_creds);
    let rep = server.step(Some(&req)).unwrap();
    assert!(rep.complete);
    let done = client.step(Some(&rep.token)).unwrap();
    assert!(done.complete);
    [client, server]
}

/// An established pair whose message keys are of `etype`.
fn pair(etype: EncType) -> [SecurityContext; 2] {
    handshake(&krb_initiator_credentials_for(etype), &krb_acceptor_credentials())
}

// ---- message floors ----

/// A CBC cipher of either size.
enum Cbc {
    A128(Aes128),
    A256(Aes256),
}

impl Cbc {
    fn encrypt(&self, blocks: &mut [Block]) {
        let iv = Block::default();
        match self {
            Cbc::A128(k) => cbc::Encryptor::inner_iv_init(k.clone(), &iv).encrypt_blocks(blocks),
            Cbc::A256(k) => cbc::Encryptor::inner_iv_init(k.clone(), &iv).encrypt_blocks(blocks),
        }
    }

    fn decrypt(&self, blocks: &mut [Block]) {
        let iv = Block::default();
        match self {
            Cbc::A128(k) => cbc::Decryptor::inner_iv_init(k.clone(), &iv).decrypt_blocks(blocks),
            Cbc::A256(k) => cbc::Decryptor::inner_iv_init(k.clone(), &iv).decrypt_blocks(blocks),
        }
    }
}

/// A keyed HMAC of the floor.
#[derive(Clone)]
enum FloorMac {
    Sha1(Hmac<sha1::Sha1>),
    Sha256(Hmac<sha2::Sha256>),
    Sha384(Hmac<sha2::Sha384>),
}

impl FloorMac {
    /// The HMAC of the parts' concatenation into `out` (48 bytes of room).
    fn tag(&self, parts: &[&[u8]], out: &mut [u8; 48]) {
        match self.clone() {
            FloorMac::Sha1(mut m) => {
                parts.iter().for_each(|p| m.update(p));
                out[..20].copy_from_slice(&m.finalize().into_bytes());
            }
            FloorMac::Sha256(mut m) => {
                parts.iter().for_each(|p| m.update(p));
                out[..32].copy_from_slice(&m.finalize().into_bytes());
            }
            FloorMac::Sha384(mut m) => {
                parts.iter().for_each(|p| m.update(p));
                out.copy_from_slice(&m.finalize().into_bytes());
            }
        }
    }
}

/// The cryptography a token of one enctype needs, keys prepared in advance (see the module
/// documentation). The buffer holds `confounder | data | header` (AES) or `confounder | data
/// | pad` (rc4-hmac) for the size it was made for; sealing and opening restore it.
// One per benchmark case, made in setup: the size of a variant does not matter.
#[allow(clippy::large_enum_variant)]
enum MsgFloor {
    Aes {
        cbc: Cbc,
        /// Ki of the seal usage (Wrap) and Kc of the sign usage (MIC).
        seal: FloorMac,
        sign: FloorMac,
        sha2: bool,
        /// The truncated checksum's length.
        ck: usize,
        blocks: Vec<Block>,
    },
    Rc4 {
        ksign: HmacMd5,
        /// HMAC-MD5 keyed with `HMAC-MD5(K, 0)` (for Kseq) and `HMAC-MD5(Klocal, 0)` (Kcrypt).
        seq: HmacMd5,
        crypt: HmacMd5,
        buf: Vec<u8>,
    },
}

const RC4_WRAP_HEADER: [u8; 8] = [0x02, 0x01, 0x11, 0x00, 0x10, 0x00, 0xff, 0xff];
const RC4_MIC_HEADER: [u8; 8] = [0x01, 0x01, 0x11, 0x00, 0xff, 0xff, 0xff, 0xff];

impl MsgFloor {
    fn new(etype: EncType, size: usize) -> Self {
        let (key_len, ck) = match etype {
            EncType::AES128_CTS_HMAC_SHA1_96 => (16, 12),
            EncType::AES256_CTS_HMAC_SHA1_96 => (32, 12),
            EncType::AES128_CTS_HMAC_SHA256_128 => (16, 16),
            EncType::AES256_CTS_HMAC_SHA384_192 => (32, 24),
            _ => {
                return MsgFloor::Rc4 {
                    ksign: HmacMd5::new(&[1; 16]),
                    seq: HmacMd5::new(&[2; 16]),
                    crypt: HmacMd5::new(&[3; 16]),
                    buf: vec![0x5a; 8 + size + 1],
                };
            }
        };
        let cbc = if key_len == 16 {
            Cbc::A128(Aes128::new(&[1; 16].into()))
        } else {
            Cbc::A256(Aes256::new(&[1; 32].into()))
        };
        let mac = |k: u8| match etype {
            EncType::AES128_CTS_HMAC_SHA256_128 => {
                FloorMac::Sha256(KeyInit::new_from_slice(&[k; 16]).unwrap())
            }
            EncType::AES256_CTS_HMAC_SHA384_192 => {
                FloorMac::Sha384(KeyInit::new_from_slice(&[k; 24]).unwrap())
            }
            _ => FloorMac::Sha1(KeyInit::new_from_slice(&vec![k; key_len]).unwrap()),
        };
        let sha2 = ck > 12;
        assert_eq!(size % 16, 0, "the floor's CBC is CBC-CTS only for whole blocks");
        MsgFloor::Aes {
            cbc,
            seal: mac(2),
            sign: mac(3),
            sha2,
            ck,
            blocks: vec![Block::default(); (32 + size) / 16],
        }
    }

    /// A confidential token made and opened (Wrap or the split form).
    fn wrap_unwrap(&mut self) -> bool {
        match self {
            MsgFloor::Aes { cbc, seal, sha2, ck, blocks, .. } => {
                let (mut t1, mut t2) = ([0u8; 48], [0u8; 48]);
                let iv = [0u8; 16];
                let n = blocks.len();
                let buf = Block::slice_as_flattened_mut(blocks);
                OsRandom.fill(&mut buf[..16]).unwrap();
                buf[n * 16 - 16..]
                    .copy_from_slice(&[0x05, 0x04, 6, 0xff, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 9]);
                if *sha2 {
                    cbc.encrypt(blocks);
                    seal.tag(&[&iv, Block::slice_as_flattened(blocks)], &mut t1);
                    seal.tag(&[&iv, Block::slice_as_flattened(blocks)], &mut t2);
                    let ok = t1[..*ck].ct_eq(&t2[..*ck]).into();
                    cbc.decrypt(blocks);
                    ok
                } else {
                    seal.tag(&[Block::slice_as_flattened(blocks)], &mut t1);
                    cbc.encrypt(blocks);
                    cbc.decrypt(blocks);
                    seal.tag(&[Block::slice_as_flattened(blocks)], &mut t2);
                    t1[..*ck].ct_eq(&t2[..*ck]).into()
                }
            }
            MsgFloor::Rc4 { ksign, seq, crypt, buf } => {
                OsRandom.fill(&mut buf[..8]).unwrap();
                let seq_number = [0u8, 0, 0, 7];
                let checksum = |buf: &[u8]| {
                    let md: [u8; 16] = Md5::new()
                        .chain_update([13, 0, 0, 0])
                        .chain_update(RC4_WRAP_HEADER)
                        .chain_update(buf)
                        .finalize()
                        .into();
                    let mut m = ksign.clone();
                    m.update(&md);
                    let t = m.tag();
                    let mut c = [0u8; 8];
                    c.copy_from_slice(&t[..8]);
                    c
                };
                let cipher = |base: &HmacMd5, data: &[u8]| {
                    let mut m = base.clone();
                    m.update(data);
                    Rc4::new(&m.tag())
                };
                // Sender: checksum, data, sequence number.
                let sum = checksum(buf);
                cipher(crypt, &seq_number).apply(buf);
                let mut snd = [0, 0, 0, 7, 0, 0, 0, 0];
                cipher(seq, &sum).apply(&mut snd);
                // Receiver: sequence number, data, checksum.
                cipher(seq, &sum).apply(&mut snd);
                cipher(crypt, &snd[..4]).apply(buf);
                ct_eq_words(&sum, &checksum(buf))
            }
        }
    }

    /// A MIC made and verified.
    fn sign_verify(&mut self, data: &[u8]) -> bool {
        match self {
            MsgFloor::Aes { sign, ck, .. } => {
                let (mut t1, mut t2) = ([0u8; 48], [0u8; 48]);
                let header = [0x04, 0x04, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, 9];
                sign.tag(&[data, &header], &mut t1);
                sign.tag(&[data, &header], &mut t2);
                t1[..*ck].ct_eq(&t2[..*ck]).into()
            }
            MsgFloor::Rc4 { ksign, seq, .. } => {
                let checksum = || {
                    let md: [u8; 16] = Md5::new()
                        .chain_update([15, 0, 0, 0])
                        .chain_update(RC4_MIC_HEADER)
                        .chain_update(data)
                        .finalize()
                        .into();
                    let mut m = ksign.clone();
                    m.update(&md);
                    let t = m.tag();
                    let mut c = [0u8; 8];
                    c.copy_from_slice(&t[..8]);
                    c
                };
                let kseq = |sum: &[u8; 8]| {
                    let mut m = seq.clone();
                    m.update(sum);
                    Rc4::new(&m.tag())
                };
                let sum = checksum();
                let mut snd = [0, 0, 0, 7, 0, 0, 0, 0];
                kseq(&sum).apply(&mut snd);
                kseq(&sum).apply(&mut snd);
                ct_eq_words(&sum, &checksum())
            }
        }
    }
}

// ---- handshake floor ----

/// RFC 3961 section 5.1 n-fold (setup only: the floor folds each usage's constants once, as
/// an ideal implementation keeps a table of them).
fn nfold(input: &[u8], k: usize) -> Vec<u8> {
    let n = input.len();
    let (mut a, mut b) = (n, k);
    while b != 0 {
        (a, b) = (b, a % b);
    }
    let lcm = n / a * k;
    let bits = n * 8;
    // Copy i is the input rotated right by 13 i bits.
    let rotr = |r: usize| -> Vec<u8> {
        (0..n)
            .map(|byte| {
                (0..8).fold(0u8, |v, bit| {
                    let src = (byte * 8 + bit + bits - r % bits) % bits;
                    (v << 1) | ((input[src / 8] >> (7 - src % 8)) & 1)
                })
            })
            .collect()
    };
    let all: Vec<u8> = (0..lcm / n).flat_map(|i| rotr(13 * i)).collect();
    // Ones' complement sum of the k-byte chunks.
    let mut sum = vec![0u8; k];
    for chunk in all.chunks(k) {
        let mut carry = 0u16;
        for i in (0..k).rev() {
            let [lo, hi] = (u16::from(sum[i]) + u16::from(chunk[i]) + carry).to_le_bytes();
            sum[i] = lo;
            carry = u16::from(hi);
        }
        while carry > 0 {
            for i in (0..k).rev() {
                let [lo, hi] = (u16::from(sum[i]) + carry).to_le_bytes();
                sum[i] = lo;
                carry = u16::from(hi);
                if carry == 0 {
                    break;
                }
            }
        }
    }
    sum
}

/// The folded constant of `usage` and `kind` (0xAA Ke, 0x55 Ki, 0x99 Kc).
fn constant(usage: u32, kind: u8) -> Block {
    let mut c = [0u8; 5];
    c[..4].copy_from_slice(&usage.to_be_bytes());
    c[4] = kind;
    let mut b = Block::default();
    b.copy_from_slice(&nfold(&c, 16));
    b
}

/// RFC 3961 DK for aes256-cts-hmac-sha1-96 with the constant folded in advance: two AES
/// blocks under the base key's schedule.
fn dk(base: &Aes256, folded: &Block) -> [u8; 32] {
    let mut k1 = *folded;
    base.encrypt_block(&mut k1);
    let mut k2 = k1;
    base.encrypt_block(&mut k2);
    let mut out = [0u8; 32];
    out[..16].copy_from_slice(&k1);
    out[16..].copy_from_slice(&k2);
    out
}

type HmacSha1 = Hmac<sha1::Sha1>;

/// Ke (as a key schedule) and Ki (as a keyed HMAC) of one usage.
struct EncKeys {
    ke: Aes256,
    ki: HmacSha1,
}

impl EncKeys {
    fn new(base: &Aes256, [e, i]: &[Block; 2]) -> Self {
        Self {
            ke: Aes256::new(&dk(base, e).into()),
            ki: KeyInit::new_from_slice(&dk(base, i)).unwrap(),
        }
    }

    /// CBC (the `cbc` crate) over `blocks` (confounder | plaintext, whole blocks) and the
    /// HMAC-SHA1 of the plaintext.
    fn encrypt(&self, blocks: &mut [Block]) -> [u8; 12] {
        let mut m = self.ki.clone();
        m.update(Block::slice_as_flattened(blocks));
        let mut tag = [0u8; 12];
        tag.copy_from_slice(&m.finalize().into_bytes()[..12]);
        cbc::Encryptor::inner_iv_init(self.ke.clone(), &Block::default()).encrypt_blocks(blocks);
        tag
    }

    /// CBC decryption and the HMAC check.
    fn decrypt(&self, blocks: &mut [Block], tag: &[u8; 12]) -> bool {
        cbc::Decryptor::inner_iv_init(self.ke.clone(), &Block::default()).decrypt_blocks(blocks);
        let mut m = self.ki.clone();
        m.update(Block::slice_as_flattened(blocks));
        m.finalize().into_bytes()[..12].ct_eq(tag).into()
    }
}

/// The four message key sets of a subkey: Ke and Ki of the seal usages (22, 24), Kc of the
/// sign usages (23, 25).
fn message_keys(subkey: &[u8], c: &Constants) -> ([EncKeys; 2], [HmacSha1; 2]) {
    let base = Aes256::new_from_slice(subkey).unwrap();
    (
        [EncKeys::new(&base, &c.seal[0]), EncKeys::new(&base, &c.seal[1])],
        [
            KeyInit::new_from_slice(&dk(&base, &c.sign[0])).unwrap(),
            KeyInit::new_from_slice(&dk(&base, &c.sign[1])).unwrap(),
        ],
    )
}

/// The folded constants the handshake needs.
struct Constants {
    /// Usage 11 (authenticator) and 12 (AP-REP): Ke, Ki.
    auth: [Block; 2],
    rep: [Block; 2],
    /// Usages 22 and 24: Ke, Ki; usages 23 and 25: Kc.
    seal: [[Block; 2]; 2],
    sign: [Block; 2],
}

/// The cryptography and randomness of the offline handshake (aes256-sha1 everywhere) on
/// RustCrypto, at the sizes of the real AP-REQ and AP-REP measured in setup. Each
/// encrypted part is CBC over confounder + plaintext rounded up to whole blocks, plus the
/// HMAC-SHA1 (as the message floors; CTS is the same work).
///
/// Included, per handshake:
/// - initiator, AP-REQ: one OS random request of 52 bytes (its subkey, 32, its sequence
///   number, 4, the authenticator's confounder, 16); the session key's AES key schedule;
///   Ke and Ki of usage 11 (RFC 3961 DK: two AES blocks each, with the n-folded constants
///   kept in a table), Ke's key schedule, Ki's HMAC key setup; the authenticator encrypted;
/// - acceptor: the ticket decrypted and checked with the service key's usage-2 Ke and Ki
///   (derived once: an acceptor can keep them per keytab entry); the session key's schedule,
///   usage 11's keys and the authenticator decrypted and checked; one random request of 52
///   bytes; usage 12's keys and the AP-REP's encrypted part encrypted; the message keys of
///   its subkey (its schedule, Ke and Ki of the seal usages 22 and 24, Kc of the sign usages
///   23 and 25);
/// - initiator, AP-REP: usage 12's keys (the session key's schedule kept from the AP-REQ),
///   the encrypted part decrypted and checked, the message keys of the acceptor's subkey.
///
/// Not included: DER encoding and parsing, the GSS framing, the checks on names and times,
/// the replay cache (its SHA-256 of the authenticator, the table), clock reads, and the copy
/// that restores the ticket's ciphertext before each decryption (~400 bytes).
struct HandshakeFloor {
    c: Constants,
    ticket_keys: EncKeys,
    session: [u8; 32],
    ticket_ct: Vec<Block>,
    ticket_tag: [u8; 12],
    ticket: Vec<Block>,
    auth: Vec<Block>,
    rep: Vec<Block>,
    /// An authenticator encrypted in setup, for the acceptor-only floor.
    auth_ct: Vec<Block>,
    auth_tag: [u8; 12],
}

const ETYPE: EncType = EncType::AES256_CTS_HMAC_SHA1_96;

impl HandshakeFloor {
    /// The real sizes: ticket enc-part, authenticator and AP-REP enc-part ciphertexts.
    fn sizes() -> (usize, usize, usize) {
        use picky_krb::messages::{ApRep, ApReq};
        use sspi_emu::kerberos::gss::unframe;
        let creds = krb_initiator_credentials_for(ETYPE);
        let (_, req) = ap_req(&creds);
        let mut server = acceptor(&krb_acceptor_credentials());
        let rep = server.step(Some(&req)).unwrap().token;
        let req: ApReq = picky_asn1_der::from_bytes(unframe(&req).unwrap().1).unwrap();
        let rep: ApRep = picky_asn1_der::from_bytes(unframe(&rep).unwrap().1).unwrap();
        (
            req.0.ticket.0.0.enc_part.0.cipher.0.0.len(),
            req.0.authenticator.0.cipher.0.0.len(),
            rep.0.enc_part.0.cipher.0.0.len(),
        )
    }

    fn new() -> Self {
        // RFC 3961 A.1 n-fold vectors.
        assert_eq!(nfold(b"012345", 8), [0xbe, 0x07, 0x26, 0x31, 0x27, 0x6b, 0x19, 0x55]);
        assert_eq!(
            nfold(b"kerberos", 16),
            [
                0x6b, 0x65, 0x72, 0x62, 0x65, 0x72, 0x6f, 0x73, 0x7b, 0x9b, 0x5b, 0x2b, 0x93, 0x13,
                0x2b, 0x93
            ]
        );
        let pair = |u: u32| [constant(u, 0xAA), constant(u, 0x55)];
        let c = Constants {
            auth: pair(11),
            rep: pair(12),
            seal: [pair(22), pair(24)],
            sign: [constant(23, 0x99), constant(25, 0x99)],
        };
        let service_bytes = krb_world().0;
        let service = Key::new(ETYPE, &service_bytes);
        let base = Aes256::new(&service_bytes.into());
        let ticket_keys = EncKeys::new(&base, &pair(2));
        // The derivation agrees with sspi-emu's: its usage-2 encryption of 32 bytes (three
        // blocks with the confounder; CTS swaps the last two) opens with these keys.
        let dk2 = DerivedKeys::new(&service, KeyUsage::KDC_REP_TICKET).unwrap();
        let mut ct = [0u8; 60];
        assert_eq!(dk2.encrypt_into(&[7; 16], &[9; 32], &mut ct).unwrap(), 60);
        let mut blocks = [Block::default(); 3];
        for (i, b) in blocks.iter_mut().enumerate() {
            let from = [0, 2, 1][i] * 16;
            b.copy_from_slice(&ct[from..from + 16]);
        }
        assert!(ticket_keys.decrypt(&mut blocks, ct[48..].try_into().unwrap()));
        assert_eq!(Block::slice_as_flattened(&blocks)[16..], [9; 32]);

        let (ticket_len, auth_len, rep_len) = Self::sizes();
        if !profiling() {
            eprintln!(
                "handshake floor: ciphertexts of the ticket part {ticket_len} B, authenticator \
                 {auth_len} B, AP-REP part {rep_len} B"
            );
        }
        let blocks = |len: usize| vec![Block::default(); (len - 12).div_ceil(16)];
        let mut ticket_ct = blocks(ticket_len);
        let ticket_tag = ticket_keys.encrypt(&mut ticket_ct);
        let session = [0x3cu8; 32];
        let auth_keys = EncKeys::new(&Aes256::new(&session.into()), &c.auth);
        let mut auth_ct = blocks(auth_len);
        let auth_tag = auth_keys.encrypt(&mut auth_ct);
        Self {
            c,
            ticket_keys,
            session,
            ticket: ticket_ct.clone(),
            ticket_ct,
            ticket_tag,
            auth: blocks(auth_len),
            rep: blocks(rep_len),
            auth_ct,
            auth_tag,
        }
    }

    /// The acceptor's share, given the authenticator (in `self.auth`) and its tag: returns
    /// its message keys and the AP-REP's tag (the encrypted part in `self.rep`).
    fn accept_with(&mut self, auth_tag: &[u8; 12]) -> (([EncKeys; 2], [HmacSha1; 2]), [u8; 12]) {
        self.ticket.copy_from_slice(&self.ticket_ct);
        assert!(self.ticket_keys.decrypt(&mut self.ticket, &self.ticket_tag));
        let session = Aes256::new(&self.session.into());
        assert!(EncKeys::new(&session, &self.c.auth).decrypt(&mut self.auth, auth_tag));
        let mut r = [0u8; 52];
        OsRandom.fill(&mut r).unwrap();
        Block::slice_as_flattened_mut(&mut self.rep)[..16].copy_from_slice(&r[36..]);
        let tag = EncKeys::new(&session, &self.c.rep).encrypt(&mut self.rep);
        (message_keys(&r[..32], &self.c), tag)
    }

    /// The acceptor alone, on the authenticator made in setup.
    fn accept(&mut self) -> ([EncKeys; 2], [HmacSha1; 2]) {
        self.auth.copy_from_slice(&self.auth_ct);
        let tag = self.auth_tag;
        self.accept_with(&tag).0
    }

    /// The whole handshake.
    fn run(&mut self) -> [([EncKeys; 2], [HmacSha1; 2]); 2] {
        // Initiator: the AP-REQ's authenticator.
        let mut r = [0u8; 52];
        OsRandom.fill(&mut r).unwrap();
        black_box(&r[..36]);
        let session = Aes256::new(&self.session.into());
        Block::slice_as_flattened_mut(&mut self.auth)[..16].copy_from_slice(&r[36..]);
        let auth_tag = EncKeys::new(&session, &self.c.auth).encrypt(&mut self.auth);
        // Acceptor.
        let (server, rep_tag) = self.accept_with(&auth_tag);
        // Initiator: the AP-REP, then the acceptor's subkey from it.
        assert!(EncKeys::new(&session, &self.c.rep).decrypt(&mut self.rep, &rep_tag));
        let mut subkey = [0u8; 32];
        subkey.copy_from_slice(&Block::slice_as_flattened(&self.rep)[16..48]);
        [message_keys(&subkey, &self.c), server]
    }
}

// ---- cases: closures shared by criterion and the paired ratios ----

/// One comparison: sspi-emu's operation and the floor's, as closures, so criterion and the
/// paired-ratio report run the same code. `prepare` runs untimed before each batch of the
/// paired ratios with the batch size (fresh AP-REQs for the acceptor).
struct Case {
    group: String,
    id: String,
    bytes: Option<u64>,
    emu: Box<dyn FnMut()>,
    floor: Box<dyn FnMut()>,
    prepare: Box<dyn FnMut(usize)>,
}

fn message_cases() -> Vec<Case> {
    let mut cases = Vec::new();
    for (etype, name) in ETYPES {
        for size in SIZES {
            let [mut client, mut server] = pair(etype);
            let message = vec![0x5au8; size];
            let mut floor = MsgFloor::new(etype, size);
            cases.push(Case {
                group: format!("krb_wrap_unwrap/{name}"),
                id: size.to_string(),
                bytes: Some(size as u64),
                emu: Box::new(move || {
                    let token = client.wrap(black_box(&message)).unwrap();
                    let plain = server.unwrap(&token).unwrap();
                    black_box(plain);
                }),
                floor: Box::new(move || assert!(floor.wrap_unwrap())),
                prepare: Box::new(|_| {}),
            });
            let [mut client, mut server] = pair(etype);
            let mut data = vec![0x5au8; size];
            let mut floor = MsgFloor::new(etype, size);
            cases.push(Case {
                group: format!("krb_seal_unseal/{name}"),
                id: size.to_string(),
                bytes: Some(size as u64),
                emu: Box::new(move || {
                    let sig = client.seal(black_box(&mut data)).unwrap();
                    server.unseal(black_box(&mut data), &sig).unwrap();
                }),
                floor: Box::new(move || assert!(floor.wrap_unwrap())),
                prepare: Box::new(|_| {}),
            });
            if size <= 1024 {
                let [mut client, mut server] = pair(etype);
                let data = vec![0x5au8; size];
                let data2 = data.clone();
                let mut floor = MsgFloor::new(etype, size);
                cases.push(Case {
                    group: format!("krb_sign_verify/{name}"),
                    id: size.to_string(),
                    bytes: Some(size as u64),
                    emu: Box::new(move || {
                        let sig = client.sign(black_box(&data)).unwrap();
                        server.verify(black_box(&data), &sig).unwrap();
                    }),
                    floor: Box::new(move || assert!(floor.sign_verify(black_box(&data2)))),
                    prepare: Box::new(|_| {}),
                });
            }
        }
    }
    cases
}

fn handshake_cases() -> Vec<Case> {
    let client_creds = Rc::new(krb_initiator_credentials_for(ETYPE));
    let server_creds = Rc::new(krb_acceptor_credentials());
    let floor = Rc::new(RefCell::new(HandshakeFloor::new()));
    // Fresh AP-REQs for the acceptor, made before each batch.
    let queue: Rc<RefCell<Vec<Vec<u8>>>> = Rc::default();
    let (c, s, q) = (client_creds.clone(), server_creds.clone(), queue.clone());
    let (f1, f2) = (floor.clone(), floor);
    let (c2, s2) = (client_creds, server_creds);
    vec![
        Case {
            group: "krb_handshake".into(),
            id: "accept".into(),
            bytes: None,
            emu: Box::new(move || {
                let req = q.borrow_mut().pop().expect("prepared AP-REQs");
                let mut server = acceptor(&s);
                black_box(server.step(Some(&req)).unwrap());
            }),
            floor: Box::new(move || drop(black_box(f1.borrow_mut().accept()))),
            prepare: Box::new(move |n| {
                let mut q = queue.borrow_mut();
                q.clear();
                q.extend((0..n).map(|_| ap_req(&c).1));
            }),
        },
        Case {
            group: "krb_handshake".into(),
            id: "handshake".into(),
            bytes: None,
            emu: Box::new(move || drop(black_box(handshake(&c2, &s2)))),
            floor: Box::new(move || drop(black_box(f2.borrow_mut().run()))),
            prepare: Box::new(|_| {}),
        },
    ]
}

// ---- reports ----

/// A message call from the initiator to the acceptor.
type PairOp<'a> = Box<dyn FnMut(&mut SecurityContext, &mut SecurityContext) + 'a>;

/// Prints (stderr) the heap allocations of each operation, after one unmeasured run of it.
fn allocations(_: &mut Criterion) {
    if profiling() {
        return;
    }
    eprintln!("\nheap allocations (count, bytes), one operation after a warm-up");
    for (etype, name) in ETYPES {
        let [mut client, mut server] = pair(etype);
        let mut line = format!("  {name:>14} 1 KiB:");
        let message = vec![0x5au8; 1024];
        let mut data = message.clone();
        let mut ops: Vec<(&str, PairOp<'_>)> = vec![
            (
                "sign+verify",
                Box::new(|c, s| {
                    let sig = c.sign(&message).unwrap();
                    s.verify(&message, &sig).unwrap();
                }),
            ),
            (
                "seal+unseal",
                Box::new(|c, s| {
                    let sig = c.seal(&mut data).unwrap();
                    s.unseal(&mut data, &sig).unwrap();
                }),
            ),
        ];
        for (what, op) in &mut ops {
            op(&mut client, &mut server);
            let ((), u) = counting::measure(|| op(&mut client, &mut server));
            line += &format!(" {what} {u:?};");
        }
        let token = client.wrap(&message).unwrap();
        server.unwrap(&token).unwrap();
        let (token, u) = counting::measure(|| client.wrap(&message).unwrap());
        line += &format!(" wrap {u:?}");
        let (plain, u) = counting::measure(|| server.unwrap(&token).unwrap());
        assert_eq!(plain, message);
        line += &format!(", unwrap {u:?} (token {} B)", token.len());
        eprintln!("{line}");
    }
    let client_creds = krb_initiator_credentials_for(ETYPE);
    let server_creds = krb_acceptor_credentials();
    drop(handshake(&client_creds, &server_creds));
    let (_, req) = ap_req(&client_creds);
    let (rep, u) = counting::measure(|| {
        let mut server = acceptor(&server_creds);
        let rep = server.step(Some(&req)).unwrap().token;
        (server, rep)
    });
    eprintln!(
        "  accept (acceptor + AP-REQ of {} B -> AP-REP of {} B, aes256-sha1): {u:?}",
        req.len(),
        rep.1.len()
    );
    let (_, u) = counting::measure(|| ap_req(&client_creds));
    eprintln!("  initiator + AP-REQ (cached ticket): {u:?}");
    let (_, u) = counting::measure(|| handshake(&client_creds, &server_creds));
    eprintln!("  whole handshake, both sides: {u:?}");
    let (_, u) = counting::measure(krb_acceptor_credentials);
    eprintln!("  acceptor credentials (keytab of one key, replay cache): {u:?}");
    let (export, import) = export_options();
    let [_, mut server] = established_with_traffic();
    drop(server.export(0, &export).unwrap());
    let (blob, u) = counting::measure(|| server.export(0, &export).unwrap().packed);
    eprintln!(
        "  export (established acceptor, caller key): {u:?}, blob {} B",
        blob.as_bytes().len()
    );
    drop(SecurityContext::import(blob.as_bytes(), &import).unwrap());
    let (_, u) = counting::measure(|| SecurityContext::import(blob.as_bytes(), &import).unwrap());
    eprintln!("  import: {u:?}\n");
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Prints (stderr) sspi-emu / floor for each case: the median over rounds of the time of a
/// batch of sspi-emu over the time of a batch of the floor run right after (or before: the
/// order alternates), with the lowest and highest median of a window of 20 consecutive
/// rounds. Criterion measures its benchmarks one after another and on a shared machine the
/// speed drifts between them; interleaved batches do not drift.
fn paired_ratios(_: &mut Criterion) {
    use std::time::Instant;
    if profiling() {
        return;
    }
    let rounds = if quick() { 3 } else { 101 };
    eprintln!("paired ratios sspi-emu / floor (median of {rounds} interleaved batches)");
    for mut case in message_cases().into_iter().chain(handshake_cases()) {
        let batch = match case.bytes {
            Some(b) => usize::try_from(65536 / (b + 256)).unwrap().clamp(2, 128),
            None => 16,
        };
        let time = |f: &mut dyn FnMut(), prepare: &mut dyn FnMut(usize)| {
            prepare(batch);
            let start = Instant::now();
            for _ in 0..batch {
                f();
            }
            start.elapsed().as_secs_f64()
        };
        let mut no_prep = |_: usize| {};
        for _ in 0..2 {
            time(&mut case.emu, &mut case.prepare);
            time(&mut case.floor, &mut no_prep);
        }
        let mut ratios: Vec<f64> = (0..rounds)
            .map(|r| {
                if r % 2 == 0 {
                    let e = time(&mut case.emu, &mut case.prepare);
                    e / time(&mut case.floor, &mut no_prep)
                } else {
                    let f = time(&mut case.floor, &mut no_prep);
                    time(&mut case.emu, &mut case.prepare) / f
                }
            })
            .collect();
        let mut windows: Vec<f64> = ratios.chunks(20).map(|w| median(&mut w.to_vec())).collect();
        windows.sort_by(f64::total_cmp);
        eprintln!(
            "  {:>28} {:>9}: {:.3}  (windows of 20: {:.3}-{:.3})",
            case.group,
            case.id,
            median(&mut ratios),
            windows[0],
            windows[windows.len() - 1]
        );
    }
    eprintln!();
}

// ---- benches ----

fn run_cases(c: &mut Criterion, cases: Vec<Case>) {
    let mut cases = cases;
    cases.sort_by(|a, b| a.group.cmp(&b.group));
    for chunk in cases.chunk_by_mut(|a, b| a.group == b.group) {
        let mut g = c.benchmark_group(chunk[0].group.clone());
        for case in chunk.iter_mut() {
            if let Some(b) = case.bytes {
                g.throughput(Throughput::Bytes(b));
            }
            g.bench_function(BenchmarkId::new("sspi-emu", &case.id), |b| b.iter(&mut case.emu));
            g.bench_function(BenchmarkId::new("floor", &case.id), |b| b.iter(&mut case.floor));
        }
        g.finish();
    }
}

fn messages(c: &mut Criterion) {
    run_cases(c, message_cases());
}

fn handshakes(c: &mut Criterion) {
    let client_creds = krb_initiator_credentials_for(ETYPE);
    let server_creds = krb_acceptor_credentials();
    let mut floor = HandshakeFloor::new();
    let mut g = c.benchmark_group("krb_handshake");
    g.bench_function(BenchmarkId::new("sspi-emu", "accept"), |b| {
        b.iter_batched(
            || ap_req(&client_creds).1,
            |req| {
                let mut server = acceptor(&server_creds);
                let rep = server.step(Some(&req)).unwrap();
                (server, rep)
            },
            BatchSize::SmallInput,
        )
    });
    g.bench_function(BenchmarkId::new("floor", "accept"), |b| b.iter(|| floor.accept()));
    g.bench_function(BenchmarkId::new("sspi-emu", "handshake"), |b| {
        b.iter(|| handshake(&client_creds, &server_creds))
    });
    g.bench_function(BenchmarkId::new("floor", "handshake"), |b| b.iter(|| floor.run()));
    g.bench_function(BenchmarkId::new("sspi-emu", "initiator_ap_req"), |b| {
        b.iter(|| ap_req(&client_creds))
    });
    g.finish();
}

/// The floors' building blocks, one of each.
fn floor_parts(c: &mut Criterion) {
    let mut g = c.benchmark_group("krb_floor_parts");
    let key = Key::new(ETYPE, &krb_world().0);
    g.bench_function("derived_keys_new/aes256-sha1", |b| {
        b.iter(|| DerivedKeys::new(black_box(&key), KeyUsage::KG_ACCEPTOR_SEAL).unwrap())
    });
    let bytes = [0x5au8; 32];
    // What `DerivedKeys::new` computes (aes256-sha1: Ke, Ki, Kc), with the n-folded
    // constants from a table: the base key's schedule, three DKs, Ke's schedule, two HMAC
    // key setups.
    let folded = [constant(22, 0xAA), constant(22, 0x55), constant(22, 0x99)];
    g.bench_function("raw_derived_keys/aes256-sha1", |b| {
        b.iter(|| {
            let base = Aes256::new(black_box(&bytes.into()));
            let ke = Aes256::new(&dk(&base, &folded[0]).into());
            let ki: HmacSha1 = KeyInit::new_from_slice(&dk(&base, &folded[1])).unwrap();
            let kc: HmacSha1 = KeyInit::new_from_slice(&dk(&base, &folded[2])).unwrap();
            (ke, ki, kc)
        })
    });
    g.bench_function("aes256_key_schedule", |b| b.iter(|| Aes256::new(black_box(&bytes.into()))));
    g.bench_function("hmac_sha1_key_setup", |b| {
        b.iter(|| <Hmac<sha1::Sha1> as KeyInit>::new_from_slice(black_box(&bytes[..16])).unwrap())
    });
    g.bench_function("getrandom_52", |b| {
        b.iter(|| {
            let mut r = [0u8; 52];
            OsRandom.fill(&mut r).unwrap();
            r
        })
    });
    g.bench_function("getrandom_16", |b| {
        b.iter(|| {
            let mut r = [0u8; 16];
            OsRandom.fill(&mut r).unwrap();
            r
        })
    });
    g.bench_function("acceptor_credentials", |b| b.iter(krb_acceptor_credentials));
    g.finish();
}

fn export_options() -> (ExportOptions, ImportOptions) {
    let key = Protection::Key(ExportKey::from_bytes([7; 32]));
    (
        ExportOptions::new().protection(key.clone()),
        ImportOptions::new()
            .protection(key)
            .credentials(krb_acceptor_credentials())
            .environment(env()),
    )
}

/// An established aes256-sha1 pair after a few messages.
fn established_with_traffic() -> [SecurityContext; 2] {
    let [mut client, mut server] = pair(ETYPE);
    for _ in 0..3 {
        let mut data = vec![1u8; 100];
        let sig = client.seal(&mut data).unwrap();
        server.unseal(&mut data, &sig).unwrap();
    }
    [client, server]
}

/// Export and import of an established acceptor (aes256-sha1, XChaCha20-Poly1305 under a
/// caller key), as NTLM's `export_import`.
fn export_import(c: &mut Criterion) {
    let (export, import) = export_options();
    let [_client, mut server] = established_with_traffic();
    let blob = server.export(0, &export).unwrap().packed;
    let mut g = c.benchmark_group("krb_export_import");
    g.bench_function("export", |b| b.iter(|| server.export(0, &export).unwrap()));
    g.bench_function("import", |b| {
        b.iter(|| SecurityContext::import(blob.as_bytes(), &import).unwrap())
    });
    g.bench_function("export+import", |b| {
        b.iter(|| {
            let packed = server.export(0, &export).unwrap().packed;
            SecurityContext::import(packed.as_bytes(), &import).unwrap()
        })
    });
    g.finish();
}

criterion_group!(
    benches,
    allocations,
    paired_ratios,
    messages,
    handshakes,
    floor_parts,
    export_import
);
criterion_main!(benches);
