//! NTLM benchmarks: sspi-emu against Devolutions' `sspi` crate (`=0.23.1`) in the same
//! criterion groups, so the ratio comes from one run on one machine.
//!
//! - `handshake`: a full in-process handshake, both sides, credentials included (sspi-emu with
//!   the system environment; the `sspi` server's password check is in `complete_auth_token`).
//! - `seal_unseal`: one message sealed by the client and unsealed by the server, in place on a
//!   reused buffer (seal then unseal restores the plaintext, so every iteration starts alike).
//! - `sign_verify`: one signature made by the client and verified by the server.
//!
//! Both sides negotiate the same thing: NTLMv2, extended session security, 128-bit keys,
//! KEY_EXCH, SIGN and SEAL (`ISC_REQ_CONFIDENTIALITY | ISC_REQ_INTEGRITY`).
//!
//! Run: `cargo bench --bench ntlm` (quick look: `cargo bench --bench ntlm -- --quick`).

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use sspi::{
    AuthIdentity, BufferType, ClientRequestFlags, CredentialUse, DataRepresentation,
    EncryptionFlags, Ntlm, SecurityBuffer, SecurityBufferRef, SecurityStatus, ServerRequestFlags,
    Sspi, SspiImpl, Username,
};
use sspi_emu::flags::{AscReq, IscReq};
use sspi_emu::ntlm::users::MemoryUserStore;
use sspi_emu::{AcceptorOptions, Credentials, InitiatorOptions, Password, SecurityContext};
use std::hint::black_box;

const USER: &str = "alice";
const DOMAIN: &str = "EXAMPLE";
const PASSWORD: &str = "Correct horse 1";

// ---- sspi-emu ----

fn emu_handshake() -> (SecurityContext, SecurityContext) {
    let client_creds = Credentials::initiator(USER, DOMAIN, Password::new(PASSWORD));
    let mut users = MemoryUserStore::new();
    users.add_password(DOMAIN, USER, &Password::new(PASSWORD));
    let server_creds = Credentials::acceptor(users);
    let mut client = SecurityContext::initiator(
        &client_creds,
        InitiatorOptions::new().flags(IscReq::CONFIDENTIALITY | IscReq::INTEGRITY),
    )
    .unwrap();
    let mut server = SecurityContext::acceptor(
        &server_creds,
        AcceptorOptions::new().flags(AscReq::CONFIDENTIALITY | AscReq::INTEGRITY),
    )
    .unwrap();
    let negotiate = client.step(None).unwrap();
    let challenge = server.step(Some(&negotiate.token)).unwrap();
    let authenticate = client.step(Some(&challenge.token)).unwrap();
    let done = server.step(Some(&authenticate.token)).unwrap();
    assert!(authenticate.complete && done.complete);
    (client, server)
}

// ---- sspi crate ----

type Cred = <Ntlm as SspiImpl>::CredentialsHandle;

fn sspi_context(usage: CredentialUse) -> (Ntlm, Cred) {
    let id = AuthIdentity {
        username: Username::new(USER, Some(DOMAIN)).unwrap(),
        password: PASSWORD.to_owned().into(),
    };
    let mut ctx = Ntlm::new();
    let cred = ctx
        .acquire_credentials_handle()
        .with_credential_use(usage)
        .with_auth_data(&id)
        .execute(&mut ctx)
        .unwrap()
        .credentials_handle;
    (ctx, cred)
}

fn sspi_isc(ctx: &mut Ntlm, cred: &mut Cred, input: Option<Vec<u8>>) -> Vec<u8> {
    let mut out = vec![SecurityBuffer::new(Vec::new(), BufferType::Token)];
    let mut inp: Vec<SecurityBuffer> =
        input.map(|t| SecurityBuffer::new(t, BufferType::Token)).into_iter().collect();
    let mut builder = ctx
        .initialize_security_context()
        .with_credentials_handle(cred)
        .with_context_requirements(
            ClientRequestFlags::CONFIDENTIALITY | ClientRequestFlags::INTEGRITY,
        )
        .with_target_data_representation(DataRepresentation::Native)
        .with_output(&mut out);
    if !inp.is_empty() {
        builder = builder.with_input(&mut inp);
    }
    ctx.initialize_security_context_impl(&mut builder).unwrap().resolve_to_result().unwrap();
    std::mem::take(&mut out[0].buffer)
}

fn sspi_asc(ctx: &mut Ntlm, cred: &mut Cred, input: Vec<u8>) -> (SecurityStatus, Vec<u8>) {
    let mut inp = vec![SecurityBuffer::new(input, BufferType::Token)];
    let mut out = vec![SecurityBuffer::new(Vec::new(), BufferType::Token)];
    let result = ctx
        .accept_security_context()
        .with_credentials_handle(cred)
        .with_context_requirements(ServerRequestFlags::empty())
        .with_target_data_representation(DataRepresentation::Native)
        .with_input(&mut inp)
        .with_output(&mut out)
        .execute(ctx)
        .unwrap()
        .resolve_to_result()
        .unwrap();
    (result.status, std::mem::take(&mut out[0].buffer))
}

fn sspi_handshake() -> (Ntlm, Ntlm) {
    let (mut client, mut ccred) = sspi_context(CredentialUse::Outbound);
    let (mut server, mut scred) = sspi_context(CredentialUse::Inbound);
    let negotiate = sspi_isc(&mut client, &mut ccred, None);
    let (_, challenge) = sspi_asc(&mut server, &mut scred, negotiate);
    let authenticate = sspi_isc(&mut client, &mut ccred, Some(challenge));
    let (status, _) = sspi_asc(&mut server, &mut scred, authenticate);
    assert_eq!(status, SecurityStatus::CompleteNeeded);
    server.complete_auth_token(&mut []).unwrap();
    (client, server)
}

// ---- benches ----

fn handshake(c: &mut Criterion) {
    let mut group = c.benchmark_group("handshake");
    group.bench_function("sspi-emu", |b| b.iter(|| black_box(emu_handshake())));
    group.bench_function("sspi", |b| b.iter(|| black_box(sspi_handshake())));
    group.finish();
}

fn seal_unseal(c: &mut Criterion) {
    let mut group = c.benchmark_group("seal_unseal");
    for size in [64usize, 1024, 16 * 1024, 1024 * 1024] {
        group.throughput(Throughput::Bytes(u64::try_from(size).unwrap()));
        let plain = vec![0x5au8; size];

        let (mut client, mut server) = emu_handshake();
        let mut data = plain.clone();
        group.bench_function(BenchmarkId::new("sspi-emu", size), |b| {
            b.iter(|| {
                let sig = client.seal(black_box(&mut data)).unwrap();
                server.unseal(black_box(&mut data), &sig).unwrap();
            })
        });
        assert_eq!(data, plain);

        let (mut client, mut server) = sspi_handshake();
        let mut data = plain.clone();
        group.bench_function(BenchmarkId::new("sspi", size), |b| {
            b.iter(|| {
                let mut sig = [0u8; 16];
                let mut bufs = [
                    SecurityBufferRef::token_buf(&mut sig),
                    SecurityBufferRef::data_buf(black_box(&mut data)),
                ];
                client.encrypt_message(EncryptionFlags::empty(), &mut bufs).unwrap();
                server.decrypt_message(&mut bufs).unwrap();
            })
        });
        assert_eq!(data, plain);
    }
    group.finish();
}

fn sign_verify(c: &mut Criterion) {
    let mut group = c.benchmark_group("sign_verify");
    for size in [64usize, 1024] {
        group.throughput(Throughput::Bytes(u64::try_from(size).unwrap()));
        let mut data = vec![0x5au8; size];

        let (mut client, mut server) = emu_handshake();
        group.bench_function(BenchmarkId::new("sspi-emu", size), |b| {
            b.iter(|| {
                let sig = client.sign(black_box(&data)).unwrap();
                server.verify(black_box(&data), &sig).unwrap();
            })
        });

        // The `sspi` crate takes the sequence number from the caller and does not advance
        // its own: count here, the same number on both sides.
        let (mut client, mut server) = sspi_handshake();
        let mut seq = 0u32;
        group.bench_function(BenchmarkId::new("sspi", size), |b| {
            b.iter(|| {
                let mut sig = [0u8; 16];
                let mut bufs = [
                    SecurityBufferRef::token_buf(&mut sig),
                    SecurityBufferRef::data_buf(black_box(&mut data)),
                ];
                client.make_signature(0, &mut bufs, seq).unwrap();
                server.verify_signature(&mut bufs, seq).unwrap();
                seq = seq.wrapping_add(1);
            })
        });
    }
    group.finish();
}

/// Export and import of an established context, protected with XChaCha20-Poly1305 under a
/// caller key (the host key file is read once per call otherwise, which measures the disk).
/// The `sspi` crate cannot export a context, so there is no rival in this group.
fn export_import(c: &mut Criterion) {
    use sspi_emu::export::{ExportKey, ExportOptions, ImportOptions, Protection};
    let key = Protection::Key(ExportKey::from_bytes([7; 32]));
    let export = ExportOptions::new().protection(key.clone());
    let import = ImportOptions::new().protection(key);
    let (mut client, mut server) = emu_handshake();
    // Some traffic behind it, as a real context has.
    for _ in 0..3 {
        let mut data = vec![1u8; 100];
        let sig = client.seal(&mut data).unwrap();
        server.unseal(&mut data, &sig).unwrap();
    }
    let blob = server.export(0, &export).unwrap().packed;
    eprintln!(
        "export_import: an established NTLM acceptor packs into {} bytes",
        blob.as_bytes().len()
    );
    let mut group = c.benchmark_group("export_import");
    group.bench_function("export", |b| b.iter(|| server.export(0, &export).unwrap()));
    group.bench_function("import", |b| {
        b.iter(|| SecurityContext::import("NTLM", blob.as_bytes(), &import).unwrap())
    });
    group.bench_function("export+import", |b| {
        b.iter(|| {
            let packed = server.export(0, &export).unwrap().packed;
            SecurityContext::import("NTLM", packed.as_bytes(), &import).unwrap()
        })
    });
    group.finish();
}

criterion_group!(benches, handshake, seal_unseal, sign_verify, export_import);
criterion_main!(benches);
