//! Entry points for the cargo-fuzz targets in `fuzz/`. Not part of the API.
//!
//! Each function must never panic on any input; where a parse succeeds, re-encoding and
//! parsing again must give the same value (round-trip assertions).
#![allow(missing_docs)]

use crate::api::{AcceptorOptions, Credentials, InitiatorOptions, SecurityContext};
use crate::bindings::ChannelBindings;
use crate::crypto::Password;
use crate::env::{Environment, FileTime, ManualClock, SeededRandom};
use crate::flags::{AscReq, IscReq};
use crate::ntlm::Part;
use crate::ntlm::messages::{Authenticate, AvId, AvPairs, Challenge, ClientBlob, Negotiate};
use crate::ntlm::users::MemoryUserStore;

const T0: FileTime = FileTime(134_116_992_000_000_000);

fn env(seed: u64) -> Environment {
    Environment::new(SeededRandom::new(seed), ManualClock::new(T0))
}

fn client() -> SecurityContext {
    let creds = Credentials::initiator("alice", "EXAMPLE", Password::new("pw"));
    let options = InitiatorOptions::new()
        .flags(IscReq::CONFIDENTIALITY | IscReq::INTEGRITY | IscReq::REPLAY_DETECT)
        .target_name("HTTP/server")
        .channel_bindings(ChannelBindings::application(&b"cb"[..]))
        .environment(env(1));
    SecurityContext::initiator(&creds, options).expect("valid options")
}

fn server() -> SecurityContext {
    let mut users = MemoryUserStore::new();
    users.add_password("EXAMPLE", "alice", &Password::new("pw"));
    let options = AcceptorOptions::new()
        .flags(AscReq::CONFIDENTIALITY | AscReq::REPLAY_DETECT)
        .accepted_target_names(["HTTP/server".to_owned()])
        .channel_bindings(ChannelBindings::application(&b"cb"[..]))
        .environment(env(2));
    SecurityContext::acceptor(&Credentials::acceptor(users), options).expect("valid options")
}

pub fn negotiate(data: &[u8]) {
    if let Ok(m) = Negotiate::parse(data) {
        let again = m.encode().expect("a parsed message encodes");
        assert_eq!(Negotiate::parse(&again).expect("re-parse"), m);
    }
}

pub fn challenge(data: &[u8]) {
    if let Ok(m) = Challenge::parse(data) {
        let again = m.encode().expect("a parsed message encodes");
        assert_eq!(Challenge::parse(&again).expect("re-parse"), m);
    }
    // And the client's whole CHALLENGE path.
    let mut c = client();
    c.step(None).expect("first leg");
    let _ = c.step(Some(data));
}

pub fn authenticate(data: &[u8]) {
    if let Ok(m) = Authenticate::parse(data) {
        let again = m.encode().expect("a parsed message encodes");
        assert_eq!(Authenticate::parse(&again).expect("re-parse"), m);
    }
    if let Ok(blob) = ClientBlob::parse(data) {
        let again = blob.encode().expect("encodes");
        assert_eq!(ClientBlob::parse(&again).expect("re-parse"), blob);
    }
}

pub fn av_pairs(data: &[u8]) {
    if let Ok(av) = AvPairs::parse(data) {
        let again = av.encode().expect("encodes");
        assert_eq!(AvPairs::parse(&again).expect("re-parse"), av);
        let _ = av.timestamp();
        let _ = av.flags();
        // What a client does with its server's list: drop four ids, add its own flags. The
        // size kept as pairs go and come must be the size encoded.
        let mut edited = av;
        edited.remove_any(&[
            AvId::FLAGS,
            AvId::SINGLE_HOST,
            AvId::TARGET_NAME,
            AvId::CHANNEL_BINDINGS,
        ]);
        if edited.append(AvId::FLAGS, &[2, 0, 0, 0]).is_ok() {
            let encoded = edited.encode().expect("encodes");
            assert_eq!(encoded.len(), edited.encoded_len());
            assert_eq!(AvPairs::parse(&encoded).expect("re-parse"), edited);
            assert_eq!(edited.flags().ok(), Some(2));
        }
    }
}

pub fn channel_bindings(data: &[u8]) {
    if let Ok(cb) = ChannelBindings::from_sec_channel_bindings(data) {
        let again = cb.to_sec_channel_bindings().expect("encodes");
        assert_eq!(ChannelBindings::from_sec_channel_bindings(&again).expect("re-parse"), cb);
    }
}

/// The server's accept path. The first byte picks what the rest is: a NEGOTIATE, an
/// AUTHENTICATE answering the server's CHALLENGE, or edits (offset, xor) pairs applied to a
/// valid AUTHENTICATE so the fuzzer reaches the MIC, timestamp, SPN and binding checks.
pub fn accept(data: &[u8]) {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let mut c = client();
    let mut s = server();
    match mode % 3 {
        0 => {
            let _ = s.step(Some(rest));
        }
        1 => {
            let negotiate = c.step(None).expect("first leg").token;
            s.step(Some(&negotiate)).expect("valid NEGOTIATE");
            let _ = s.step(Some(rest));
        }
        _ => {
            let negotiate = c.step(None).expect("first leg").token;
            let challenge = s.step(Some(&negotiate)).expect("valid NEGOTIATE").token;
            let mut auth = c.step(Some(&challenge)).expect("valid CHALLENGE").token;
            let mut edited = false;
            for pair in rest.chunks_exact(3) {
                let at = usize::from(u16::from_le_bytes([pair[0], pair[1]]));
                let n = auth.len() + 1;
                if let Some(b) = auth.get_mut(at % n) {
                    edited |= pair[2] != 0;
                    *b ^= pair[2];
                }
            }
            if rest.len() % 3 == 1 {
                auth.truncate(usize::from(rest[0]) % (auth.len() + 1));
                edited = true;
            }
            let result = s.step(Some(&auth));
            assert!(edited || result.is_ok(), "an untouched AUTHENTICATE must be accepted");
        }
    }
}

/// Message security under a stream of operations: every untampered message must verify,
/// every tampered one must fail without breaking the context.
pub fn session(data: &[u8]) {
    let mut c = client();
    let mut s = server();
    let negotiate = c.step(None).expect("leg 1").token;
    let challenge = s.step(Some(&negotiate)).expect("leg 2").token;
    let auth = c.step(Some(&challenge)).expect("leg 3").token;
    s.step(Some(&auth)).expect("leg 4");
    let mut ops = data;
    while let Some((&op, rest)) = ops.split_first() {
        let len = usize::from(op >> 3) * 7;
        let (payload, rest) = rest.split_at(len.min(rest.len()));
        ops = rest;
        let (from, to) = if op & 1 == 0 { (&mut c, &mut s) } else { (&mut s, &mut c) };
        let tamper = op & 2 != 0 && !payload.is_empty();
        match (op >> 2) & 1 {
            0 => {
                let sig = from.sign(payload).expect("sign");
                if tamper {
                    let mut bad = payload.to_vec();
                    bad[0] ^= 1;
                    assert!(to.verify(&bad, &sig).is_err());
                }
                to.verify(payload, &sig).expect("verify");
            }
            _ => {
                let mut body = payload.to_vec();
                let header = [op; 3];
                let sig = from
                    .seal_parts(&mut [Part::SignOnly(&header), Part::Seal(&mut body)][..])
                    .expect("seal");
                if tamper {
                    body[0] ^= 0x40;
                    let r = to.unseal_parts(
                        &mut [Part::SignOnly(&header), Part::Seal(&mut body)][..],
                        &sig,
                    );
                    assert!(r.is_err());
                    body[0] ^= 0x40;
                }
                to.unseal_parts(&mut [Part::SignOnly(&header), Part::Seal(&mut body)][..], &sig)
                    .expect("unseal");
                assert_eq!(body, payload);
            }
        }
    }
}

/// Import: the first byte picks raw blob bytes (header checks, key id, AEAD), or arbitrary
/// state bytes inside a valid unprotected envelope (the postcard decoder and the checks that
/// rebuild a context). Whatever imports must work and export again.
pub fn import(data: &[u8]) {
    use crate::export::{ExportOptions, ImportOptions, PackageId, Protection, pack_body};
    let Some((&mode, rest)) = data.split_first() else { return };
    let mut users = MemoryUserStore::new();
    users.add_password("EXAMPLE", "alice", &Password::new("pw"));
    let unprotected = Protection::DangerousUnprotected;
    let options = ImportOptions::new()
        .protection(unprotected.clone())
        .credentials(Credentials::acceptor(users))
        .environment(env(3));
    let blob = if mode & 1 == 0 {
        rest.to_vec()
    } else {
        let body = crate::crypto::SecretBytes(rest.to_vec());
        let exp = ExportOptions::new().protection(unprotected.clone());
        // Bit 1 of the mode picks the format version the state is read as.
        let version = if mode & 2 == 0 { 1 } else { 2 };
        match pack_body(PackageId::Ntlm, version, body, &exp) {
            Ok(p) => p.as_bytes().to_vec(),
            Err(_) => return,
        }
    };
    let Ok(mut ctx) = SecurityContext::import("NTLM", &blob, &options) else { return };
    let again = ctx
        .export(0, &ExportOptions::new().protection(unprotected))
        .expect("an imported context exports again");
    SecurityContext::import("NTLM", again.packed.as_bytes(), &options).expect("and imports again");
    let _ = ctx.sign(b"message");
    let mut data = *b"sealed";
    let _ = ctx.seal(&mut data);
    let _ = ctx.step(Some(rest));
    let _ = ctx.step(None);
}
