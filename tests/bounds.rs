//! Bounds (issue 16): no single input costs unbounded memory or time. Each limit written in
//! the manual's "Bounds" table (`sspi_emu::manual`) is shown here with the hostile input it
//! is for: huge declared lengths, thousands of AV pairs, deep and long ASN.1, a 1 GiB declared
//! blob, files far over their size limit. Memory is measured, not assumed: this binary's
//! allocator tracks the peak of live heap bytes on the calling thread during the call, so
//! each test states how much the refusal cost. Time is bounded by refusing before any work
//! that grows with a declared size (no wall-clock assertion: those belong in benchmarks).
//!
//! `unsafe` is needed only to implement `GlobalAlloc`, which forwards to the system
//! allocator; the library itself forbids unsafe code.
#![allow(unsafe_code)]

use sha2::{Digest, Sha256};
use sspi_emu::env::{FileTime, ManualClock, SeededRandom};
use sspi_emu::export::{ExportOptions, MAX_PACKED_SIZE, Protection};
use sspi_emu::flags::{AscReq, IscReq};
use sspi_emu::kerberos::kdc::{AsExchange, ClientSecret, RequestOptions};
use sspi_emu::kerberos::{EncType, NameType, Principal};
use sspi_emu::ntlm::users::MemoryUserStore;
use sspi_emu::{
    AcceptorOptions, Credentials, Environment, Error, ImportOptions, InitiatorOptions, Password,
    SecurityContext,
};
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

struct Peak;

thread_local! {
    /// Live heap bytes allocated on this thread while measuring, and their peak.
    static LIVE: Cell<isize> = const { Cell::new(0) };
    static PEAK: Cell<isize> = const { Cell::new(0) };
    static ON: Cell<bool> = const { Cell::new(false) };
}

fn signed(n: usize) -> isize {
    isize::try_from(n).unwrap_or(isize::MAX)
}

fn track(delta: isize) {
    if ON.try_with(Cell::get).unwrap_or(false) {
        let live = LIVE.with(|l| {
            l.set(l.get() + delta);
            l.get()
        });
        PEAK.with(|p| p.set(p.get().max(live)));
    }
}

unsafe impl GlobalAlloc for Peak {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        track(signed(layout.size()));
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        track(-signed(layout.size()));
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        track(signed(new_size) - signed(layout.size()));
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Peak = Peak;

/// Runs `f`; returns its result and the peak of heap bytes it held at once (on this thread).
fn peak<T>(f: impl FnOnce() -> T) -> (T, usize) {
    LIVE.with(|l| l.set(0));
    PEAK.with(|p| p.set(0));
    ON.with(|o| o.set(true));
    let out = f();
    ON.with(|o| o.set(false));
    (out, usize::try_from(PEAK.with(Cell::get)).unwrap_or(0))
}

fn env(seed: u64) -> Environment {
    Environment::new(SeededRandom::new(seed), ManualClock::new(FileTime(134_116_992_000_000_000)))
}

fn client() -> SecurityContext {
    SecurityContext::initiator(
        &Credentials::initiator("alice", "EXAMPLE", Password::new("pw")),
        InitiatorOptions::new().flags(IscReq::CONFIDENTIALITY).environment(env(1)),
    )
    .unwrap()
}

fn server() -> SecurityContext {
    let mut users = MemoryUserStore::new();
    users.add_password("EXAMPLE", "alice", &Password::new("pw"));
    SecurityContext::acceptor(
        &Credentials::acceptor(users),
        AcceptorOptions::new().flags(AscReq::CONFIDENTIALITY).environment(env(2)),
    )
    .unwrap()
}

fn unprotected() -> ImportOptions {
    ImportOptions::new().protection(Protection::DangerousUnprotected)
}

/// An unprotected blob of a client waiting for CHALLENGE (its state names "alice").
fn blob() -> Vec<u8> {
    let mut c = client();
    c.step(None).unwrap();
    let options = ExportOptions::new().protection(Protection::DangerousUnprotected);
    c.export(0, &options).unwrap().packed.as_bytes().to_vec()
}

/// Re-seals an unprotected blob after its state was edited: the length field and the
/// SHA-256 check value (the export module's format table).
fn reseal(header: &[u8], state: &[u8]) -> Vec<u8> {
    let mut out = header[..48].to_vec();
    out[44..48].copy_from_slice(&u32::try_from(state.len()).unwrap().to_le_bytes());
    out.extend_from_slice(state);
    let check = Sha256::digest(&out);
    out.extend_from_slice(&check[..16]);
    out
}

#[test]
fn a_blob_declaring_1_gib_costs_nothing() {
    let good = blob();
    assert!(SecurityContext::import(&good, &unprotected()).is_ok(), "the unedited blob imports");

    // The header's length field says 1 GiB: refused before the state is copied.
    let mut declared = good.clone();
    declared[44..48].copy_from_slice(&(1u32 << 30).to_le_bytes());
    let (result, bytes) = peak(|| SecurityContext::import(&declared, &unprotected()));
    assert!(matches!(result, Err(Error::CorruptContext(_))), "{result:?}");
    assert_eq!(bytes, 0, "refused from the header alone");

    // A blob larger than any context: refused from its length.
    let huge = vec![0u8; MAX_PACKED_SIZE + 1];
    let (result, bytes) = peak(|| SecurityContext::import(&huge, &unprotected()));
    assert!(matches!(result, Err(Error::CorruptContext(_))), "{result:?}");
    assert_eq!(bytes, 0);

    // Inside a well-formed blob, the state declares a 1 GiB user name (postcard varint).
    let state = &good[48..good.len() - 16];
    let at = state.windows(6).position(|w| w == b"\x05alice").expect("the user name");
    let mut edited = state[..at].to_vec();
    edited.extend_from_slice(&[0x80, 0x80, 0x80, 0x80, 0x04]); // 2^30
    edited.extend_from_slice(&state[at + 1..]);
    let forged = reseal(&good, &edited);
    let (result, bytes) = peak(|| SecurityContext::import(&forged, &unprotected()));
    assert!(matches!(result, Err(Error::CorruptContext("undecodable state"))), "{result:?}");
    assert!(bytes <= forged.len() + 1024, "{bytes} bytes for a {}-byte blob", forged.len());

    // The same through the Windows-shaped layer.
    let mut handle = sspi_emu::sspi::SecHandle::default();
    let (st, bytes) = peak(|| {
        sspi_emu::sspi::import_security_context_ex(
            "NTLM",
            &declared,
            None,
            &unprotected(),
            &mut handle,
        )
    });
    assert_eq!(st, sspi_emu::SecurityStatus::SEC_E_INVALID_TOKEN);
    assert_eq!(bytes, 0);
}

/// A real CHALLENGE whose target information is replaced by `pairs` AV pairs
/// (MS-NLMP 2.2.1.2: TargetInfoFields at offset 40; 2.2.2.1: AvId, AvLen), none of
/// the ids the client adds, so the list it sends back has `pairs` + 3.
fn challenge_with_av_pairs(pairs: usize) -> Vec<u8> {
    let mut c = client();
    let mut s = server();
    let negotiate = c.step(None).unwrap().token;
    let mut challenge = s.step(Some(&negotiate)).unwrap().token;
    let offset = u32::try_from(challenge.len()).unwrap();
    for i in 0..pairs {
        // Ids MS-NLMP does not define (kept as received), all different, empty.
        let id = u16::try_from(0x100 + i).unwrap();
        challenge.extend_from_slice(&id.to_le_bytes());
        challenge.extend_from_slice(&[0, 0]);
    }
    challenge.extend_from_slice(&[0, 0, 0, 0]); // MsvAvEOL
    let len = u16::try_from(pairs * 4 + 4).unwrap();
    challenge[40..42].copy_from_slice(&len.to_le_bytes());
    challenge[42..44].copy_from_slice(&len.to_le_bytes());
    challenge[44..48].copy_from_slice(&offset.to_le_bytes());
    challenge
}

#[test]
fn thousands_of_av_pairs_are_refused_in_one_pass() {
    // A list within the manual's bound of 16 is accepted (9 here: the client adds 3 and its
    // own list must fit too); 10,000 are refused, at the cost of the token at most.
    let mut c = client();
    c.step(None).unwrap();
    assert!(c.step(Some(&challenge_with_av_pairs(9))).is_ok(), "a list within the bound");
    let hostile = challenge_with_av_pairs(10_000);
    let mut c = client();
    c.step(None).unwrap();
    let (result, bytes) = peak(|| c.step(Some(&hostile)));
    assert!(matches!(result, Err(Error::InvalidToken(_))), "{result:?}");
    assert!(bytes <= hostile.len(), "{bytes} bytes for a {}-byte token", hostile.len());
}

#[test]
fn huge_declared_lengths_in_ntlm_messages_are_refused() {
    let mut c = client();
    let mut s = server();
    let negotiate = c.step(None).unwrap().token;
    let challenge = s.step(Some(&negotiate)).unwrap().token;
    let authenticate = c.step(Some(&challenge)).unwrap().token;
    // NtChallengeResponseFields (MS-NLMP 2.2.1.3, offset 20): 65535 bytes at 4 GiB - 256.
    let mut hostile = authenticate.clone();
    hostile[20..24].copy_from_slice(&[0xff, 0xff, 0xff, 0xff]);
    hostile[24..28].copy_from_slice(&0xffff_ff00u32.to_le_bytes());
    let (result, bytes) = peak(|| s.step(Some(&hostile)));
    assert!(matches!(result, Err(Error::InvalidToken(_))), "{result:?}");
    assert!(bytes <= 4096, "{bytes} bytes");
    // A token over the largest any message can be: refused from its length.
    let mut s = server();
    let huge = vec![0u8; 1 << 20];
    let (result, bytes) = peak(|| s.step(Some(&huge)));
    assert!(matches!(result, Err(Error::InvalidToken(_))), "{result:?}");
    assert_eq!(bytes, 0);
}

fn as_exchange() -> sspi_emu::kerberos::kdc::AsAwaitingReply {
    let alice = Principal::new(NameType::PRINCIPAL, &["alice"], "EXAMPLE.TEST");
    AsExchange::start(
        &alice,
        ClientSecret::Password(Password::new("pw")),
        &RequestOptions::default(),
        &env(3),
    )
    .unwrap()
    .0
}

/// `depth` nested SEQUENCEs (DER, long-form lengths), the innermost empty: level `k` from
/// the inside holds the `6 * k` bytes of the levels within it.
fn nested(depth: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(6 * depth);
    for level in (0..depth).rev() {
        out.extend_from_slice(&[0x30, 0x84]);
        out.extend_from_slice(&u32::try_from(6 * level).unwrap().to_be_bytes());
    }
    out
}

#[test]
fn deep_and_long_asn1_from_a_kdc_is_refused() {
    // 100,000 levels (600 KB, under the 1 MiB reply bound): no recursion that deep, a clear
    // error, and memory of the order of the reply.
    let deep = nested(100_000);
    let (result, bytes) = peak(|| as_exchange().handle_reply(&deep));
    assert!(matches!(result, Err(Error::InvalidToken(_))), "{:?}", result.err());
    assert!(bytes <= 2 * deep.len(), "{bytes} bytes for a {}-byte reply", deep.len());
    // As the outer element of an AS-REP (application 11) too.
    let mut as_rep = vec![0x6b, 0x84];
    as_rep.extend_from_slice(&u32::try_from(deep.len()).unwrap().to_be_bytes());
    as_rep.extend_from_slice(&deep);
    let (result, _) = peak(|| as_exchange().handle_reply(&as_rep));
    assert!(matches!(result, Err(Error::InvalidToken(_))), "{:?}", result.err());
    // Longer than any reply: refused from its length.
    let long = vec![0x6b; sspi_emu::kerberos::kdc::MAX_REPLY_LEN + 1];
    let (result, bytes) = peak(|| as_exchange().handle_reply(&long));
    assert!(matches!(result, Err(Error::InvalidToken(_))), "{:?}", result.err());
    assert!(bytes <= 4096, "{bytes} bytes");
    // A DER length of 4 GiB - 1 in a short reply.
    let lying = [0x6b, 0x84, 0xff, 0xff, 0xff, 0xff, 0x30, 0x00];
    let (result, bytes) = peak(|| as_exchange().handle_reply(&lying));
    assert!(matches!(result, Err(Error::InvalidToken(_))), "{:?}", result.err());
    assert!(bytes <= 4096, "{bytes} bytes");
}

#[test]
fn string_to_key_iterations_are_bounded() {
    use sspi_emu::kerberos::crypto::{MAX_ITERATIONS, string_to_key};
    let params = (MAX_ITERATIONS + 1).to_be_bytes();
    let result = string_to_key(EncType::AES128_CTS_HMAC_SHA1_96, b"pw", b"salt", Some(&params));
    assert!(matches!(result, Err(Error::InvalidParameter(_))), "{:?}", result.err());
    // 0 means 2^32 (RFC 3962 section 4): refused too.
    let result = string_to_key(EncType::AES128_CTS_HMAC_SHA1_96, b"pw", b"salt", Some(&[0; 4]));
    assert!(matches!(result, Err(Error::InvalidParameter(_))), "{:?}", result.err());
}

/// A sparse file one byte over `max`: costs no disk, and must be refused from its size.
fn oversized_file(dir: &std::path::Path, name: &str, max: u64) -> std::path::PathBuf {
    let path = dir.join(name);
    let file = std::fs::File::create(&path).unwrap();
    file.set_len(max + 1).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    path
}

#[test]
fn files_over_their_limits_are_refused_unread() {
    use sspi_emu::kerberos::{ccache, config, keytab};
    let dir = std::env::temp_dir().join(format!("sspi-emu-bounds-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = oversized_file(&dir, "keytab", keytab::MAX_FILE_SIZE);
    let (result, bytes) = peak(|| keytab::Keytab::read(&path));
    assert!(
        matches!(&result, Err(Error::Keytab(m)) if m.contains("larger than")),
        "{:?}",
        result.err()
    );
    assert!(bytes <= 4096, "{bytes} bytes");
    let path = oversized_file(&dir, "ccache", ccache::MAX_FILE_SIZE);
    let (result, bytes) = peak(|| ccache::CredentialCache::read(&path));
    assert!(
        matches!(&result, Err(Error::CredentialCache(m)) if m.contains("larger than")),
        "{:?}",
        result.err()
    );
    assert!(bytes <= 4096, "{bytes} bytes");
    let path = oversized_file(&dir, "krb5.conf", config::MAX_FILE_SIZE);
    let (result, bytes) = peak(|| config::Krb5Config::load(&path));
    assert!(result.is_err_and(|e| e.to_string().contains("larger than")));
    assert!(bytes <= 4096, "{bytes} bytes");
    let path = oversized_file(&dir, "users", sspi_emu::ntlm::users::MAX_FILE_SIZE);
    let (result, bytes) = peak(|| MemoryUserStore::from_file(&path));
    assert!(
        matches!(&result, Err(Error::UserFile(m)) if m.contains("larger than")),
        "{:?}",
        result.err()
    );
    assert!(bytes <= 4096, "{bytes} bytes");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn deeply_nested_krb5_conf_is_bounded() {
    // 100,000 nested relations (400 KB, under the 1 MiB bound): refused at the 33rd level,
    // never a stack overflow, in memory of the order of the text.
    let mut text = String::from("[libdefaults]\n");
    for _ in 0..100_000 {
        text.push_str("a={\n");
    }
    for _ in 0..100_000 {
        text.push_str("}\n");
    }
    let (result, bytes) =
        peak(|| sspi_emu::kerberos::config::Krb5Config::parse(&text, "deep.conf"));
    drop(result);
    assert!(bytes <= 64 * text.len(), "{bytes} bytes for {} bytes of text", text.len());
}
