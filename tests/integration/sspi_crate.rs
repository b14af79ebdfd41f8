//! Interoperability with Devolutions' `sspi` crate (pinned `=0.23.1`), in process.
//!
//! The `sspi` crate is an independent NTLM implementation, so agreeing with it on the session
//! key and on every sealed and signed message shows the key derivation, the MIC, the
//! keystream and the sequence numbers are those of MS-NLMP and not only self-consistent.
//!
//! What the `sspi` crate does that the tests must respect (read from its source):
//! - its server checks nothing in `AcceptSecurityContext`; the password is verified (through
//!   the MIC only, the user name is ignored) in `complete_auth_token` after the second ASC
//!   call returned `CompleteNeeded`;
//! - its client always sends a MIC and copies the CHALLENGE timestamp, so our server's
//!   deterministic clock is fine;
//! - `make_signature` / `verify_signature` take the sequence number from the caller and do not
//!   advance its counters, though they do run the RC4 keystream (KEY_EXCH). MS-NLMP has one
//!   counter per direction shared by signing and sealing, so the signature checks below come
//!   after the sealed messages and pass the sequence number our side is at.

use super::driver::*;
use sspi::ntlm::NtlmConfig;
use sspi::{
    AuthIdentity, BufferType, ClientRequestFlags, CredentialUse, DataRepresentation,
    EncryptionFlags, ErrorKind, Ntlm, SecurityBuffer, SecurityBufferRef, SecurityStatus,
    ServerRequestFlags, Sspi, SspiImpl, Username,
};
use sspi_emu::{AcceptorOptions, ChannelBindings, Credentials, Error, Password, SecurityContext};

type Cred = <Ntlm as SspiImpl>::CredentialsHandle;

/// Message sizes exchanged after each handshake (1-byte and empty messages included).
const SIZES: [usize; 6] = [64, 1024, 64, 1024, 1, 0];

fn identity(password: &str) -> AuthIdentity {
    AuthIdentity {
        username: Username::new(USER, Some(DOMAIN)).unwrap(),
        password: password.to_owned().into(),
    }
}

/// A `sspi` client and its outbound credentials handle.
fn sspi_client(password: &str) -> (Ntlm, Cred) {
    let mut ctx = Ntlm::with_config(NtlmConfig::new("WORKSTATION".into()));
    let cred = ctx
        .acquire_credentials_handle()
        .with_credential_use(CredentialUse::Outbound)
        .with_auth_data(&identity(password))
        .execute(&mut ctx)
        .unwrap()
        .credentials_handle;
    (ctx, cred)
}

/// A `sspi` server whose inbound credentials carry the password it checks against.
fn sspi_server(password: &str) -> (Ntlm, Cred) {
    let mut ctx = Ntlm::new();
    let cred = ctx
        .acquire_credentials_handle()
        .with_credential_use(CredentialUse::Inbound)
        .with_auth_data(&identity(password))
        .execute(&mut ctx)
        .unwrap()
        .credentials_handle;
    (ctx, cred)
}

/// One `InitializeSecurityContext` leg (`input` is `None` on the first).
fn isc(
    ctx: &mut Ntlm,
    cred: &mut Cred,
    input: Option<&[u8]>,
) -> sspi::Result<(SecurityStatus, Vec<u8>)> {
    let mut out = vec![SecurityBuffer::new(Vec::new(), BufferType::Token)];
    let mut inp: Vec<SecurityBuffer> =
        input.map(|t| SecurityBuffer::new(t.to_vec(), BufferType::Token)).into_iter().collect();
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
    let result = ctx.initialize_security_context_impl(&mut builder)?.resolve_to_result()?;
    Ok((result.status, std::mem::take(&mut out[0].buffer)))
}

/// One `AcceptSecurityContext` leg; `bindings` is a raw `SEC_CHANNEL_BINDINGS` buffer.
fn asc(
    ctx: &mut Ntlm,
    cred: &mut Cred,
    input: &[u8],
    bindings: Option<Vec<u8>>,
) -> sspi::Result<(SecurityStatus, Vec<u8>)> {
    let mut inp = vec![SecurityBuffer::new(input.to_vec(), BufferType::Token)];
    if let Some(b) = bindings {
        inp.push(SecurityBuffer::new(b, BufferType::ChannelBindings));
    }
    let mut out = vec![SecurityBuffer::new(Vec::new(), BufferType::Token)];
    let result = ctx
        .accept_security_context()
        .with_credentials_handle(cred)
        .with_context_requirements(ServerRequestFlags::empty())
        .with_target_data_representation(DataRepresentation::Native)
        .with_input(&mut inp)
        .with_output(&mut out)
        .execute(ctx)?
        .resolve_to_result()?;
    Ok((result.status, std::mem::take(&mut out[0].buffer)))
}

/// `EncryptMessage` in place; returns the signature.
fn sspi_seal(ctx: &mut Ntlm, data: &mut [u8]) -> [u8; 16] {
    let mut sig = [0u8; 16];
    let mut bufs = [SecurityBufferRef::token_buf(&mut sig), SecurityBufferRef::data_buf(data)];
    assert_eq!(
        ctx.encrypt_message(EncryptionFlags::empty(), &mut bufs).unwrap(),
        SecurityStatus::Ok
    );
    sig
}

/// `DecryptMessage` in place.
fn sspi_unseal(ctx: &mut Ntlm, data: &mut [u8], sig: &[u8]) -> sspi::Result<()> {
    let mut sig: [u8; 16] = sig.try_into().expect("a 16-byte NTLM signature");
    let mut bufs = [SecurityBufferRef::token_buf(&mut sig), SecurityBufferRef::data_buf(data)];
    ctx.decrypt_message(&mut bufs).map(|_| ())
}

fn sspi_sign(ctx: &mut Ntlm, msg: &[u8], seq: u32) -> [u8; 16] {
    let mut sig = [0u8; 16];
    let mut data = msg.to_vec();
    let mut bufs = [SecurityBufferRef::token_buf(&mut sig), SecurityBufferRef::data_buf(&mut data)];
    ctx.make_signature(0, &mut bufs, seq).unwrap();
    sig
}

fn sspi_verify(ctx: &mut Ntlm, msg: &[u8], sig: &[u8], seq: u32) -> sspi::Result<u32> {
    let mut sig: [u8; 16] = sig.try_into().expect("a 16-byte NTLM signature");
    let mut data = msg.to_vec();
    let mut bufs = [SecurityBufferRef::token_buf(&mut sig), SecurityBufferRef::data_buf(&mut data)];
    ctx.verify_signature(&mut bufs, seq)
}

/// A message of `len` bytes that differs per call (`tag`), so a reused keystream or a
/// swapped direction cannot go unnoticed.
fn message(len: usize, tag: u8) -> Vec<u8> {
    (0..=255u8).cycle().take(len).map(|i| i.wrapping_mul(31).wrapping_add(tag)).collect()
}

/// The `sspi` client's handshake against our server. Returns our server's last result.
fn sspi_client_vs_ours(
    client: &mut Ntlm,
    ccred: &mut Cred,
    server: &mut SecurityContext,
) -> sspi_emu::Result<sspi_emu::Step> {
    let (status, negotiate) = isc(client, ccred, None).unwrap();
    assert_eq!(status, SecurityStatus::ContinueNeeded);
    let challenge = server.step(Some(&negotiate))?;
    assert!(!challenge.complete);
    let (status, authenticate) = isc(client, ccred, Some(&challenge.token)).unwrap();
    assert_eq!(status, SecurityStatus::Ok);
    server.step(Some(&authenticate))
}

/// Our client's handshake against the `sspi` server, including `complete_auth_token`, where
/// the `sspi` server actually verifies.
fn ours_vs_sspi_server(
    client: &mut SecurityContext,
    server: &mut Ntlm,
    scred: &mut Cred,
    bindings: Option<Vec<u8>>,
) -> sspi::Result<SecurityStatus> {
    let negotiate = client.step(None).unwrap();
    assert!(!negotiate.complete);
    let (status, challenge) = asc(server, scred, &negotiate.token, None)?;
    assert_eq!(status, SecurityStatus::ContinueNeeded);
    let authenticate = client.step(Some(&challenge)).unwrap();
    assert!(authenticate.complete && client.is_established());
    let (status, last) = asc(server, scred, &authenticate.token, bindings)?;
    assert_eq!(status, SecurityStatus::CompleteNeeded);
    assert!(last.is_empty());
    server.complete_auth_token(&mut [])
}

/// Seals and unseals `SIZES` in both directions between a `sspi` peer and ours, checking the
/// ciphertext is not the plaintext and the plaintext comes back. Returns how many messages
/// went each way.
fn exchange_sealed(theirs: &mut Ntlm, ours: &mut SecurityContext) -> u32 {
    let mut count = 0;
    for (n, &len) in SIZES.iter().enumerate() {
        let tag = u8::try_from(n).unwrap();
        // Theirs -> ours.
        let plain = message(len, tag);
        let mut data = plain.clone();
        let sig = sspi_seal(theirs, &mut data);
        // Under 16 bytes the RC4 keystream of a random session key can leave the message as
        // it was (1 byte: one run in 256): the check would fail by chance, not by a bug.
        assert!(len < 16 || data != plain, "sspi did not encrypt ({len} bytes)");
        ours.unseal(&mut data, &sig).unwrap_or_else(|e| panic!("our unseal of {len} B: {e}"));
        assert_eq!(data, plain);
        // Ours -> theirs.
        let plain = message(len, tag.wrapping_add(100));
        let mut data = plain.clone();
        let sig = ours.seal(&mut data).unwrap();
        assert!(len < 16 || data != plain, "we did not encrypt ({len} bytes)");
        sspi_unseal(theirs, &mut data, &sig)
            .unwrap_or_else(|e| panic!("sspi decrypt of {len} B: {e:?}"));
        assert_eq!(data, plain);
        count += 1;
    }
    assert_eq!(ours.sequence_numbers().unwrap(), (count, count));
    count
}

/// Signatures both ways, continuing the sequence numbers after `exchange_sealed`. A bad
/// signature is refused on our side and the stream stays usable.
fn exchange_signed(theirs: &mut Ntlm, ours: &mut SecurityContext) {
    for len in [64usize, 1024] {
        let (send, recv) = ours.sequence_numbers().unwrap();
        let msg = message(len, 7);
        // Theirs -> ours, with the sequence number we expect next.
        let sig = sspi_sign(theirs, &msg, recv);
        let mut altered = msg.clone();
        altered[len / 2] ^= 1;
        assert_eq!(ours.verify(&altered, &sig), Err(Error::MessageAltered));
        ours.verify(&msg, &sig).unwrap();
        // Ours -> theirs, at the sequence number our sign will use.
        let sig = ours.sign(&msg).unwrap();
        assert_eq!(u32::from_le_bytes(sig[12..].try_into().unwrap()), send);
        assert_eq!(sspi_verify(theirs, &msg, &sig, send).unwrap(), 0);
        assert_eq!(ours.sequence_numbers().unwrap(), (send + 1, recv + 1));
    }
}

/// Proves the `sspi` client can log on to our server: the NTLMv2 proof, the MIC and the
/// session key agree; our server names the client from the wire; sealing and signing agree
/// both ways for several messages (so the per-direction keystreams and the shared sequence
/// counter match MS-NLMP as another implementation reads it).
#[test]
fn sspi_client_to_our_server() {
    let (mut client, mut ccred) = sspi_client(PASSWORD);
    let mut server = SecurityContext::acceptor(&server_creds(), server_options(11)).unwrap();
    let done = sspi_client_vs_ours(&mut client, &mut ccred, &mut server).unwrap();
    assert!(done.complete && done.token.is_empty() && server.is_established());
    assert_eq!(server.client_name().unwrap(), format!("{DOMAIN}\\{USER}"));

    let theirs = client.query_context_session_key().unwrap().session_key;
    let ours = server.dangerous_session_key().unwrap();
    assert_eq!(theirs.as_ref(), ours.dangerous_bytes());

    exchange_sealed(&mut client, &mut server);
    exchange_signed(&mut client, &mut server);
}

/// Proves our client can log on to the `sspi` server (whose only real check is the MIC, in
/// `complete_auth_token`), that the session keys agree, and that messages go both ways.
#[test]
fn our_client_to_sspi_server() {
    let mut client = SecurityContext::initiator(&client_creds(), client_options(12)).unwrap();
    let (mut server, mut scred) = sspi_server(PASSWORD);
    let status = ours_vs_sspi_server(&mut client, &mut server, &mut scred, None).unwrap();
    assert_eq!(status, SecurityStatus::Ok);
    assert_eq!(client.client_name().unwrap(), format!("{DOMAIN}\\{USER}"));
    assert_eq!(
        server.query_context_names().unwrap().username.account_name(),
        USER,
        "the sspi server read another user name from our AUTHENTICATE"
    );

    let theirs = server.query_context_session_key().unwrap().session_key;
    let ours = client.dangerous_session_key().unwrap();
    assert_eq!(theirs.as_ref(), ours.dangerous_bytes());

    exchange_sealed(&mut server, &mut client);
    exchange_signed(&mut server, &mut client);
}

/// Proves a wrong password is refused with `SEC_E_LOGON_DENIED` in both pairings. The same
/// flow with the right password is run first, so the only difference is the password.
#[test]
fn wrong_password_is_logon_denied_both_ways() {
    let sspi_to_ours = |password: &str| {
        let (mut client, mut ccred) = sspi_client(password);
        let mut server = SecurityContext::acceptor(&server_creds(), server_options(13)).unwrap();
        sspi_client_vs_ours(&mut client, &mut ccred, &mut server).map(|_| ())
    };
    assert_eq!(sspi_to_ours(PASSWORD), Ok(()));
    assert_eq!(sspi_to_ours("Correct horse 2"), Err(Error::LogonDenied));

    let ours_to_sspi = |password: &str| {
        let creds = Credentials::initiator(USER, DOMAIN, Password::new(password));
        let mut client = SecurityContext::initiator(&creds, client_options(14)).unwrap();
        let (mut server, mut scred) = sspi_server(PASSWORD);
        ours_vs_sspi_server(&mut client, &mut server, &mut scred, None).map_err(|e| e.error_type)
    };
    assert_eq!(ours_to_sspi(PASSWORD), Ok(SecurityStatus::Ok));
    assert_eq!(ours_to_sspi("Correct horse 2"), Err(ErrorKind::LogonDenied));
}

/// Proves our server computes the `MsvAvChannelBindings` hash as the `sspi` client does
/// (`set_channel_bindings` wraps the application data in a zeroed `SEC_CHANNEL_BINDINGS`):
/// equal bindings pass, different or missing ones are `SEC_E_BAD_BINDINGS`.
#[test]
fn channel_bindings_from_sspi_client() {
    let run = |client_cb: Option<&[u8]>, server_cb: &[u8]| {
        let (mut client, mut ccred) = sspi_client(PASSWORD);
        if let Some(cb) = client_cb {
            client.set_channel_bindings(cb);
        }
        let options: AcceptorOptions =
            server_options(15).channel_bindings(ChannelBindings::application(server_cb));
        let mut server = SecurityContext::acceptor(&server_creds(), options).unwrap();
        sspi_client_vs_ours(&mut client, &mut ccred, &mut server).map(|_| ())
    };
    let a = b"tls-server-end-point:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
    let b = b"tls-server-end-point:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAB";
    assert_eq!(run(Some(a), a), Ok(()));
    assert_eq!(run(Some(a), b), Err(Error::BadBindings));
    assert_eq!(run(None, a), Err(Error::BadBindings));
}

/// The other way round: our client's `MsvAvChannelBindings` against the `sspi` server given a
/// `SECBUFFER_CHANNEL_BINDINGS` buffer that we encode; equal passes, different is
/// `BadBindings`.
#[test]
fn channel_bindings_to_sspi_server() {
    let run = |client_cb: &[u8], server_cb: &[u8]| {
        let options = client_options(16).channel_bindings(ChannelBindings::application(client_cb));
        let mut client = SecurityContext::initiator(&client_creds(), options).unwrap();
        let (mut server, mut scred) = sspi_server(PASSWORD);
        let raw = ChannelBindings::application(server_cb).to_sec_channel_bindings().unwrap();
        ours_vs_sspi_server(&mut client, &mut server, &mut scred, Some(raw))
            .map_err(|e| e.error_type)
    };
    assert_eq!(run(b"tls-unique:1234", b"tls-unique:1234"), Ok(SecurityStatus::Ok));
    assert_eq!(run(b"tls-unique:1234", b"tls-unique:1235"), Err(ErrorKind::BadBindings));
}

/// Proves that a sealed message from the `sspi` side altered in flight (ciphertext or
/// checksum) is `MessageAltered` on our side, that the failure hands back the ciphertext and
/// leaves the context as it was (the genuine copy still unseals), and that the stream then
/// goes on with the next message.
#[test]
fn tampered_sealed_message_from_sspi() {
    let (mut client, mut ccred) = sspi_client(PASSWORD);
    let mut server = SecurityContext::acceptor(&server_creds(), server_options(17)).unwrap();
    sspi_client_vs_ours(&mut client, &mut ccred, &mut server).unwrap();

    let plain = message(64, 1);
    let mut sealed = plain.clone();
    let sig = sspi_seal(&mut client, &mut sealed);

    // One bit of the ciphertext.
    let mut data = sealed.clone();
    data[10] ^= 0x80;
    let tampered = data.clone();
    assert_eq!(server.unseal(&mut data, &sig), Err(Error::MessageAltered));
    assert_eq!(data, tampered, "a failed unseal must hand back the ciphertext");
    // One bit of the (encrypted) checksum.
    let mut bad_sig = sig;
    bad_sig[5] ^= 1;
    let mut data = sealed.clone();
    assert_eq!(server.unseal(&mut data, &bad_sig), Err(Error::MessageAltered));
    assert_eq!(server.sequence_numbers().unwrap(), (0, 0));

    // The genuine message, then the next ones, still go through.
    let mut data = sealed;
    server.unseal(&mut data, &sig).unwrap();
    assert_eq!(data, plain);
    for n in 2..5 {
        let plain = message(1024, n);
        let mut data = plain.clone();
        let sig = sspi_seal(&mut client, &mut data);
        server.unseal(&mut data, &sig).unwrap();
        assert_eq!(data, plain);
    }
    assert_eq!(server.sequence_numbers().unwrap(), (0, 4));
}

/// The `sspi` crate's network client for its Kerberos client: TCP to the test realm's KDC on
/// loopback, the request's own 4-byte length prefix sent as is and the reply's returned with
/// its prefix (as the crate's own client does).
struct LoopbackKdc;

impl sspi::network_client::NetworkClient for LoopbackKdc {
    fn send(&self, request: &sspi::generator::NetworkRequest) -> sspi::Result<Vec<u8>> {
        use std::io::{Read, Write};
        let url = &request.url;
        let host = url.host_str().unwrap_or_default();
        assert!(host == "127.0.0.1", "the test KDC is on loopback, not {host}");
        let mut stream = std::net::TcpStream::connect((host, url.port().unwrap_or(88)))?;
        stream.set_read_timeout(Some(std::time::Duration::from_secs(10)))?;
        stream.write_all(&request.data)?;
        let mut len = [0u8; 4];
        stream.read_exact(&mut len)?;
        let mut reply = len.to_vec();
        reply.resize(4 + usize::try_from(u32::from_be_bytes(len)).unwrap(), 0);
        stream.read_exact(&mut reply[4..])?;
        Ok(reply)
    }
}

/// The `sspi` crate's Kerberos client (its own AS and TGS exchanges with the MIT KDC) to our
/// acceptor: the AP-REQ is accepted and the client takes our AP-REP.
#[test]
fn sspi_kerberos_client_to_our_acceptor() {
    use crate::kerberos_context::{SERVICE, realm_with_service, service_credentials};
    use crate::krb5_realm::{REALM, USER_PASSWORD};
    use sspi::{Kerberos, KerberosConfig};
    let Some((realm, keytab)) = realm_with_service("sspi_kerberos_client", &[]) else { return };
    // The crate expects Active Directory's behaviour: pre-authentication required.
    realm.kadmin("modprinc +requires_preauth alice");
    let config = KerberosConfig::new_with_kdc_url(
        &format!("tcp://127.0.0.1:{}", realm.port),
        "WORKSTATION".into(),
    );
    let mut client = Kerberos::new_client_from_config(config).unwrap();
    let identity = AuthIdentity {
        username: Username::new("alice", Some(REALM)).unwrap(),
        password: USER_PASSWORD.to_owned().into(),
    };
    let mut cred = client
        .acquire_credentials_handle()
        .with_credential_use(CredentialUse::Outbound)
        .with_auth_data(&identity.into())
        .execute(&mut client)
        .unwrap()
        .credentials_handle;
    let mut out = vec![SecurityBuffer::new(Vec::new(), BufferType::Token)];
    // The crate's Kerberos client wants an input list even on its first call.
    let mut none = vec![SecurityBuffer::new(Vec::new(), BufferType::Token)];
    let mut builder = client
        .initialize_security_context()
        .with_credentials_handle(&mut cred)
        .with_context_requirements(ClientRequestFlags::MUTUAL_AUTH | ClientRequestFlags::INTEGRITY)
        .with_target_data_representation(DataRepresentation::Native)
        .with_target_name(SERVICE)
        .with_input(&mut none)
        .with_output(&mut out);
    let result = client
        .initialize_security_context_impl(&mut builder)
        .unwrap()
        .resolve_with_client(&LoopbackKdc)
        .unwrap_or_else(|e| panic!("sspi's Kerberos client: {e:?}\n{}", realm.kdc_logs()));
    assert_eq!(result.status, SecurityStatus::ContinueNeeded);
    let ap_req = std::mem::take(&mut out[0].buffer);
    let mut server =
        SecurityContext::acceptor(&service_credentials(&keytab), AcceptorOptions::new()).unwrap();
    let reply = server.step(Some(&ap_req)).unwrap_or_else(|e| panic!("our acceptor: {e}"));
    assert!(reply.complete);
    assert_eq!(server.client_name().unwrap(), format!("alice@{REALM}"));
    let mut out = vec![SecurityBuffer::new(Vec::new(), BufferType::Token)];
    let mut inp = vec![SecurityBuffer::new(reply.token, BufferType::Token)];
    let mut builder = client
        .initialize_security_context()
        .with_credentials_handle(&mut cred)
        .with_context_requirements(ClientRequestFlags::MUTUAL_AUTH | ClientRequestFlags::INTEGRITY)
        .with_target_data_representation(DataRepresentation::Native)
        .with_target_name(SERVICE)
        .with_input(&mut inp)
        .with_output(&mut out);
    let result = client
        .initialize_security_context_impl(&mut builder)
        .unwrap()
        .resolve_with_client(&LoopbackKdc)
        .unwrap_or_else(|e| panic!("sspi's Kerberos client took our AP-REP: {e:?}"));
    assert_eq!(result.status, SecurityStatus::Ok);
    // EncryptMessage both ways: the crate's split form (RRC 28, MS-KILE 3.4.5.4.1) to ours and
    // ours to it.
    for len in [1usize, 16, 100, 1000] {
        let msg = message(len, 7);
        let mut data = msg.clone();
        let mut token = vec![0u8; 60];
        let mut bufs =
            [SecurityBufferRef::token_buf(&mut token), SecurityBufferRef::data_buf(&mut data)];
        client.encrypt_message(EncryptionFlags::empty(), &mut bufs).unwrap();
        let token_len = bufs[0].data().len();
        server.unseal(&mut data, &token[..token_len]).unwrap_or_else(|e| panic!("{len}: {e}"));
        assert_eq!(data, msg);
        let mut data = msg.clone();
        let trailer = server.seal(&mut data).unwrap();
        let mut token = trailer.to_vec();
        let mut bufs =
            [SecurityBufferRef::token_buf(&mut token), SecurityBufferRef::data_buf(&mut data)];
        client.decrypt_message(&mut bufs).unwrap_or_else(|e| panic!("{len}: sspi: {e:?}"));
        assert_eq!(bufs[1].data(), &msg[..]);
    }
}
