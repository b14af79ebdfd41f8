//! Handshake and message-security behaviour of the idiomatic layer, driven in memory.

use super::driver::*;
use sspi_emu::flags::{AscReq, IscReq};
use sspi_emu::ntlm::Part;
use sspi_emu::ntlm::flags::NegotiateFlags;
use sspi_emu::ntlm::users::MemoryUserStore;
use sspi_emu::{
    AcceptorOptions, ChannelBindings, Credentials, Error, InitiatorOptions, NtHash, Password,
    SecurityContext,
};
use std::time::Duration;

fn pair_with(
    client: InitiatorOptions,
    server: AcceptorOptions,
) -> (SecurityContext, SecurityContext) {
    (
        SecurityContext::initiator(&client_creds(), client).unwrap(),
        SecurityContext::acceptor(&server_creds(), server).unwrap(),
    )
}

fn run(client: InitiatorOptions, server: AcceptorOptions) -> Result<Transcript, Error> {
    let (mut c, mut s) = pair_with(client, server);
    handshake_with(&mut c, &mut s, |_, _| {})
}

#[test]
fn established_pair_exchanges_messages_both_ways() {
    let (mut client, mut server) = established(1);
    assert!(client.is_established() && server.is_established());
    assert_eq!(server.client_name().unwrap(), "EXAMPLE\\alice");
    assert_eq!(client.client_name().unwrap(), "EXAMPLE\\alice");
    assert!(
        client.dangerous_session_key().unwrap().ct_eq(&server.dangerous_session_key().unwrap())
    );
    let flags = server.negotiated_flags().unwrap();
    for f in [
        NegotiateFlags::EXTENDED_SESSION_SECURITY,
        NegotiateFlags::KEY_EXCH,
        NegotiateFlags::NEGOTIATE_128,
        NegotiateFlags::SEAL,
        NegotiateFlags::SIGN,
        NegotiateFlags::ALWAYS_SIGN,
        NegotiateFlags::VERSION,
    ] {
        assert!(flags.contains(f), "{f:?} missing from {flags:?}");
    }
    for round in 0..5u8 {
        let msg = vec![round; 100 * usize::from(round)];
        // detached seal, client to server
        let mut data = msg.clone();
        let sig = client.seal(&mut data).unwrap();
        if !msg.is_empty() {
            assert_ne!(data, msg);
        }
        server.unseal(&mut data, &sig).unwrap();
        assert_eq!(data, msg);
        // wrap, server to client
        let token = server.wrap(&msg).unwrap();
        assert_eq!(token.len(), msg.len() + 16);
        assert_eq!(client.unwrap(&token).unwrap(), msg);
        // signatures both ways share the sequence numbers
        let sig = server.sign(&msg).unwrap();
        client.verify(&msg, &sig).unwrap();
        let sig = client.sign(&msg).unwrap();
        server.verify(&msg, &sig).unwrap();
    }
    assert_eq!(client.sequence_numbers().unwrap(), (10, 10));
    assert_eq!(server.sequence_numbers().unwrap(), (10, 10));
}

#[test]
fn multi_part_messages_sign_read_only_parts_without_encrypting_them() {
    let (mut client, mut server) = established(2);
    let header = *b"header";
    let mut body = *b"secret body";
    let sig = client.seal_parts(&mut [Part::SignOnly(&header), Part::Seal(&mut body)][..]).unwrap();
    assert_ne!(&body, b"secret body");
    let mut altered = header;
    altered[0] ^= 1;
    assert_eq!(
        server.unseal_parts(&mut [Part::SignOnly(&altered), Part::Seal(&mut body)][..], &sig),
        Err(Error::MessageAltered)
    );
    server.unseal_parts(&mut [Part::SignOnly(&header), Part::Seal(&mut body)][..], &sig).unwrap();
    assert_eq!(&body, b"secret body");
}

#[test]
fn deterministic_environments_give_byte_identical_transcripts() {
    let a = run(client_options(7), server_options(8)).unwrap();
    let b = run(client_options(7), server_options(8)).unwrap();
    assert_eq!(a, b);
    let c = run(client_options(9), server_options(8)).unwrap();
    assert_eq!(a.challenge, c.challenge);
    assert_ne!(a.authenticate, c.authenticate);
}

#[test]
fn wrong_password_unknown_user_and_nt_hash_credentials() {
    let server = || SecurityContext::acceptor(&server_creds(), server_options(2)).unwrap();
    for creds in [
        Credentials::initiator(USER, DOMAIN, Password::new("wrong")),
        Credentials::initiator("mallory", DOMAIN, Password::new(PASSWORD)),
        Credentials::initiator(USER, "OTHER", Password::new(PASSWORD)),
    ] {
        let mut client = SecurityContext::initiator(&creds, client_options(1)).unwrap();
        let mut s = server();
        assert_eq!(handshake_with(&mut client, &mut s, |_, _| {}), Err(Error::LogonDenied));
        // A failed handshake is over: the acceptor refuses to go on.
        assert!(matches!(s.step(Some(b"x")), Err(Error::WrongState(_))));
    }
    let by_hash =
        Credentials::initiator_with_nt_hash(USER, DOMAIN, NtHash::from_password(PASSWORD));
    let mut client = SecurityContext::initiator(&by_hash, client_options(1)).unwrap();
    handshake_with(&mut client, &mut server(), |_, _| {}).unwrap();
    // The user name is case-insensitive; the domain as typed enters NTOWFv2 on both sides.
    let upper = Credentials::initiator("ALICE", "example", Password::new(PASSWORD));
    let mut client = SecurityContext::initiator(&upper, client_options(1)).unwrap();
    let mut s = server();
    handshake_with(&mut client, &mut s, |_, _| {}).unwrap();
    assert_eq!(s.client_name().unwrap(), "example\\ALICE");
}

/// Flips every bit of every token in flight, one at a time: each flip must end the handshake
/// with an error (no byte of any message is outside the integrity checks), whether or not the
/// acceptor requires a MIC. Without `require_mic`, the flips that hide the CHALLENGE's
/// `MsvAvTimestamp` (so that the client sends no MIC) are caught by the acceptor's check that
/// a MIC-less blob holds the timestamp it sent.
#[test]
fn every_bit_flip_of_every_token_is_rejected() {
    let clean = run(client_options(3), server_options(4)).unwrap();
    let tokens = [&clean.negotiate, &clean.challenge, &clean.authenticate];
    let mut checked = 0;
    for require_mic in [true, false] {
        for (which, token) in tokens.iter().enumerate() {
            for bit in 0..token.len() * 8 {
                let server = server_options(4).require_mic(require_mic);
                let (mut c, mut s) = pair_with(client_options(3), server);
                let result = handshake_with(&mut c, &mut s, |i, t| {
                    if i == which {
                        t[bit / 8] ^= 1 << (bit % 8);
                    }
                });
                assert!(result.is_err(), "token {which} bit {bit} (require_mic {require_mic})");
                checked += 1;
            }
        }
    }
    assert!(checked > 6000);
}

/// Which check catches which alteration.
#[test]
fn alterations_map_to_the_right_status() {
    let clean = run(client_options(3), server_options(4)).unwrap();
    let alter = |which: usize, at: usize| {
        let (mut c, mut s) = pair_with(client_options(3), server_options(4));
        handshake_with(&mut c, &mut s, |i, t| {
            if i == which {
                t[at] ^= 0x80;
            }
        })
        .unwrap_err()
    };
    // NEGOTIATE version byte: only the MIC notices.
    assert_eq!(alter(0, 32), Error::MessageAltered);
    // CHALLENGE server challenge: the client proves the password for another challenge.
    assert_eq!(alter(1, 24), Error::LogonDenied);
    // AUTHENTICATE MIC (offset 72) and version (64).
    assert_eq!(alter(2, 72), Error::MessageAltered);
    assert_eq!(alter(2, 64), Error::MessageAltered);
    // AUTHENTICATE NTProofStr: the first bytes of the NT response.
    let nt_offset = u32::from_le_bytes(clean.authenticate[24..28].try_into().unwrap()) as usize;
    assert_eq!(alter(2, nt_offset), Error::LogonDenied);
    // The encrypted session key: the MIC is computed with the key the client chose.
    let key_offset = u32::from_le_bytes(clean.authenticate[56..60].try_into().unwrap()) as usize;
    assert_eq!(alter(2, key_offset), Error::MessageAltered);
}

/// Position of the MsvAvTimestamp AV pair (id 7, length 8) in a CHALLENGE.
fn timestamp_av(challenge: &[u8]) -> usize {
    challenge.windows(4).position(|w| w == [7, 0, 8, 0]).unwrap()
}

/// Hiding the server's timestamp in flight makes the client send no MIC (MS-NLMP
/// 3.1.5.1.2). With `require_mic` that is "no MIC"; without, the blob lacks the timestamp the
/// CHALLENGE sent, which only an attacker in the middle explains: refused either way.
#[test]
fn hiding_the_challenge_timestamp_is_refused_under_either_policy() {
    let strip_timestamp = |i: usize, t: &mut Vec<u8>| {
        if i == 1 {
            let at = timestamp_av(t);
            t[at] = 0x7f;
        }
    };
    let (mut c, mut s) = pair_with(client_options(5), server_options(6).require_mic(true));
    let result = handshake_with(&mut c, &mut s, strip_timestamp);
    assert_eq!(result, Err(Error::InvalidToken("the AUTHENTICATE message has no MIC")));
    let (mut c, mut s) = pair_with(client_options(5), server_options(6));
    let result = handshake_with(&mut c, &mut s, strip_timestamp);
    assert_eq!(result, Err(Error::MessageAltered));
}

/// The downgrade a review found: an attacker clears SIGN in the CHALLENGE and hides its
/// timestamp, hoping for a context on both sides that signs with the forgeable dummy
/// signature. The initiator that asked for integrity refuses the CHALLENGE; an initiator that
/// did not ask still gets nothing past the acceptor, which finds no MIC and not its timestamp.
#[test]
fn stripping_sign_and_the_timestamp_is_refused() {
    let attack = |i: usize, t: &mut Vec<u8>| {
        if i == 1 {
            t[20] &= !0x10; // NTLMSSP_NEGOTIATE_SIGN
            let at = timestamp_av(t);
            t[at] = 0x7f;
        }
    };
    let integrity = client_options(5).flags(IscReq::INTEGRITY);
    let (mut c, mut s) = pair_with(integrity, AcceptorOptions::new().environment(env(6).0));
    let result = handshake_with(&mut c, &mut s, attack);
    assert_eq!(result, Err(Error::NotSupported("the server refused integrity")));
    // A client that asked for nothing takes the CHALLENGE (it loses nothing it wanted), but
    // its AUTHENTICATE has no MIC and not the timestamp: the acceptor refuses.
    let plain = client_options(5).flags(IscReq::EMPTY);
    let (mut c, mut s) = pair_with(plain, AcceptorOptions::new().environment(env(6).0));
    assert_eq!(handshake_with(&mut c, &mut s, attack), Err(Error::MessageAltered));
}

#[test]
fn stale_timestamp_is_time_skew() {
    let (env, clock) = env(6);
    let server = server_options(6).environment(env);
    let (mut c, mut s) = pair_with(client_options(5), server);
    let negotiate = c.step(None).unwrap().token;
    let challenge = s.step(Some(&negotiate)).unwrap().token;
    let authenticate = c.step(Some(&challenge)).unwrap().token;
    clock.advance(AcceptorOptions::DEFAULT_MAX_CLOCK_SKEW + Duration::from_secs(1));
    assert_eq!(s.step(Some(&authenticate)).unwrap_err(), Error::TimeSkew);

    // Within the window it is fine.
    let (env, clock) = super::driver::env(6);
    let (mut c, mut s) = pair_with(client_options(5), server_options(6).environment(env));
    let negotiate = c.step(None).unwrap().token;
    let challenge = s.step(Some(&negotiate)).unwrap().token;
    let authenticate = c.step(Some(&challenge)).unwrap().token;
    clock.advance(Duration::from_secs(60));
    assert!(s.step(Some(&authenticate)).unwrap().complete);
}

#[test]
fn target_name_policy() {
    let server = || server_options(2).accepted_target_names(["HTTP/web.example.com".to_owned()]);
    run(client_options(1).target_name("http/WEB.example.com"), server()).unwrap();
    assert_eq!(
        run(client_options(1).target_name("HTTP/evil.example.com"), server()),
        Err(Error::WrongPrincipal)
    );
    assert_eq!(run(client_options(1), server()), Err(Error::WrongPrincipal));
    // Without a policy any target name is fine.
    run(client_options(1).target_name("HTTP/anything"), server_options(2)).unwrap();
}

#[test]
fn channel_binding_policy() {
    let tls = ChannelBindings::application(&b"tls-server-end-point:0123"[..]);
    let other = ChannelBindings::application(&b"tls-server-end-point:9999"[..]);
    let server = |cb: &ChannelBindings| server_options(2).channel_bindings(cb.clone());
    run(client_options(1).channel_bindings(tls.clone()), server(&tls)).unwrap();
    assert_eq!(
        run(client_options(1).channel_bindings(other.clone()), server(&tls)),
        Err(Error::BadBindings)
    );
    assert_eq!(run(client_options(1), server(&tls)), Err(Error::BadBindings));
    run(client_options(1).channel_bindings(other), server_options(2)).unwrap();
}

#[test]
fn lm_ntlmv1_and_weak_negotiation_are_refused() {
    let ess = NegotiateFlags::EXTENDED_SESSION_SECURITY.0;
    let flip_flag = |t: &mut Vec<u8>, at: usize, bit: u32| {
        let mut v = u32::from_le_bytes(t[at..at + 4].try_into().unwrap());
        v &= !bit;
        t[at..at + 4].copy_from_slice(&v.to_le_bytes());
    };
    // A client that does not offer extended session security (NEGOTIATE flags at 12).
    let (mut c, mut s) = pair_with(client_options(1), server_options(2));
    let err = handshake_with(&mut c, &mut s, |i, t| {
        if i == 0 {
            flip_flag(t, 12, ess)
        }
    })
    .unwrap_err();
    assert!(matches!(err, Error::NotSupported(_)), "{err:?}");
    // A server that does not (CHALLENGE flags at 20), or offers no 128-bit keys to a client
    // that signs and seals.
    for bit in [ess, NegotiateFlags::NEGOTIATE_128.0] {
        let (mut c, mut s) = pair_with(client_options(1), server_options(2));
        let err = handshake_with(&mut c, &mut s, |i, t| {
            if i == 1 {
                flip_flag(t, 20, bit)
            }
        })
        .unwrap_err();
        assert!(matches!(err, Error::NotSupported(_)), "{bit:x}: {err:?}");
    }
    // A CHALLENGE with neither Unicode nor OEM names (MS-NLMP 2.2.2.5: SEC_E_INVALID_TOKEN).
    let (mut c, mut s) = pair_with(client_options(1), server_options(2));
    let err = handshake_with(&mut c, &mut s, |i, t| {
        if i == 1 {
            flip_flag(t, 20, NegotiateFlags::UNICODE.0)
        }
    })
    .unwrap_err();
    assert!(matches!(err, Error::InvalidToken(_)), "{err:?}");
    // An NTLMv1 AUTHENTICATE (24-byte NT response).
    let (mut c, mut s) = pair_with(client_options(1), server_options(2));
    let negotiate = c.step(None).unwrap().token;
    s.step(Some(&negotiate)).unwrap();
    let v1 = ntlmv1_authenticate();
    let err = s.step(Some(&v1)).unwrap_err();
    assert_eq!(err, Error::NotSupported("NTLMv1 responses (broken by offline cracking)"));
    assert_eq!(
        sspi_emu::SecurityStatus::from(&err),
        sspi_emu::SecurityStatus::SEC_E_UNSUPPORTED_FUNCTION
    );
}

/// An AUTHENTICATE_MESSAGE (MS-NLMP 2.2.1.3) with 24-byte LM and NT responses, as an NTLMv1
/// client sends.
fn ntlmv1_authenticate() -> Vec<u8> {
    let user: Vec<u8> = "alice".encode_utf16().flat_map(u16::to_le_bytes).collect();
    let mut m = b"NTLMSSP\0".to_vec();
    m.extend(3u32.to_le_bytes());
    let fields: [(usize, usize); 6] =
        [(24, 64), (24, 88), (0, 112), (user.len(), 112), (0, 112), (0, 112)];
    for (len, off) in fields {
        m.extend(u16::try_from(len).unwrap().to_le_bytes());
        m.extend(u16::try_from(len).unwrap().to_le_bytes());
        m.extend(u32::try_from(off).unwrap().to_le_bytes());
    }
    m.extend(0xE208_8235u32.to_le_bytes());
    m.extend([0x11; 48]);
    m.extend(&user);
    m
}

#[test]
fn calls_out_of_sequence() {
    let (mut client, mut server) = pair_with(client_options(1), server_options(2));
    assert!(matches!(client.sign(b"x"), Err(Error::WrongState(_))));
    assert!(matches!(server.seal(&mut [0u8; 4]), Err(Error::WrongState(_))));
    assert!(matches!(server.client_name(), Err(Error::WrongState(_))));
    assert!(matches!(server.step(None), Err(Error::InvalidToken(_))));
    assert!(matches!(client.step(Some(b"early")), Err(Error::InvalidToken(_))));
    let (mut client, mut server) = established(3);
    assert!(matches!(client.step(Some(b"more")), Err(Error::WrongState(_))));
    assert!(matches!(server.step(Some(b"more")), Err(Error::WrongState(_))));
    // Credentials of the wrong role.
    assert!(matches!(
        SecurityContext::initiator(&server_creds(), InitiatorOptions::new()),
        Err(Error::UnknownCredentials(_))
    ));
    assert!(matches!(
        SecurityContext::acceptor(&client_creds(), AcceptorOptions::new()),
        Err(Error::UnknownCredentials(_))
    ));
    assert!(matches!(
        SecurityContext::initiator(
            &client_creds(),
            InitiatorOptions::new().flags(IscReq::DATAGRAM)
        ),
        Err(Error::NotSupported(_))
    ));
}

#[test]
fn replay_and_reordering_detection() {
    let (mut client, mut server) = established(4);
    let sig0 = client.sign(b"zero").unwrap();
    let sig1 = client.sign(b"one").unwrap();
    assert_eq!(server.verify(b"one", &sig1), Err(Error::OutOfSequence { expected: 0, found: 1 }));
    server.verify(b"zero", &sig0).unwrap();
    assert_eq!(server.verify(b"zero", &sig0), Err(Error::OutOfSequence { expected: 1, found: 0 }));
    server.verify(b"one", &sig1).unwrap();

    // Without replay/sequence detection the same messages are merely altered.
    let options = InitiatorOptions::new().flags(IscReq::CONFIDENTIALITY).environment(env(1).0);
    let (mut client, mut server) = pair_with(options, AcceptorOptions::new().environment(env(2).0));
    handshake_with(&mut client, &mut server, |_, _| {}).unwrap();
    let sig0 = client.sign(b"zero").unwrap();
    server.verify(b"zero", &sig0).unwrap();
    assert_eq!(server.verify(b"zero", &sig0), Err(Error::MessageAltered));
}

#[test]
fn a_failed_check_leaves_the_context_usable() {
    let (mut client, mut server) = established(5);
    for _ in 0..3 {
        let mut token = client.wrap(b"payload").unwrap();
        let good = token.clone();
        for at in [0, 5, 13, 16, token.len() - 1] {
            token[at] ^= 0x20;
            assert!(server.unwrap(&token).is_err(), "byte {at}");
            token[at] ^= 0x20;
        }
        assert_eq!(server.unwrap(&good).unwrap(), b"payload");
    }
    let sig = server.sign(b"m").unwrap();
    assert_eq!(client.verify(b"n", &sig), Err(Error::MessageAltered));
    assert_eq!(client.verify(b"m", &sig[..15]), Err(Error::MessageAltered));
    client.verify(b"m", &sig).unwrap();
}

#[test]
fn sealing_needs_confidentiality() {
    let options = InitiatorOptions::new().flags(IscReq::INTEGRITY).environment(env(1).0);
    let (mut client, mut server) = pair_with(options, AcceptorOptions::new().environment(env(2).0));
    handshake_with(&mut client, &mut server, |_, _| {}).unwrap();
    assert!(matches!(client.seal(&mut [1, 2, 3]), Err(Error::NotSupported(_))));
    let sig = client.sign(b"fine").unwrap();
    server.verify(b"fine", &sig).unwrap();
    // And an acceptor that requires it refuses a client that does not offer it.
    let options = InitiatorOptions::new().flags(IscReq::INTEGRITY).environment(env(1).0);
    assert!(matches!(
        run(options, server_options(2).flags(AscReq::CONFIDENTIALITY)),
        Err(Error::NotSupported(_))
    ));
}

#[test]
fn queries() {
    let (client, server) = established(6);
    let sizes = server.sizes();
    assert_eq!((sizes.max_signature, sizes.security_trailer, sizes.block_size), (16, 16, 0));
    assert_eq!(server.package_info().name, "NTLM");
    assert_eq!(server.expiry(), sspi_emu::FileTime::NEVER);
    assert_eq!(server.identity().unwrap().user, USER);
    let ret = sspi_emu::flags::AscRet(server.attributes().unwrap());
    assert!(
        ret.contains(sspi_emu::flags::AscRet::CONFIDENTIALITY | sspi_emu::flags::AscRet::INTEGRITY)
    );
    assert!(ret.contains(sspi_emu::flags::AscRet::REPLAY_DETECT));
    let ret = sspi_emu::flags::IscRet(client.attributes().unwrap());
    assert!(ret.contains(
        sspi_emu::flags::IscRet::SEQUENCE_DETECT | sspi_emu::flags::IscRet::CONFIDENTIALITY
    ));
    assert!(client.is_initiator() && !server.is_initiator());
}

#[test]
fn user_store_from_file_and_closure() {
    let dir = std::env::temp_dir().join(format!("sspi-emu-users-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("users");
    std::fs::write(&path, format!("{DOMAIN}:{USER}:{PASSWORD}\n")).unwrap();
    let store = MemoryUserStore::from_file(&path).unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    let mut client = SecurityContext::initiator(&client_creds(), client_options(1)).unwrap();
    let mut server =
        SecurityContext::acceptor(&Credentials::acceptor(store), server_options(2)).unwrap();
    handshake_with(&mut client, &mut server, |_, _| {}).unwrap();

    let lookup =
        |user: &str, _domain: &str| (user == USER).then(|| NtHash::from_password(PASSWORD));
    let mut client = SecurityContext::initiator(&client_creds(), client_options(1)).unwrap();
    let mut server =
        SecurityContext::acceptor(&Credentials::acceptor(lookup), server_options(2)).unwrap();
    handshake_with(&mut client, &mut server, |_, _| {}).unwrap();
}

#[test]
fn secrets_stay_out_of_debug_output() {
    let (client, server) = established(7);
    let creds = client_creds();
    let text =
        format!("{creds:?} {client:?} {server:?} {:?}", client.dangerous_session_key().unwrap());
    assert!(!text.contains(PASSWORD), "{text}");
    let key = client.dangerous_session_key().unwrap();
    let key_hex: String = key.dangerous_bytes().iter().map(|b| format!("{b:02x}")).collect();
    assert!(!text.contains(&key_hex) && !text.contains(&format!("{:?}", key.dangerous_bytes())));
}

/// A hostile server plants a target name and channel bindings in its CHALLENGE's AV pairs:
/// the client must not echo them into its proof (it would otherwise vouch for a service and a
/// channel it never chose), and a server that checks them must refuse.
#[test]
fn a_client_never_echoes_server_planted_target_names_or_bindings() {
    fn av(id: u16, value: &[u8]) -> Vec<u8> {
        let mut v = id.to_le_bytes().to_vec();
        v.extend(u16::try_from(value.len()).unwrap().to_le_bytes());
        v.extend(value);
        v
    }
    let spn: Vec<u8> = "HTTP/real".encode_utf16().flat_map(u16::to_le_bytes).collect();
    let tls = ChannelBindings::application(&b"tls-server-end-point:real"[..]);
    let policy = || {
        server_options(2)
            .accepted_target_names(["HTTP/real".to_owned()])
            .channel_bindings(tls.clone())
    };
    let (mut client, mut server) = pair_with(client_options(1), policy());
    let negotiate = client.step(None).unwrap().token;
    let challenge = server.step(Some(&negotiate)).unwrap().token;
    // Rebuild the CHALLENGE with the planted pairs in front of the server's own.
    let info_len = usize::from(u16::from_le_bytes([challenge[40], challenge[41]]));
    let info_off = u32::from_le_bytes(challenge[44..48].try_into().unwrap()) as usize;
    let mut info = av(9, &spn);
    info.extend(av(10, &tls.md5().unwrap()));
    info.extend(av(6, &0x0000_0004u32.to_le_bytes()));
    info.extend(&challenge[info_off..info_off + info_len]);
    let mut forged = challenge[..info_off].to_vec();
    forged.extend(&info);
    forged[40..42].copy_from_slice(&u16::try_from(info.len()).unwrap().to_le_bytes());
    forged[42..44].copy_from_slice(&u16::try_from(info.len()).unwrap().to_le_bytes());
    let authenticate = client.step(Some(&forged)).unwrap().token;
    assert!(
        authenticate.windows(spn.len()).all(|w| w != spn.as_slice()),
        "the planted target name is not in the AUTHENTICATE"
    );
    assert!(authenticate.windows(16).all(|w| w != tls.md5().unwrap()), "nor the bindings");
    // The real server sees an altered CHALLENGE (MIC) before any relay could help.
    assert!(server.step(Some(&authenticate)).is_err());
}
