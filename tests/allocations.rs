//! Allocation counts of the message calls. A global allocator is process-wide, so this is its
//! own test binary (the others share `tests/integration`).
//!
//! `unsafe` is needed only to implement `GlobalAlloc`, which forwards to the system
//! allocator; the library itself forbids unsafe code.
#![allow(unsafe_code)]

use sspi_emu::env::{FileTime, ManualClock, SeededRandom};
use sspi_emu::flags::{AscReq, IscReq};
use sspi_emu::kerberos::message::MessageKeys;
use sspi_emu::kerberos::{EncType, Key};
use sspi_emu::ntlm::Part;
use sspi_emu::ntlm::users::MemoryUserStore;
use sspi_emu::sspi::*;
use sspi_emu::{
    AcceptorOptions, Credentials, Environment, InitiatorOptions, Password, SecurityContext,
    SecurityStatus,
};
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

struct Counting;

thread_local! {
    static COUNT: Cell<Option<usize>> = const { Cell::new(None) };
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        COUNT.with(|c| c.set(c.get().map(|n| n + 1)));
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        COUNT.with(|c| c.set(c.get().map(|n| n + 1)));
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Allocations made by `f` on this thread.
fn allocations(f: impl FnOnce()) -> usize {
    COUNT.with(|c| c.set(Some(0)));
    f();
    COUNT.with(|c| c.replace(None)).unwrap_or(0)
}

fn pair() -> (SecurityContext, SecurityContext) {
    let env = |seed| {
        Environment::new(
            SeededRandom::new(seed),
            ManualClock::new(FileTime(134_116_992_000_000_000)),
        )
    };
    let mut users = MemoryUserStore::new();
    users.add_password("D", "u", &Password::new("p"));
    let mut client = SecurityContext::initiator(
        &Credentials::initiator("u", "D", Password::new("p")),
        InitiatorOptions::new()
            .flags(IscReq::CONFIDENTIALITY | IscReq::REPLAY_DETECT)
            .environment(env(1)),
    )
    .unwrap();
    let mut server = SecurityContext::acceptor(
        &Credentials::acceptor(users),
        AcceptorOptions::new().flags(AscReq::CONFIDENTIALITY).environment(env(2)),
    )
    .unwrap();
    let n = client.step(None).unwrap().token;
    let c = server.step(Some(&n)).unwrap().token;
    let a = client.step(Some(&c)).unwrap().token;
    server.step(Some(&a)).unwrap();
    (client, server)
}

/// The Kerberos token layer (`kerberos::message`) for AES-SHA1, AES-SHA2 and rc4-hmac keys.
#[test]
fn kerberos_message_calls_allocate_nothing() {
    for (etype, key_len) in [
        (EncType::AES256_CTS_HMAC_SHA1_96, 32),
        (EncType::AES256_CTS_HMAC_SHA384_192, 32),
        (EncType::RC4_HMAC, 16),
    ] {
        let key = Key::new(etype, &[9; 32][..key_len]);
        let init = MessageKeys::new(&key, true, true).unwrap();
        let acc = MessageKeys::new(&key, false, true).unwrap();
        let conf = &[5u8; 16][..init.confounder_len()];
        let mut mic = [0u8; 64];
        let mut wrap = [0u8; 100 + 72];
        let mut token = [0u8; 72];
        let (mut a, mut b, header) = ([1u8; 37], [2u8; 50], [3u8; 13]);
        let n = allocations(|| {
            for seq in 0..10u64 {
                let parts: [&[u8]; 2] = [&a, &b];
                let len = init.make_mic(seq, &parts[..], &mut mic).unwrap();
                assert_eq!(acc.verify_mic(&parts[..], &mic[..len]).unwrap(), seq);
                for confidential in [true, false] {
                    let w = &mut wrap[..init.wrap_len(confidential, 100)];
                    init.wrap_in_place(seq, confidential, conf, w).unwrap();
                    assert_eq!(acc.unwrap_in_place(w).unwrap().seq, seq);
                    let t = {
                        let mut parts =
                            [Part::SignOnly(&header), Part::Seal(&mut a), Part::Seal(&mut b)];
                        init.seal_parts(seq, confidential, conf, &mut parts[..], &mut token)
                            .unwrap()
                    };
                    let mut parts =
                        [Part::SignOnly(&header), Part::Seal(&mut a), Part::Seal(&mut b)];
                    assert_eq!(acc.unseal_parts(&mut token[..t], &mut parts[..]).unwrap().seq, seq);
                }
            }
        });
        assert_eq!(n, 0, "allocations in 10 rounds of Kerberos message calls ({etype:?})");
        assert!(a.iter().all(|&x| x == 1) && b.iter().all(|&x| x == 2));
    }
}

/// Kerberos contexts (the offline world of `sspi_emu::fuzzing`: a ticket issued under a fixed
/// key): MakeSignature/VerifySignature and EncryptMessage/DecryptMessage through the api
/// allocate nothing.
#[test]
fn kerberos_context_message_calls_allocate_nothing() {
    let (mut client, mut server, _, _) = sspi_emu::fuzzing::krb_pair();
    let mut data = vec![7u8; 4096];
    let n = allocations(|| {
        for _ in 0..10 {
            let trailer = client.seal(&mut data).unwrap();
            server.unseal(&mut data, &trailer).unwrap();
            let sig = server.sign(&data).unwrap();
            client.verify(&data, &sig).unwrap();
            let sig = client.sign(&data).unwrap();
            assert!(server.verify(&data[1..], &sig).is_err());
            server.verify(&data, &sig).unwrap();
        }
    });
    assert_eq!(n, 0, "allocations in 10 rounds of Kerberos context message calls");
    assert!(data.iter().all(|&b| b == 7));
}

#[test]
fn message_calls_allocate_nothing() {
    let (mut client, mut server) = pair();
    let mut data = vec![7u8; 4096];
    let mut token = vec![0u8; 16 + 1024];
    let n = allocations(|| {
        for _ in 0..10 {
            let sig = client.seal(&mut data).unwrap();
            server.unseal(&mut data, &sig).unwrap();
            let sig = server.sign(&data).unwrap();
            client.verify(&data, &sig).unwrap();
            client.wrap_in_place(&mut token).unwrap();
            server.unwrap_in_place(&mut token).unwrap();
            // A failed check allocates nothing either.
            let sig = client.sign(&data).unwrap();
            assert!(server.verify(&data[1..], &sig).is_err());
            server.verify(&data, &sig).unwrap();
        }
    });
    assert_eq!(n, 0, "allocations in 10 rounds of message calls");
    assert!(data.iter().all(|&b| b == 7));
}

#[test]
fn sspi_message_calls_allocate_nothing() {
    // Establish over handles (allocates), then count only the message calls.
    let (mut c_cred, mut s_cred, mut t) =
        (SecHandle::default(), SecHandle::default(), FileTime::default());
    let mut users = MemoryUserStore::new();
    users.add_password("D", "u", &Password::new("p"));
    let ok = SecurityStatus::SEC_E_OK;
    assert_eq!(
        acquire_credentials_handle(
            None,
            "NTLM",
            SECPKG_CRED_OUTBOUND,
            Some(&Credentials::initiator("u", "D", Password::new("p"))),
            &mut c_cred,
            &mut t
        ),
        ok
    );
    assert_eq!(
        acquire_credentials_handle(
            None,
            "NTLM",
            SECPKG_CRED_INBOUND,
            Some(&Credentials::acceptor(users)),
            &mut s_cred,
            &mut t
        ),
        ok
    );
    let (mut c, mut s, mut attrs) = (SecHandle::default(), SecHandle::default(), 0);
    let mut buf = vec![0u8; 2888];
    let mut out = [SecBuffer::new(SECBUFFER_TOKEN, &mut buf)];
    initialize_security_context(
        Some(&c_cred),
        None,
        None,
        IscReq::CONFIDENTIALITY,
        0,
        None,
        &mut c,
        &mut out,
        &mut attrs,
        &mut t,
    );
    let negotiate = out[0].as_slice().to_vec();
    let mut buf = vec![0u8; 2888];
    let mut out = [SecBuffer::new(SECBUFFER_TOKEN, &mut buf)];
    let mut input = [SecBuffer::read_only(SECBUFFER_TOKEN, &negotiate)];
    accept_security_context(
        Some(&s_cred),
        None,
        Some(&mut input),
        AscReq::CONFIDENTIALITY,
        0,
        &mut s,
        &mut out,
        &mut attrs,
        &mut t,
    );
    let challenge = out[0].as_slice().to_vec();
    let mut buf = vec![0u8; 2888];
    let mut out = [SecBuffer::new(SECBUFFER_TOKEN, &mut buf)];
    let mut input = [SecBuffer::read_only(SECBUFFER_TOKEN, &challenge)];
    assert_eq!(
        initialize_security_context(
            Some(&c_cred),
            Some(c),
            None,
            IscReq::CONFIDENTIALITY,
            0,
            Some(&mut input),
            &mut c,
            &mut out,
            &mut attrs,
            &mut t
        ),
        ok
    );
    let authenticate = out[0].as_slice().to_vec();
    let mut input = [SecBuffer::read_only(SECBUFFER_TOKEN, &authenticate)];
    let mut out = [SecBuffer::empty(SECBUFFER_TOKEN)];
    assert_eq!(
        accept_security_context(
            Some(&s_cred),
            Some(s),
            Some(&mut input),
            AscReq::CONFIDENTIALITY,
            0,
            &mut s,
            &mut out,
            &mut attrs,
            &mut t
        ),
        ok
    );

    let mut data = vec![1u8; 1024];
    let header = [2u8; 32];
    let mut sig = [0u8; 16];
    let n = allocations(|| {
        for _ in 0..10 {
            let mut msg = [
                SecBuffer::read_only(SECBUFFER_DATA | SECBUFFER_READONLY_WITH_CHECKSUM, &header),
                SecBuffer::new(SECBUFFER_DATA, &mut data),
                SecBuffer::new(SECBUFFER_TOKEN, &mut sig),
            ];
            assert_eq!(encrypt_message(&c, 0, &mut msg, 0), ok);
            let mut qop = 0;
            assert_eq!(decrypt_message(&s, &mut msg, 0, &mut qop), ok);
            assert_eq!(make_signature(&s, 0, &mut msg, 0), ok);
            assert_eq!(verify_signature(&c, &mut msg, 0, &mut qop), ok);
        }
    });
    assert_eq!(n, 0, "allocations in 10 rounds of SSPI message calls");
    assert!(data.iter().all(|&b| b == 1));
    for h in [c, s] {
        delete_security_context(&h);
    }
    free_credentials_handle(&c_cred);
    free_credentials_handle(&s_cred);
}

#[test]
fn the_counter_counts() {
    assert_eq!(allocations(|| drop(std::hint::black_box(vec![1u8; 10]))), 1);
}

/// Allocations of a full handshake (both sides, contexts created from existing credentials)
/// and of an export and an import. The budget for the handshake is 20; process-wide
/// one-time set-up (the shared system environment and default names) is warmed up first.
#[test]
fn handshake_and_export_allocations() {
    use sspi_emu::ImportOptions;
    use sspi_emu::export::{ExportKey, ExportOptions, Protection};
    let mut users = MemoryUserStore::new();
    users.add_password("D", "u", &Password::new("p"));
    let server_creds = Credentials::acceptor(users);
    let client_creds = Credentials::initiator("u", "D", Password::new("p"));
    let handshake = || {
        let mut c = SecurityContext::initiator(
            &client_creds,
            InitiatorOptions::new().flags(IscReq::CONFIDENTIALITY),
        )
        .unwrap();
        let mut s = SecurityContext::acceptor(
            &server_creds,
            AcceptorOptions::new().flags(AscReq::CONFIDENTIALITY),
        )
        .unwrap();
        let n = c.step(None).unwrap().token;
        let ch = s.step(Some(&n)).unwrap().token;
        let a = c.step(Some(&ch)).unwrap().token;
        s.step(Some(&a)).unwrap();
        (c, s)
    };
    drop(handshake());
    let mut pair = None;
    let n = allocations(|| pair = Some(handshake()));
    println!("handshake (both sides): {n} allocations");
    assert!(n <= 20, "{n} allocations for a handshake");
    let (_, mut server) = pair.unwrap();
    let key = Protection::Key(ExportKey::from_bytes([1; 32]));
    let export = ExportOptions::new().protection(key.clone());
    let import = ImportOptions::new().protection(key);
    let mut blob = None;
    let n = allocations(|| blob = Some(server.export(0, &export).unwrap()));
    println!("export: {n} allocations");
    // The blob and the returned identity (package, user, domain): the state is encoded from
    // borrowed views, with no copies of its strings or keystreams.
    assert!(n <= 4, "{n} allocations for an export");
    let blob = blob.unwrap();
    // Warm-up: the first import also makes the shared empty user store of imported acceptors.
    drop(SecurityContext::import(blob.packed.as_bytes(), &import).unwrap());
    let n = allocations(|| drop(SecurityContext::import(blob.packed.as_bytes(), &import).unwrap()));
    println!("import: {n} allocations");
    // The decrypted state, the boxed established state and the peer's names (user, domain
    // and workstation in one allocation); decoding borrows from the decrypted state, and
    // default acceptor names and the empty user store of an established acceptor are shared.
    assert!(n <= 3, "{n} allocations for an import");
}
