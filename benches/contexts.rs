//! No cost that grows with the number of live contexts: the Windows-shaped handle layer
//! (`sspi_emu::sspi`) measured with 1, 10,000 and 100,000 other contexts alive in its
//! process-wide handle table.
//!
//! - `handle_table/seal_unseal_1KiB/<live>`: `EncryptMessage` by the client handle and
//!   `DecryptMessage` by the server handle of one established pair, 1 KiB in place.
//! - `handle_table/handshake/<live>`: `InitializeSecurityContext` / `AcceptSecurityContext`
//!   for a full handshake over handles, with caller-supplied token buffers (reused), then
//!   `DeleteSecurityContext` on both, so the table size stays the same across iterations.
//!
//! `<live>` counts the other contexts in the table: established contexts (both ends of
//! handshakes run over the same layer during setup), added between the rounds.
//! The pair under test is always the same one, so this isolates what the table's size
//! costs per call (lookup, insert, remove, locking) from cache misses on cold contexts.
//!
//! Run: `cargo bench --bench contexts`.

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use sspi_emu::flags::{AscReq, IscReq};
use sspi_emu::ntlm::users::MemoryUserStore;
use sspi_emu::sspi::*;
use sspi_emu::{Credentials, FileTime, Password, SecurityStatus as S};
use std::time::Instant;

const ISC: IscReq = IscReq(IscReq::CONFIDENTIALITY.0 | IscReq::INTEGRITY.0);
const ASC: AscReq = AscReq(AscReq::CONFIDENTIALITY.0 | AscReq::INTEGRITY.0);
const MAX_TOKEN: usize = 2888;

/// Outbound and inbound credentials handles, acquired once.
struct Creds {
    client: SecHandle,
    server: SecHandle,
}

fn creds() -> Creds {
    let (mut client, mut server, mut expiry) =
        (SecHandle::default(), SecHandle::default(), FileTime::default());
    let id = Credentials::initiator("alice", "EXAMPLE", Password::new("Correct horse 1"));
    let st = acquire_credentials_handle(
        None,
        "NTLM",
        SECPKG_CRED_OUTBOUND,
        Some(&id),
        &mut client,
        &mut expiry,
    );
    assert_eq!(st, S::SEC_E_OK);
    let mut users = MemoryUserStore::new();
    users.add_password("EXAMPLE", "alice", &Password::new("Correct horse 1"));
    let st = acquire_credentials_handle(
        None,
        "NTLM",
        SECPKG_CRED_INBOUND,
        Some(&Credentials::acceptor(users)),
        &mut server,
        &mut expiry,
    );
    assert_eq!(st, S::SEC_E_OK);
    Creds { client, server }
}

/// Token buffers of `cbMaxToken` bytes, reused by every handshake.
struct Tokens {
    negotiate: Vec<u8>,
    challenge: Vec<u8>,
    authenticate: Vec<u8>,
}

impl Tokens {
    fn new() -> Self {
        Self {
            negotiate: vec![0; MAX_TOKEN],
            challenge: vec![0; MAX_TOKEN],
            authenticate: vec![0; MAX_TOKEN],
        }
    }
}

/// A full handshake over handles; returns the established (client, server) handles.
fn handshake(creds: &Creds, tokens: &mut Tokens) -> (SecHandle, SecHandle) {
    let (mut client, mut server) = (SecHandle::default(), SecHandle::default());
    let (mut attrs, mut expiry) = (0u32, FileTime::default());

    let mut out = [SecBuffer::new(SECBUFFER_TOKEN, &mut tokens.negotiate)];
    let st = initialize_security_context(
        Some(&creds.client),
        None,
        None,
        ISC,
        0,
        None,
        &mut client,
        &mut out,
        &mut attrs,
        &mut expiry,
    );
    assert_eq!(st, S::SEC_I_CONTINUE_NEEDED);
    let n = out[0].len();

    let mut input = [SecBuffer::read_only(SECBUFFER_TOKEN, &tokens.negotiate[..n])];
    let mut out = [SecBuffer::new(SECBUFFER_TOKEN, &mut tokens.challenge)];
    let st = accept_security_context(
        Some(&creds.server),
        None,
        Some(&mut input),
        ASC,
        0,
        &mut server,
        &mut out,
        &mut attrs,
        &mut expiry,
    );
    assert_eq!(st, S::SEC_I_CONTINUE_NEEDED);
    let n = out[0].len();

    let mut input = [SecBuffer::read_only(SECBUFFER_TOKEN, &tokens.challenge[..n])];
    let mut out = [SecBuffer::new(SECBUFFER_TOKEN, &mut tokens.authenticate)];
    let st = initialize_security_context(
        Some(&creds.client),
        Some(client),
        None,
        ISC,
        0,
        Some(&mut input),
        &mut client,
        &mut out,
        &mut attrs,
        &mut expiry,
    );
    assert_eq!(st, S::SEC_E_OK);
    let n = out[0].len();

    let mut input = [SecBuffer::read_only(SECBUFFER_TOKEN, &tokens.authenticate[..n])];
    let mut out = [SecBuffer::empty(SECBUFFER_TOKEN)];
    let st = accept_security_context(
        Some(&creds.server),
        Some(server),
        Some(&mut input),
        ASC,
        0,
        &mut server,
        &mut out,
        &mut attrs,
        &mut expiry,
    );
    assert_eq!(st, S::SEC_E_OK);
    (client, server)
}

fn seal_unseal(client: &SecHandle, server: &SecHandle, data: &mut [u8]) {
    let mut sig = [0u8; 16];
    let mut msg = [SecBuffer::new(SECBUFFER_TOKEN, &mut sig), SecBuffer::new(SECBUFFER_DATA, data)];
    assert_eq!(encrypt_message(client, 0, &mut msg, 0), S::SEC_E_OK);
    let mut qop = 0;
    assert_eq!(decrypt_message(server, &mut msg, 0, &mut qop), S::SEC_E_OK);
}

/// Grows (or shrinks) the set of other live contexts to exactly `n`.
fn set_live(creds: &Creds, tokens: &mut Tokens, others: &mut Vec<SecHandle>, n: usize) {
    let start = Instant::now();
    while others.len() < n {
        let (c, s) = handshake(creds, tokens);
        others.push(c);
        others.push(s);
    }
    while others.len() > n {
        let h = others.pop().unwrap();
        assert_eq!(delete_security_context(&h), S::SEC_E_OK);
    }
    eprintln!("handle_table: {n} other live contexts (set up in {:.1?})", start.elapsed());
}

fn handle_table(c: &mut Criterion) {
    let creds = creds();
    let mut tokens = Tokens::new();
    let mut others = Vec::new();
    let (client, server) = handshake(&creds, &mut tokens);
    let plain = vec![0x5au8; 1024];
    let mut data = plain.clone();

    let mut group = c.benchmark_group("handle_table");
    for live in [1usize, 10_000, 100_000] {
        set_live(&creds, &mut tokens, &mut others, live);
        group.throughput(Throughput::Bytes(1024));
        group.bench_function(BenchmarkId::new("seal_unseal_1KiB", live), |b| {
            b.iter(|| seal_unseal(&client, &server, std::hint::black_box(&mut data)))
        });
        assert_eq!(data, plain);
        group.throughput(Throughput::Elements(1));
        group.bench_function(BenchmarkId::new("handshake", live), |b| {
            b.iter(|| {
                let (c, s) = handshake(&creds, &mut tokens);
                assert_eq!(delete_security_context(&c), S::SEC_E_OK);
                assert_eq!(delete_security_context(&s), S::SEC_E_OK);
            })
        });
    }
    group.finish();

    for h in others.iter().chain([&client, &server]) {
        delete_security_context(h);
    }
    free_credentials_handle(&creds.client);
    free_credentials_handle(&creds.server);
}

criterion_group!(benches, handle_table);
criterion_main!(benches);
