//! Secrets seen wiped (issue 16): passwords, NT hashes, NTLMv2 hashes, session, signing and
//! sealing keys, RC4 states, Kerberos keys, export keys, decrypted and packed export state are
//! all zero by the time their memory goes back to the allocator.
//!
//! Method: this test binary's global allocator inspects every block freed on a thread that
//! armed it, before handing the block to the system allocator. It looks for each registered
//! *needle* (the byte strings of the secrets the scenario uses, computed independently of the
//! library from the specs) and for any 256 consecutive bytes forming a permutation of 0..=255
//! (an RC4 state, whatever its key; random data is a permutation with probability ~10^-110).
//! Blocks are zeroed when allocated, so a finding was written during the block's life.
//! `realloc` is not overridden, so a growing buffer's old block is inspected too: a `Vec`
//! holding a secret that grows leaves the secret behind, and this test sees it.
//! What it does not see: copies left on the stack or in registers, and memory never freed
//! (leaked or in statics); those are covered, as far as they are, by reading the code.
//!
//! The scenarios are deterministic (seeded random, manual clock), so each runs twice: once
//! unarmed to learn the values that only exist mid-run (the NTLM session key), then armed with
//! every needle registered from the start. A control at the start of each test shows the
//! inspector catching a planted secret and an RC4 state: the test can fail.
//!
//! The second half checks `Debug` of every public type that holds a secret.
//!
//! `unsafe` is needed only to implement `GlobalAlloc`, which forwards to the system allocator;
//! the library itself forbids unsafe code. A global allocator is process-wide, so this is its
//! own test binary.
#![allow(unsafe_code)]

use hmac::{KeyInit, Mac};
use md4::{Digest, Md4};
use md5::Md5;
use sspi_emu::env::{FileTime, ManualClock, SeededRandom};
use sspi_emu::export::{
    ExportKey, ExportOptions, Protection, SECPKG_CONTEXT_EXPORT_DELETE_OLD,
    SECPKG_CONTEXT_EXPORT_RESET_NEW,
};
use sspi_emu::flags::{AscReq, IscReq};
use sspi_emu::kerberos::ccache::CredentialCache;
use sspi_emu::kerberos::crypto::{self as kcrypto, DerivedKeys, KeyUsage};
use sspi_emu::kerberos::keytab::{Keytab, KeytabEntry};
use sspi_emu::kerberos::{Credential, EncType, Key, NameType, Principal};
use sspi_emu::ntlm::users::MemoryUserStore;
use sspi_emu::sspi::*;
use sspi_emu::{
    AcceptorOptions, Credentials, Environment, ImportOptions, InitiatorOptions, NtHash, Password,
    SecurityContext, SecurityStatus as S,
};
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::{Mutex, RwLock};

// ---------------------------------------------------------------------------------------------
// The inspecting allocator

struct Inspecting;

thread_local! {
    /// Whether blocks freed on this thread are inspected.
    static ARMED: Cell<bool> = const { Cell::new(false) };
    /// Set while the inspector itself runs (it allocates to record a finding).
    static BUSY: Cell<bool> = const { Cell::new(false) };
}

/// The secrets looked for: a name and the bytes.
static NEEDLES: RwLock<Vec<(String, Vec<u8>)>> = RwLock::new(Vec::new());
/// What was found: which secret, the block's size and where it was freed.
static FOUND: Mutex<Vec<String>> = Mutex::new(Vec::new());

unsafe impl GlobalAlloc for Inspecting {
    /// Every block starts zeroed, so what the inspector finds in it when it is freed was
    /// written during its life: not left over from an earlier block of the same memory (the
    /// spare capacity of a `Vec` is never written, and would otherwise show whatever the
    /// memory held before, a finding that belongs to someone else).
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        let inspect =
            ARMED.try_with(Cell::get).unwrap_or(false) && !BUSY.try_with(Cell::get).unwrap_or(true);
        if inspect {
            // SAFETY: `ptr` is a live block of `layout.size()` bytes until the call below.
            let block = unsafe { std::slice::from_raw_parts(ptr, layout.size()) };
            inspect_freed(block);
        }
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Inspecting = Inspecting;

/// Runs `f` with the inspector off on this thread (registering needles, recording findings).
fn quietly<T>(f: impl FnOnce() -> T) -> T {
    let was = BUSY.with(|b| b.replace(true));
    let out = f();
    BUSY.with(|b| b.set(was));
    out
}

fn inspect_freed(block: &[u8]) {
    quietly(|| {
        let mut found = Vec::new();
        for (name, needle) in NEEDLES.read().unwrap_or_else(|e| e.into_inner()).iter() {
            if let Some(at) = block.windows(needle.len()).position(|w| w == needle.as_slice()) {
                found.push(format!("{name} (at offset {at})"));
            }
        }
        if holds_permutation(block) {
            found.push("an RC4 state (256 bytes forming a permutation of 0..=255)".into());
        }
        if !found.is_empty() {
            let trace = short_trace();
            let mut all = FOUND.lock().unwrap_or_else(|e| e.into_inner());
            for name in found {
                all.push(format!(
                    "{name}, in a freed block of {} bytes, freed at:\n{trace}",
                    block.len()
                ));
            }
        }
    });
}

/// The frames of the library and of this test where a block was freed.
fn short_trace() -> String {
    let full = std::backtrace::Backtrace::force_capture().to_string();
    let lines: Vec<&str> = full.lines().collect();
    let mut out = String::new();
    for (i, line) in lines.iter().enumerate() {
        let frame = line.trim_start();
        if frame.split_once(": ").is_some_and(|(n, f)| {
            n.chars().all(|c| c.is_ascii_digit())
                && (f.contains("sspi_emu") || f.contains("wiped::"))
        }) && !frame.contains("inspect_freed")
            && !frame.contains("quietly")
            && !frame.contains("Inspecting")
        {
            out.push_str(line);
            out.push('\n');
            if let Some(at) = lines.get(i + 1).filter(|l| l.trim_start().starts_with("at ")) {
                out.push_str(at);
                out.push('\n');
            }
        }
    }
    out
}

/// Whether any 256 consecutive bytes of `block` are a permutation of 0..=255 (a sliding
/// histogram: one pass).
fn holds_permutation(block: &[u8]) -> bool {
    if block.len() < 256 {
        return false;
    }
    let mut count = [0u16; 256];
    let mut distinct = 0usize;
    for (i, &b) in block.iter().enumerate() {
        if count[usize::from(b)] == 0 {
            distinct += 1;
        }
        count[usize::from(b)] += 1;
        if i >= 256 {
            let old = usize::from(block[i - 256]);
            count[old] -= 1;
            if count[old] == 0 {
                distinct -= 1;
            }
        }
        if i >= 255 && distinct == 256 {
            return true;
        }
    }
    false
}

fn register(name: &str, bytes: &[u8]) {
    assert!(bytes.len() >= 8, "needle {name} too short to be unambiguous");
    quietly(|| {
        let mut needles = NEEDLES.write().unwrap_or_else(|e| e.into_inner());
        if !needles.iter().any(|(_, n)| n == bytes) {
            needles.push((name.to_owned(), bytes.to_vec()));
        }
    });
}

/// Runs `f` with every block freed on this thread inspected; returns what was found.
fn armed(f: impl FnOnce()) -> Vec<String> {
    quietly(|| FOUND.lock().unwrap_or_else(|e| e.into_inner()).clear());
    ARMED.with(|a| a.set(true));
    f();
    ARMED.with(|a| a.set(false));
    quietly(|| std::mem::take(&mut *FOUND.lock().unwrap_or_else(|e| e.into_inner())))
}

/// The tests share the global needle list and FOUND: one at a time.
static SERIAL: Mutex<()> = Mutex::new(());

fn assert_clean(what: &str, found: &[String]) {
    assert!(
        found.is_empty(),
        "{what}: {} secret(s) left in freed memory:\n{}",
        found.len(),
        found.join("\n")
    );
}

/// A test's start: the others wait, the control runs, and a fresh directory for its files.
fn start(name: &str) -> (std::sync::MutexGuard<'static, ()>, std::path::PathBuf) {
    let serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    control();
    let dir = std::env::temp_dir().join(format!("sspi-emu-wiped-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    (serial, dir)
}

/// The inspector sees a planted secret and an RC4 state: these tests can fail.
fn control() {
    register("control needle", b"control-needle-0123456789");
    let found = armed(|| {
        let planted = b"xxcontrol-needle-0123456789yy".to_vec();
        drop(std::hint::black_box(planted));
        let mut state: Vec<u8> = Vec::with_capacity(257);
        state.push(9);
        state.extend((0..=255u8).rev());
        drop(std::hint::black_box(state));
        let wiped = zeroize::Zeroizing::new(b"xxcontrol-needle-0123456789yy".to_vec());
        drop(wiped);
    });
    assert_eq!(
        found.len(),
        2,
        "the control must find the planted secret and the RC4 state: {found:#?}"
    );
    assert!(found[0].starts_with("control needle"));
    assert!(found[1].starts_with("an RC4 state"));
}

// ---------------------------------------------------------------------------------------------
// NTLM through the Rust API

const USER: &str = "WipeUser";
const DOMAIN: &str = "WIPEDOMAIN";
const PASSWORD: &str = "Wipe-Me-Password-0123456789!";
const USER_FILE_PASSWORD: &str = "User-File-Password-9876543210?";
const EXPORT_KEY: [u8; 32] = [0x5e; 32];

fn utf16(s: &str) -> Vec<u8> {
    s.encode_utf16().flat_map(u16::to_le_bytes).collect()
}

fn md5(parts: &[&[u8]]) -> [u8; 16] {
    let mut h = Md5::new();
    for p in parts {
        h.update(p);
    }
    h.finalize().into()
}

/// The needles of a password: its UTF-8 and UTF-16LE forms, NTOWFv1 (MS-NLMP 3.3.1) and
/// NTOWFv2 (MS-NLMP 3.3.2) for `user`/`domain`.
fn register_password(name: &str, password: &str, user: &str, domain: &str) {
    register(&format!("{name} (UTF-8)"), password.as_bytes());
    register(&format!("{name} (UTF-16LE)"), &utf16(password));
    let nt: [u8; 16] = Md4::digest(utf16(password)).into();
    register(&format!("{name}'s NT hash"), &nt);
    let mut v2 = <hmac::Hmac<Md5> as KeyInit>::new_from_slice(&nt).unwrap();
    v2.update(&utf16(&(user.to_uppercase() + domain)));
    register(&format!("{name}'s NTLMv2 hash"), &v2.finalize().into_bytes());
}

/// The needles of an NTLM session: the exported session key and the four keys MS-NLMP 3.4.5.2
/// and 3.4.5.3 derive from it (extended session security, 128-bit).
fn register_session_key(key: &[u8; 16]) {
    register("NTLM exported session key", key);
    for (name, magic) in [
        (
            "client signing key",
            &b"session key to client-to-server signing key magic constant\0"[..],
        ),
        ("server signing key", b"session key to server-to-client signing key magic constant\0"),
        ("client sealing key", b"session key to client-to-server sealing key magic constant\0"),
        ("server sealing key", b"session key to server-to-client sealing key magic constant\0"),
    ] {
        register(&format!("NTLM {name}"), &md5(&[key, magic]));
    }
}

fn env(seed: u64) -> Environment {
    Environment::new(SeededRandom::new(seed), ManualClock::new(FileTime(134_116_992_000_000_000)))
}

fn key() -> Protection {
    Protection::Key(ExportKey::from_bytes(EXPORT_KEY))
}

/// A whole NTLM life through the Rust API: users from a file, a handshake, every message call,
/// exports (protected and not, each flag) and imports, and everything dropped. Returns the
/// session key.
fn ntlm_life(user_file: &std::path::Path) -> [u8; 16] {
    let users = MemoryUserStore::from_file(user_file).unwrap();
    let mut more = MemoryUserStore::new();
    more.add_password(DOMAIN, USER, &Password::new(PASSWORD));
    more.add_nt_hash(DOMAIN, "other", NtHash::from_password(PASSWORD));
    drop(more);
    let server_creds = Credentials::acceptor(users);
    let flags = IscReq::CONFIDENTIALITY | IscReq::INTEGRITY | IscReq::REPLAY_DETECT;
    let mut session_key = [0u8; 16];
    for by_hash in [false, true] {
        let client_creds = if by_hash {
            Credentials::initiator_with_nt_hash(USER, DOMAIN, NtHash::from_password(PASSWORD))
        } else {
            Credentials::initiator(USER, DOMAIN, Password::new(PASSWORD))
        };
        let mut client = SecurityContext::initiator(
            &client_creds,
            InitiatorOptions::new().flags(flags).target_name("HTTP/server").environment(env(1)),
        )
        .unwrap();
        let mut server = SecurityContext::acceptor(
            &server_creds,
            AcceptorOptions::new()
                .flags(AscReq::CONFIDENTIALITY | AscReq::INTEGRITY | AscReq::REPLAY_DETECT)
                .environment(env(2)),
        )
        .unwrap();
        let n = client.step(None).unwrap().token;
        let c = server.step(Some(&n)).unwrap().token;
        // Mid-handshake exports: both roles.
        for ctx in [&mut client, &mut server] {
            let e =
                ctx.export(0, &ExportOptions::new().protection(key()).environment(env(3))).unwrap();
            let opts = ImportOptions::new().protection(key()).credentials(if ctx.is_initiator() {
                client_creds.clone()
            } else {
                server_creds.clone()
            });
            drop(SecurityContext::import(e.packed.as_bytes(), &opts).unwrap());
        }
        let a = client.step(Some(&c)).unwrap().token;
        server.step(Some(&a)).unwrap();
        session_key = *server.dangerous_session_key().unwrap().dangerous_bytes();

        let mut data = b"a message that is not secret, sealed and unsealed".to_vec();
        let sig = client.seal(&mut data).unwrap();
        server.unseal(&mut data, &sig).unwrap();
        let sig = server.sign(&data).unwrap();
        client.verify(&data, &sig).unwrap();
        let token = client.wrap(b"wrapped").unwrap();
        assert_eq!(server.unwrap(&token).unwrap(), b"wrapped");

        // Established exports: protected, unprotected, every flag; two live copies.
        for protection in [key(), Protection::DangerousUnprotected] {
            for flags in [0, SECPKG_CONTEXT_EXPORT_RESET_NEW] {
                let e = server
                    .export(
                        flags,
                        &ExportOptions::new().protection(protection.clone()).environment(env(4)),
                    )
                    .unwrap();
                let mut copy = SecurityContext::import(
                    e.packed.as_bytes(),
                    &ImportOptions::new()
                        .protection(protection.clone())
                        .credentials(server_creds.clone()),
                )
                .unwrap();
                if flags == 0 {
                    let mut more = b"after the move".to_vec();
                    copy.seal(&mut more).unwrap();
                }
                drop((copy, e));
            }
        }
        let e = client
            .export(
                SECPKG_CONTEXT_EXPORT_DELETE_OLD,
                &ExportOptions::new().protection(key()).environment(env(5)),
            )
            .unwrap();
        let mut client =
            SecurityContext::import(e.packed.as_bytes(), &ImportOptions::new().protection(key()))
                .unwrap();
        drop(e);
        let mut data = b"after the import".to_vec();
        let sig = client.seal(&mut data).unwrap();
        server.unseal(&mut data, &sig).unwrap();
        // A blob that fails to open (wrong key) is dropped too.
        let e =
            server.export(0, &ExportOptions::new().protection(key()).environment(env(6))).unwrap();
        let wrong = Protection::Key(ExportKey::from_bytes([0x11; 32]));
        assert!(
            SecurityContext::import(e.packed.as_bytes(), &ImportOptions::new().protection(wrong))
                .is_err()
        );
        drop((client, server, client_creds, e));
    }
    session_key
}

#[test]
fn ntlm_secrets_are_wiped() {
    let (_serial, dir) = start("ntlm");
    let file = dir.join("users");
    std::fs::write(&file, format!("{DOMAIN}:{USER}:{PASSWORD}\nOTHER:bob:{USER_FILE_PASSWORD}\n"))
        .unwrap();

    let session_key = ntlm_life(&file);
    register_password("the password", PASSWORD, USER, DOMAIN);
    register_password("the user file's password", USER_FILE_PASSWORD, "bob", "OTHER");
    register_session_key(&session_key);
    register("the export key", &EXPORT_KEY);
    let mut again = [0u8; 16];
    let found = armed(|| again = ntlm_life(&file));
    assert_eq!(again, session_key, "the scenario is deterministic");
    std::fs::remove_dir_all(&dir).unwrap();
    assert_clean("NTLM through the Rust API", &found);
}

// ---------------------------------------------------------------------------------------------
// NTLM through the handle layer (OS random: the session key is learnt mid-run)

#[test]
fn handle_layer_secrets_are_wiped() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    control();
    register_password("the password", PASSWORD, USER, DOMAIN);
    register("the export key", &EXPORT_KEY);
    let found = armed(|| {
        let mut users = MemoryUserStore::new();
        users.add_password(DOMAIN, USER, &Password::new(PASSWORD));
        let (mut cc, mut sc, mut t) =
            (SecHandle::default(), SecHandle::default(), FileTime::default());
        let client_creds = Credentials::initiator(USER, DOMAIN, Password::new(PASSWORD));
        let st = acquire_credentials_handle(
            None,
            "NTLM",
            SECPKG_CRED_OUTBOUND,
            Some(&client_creds),
            &mut cc,
            &mut t,
        );
        assert_eq!(st, S::SEC_E_OK);
        let server_creds = Credentials::acceptor(users);
        let st = acquire_credentials_handle(
            None,
            "NTLM",
            SECPKG_CRED_INBOUND,
            Some(&server_creds),
            &mut sc,
            &mut t,
        );
        assert_eq!(st, S::SEC_E_OK);
        drop(client_creds);
        let (mut c, mut s) = (SecHandle::default(), SecHandle::default());
        let mut input: Vec<u8> = Vec::new();
        let isc_flags = IscReq::CONFIDENTIALITY | IscReq::INTEGRITY | IscReq::REPLAY_DETECT;
        let asc_flags = AscReq::CONFIDENTIALITY | AscReq::INTEGRITY | AscReq::REPLAY_DETECT;
        for round in 0..2 {
            let mut token = vec![0u8; 4096];
            let mut out = [SecBuffer::new(SECBUFFER_TOKEN, &mut token)];
            let mut inputs = [SecBuffer::read_only(SECBUFFER_TOKEN, &input)];
            let (mut attrs, mut expiry) = (0, FileTime::default());
            let old = c;
            let st = initialize_security_context(
                Some(&cc),
                (round > 0).then_some(old),
                Some("HTTP/server"),
                isc_flags,
                0,
                (round > 0).then_some(&mut inputs[..]),
                &mut c,
                &mut out,
                &mut attrs,
                &mut expiry,
            );
            assert!(st.is_success(), "{st:?}");
            let sent = out[0].as_slice().to_vec();
            let mut out = [SecBuffer::empty(SECBUFFER_TOKEN)];
            let mut inputs = [SecBuffer::read_only(SECBUFFER_TOKEN, &sent)];
            let old = s;
            let st = accept_security_context(
                Some(&sc),
                (round > 0).then_some(old),
                Some(&mut inputs),
                asc_flags | AscReq::ALLOCATE_MEMORY,
                0,
                &mut s,
                &mut out,
                &mut attrs,
                &mut expiry,
            );
            assert!(st.is_success(), "{st:?}");
            input = out[0]
                .take_allocated()
                .map(|b| {
                    let v = b.as_slice().to_vec();
                    assert_eq!(free_context_buffer(b), S::SEC_E_OK);
                    v
                })
                .unwrap_or_default();
        }
        let mut attr = None;
        assert_eq!(query_context_attributes(&s, SECPKG_ATTR_SESSION_KEY, &mut attr), S::SEC_E_OK);
        let Some(ContextAttribute::SessionKey(k)) = attr else { panic!("no session key") };
        let session_key = *k.dangerous_bytes();
        drop(k);
        register_session_key(&session_key);

        let mut data = b"a message through the handle layer".to_vec();
        let mut sig = [0u8; 16];
        {
            let mut msg = [
                SecBuffer::new(SECBUFFER_TOKEN, &mut sig),
                SecBuffer::new(SECBUFFER_DATA, &mut data),
            ];
            assert_eq!(encrypt_message(&c, 0, &mut msg, 0), S::SEC_E_OK);
        }
        {
            let mut msg = [
                SecBuffer::new(SECBUFFER_TOKEN, &mut sig),
                SecBuffer::new(SECBUFFER_DATA, &mut data),
            ];
            let mut qop = 0;
            assert_eq!(decrypt_message(&s, &mut msg, 0, &mut qop), S::SEC_E_OK);
        }
        for (flags, protection) in [
            (0, key()),
            (SECPKG_CONTEXT_EXPORT_RESET_NEW, Protection::DangerousUnprotected),
            (SECPKG_CONTEXT_EXPORT_DELETE_OLD, key()),
        ] {
            let mut packed = None;
            assert_eq!(
                export_security_context_ex(
                    &s,
                    flags,
                    &ExportOptions::new().protection(protection.clone()),
                    &mut packed,
                    None,
                ),
                S::SEC_E_OK
            );
            let packed = packed.unwrap();
            let mut imported = SecHandle::default();
            let st = import_security_context_ex(
                "NTLM",
                packed.as_slice(),
                None,
                &ImportOptions::new().protection(protection).credentials(server_creds.clone()),
                &mut imported,
            );
            assert_eq!(st, S::SEC_E_OK);
            assert_eq!(free_context_buffer(packed), S::SEC_E_OK);
            if flags == SECPKG_CONTEXT_EXPORT_DELETE_OLD {
                s = imported;
            } else {
                assert_eq!(delete_security_context(&imported), S::SEC_E_OK);
            }
        }
        assert_eq!(delete_security_context(&c), S::SEC_E_OK);
        assert_eq!(delete_security_context(&s), S::SEC_E_OK);
        assert_eq!(free_credentials_handle(&cc), S::SEC_E_OK);
        assert_eq!(free_credentials_handle(&sc), S::SEC_E_OK);
        drop(server_creds);
    });
    assert_clean("NTLM through the handle layer", &found);
}

// ---------------------------------------------------------------------------------------------
// Kerberos keys, keytabs, credential caches

/// RFC 8009 appendix A, "Sample results for key derivation", aes128-cts-hmac-sha256-128 with
/// usage 2.
const RFC8009_BASE: [u8; 16] = hex16("3705D96080C17728A0E800EAB6E0D23C");
const RFC8009_KE: [u8; 16] = hex16("9B197DD1E8C5609D6E67C3E37C62C72E");
const RFC8009_KI: [u8; 16] = hex16("9FDA0E56AB2D85E1569A688696C26A6C");
const KEYTAB_KEY: [u8; 32] = [0xa7; 32];
const TICKET_SESSION_KEY: [u8; 32] = [0xc3; 32];
const KRB_PASSWORD: &str = "Kerberos-Password-4242424242";

const fn hex16(s: &str) -> [u8; 16] {
    let s = s.as_bytes();
    let mut out = [0u8; 16];
    let mut i = 0;
    while i < 16 {
        out[i] = (nibble(s[2 * i]) << 4) | nibble(s[2 * i + 1]);
        i += 1;
    }
    out
}

const fn nibble(c: u8) -> u8 {
    match c {
        b'0'..=b'9' => c - b'0',
        b'A'..=b'F' => c - b'A' + 10,
        _ => c - b'a' + 10,
    }
}

/// A service ticket whose session key is [`TICKET_SESSION_KEY`].
fn ticket(client: Principal, server: Principal) -> Credential {
    Credential {
        client,
        server,
        session_key: Key::new(EncType::AES256_CTS_HMAC_SHA1_96, &TICKET_SESSION_KEY),
        auth_time: 1,
        start_time: 1,
        end_time: u32::MAX,
        renew_till: 0,
        is_skey: false,
        ticket_flags: 0,
        addresses: Vec::new(),
        auth_data: Vec::new(),
        ticket: vec![0x61, 0x03, 0x02, 0x01, 0x05],
        second_ticket: Vec::new(),
    }
}

fn kerberos_life(dir: &std::path::Path) -> Vec<u8> {
    let alice = Principal::new(NameType::PRINCIPAL, &["alice"], "EXAMPLE.TEST");
    let http = Principal::new(NameType::SRV_HST, &["HTTP", "web.example.test"], "EXAMPLE.TEST");
    // Derived keys of RFC 8009's base key: one message each way.
    let base = Key::new(EncType::AES128_CTS_HMAC_SHA256_128, &RFC8009_BASE);
    let keys = DerivedKeys::new(&base, KeyUsage(2)).unwrap();
    let mut out = vec![0u8; 64 + keys.overhead()];
    keys.encrypt_into(&[7u8; 16], &[1u8; 64], &mut out).unwrap();
    let mut plain = vec![0u8; out.len()];
    keys.decrypt_into(&out, &mut plain).unwrap();
    let sealed = kcrypto::encrypt(&base, KeyUsage(2), b"plain", &SeededRandom::new(9)).unwrap();
    assert_eq!(kcrypto::decrypt(&base, KeyUsage(2), &sealed).unwrap(), b"plain");
    drop((keys, base));
    // String-to-key for every enctype.
    // Room for every key up front: a growing Vec would leave the test's own copies behind.
    let mut derived = Vec::with_capacity(128);
    for etype in [
        EncType::AES128_CTS_HMAC_SHA1_96,
        EncType::AES256_CTS_HMAC_SHA1_96,
        EncType::AES128_CTS_HMAC_SHA256_128,
        EncType::AES256_CTS_HMAC_SHA384_192,
        EncType::RC4_HMAC,
    ] {
        let params = (etype.0 >= 19).then_some(&[0u8, 0, 0x10, 0][..]);
        let key =
            kcrypto::string_to_key(etype, KRB_PASSWORD.as_bytes(), b"EXAMPLE.TESTalice", params)
                .unwrap();
        derived.extend_from_slice(key.dangerous_bytes());
    }
    // A keytab written, read back, searched and dropped.
    let keytab = Keytab {
        entries: vec![KeytabEntry {
            principal: http.clone(),
            timestamp: 1,
            kvno: 3,
            key: Key::new(EncType::AES256_CTS_HMAC_SHA1_96, &KEYTAB_KEY),
        }],
    };
    let path = dir.join("keytab");
    keytab.write(&path).unwrap();
    let read = Keytab::read(&path).unwrap();
    assert!(read.find(&http, Some(3), Some(EncType::AES256_CTS_HMAC_SHA1_96)).is_some());
    let bytes = read.to_bytes().unwrap();
    drop(Keytab::parse(&bytes).unwrap());
    drop((keytab, read, bytes));
    // A credential cache with a session key, written, read back and dropped.
    let mut cache = CredentialCache::new(alice.clone());
    cache.store(ticket(alice, http));
    let path = dir.join("ccache");
    cache.write(&path).unwrap();
    let read = CredentialCache::read(&path).unwrap();
    let bytes = read.to_bytes().unwrap();
    drop(CredentialCache::parse(&bytes).unwrap());
    drop((cache, read, bytes));
    derived
}

#[test]
fn kerberos_secrets_are_wiped() {
    let (_serial, dir) = start("krb");
    let derived = kerberos_life(&dir);
    register("RFC 8009 base key", &RFC8009_BASE);
    register("RFC 8009 Ke (usage 2)", &RFC8009_KE);
    register("RFC 8009 Ki (usage 2)", &RFC8009_KI);
    register("a keytab key", &KEYTAB_KEY);
    register("a ticket session key", &TICKET_SESSION_KEY);
    register("a Kerberos password", KRB_PASSWORD.as_bytes());
    for (i, key) in derived.chunks(16).enumerate() {
        register(&format!("string-to-key output, part {i}"), key);
    }
    let mut again = Vec::new();
    let found = armed(|| again = kerberos_life(&dir));
    assert_eq!(again, derived);
    std::fs::remove_dir_all(&dir).unwrap();
    assert_clean("Kerberos", &found);
}

// ---------------------------------------------------------------------------------------------
// Debug output

/// Every form a secret could take in `Debug` output: the text of a password, the bytes in
/// lower- and upper-case hex, and as a `[u8]` list (`12, 34, ...`).
fn assert_hides(what: &str, debug: &str, secrets: &[&[u8]]) {
    for secret in secrets {
        let mut forms = vec![
            secret.iter().map(|b| format!("{b:02x}")).collect::<String>(),
            secret.iter().map(|b| format!("{b:02X}")).collect::<String>(),
            format!("{:?}", &secret[..8]).trim_matches(['[', ']']).to_owned(),
            format!("{:x?}", &secret[..8]).trim_matches(['[', ']']).to_owned(),
        ];
        if let Ok(text) = std::str::from_utf8(secret) {
            forms.push(text.to_owned());
        }
        for form in forms {
            assert!(!debug.contains(&form), "Debug of {what} shows a secret ({form}):\n{debug}");
        }
    }
}

fn check_debug<T: std::fmt::Debug>(what: &str, value: &T, secrets: &[&[u8]]) {
    assert_hides(what, &format!("{value:?}"), secrets);
    assert_hides(what, &format!("{value:#?}"), secrets);
}

#[test]
fn debug_output_shows_no_key_material() {
    // Control: the check sees a key in a derived Debug and a password in a string.
    for (value, secret) in [
        (format!("{:?}", KEYTAB_KEY.to_vec()), &KEYTAB_KEY[..]),
        (PASSWORD.into(), PASSWORD.as_bytes()),
    ] {
        let caught = std::panic::catch_unwind(|| assert_hides("a control", &value, &[secret]));
        assert!(caught.is_err(), "the control must be caught: {value}");
    }
    let nt: [u8; 16] = Md4::digest(utf16(PASSWORD)).into();
    let pw: &[u8] = PASSWORD.as_bytes();
    let password = Password::new(PASSWORD);
    check_debug("Password", &password, &[pw]);
    check_debug("NtHash", &NtHash::from_password(PASSWORD), &[&nt]);
    let mut users = MemoryUserStore::new();
    users.add_password(DOMAIN, USER, &password);
    check_debug("MemoryUserStore", &users, &[pw, &nt]);
    let client_creds = Credentials::initiator(USER, DOMAIN, password.clone());
    check_debug("Credentials (initiator)", &client_creds, &[pw, &nt]);
    let hash_creds =
        Credentials::initiator_with_nt_hash(USER, DOMAIN, NtHash::from_password(PASSWORD));
    check_debug("Credentials (NT hash)", &hash_creds, &[&nt]);
    let server_creds = Credentials::acceptor(users);
    check_debug("Credentials (acceptor)", &server_creds, &[pw, &nt]);

    let export_key = ExportKey::from_bytes(EXPORT_KEY);
    check_debug("ExportKey", &export_key, &[&EXPORT_KEY]);
    check_debug("Protection", &key(), &[&EXPORT_KEY]);
    check_debug("ExportOptions", &ExportOptions::new().protection(key()), &[&EXPORT_KEY]);
    check_debug(
        "ImportOptions",
        &ImportOptions::new().protection(key()).credentials(client_creds.clone()),
        &[&EXPORT_KEY, pw, &nt],
    );

    // Established contexts, their session keys, what they export.
    let mut client = SecurityContext::initiator(
        &client_creds,
        InitiatorOptions::new().flags(IscReq::CONFIDENTIALITY).environment(env(1)),
    )
    .unwrap();
    let mut server = SecurityContext::acceptor(
        &server_creds,
        AcceptorOptions::new().flags(AscReq::CONFIDENTIALITY).environment(env(2)),
    )
    .unwrap();
    let n = client.step(None).unwrap().token;
    let c = server.step(Some(&n)).unwrap().token;
    let a = client.step(Some(&c)).unwrap().token;
    server.step(Some(&a)).unwrap();
    let session_key = server.dangerous_session_key().unwrap();
    let sk: &[u8] = session_key.dangerous_bytes();
    check_debug("Key16", &session_key, &[sk]);
    check_debug("SecurityContext (initiator)", &client, &[sk, pw, &nt]);
    check_debug("SecurityContext (acceptor)", &server, &[sk, pw, &nt]);
    for protection in [key(), Protection::DangerousUnprotected] {
        let exported = server.export(0, &ExportOptions::new().protection(protection)).unwrap();
        check_debug("Exported", &exported, &[sk, &exported.packed.as_bytes()[..16]]);
        check_debug("PackedContext", &exported.packed, &[sk, &exported.packed.as_bytes()[..16]]);
    }
    let mut attr = None;
    let mut handle = SecHandle::default();
    let mut cred = SecHandle::default();
    let mut t = FileTime::default();
    let st = acquire_credentials_handle(
        None,
        "NTLM",
        SECPKG_CRED_INBOUND,
        Some(&server_creds),
        &mut cred,
        &mut t,
    );
    assert_eq!(st, S::SEC_E_OK);
    let exported = server.export(0, &ExportOptions::new().protection(key())).unwrap();
    let st = import_security_context_ex(
        "NTLM",
        exported.packed.as_bytes(),
        None,
        &ImportOptions::new().protection(key()),
        &mut handle,
    );
    assert_eq!(st, S::SEC_E_OK);
    assert_eq!(query_context_attributes(&handle, SECPKG_ATTR_SESSION_KEY, &mut attr), S::SEC_E_OK);
    check_debug("ContextAttribute::SessionKey", &attr, &[sk]);
    let mut packed = None;
    let st = export_security_context_ex(
        &handle,
        0,
        &ExportOptions::new().protection(Protection::DangerousUnprotected),
        &mut packed,
        None,
    );
    assert_eq!(st, S::SEC_E_OK);
    let packed = packed.unwrap();
    check_debug("ContextBuffer", &packed, &[sk, &packed.as_slice()[..16]]);
    assert_eq!(free_context_buffer(packed), S::SEC_E_OK);
    assert_eq!(delete_security_context(&handle), S::SEC_E_OK);
    assert_eq!(free_credentials_handle(&cred), S::SEC_E_OK);

    // Kerberos.
    let http = Principal::new(NameType::SRV_HST, &["HTTP", "web.example.test"], "EXAMPLE.TEST");
    let key = Key::new(EncType::AES256_CTS_HMAC_SHA1_96, &KEYTAB_KEY);
    check_debug("Key", &key, &[&KEYTAB_KEY]);
    let keytab = Keytab {
        entries: vec![KeytabEntry {
            principal: http.clone(),
            timestamp: 1,
            kvno: 3,
            key: key.clone(),
        }],
    };
    check_debug("KeytabEntry", &keytab.entries[0], &[&KEYTAB_KEY]);
    check_debug("Keytab", &keytab, &[&KEYTAB_KEY]);
    let base = Key::new(EncType::AES128_CTS_HMAC_SHA256_128, &RFC8009_BASE);
    check_debug(
        "DerivedKeys",
        &DerivedKeys::new(&base, KeyUsage(2)).unwrap(),
        &[&RFC8009_BASE, &RFC8009_KE, &RFC8009_KI],
    );
    let credential = ticket(http.clone(), http.clone());
    check_debug("Credential", &credential, &[&TICKET_SESSION_KEY]);
    let mut cache = CredentialCache::new(http.clone());
    cache.store(credential);
    check_debug("CredentialCache", &cache, &[&TICKET_SESSION_KEY]);
    let krb_pw: &[u8] = KRB_PASSWORD.as_bytes();
    check_debug(
        "kdc::ClientSecret (password)",
        &sspi_emu::kerberos::kdc::ClientSecret::Password(Password::new(KRB_PASSWORD)),
        &[krb_pw],
    );
    check_debug(
        "kdc::ClientSecret (keys)",
        &sspi_emu::kerberos::kdc::ClientSecret::Keys(vec![sspi_emu::kerberos::kdc::ClientKey {
            kvno: 3,
            key: key.clone(),
        }]),
        &[&KEYTAB_KEY],
    );
    let kdc = sspi_emu::kerberos::transport::KdcClient::from_config(
        &sspi_emu::kerberos::config::Krb5Config::default(),
    );
    let alice = Principal::new(NameType::PRINCIPAL, &["alice"], "EXAMPLE.TEST");
    let with_password = sspi_emu::kerberos::credentials::InitiatorCredentials::with_password(
        alice.clone(),
        Password::new(KRB_PASSWORD),
        kdc.clone(),
    );
    check_debug("InitiatorCredentials (password)", &with_password, &[krb_pw]);
    check_debug("Credentials (Kerberos)", &Credentials::kerberos(with_password), &[krb_pw]);
    let client_keytab = Keytab {
        entries: vec![KeytabEntry {
            principal: alice.clone(),
            timestamp: 1,
            kvno: 3,
            key: key.clone(),
        }],
    };
    let with_keytab = sspi_emu::kerberos::credentials::InitiatorCredentials::with_keytab(
        alice.clone(),
        client_keytab,
        kdc,
    )
    .unwrap();
    check_debug("InitiatorCredentials (keytab)", &with_keytab, &[&KEYTAB_KEY]);
    let (awaiting, _request) = sspi_emu::kerberos::kdc::AsExchange::start(
        &alice,
        sspi_emu::kerberos::kdc::ClientSecret::Password(Password::new(KRB_PASSWORD)),
        &sspi_emu::kerberos::kdc::RequestOptions::default(),
        &env(7),
    )
    .unwrap();
    check_debug("AsAwaitingReply", &awaiting, &[krb_pw]);
}

// ---------------------------------------------------------------------------------------------
// Kerberos contexts

/// The service key of the contexts scenario (a keytab's key).
const KRB_SERVICE_KEY: [u8; 32] = [0x3c; 32];

/// A Kerberos context pair's whole life, offline: a ticket issued under the service key, the
/// AP exchange with mutual authentication, messages both ways, an export and import, then
/// everything dropped. Returns the ticket's session key (random: learned on the first run).
fn kerberos_context_life() -> Vec<u8> {
    use sspi_emu::kerberos::config::Krb5Config;
    use sspi_emu::kerberos::credentials::{AcceptorCredentials, InitiatorCredentials};
    use sspi_emu::kerberos::transport::KdcClient;
    let t0 = 1_767_225_600u32;
    let env = |seed| {
        Environment::new(
            SeededRandom::new(seed),
            ManualClock::new(FileTime(134_116_992_000_000_000)),
        )
    };
    let alice = Principal::new(NameType::PRINCIPAL, &["alice"], "EXAMPLE.TEST");
    let http = Principal::new(NameType::SRV_INST, &["HTTP", "web.example.test"], "EXAMPLE.TEST");
    let service_key = Key::new(EncType::AES256_CTS_HMAC_SHA1_96, &KRB_SERVICE_KEY);
    let ticket = sspi_emu::kerberos::testing::issue_ticket(
        &alice,
        &http,
        &service_key,
        2,
        EncType::AES256_CTS_HMAC_SHA1_96,
        t0 - 60,
        3600,
        &[],
        &env(1),
    )
    .unwrap();
    let session = ticket.session_key.dangerous_bytes().to_vec();
    let config = Krb5Config::parse("[libdefaults]\n default_realm = EXAMPLE.TEST\n", "w").unwrap();
    let creds = Credentials::kerberos(InitiatorCredentials::with_tickets(
        alice.clone(),
        vec![ticket],
        KdcClient::from_config(&config).environment(env(2)),
    ));
    let keytab = Keytab {
        entries: vec![KeytabEntry {
            principal: http.clone(),
            timestamp: t0,
            kvno: 2,
            key: service_key,
        }],
    };
    let service =
        Credentials::kerberos_acceptor(AcceptorCredentials::new(keytab, Some(http)).unwrap());
    let mut client = SecurityContext::initiator(
        &creds,
        InitiatorOptions::new()
            .target_name("HTTP/web.example.test")
            .flags(IscReq::MUTUAL_AUTH | IscReq::REPLAY_DETECT)
            .environment(env(3)),
    )
    .unwrap();
    let mut server =
        SecurityContext::acceptor(&service, AcceptorOptions::new().environment(env(4))).unwrap();
    let ap_req = client.step(None).unwrap().token;
    let ap_rep = server.step(Some(&ap_req)).unwrap().token;
    client.step(Some(&ap_rep)).unwrap();
    let mut data = b"kerberos secrets".to_vec();
    let trailer = client.seal(&mut data).unwrap();
    server.unseal(&mut data, &trailer).unwrap();
    let token = server.wrap(b"reply").unwrap();
    assert_eq!(client.unwrap(&token).unwrap(), b"reply");
    let blob = server
        .export(SECPKG_CONTEXT_EXPORT_DELETE_OLD, &ExportOptions::new().protection(key()))
        .unwrap();
    let mut imported = SecurityContext::import(
        blob.packed.as_bytes(),
        &ImportOptions::new().protection(key()).environment(env(5)),
    )
    .unwrap();
    let sig = client.sign(b"after").unwrap();
    imported.verify(b"after", &sig).unwrap();
    drop((client, server, imported, blob, creds, service));
    session
}

#[test]
fn kerberos_context_secrets_are_wiped() {
    let (_serial, dir) = start("krb-contexts");
    let session = kerberos_context_life();
    register("the service's key", &KRB_SERVICE_KEY);
    register("the ticket's session key", &session);
    let mut again = Vec::new();
    let found = armed(|| again = kerberos_context_life());
    assert_eq!(again, session);
    std::fs::remove_dir_all(&dir).unwrap();
    assert_clean("Kerberos contexts", &found);
}
