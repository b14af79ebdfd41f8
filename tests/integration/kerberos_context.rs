//! Kerberos security contexts (RFC 4121, MS-KILE) with tickets from a real MIT KDC: our
//! initiator to our acceptor, mutual and not, and the acceptor's checks (replay, service name,
//! channel bindings, clock skew), each broken on purpose.

use crate::krb5_realm::{REALM, Realm, USER_PASSWORD};
use sspi_emu::flags::{AscRet, IscReq, IscRet};
use sspi_emu::kerberos::config::Krb5Config;
use sspi_emu::kerberos::credentials::{AcceptorCredentials, InitiatorCredentials};
use sspi_emu::kerberos::keytab::Keytab;
use sspi_emu::kerberos::transport::KdcClient;
use sspi_emu::kerberos::{NameType, Principal};
use sspi_emu::{
    AcceptorOptions, ChannelBindings, Credentials, Error, InitiatorOptions, Package, Password,
    SecurityContext,
};
use std::time::Duration;

pub(crate) const SERVICE: &str = "HTTP/web.example.test";

/// A realm with `alice` and the service, the service's keys in `service.keytab`.
pub(crate) fn realm_with_service(test: &str, enctypes: &[&str]) -> Option<(Realm, Keytab)> {
    let realm = Realm::start(test, enctypes)?;
    realm.add_user("alice", USER_PASSWORD);
    realm.add_service(SERVICE);
    let path = realm.dir.join("service.keytab");
    realm.export_keytab(SERVICE, &path, false);
    let keytab = Keytab::read(&path).unwrap();
    Some((realm, keytab))
}

pub(crate) fn alice_credentials(realm: &Realm) -> Credentials {
    let config = Krb5Config::load(realm.krb5_conf()).unwrap();
    let kdc = KdcClient::from_config(&config).timeout(Duration::from_secs(10));
    Credentials::kerberos(InitiatorCredentials::with_password(
        Principal::new(NameType::PRINCIPAL, &["alice"], REALM),
        Password::new(USER_PASSWORD),
        kdc,
    ))
}

pub(crate) fn service_credentials(keytab: &Keytab) -> Credentials {
    let service = Principal::parse(&format!("{SERVICE}@{REALM}"), None).unwrap();
    Credentials::kerberos_acceptor(AcceptorCredentials::new(keytab.clone(), Some(service)).unwrap())
}

fn handshake(
    client: &mut SecurityContext,
    server: &mut SecurityContext,
) -> Result<(), (bool, Error)> {
    let mut token = client.step(None).map_err(|e| (true, e))?;
    loop {
        let reply = server.step(Some(&token.token)).map_err(|e| (false, e))?;
        if reply.token.is_empty() {
            break;
        }
        token = client.step(Some(&reply.token)).map_err(|e| (true, e))?;
        if token.complete && token.token.is_empty() {
            break;
        }
    }
    Ok(())
}

#[test]
fn mutual_and_one_way_handshakes_establish_both_sides() {
    let Some((realm, keytab)) = realm_with_service("kerberos_mutual_and_one_way", &[]) else {
        return;
    };
    let alice = alice_credentials(&realm);
    let service = service_credentials(&keytab);
    for mutual in [true, false] {
        let flags = if mutual {
            IscReq::MUTUAL_AUTH | IscReq::SEQUENCE_DETECT | IscReq::REPLAY_DETECT
        } else {
            IscReq::SEQUENCE_DETECT
        };
        let mut client = SecurityContext::initiator(
            &alice,
            InitiatorOptions::new().target_name(SERVICE).flags(flags),
        )
        .unwrap();
        let mut server = SecurityContext::acceptor(&service, AcceptorOptions::new()).unwrap();
        assert_eq!(client.package(), Package::Kerberos);
        let first = client.step(None).unwrap();
        assert_eq!(first.complete, !mutual, "one-way: done after the AP-REQ");
        // RFC 2743 3.1 framing with the krb5 OID and the AP-REQ TOK_ID.
        assert_eq!(first.token[0], 0x60);
        let reply = server.step(Some(&first.token)).unwrap();
        assert!(reply.complete && server.is_established());
        if mutual {
            assert!(!reply.token.is_empty(), "mutual: an AP-REP");
            let done = client.step(Some(&reply.token)).unwrap();
            assert!(done.complete && done.token.is_empty());
        } else {
            assert!(reply.token.is_empty(), "one-way: no AP-REP");
        }
        assert!(client.is_established());
        assert_eq!(server.client_name().unwrap(), "alice@EXAMPLE.TEST");
        assert_eq!(client.client_name().unwrap(), "alice@EXAMPLE.TEST");
        let identity = server.identity().unwrap();
        assert_eq!((identity.user.as_str(), identity.domain.as_str()), ("alice", REALM));
        let client_attrs = client.attributes().unwrap();
        let server_attrs = server.attributes().unwrap();
        assert_eq!(client_attrs & IscRet::MUTUAL_AUTH.0 != 0, mutual);
        assert_eq!(server_attrs & AscRet::MUTUAL_AUTH.0 != 0, mutual);
        assert_ne!(server_attrs & AscRet::SEQUENCE_DETECT.0, 0);
        // A completed handshake takes no more tokens.
        assert!(matches!(server.step(Some(&first.token)), Err(Error::WrongState(_))));
    }
}

#[test]
fn acceptor_refuses_replay_other_service_bindings_and_skew() {
    let Some((realm, keytab)) = realm_with_service("kerberos_acceptor_refusals", &[]) else {
        return;
    };
    realm.add_service("HTTP/other.example.test");
    let alice = alice_credentials(&realm);
    let service = service_credentials(&keytab);
    let options = || InitiatorOptions::new().target_name(SERVICE).flags(IscReq::MUTUAL_AUTH);

    // A replayed AP-REQ: the second acceptor of the same credentials refuses it.
    let mut client = SecurityContext::initiator(&alice, options()).unwrap();
    let ap_req = client.step(None).unwrap().token;
    let mut first = SecurityContext::acceptor(&service, AcceptorOptions::new()).unwrap();
    first.step(Some(&ap_req)).unwrap();
    let mut second = SecurityContext::acceptor(&service, AcceptorOptions::new()).unwrap();
    assert_eq!(second.step(Some(&ap_req)).unwrap_err(), Error::Replay);
    // ... and the failed context refuses anything later.
    assert!(matches!(second.step(Some(&ap_req)), Err(Error::WrongState(_))));

    // Credentials for another service sharing the keytab refuse the ticket.
    let other = Principal::parse(&format!("HTTP/other.example.test@{REALM}"), None).unwrap();
    let mut both = keytab.clone();
    let other_path = realm.dir.join("other.keytab");
    realm.export_keytab("HTTP/other.example.test", &other_path, false);
    both.entries.extend(Keytab::read(&other_path).unwrap().entries);
    let other_creds =
        Credentials::kerberos_acceptor(AcceptorCredentials::new(both, Some(other)).unwrap());
    let mut client = SecurityContext::initiator(&alice, options()).unwrap();
    let ap_req = client.step(None).unwrap().token;
    let mut server = SecurityContext::acceptor(&other_creds, AcceptorOptions::new()).unwrap();
    assert_eq!(server.step(Some(&ap_req)).unwrap_err(), Error::WrongPrincipal);

    // Channel bindings: required by the acceptor, absent or different at the initiator.
    let tls = ChannelBindings::application(b"tls-server-end-point:abc".to_vec());
    for client_bindings in
        [None, Some(ChannelBindings::application(b"tls-server-end-point:xyz".to_vec()))]
    {
        let mut o = options();
        if let Some(b) = client_bindings {
            o = o.channel_bindings(b);
        }
        let mut client = SecurityContext::initiator(&alice, o).unwrap();
        let ap_req = client.step(None).unwrap().token;
        let mut server = SecurityContext::acceptor(
            &service,
            AcceptorOptions::new().channel_bindings(tls.clone()),
        )
        .unwrap();
        assert_eq!(server.step(Some(&ap_req)).unwrap_err(), Error::BadBindings);
    }
    // The same bindings on both sides: accepted.
    let mut client =
        SecurityContext::initiator(&alice, options().channel_bindings(tls.clone())).unwrap();
    let mut server =
        SecurityContext::acceptor(&service, AcceptorOptions::new().channel_bindings(tls)).unwrap();
    handshake(&mut client, &mut server).unwrap();

    // An acceptor whose clock is ten minutes ahead: time skew.
    let ahead = sspi_emu::Environment::deterministic(
        7,
        sspi_emu::FileTime::from_system_time(
            std::time::SystemTime::now() + Duration::from_secs(600),
        ),
    );
    let mut client = SecurityContext::initiator(&alice, options()).unwrap();
    let ap_req = client.step(None).unwrap().token;
    let mut server =
        SecurityContext::acceptor(&service, AcceptorOptions::new().environment(ahead)).unwrap();
    assert_eq!(server.step(Some(&ap_req)).unwrap_err(), Error::TimeSkew);
}

#[test]
fn initiator_refuses_a_forged_or_foreign_ap_rep() {
    let Some((realm, keytab)) = realm_with_service("kerberos_initiator_ap_rep", &[]) else {
        return;
    };
    let alice = alice_credentials(&realm);
    let service = service_credentials(&keytab);
    let options = || InitiatorOptions::new().target_name(SERVICE).flags(IscReq::MUTUAL_AUTH);
    // The AP-REP of another exchange (another ticket session key? the same ticket, but
    // another authenticator time) is refused.
    let mut c1 = SecurityContext::initiator(&alice, options()).unwrap();
    let mut c2 = SecurityContext::initiator(&alice, options()).unwrap();
    let r1 = c1.step(None).unwrap().token;
    std::thread::sleep(Duration::from_millis(2));
    let r2 = c2.step(None).unwrap().token;
    let mut s1 = SecurityContext::acceptor(&service, AcceptorOptions::new()).unwrap();
    let mut s2 = SecurityContext::acceptor(&service, AcceptorOptions::new()).unwrap();
    let rep1 = s1.step(Some(&r1)).unwrap().token;
    let rep2 = s2.step(Some(&r2)).unwrap().token;
    assert_ne!(rep1, rep2);
    assert_eq!(c1.step(Some(&rep2)).unwrap_err(), Error::MessageAltered);
    assert!(c2.step(Some(&rep2)).is_ok());
    // A target without a name is refused before any ticket is asked for.
    let mut nameless = SecurityContext::initiator(&alice, InitiatorOptions::new()).unwrap();
    assert!(matches!(nameless.step(None), Err(Error::TargetUnknown(_))));
    // DCE style is refused clearly.
    assert!(matches!(
        SecurityContext::initiator(&alice, InitiatorOptions::new().flags(IscReq(0x200))),
        Err(Error::NotSupported(_))
    ));
}

/// An established pair (mutual, replay and sequence detection) with a ticket from the realm.
fn established_pair(realm: &Realm, keytab: &Keytab) -> (SecurityContext, SecurityContext) {
    let alice = alice_credentials(realm);
    let service = service_credentials(keytab);
    let flags = IscReq::MUTUAL_AUTH
        | IscReq::REPLAY_DETECT
        | IscReq::SEQUENCE_DETECT
        | IscReq::CONFIDENTIALITY
        | IscReq::INTEGRITY;
    let mut client = SecurityContext::initiator(
        &alice,
        InitiatorOptions::new().target_name(SERVICE).flags(flags),
    )
    .unwrap();
    let mut server = SecurityContext::acceptor(&service, AcceptorOptions::new()).unwrap();
    handshake(&mut client, &mut server).unwrap();
    (client, server)
}

#[test]
fn messages_both_ways_with_replays_and_tampering_refused() {
    let Some((realm, keytab)) = realm_with_service("kerberos_messages", &[]) else { return };
    let (mut client, mut server) = established_pair(&realm, &keytab);
    let sizes = client.sizes();
    // aes256-sha1 (the realm's first enctype): Windows' values.
    assert_eq!((sizes.max_signature, sizes.block_size, sizes.security_trailer), (28, 1, 76));
    for client_sends in [true, false] {
        let (a, b) =
            if client_sends { (&mut client, &mut server) } else { (&mut server, &mut client) };
        for len in [0usize, 1, 15, 16, 17, 100, 4096] {
            let msg: Vec<u8> = (0..len).map(|i| i.to_le_bytes()[0].wrapping_mul(7)).collect();
            // MIC.
            let sig = a.sign(&msg).unwrap();
            assert_eq!(sig.len(), 28);
            assert_eq!(sig[..2], [0x04, 0x04], "RFC 4121 4.2.6.1 TOK_ID");
            b.verify(&msg, &sig).unwrap();
            // Wrap (GSS, contiguous).
            let token = a.wrap(&msg).unwrap();
            assert_eq!(token[..2], [0x05, 0x04], "RFC 4121 4.2.6.2 TOK_ID");
            assert_eq!(b.unwrap(&token).unwrap(), msg);
            // EncryptMessage's split form: data encrypted in place, the trailer apart.
            let mut data = msg.clone();
            let trailer = a.seal(&mut data).unwrap();
            assert_eq!(trailer.len(), 60);
            if len > 0 {
                assert_ne!(data, msg);
            }
            b.unseal(&mut data, &trailer).unwrap();
            assert_eq!(data, msg);
            // A replayed MIC: refused, and the next genuine one still verifies.
            assert!(matches!(b.verify(&msg, &sig), Err(Error::OutOfSequence { .. })));
            let again = a.sign(&msg).unwrap();
            b.verify(&msg, &again).unwrap();
        }
    }
    // Every bit of a MIC and of a Wrap token flipped is refused; the context carries on.
    let msg = b"tamper with me".to_vec();
    let sig = client.sign(&msg).unwrap();
    for bit in 0..sig.len() * 8 {
        let mut bad = sig.to_vec();
        bad[bit / 8] ^= 1 << (bit % 8);
        assert!(server.verify(&msg, &bad).is_err(), "MIC bit {bit}");
    }
    server.verify(&msg, &sig).unwrap();
    let token = client.wrap(&msg).unwrap();
    for bit in 0..token.len() * 8 {
        let mut bad = token.clone();
        bad[bit / 8] ^= 1 << (bit % 8);
        assert!(server.unwrap(&bad).is_err(), "wrap bit {bit}");
    }
    assert_eq!(server.unwrap(&token).unwrap(), msg);
    // Our own token reflected back is refused (the SentByAcceptor flag).
    let own = server.sign(&msg).unwrap();
    assert!(server.verify(&msg, &own).is_err());
}

#[test]
fn export_and_import_at_every_stage_continue_byte_for_byte() {
    use sspi_emu::export::{ExportKey, ExportOptions, Protection};
    use sspi_emu::{Environment, FileTime, ImportOptions};
    let Some((realm, keytab)) = realm_with_service("kerberos_export", &[]) else { return };
    let alice = alice_credentials(&realm);
    let service = service_credentials(&keytab);
    let key = ExportKey::from_bytes([9; 32]);
    let export = ExportOptions::new().protection(Protection::Key(key.clone()));
    let import = |creds: Option<&Credentials>, env: Environment| {
        let o = ImportOptions::new().protection(Protection::Key(key.clone())).environment(env);
        match creds {
            Some(c) => o.credentials(c.clone()),
            None => o,
        }
    };
    let now = FileTime::from_system_time(std::time::SystemTime::now());
    let env = |seed| Environment::deterministic(seed, now);
    let flags = IscReq::MUTUAL_AUTH | IscReq::REPLAY_DETECT | IscReq::SEQUENCE_DETECT;
    let new_client = || {
        SecurityContext::initiator(
            &alice,
            InitiatorOptions::new().target_name(SERVICE).flags(flags).environment(env(1)),
        )
        .unwrap()
    };
    let new_server =
        || SecurityContext::acceptor(&service, AcceptorOptions::new().environment(env(2))).unwrap();

    // Initiator and acceptor before their first token: moved, then the handshake runs.
    let mut c = new_client();
    let moved = c.export(0, &export).unwrap();
    assert!(moved.identity.is_none());
    assert!(matches!(
        SecurityContext::import(moved.packed.as_bytes(), &import(None, env(1))),
        Err(Error::UnknownCredentials(_))
    ));
    let mut c =
        SecurityContext::import(moved.packed.as_bytes(), &import(Some(&alice), env(1))).unwrap();
    let mut s = new_server();
    let moved = s.export(0, &export).unwrap();
    let mut s =
        SecurityContext::import(moved.packed.as_bytes(), &import(Some(&service), env(2))).unwrap();
    // Initiator waiting for the AP-REP: moved with DELETE_OLD, the old handle is dead.
    let ap_req = c.step(None).unwrap().token;
    let moved = c.export(2, &export).unwrap();
    assert!(matches!(c.step(None), Err(Error::InvalidHandle)));
    let mut c = SecurityContext::import(moved.packed.as_bytes(), &import(None, env(1))).unwrap();
    let ap_rep = s.step(Some(&ap_req)).unwrap().token;
    c.step(Some(&ap_rep)).unwrap();
    assert!(c.is_established() && s.is_established());

    // Established, with traffic behind: two copies of each side continue identically.
    for _ in 0..3 {
        let m = c.wrap(b"before").unwrap();
        s.unwrap(&m).unwrap();
    }
    let c_blob = c.export(0, &export).unwrap();
    let s_blob = s.export(0, &export).unwrap();
    let identity = s_blob.identity.clone().unwrap();
    assert_eq!(
        (identity.package.as_str(), identity.name().as_str()),
        ("Kerberos", "EXAMPLE.TEST\\alice")
    );
    let mut c2 = SecurityContext::import(c_blob.packed.as_bytes(), &import(None, env(1))).unwrap();
    let mut s2 =
        SecurityContext::import(s_blob.packed.as_bytes(), &import(None, env(2)).identity(identity))
            .unwrap();
    assert_eq!(s2.client_name().unwrap(), "alice@EXAMPLE.TEST");
    assert_eq!(c.sequence_numbers().unwrap(), c2.sequence_numbers().unwrap());
    // The MIC (no randomness) is byte-identical from the original and the copy.
    let mic = c.sign(b"after").unwrap();
    assert_eq!(c2.sign(b"after").unwrap(), mic);
    s.verify(b"after", &mic).unwrap();
    s2.verify(b"after", &mic).unwrap();
    // The imported acceptor refuses the replay the original would.
    assert!(s2.verify(b"after", &mic).is_err());
    let from_server = s2.wrap(b"reply").unwrap();
    assert_eq!(c2.unwrap(&from_server).unwrap(), b"reply");
    // A blob under another key, or damaged, is refused.
    let other = ImportOptions::new().protection(Protection::Key(ExportKey::from_bytes([8; 32])));
    assert_eq!(
        SecurityContext::import(c_blob.packed.as_bytes(), &other).unwrap_err(),
        Error::WrongKey
    );
    // RESET_NEW: an initiator that starts over, with its credentials.
    let reset = c.export(1, &export).unwrap();
    assert!(reset.identity.is_none());
    let mut fresh =
        SecurityContext::import(reset.packed.as_bytes(), &import(Some(&alice), env(3))).unwrap();
    assert!(!fresh.is_established());
    let mut s3 = new_server();
    handshake(&mut fresh, &mut s3).unwrap();
    // An acceptor imported before its AP-REQ shares the credentials' replay cache.
    let blob = new_server().export(0, &export).unwrap();
    // (Another seed: the same seed and clock would make the same authenticator, which the
    // cache rightly takes for a replay of the first client's.)
    let mut c4 = SecurityContext::initiator(
        &alice,
        InitiatorOptions::new().target_name(SERVICE).flags(flags).environment(env(4)),
    )
    .unwrap();
    let ap_req = c4.step(None).unwrap().token;
    let mut first = new_server();
    first.step(Some(&ap_req)).unwrap();
    let mut imported =
        SecurityContext::import(blob.packed.as_bytes(), &import(Some(&service), env(2))).unwrap();
    assert_eq!(imported.step(Some(&ap_req)).unwrap_err(), Error::Replay);
}

/// Every bit of an AP-REQ and of an AP-REP flipped is refused, and the contexts that refused
/// them stay refused (a fresh one accepts the genuine token).
#[test]
fn every_bit_of_ap_req_and_ap_rep_flipped_is_refused() {
    let Some((realm, keytab)) = realm_with_service("kerberos_ap_tamper", &[]) else { return };
    let alice = alice_credentials(&realm);
    // A replay cache large enough for every accepted variant (none should be).
    let service = service_credentials(&keytab);
    let mut client = SecurityContext::initiator(
        &alice,
        InitiatorOptions::new().target_name(SERVICE).flags(IscReq::MUTUAL_AUTH),
    )
    .unwrap();
    let ap_req = client.step(None).unwrap().token;
    let mut accepted = Vec::new();
    for bit in 0..ap_req.len() * 8 {
        let mut bad = ap_req.clone();
        bad[bit / 8] ^= 1 << (bit % 8);
        let mut server = SecurityContext::acceptor(&service, AcceptorOptions::new()).unwrap();
        if server.step(Some(&bad)).is_ok() {
            accepted.push(bit);
        }
    }
    // The one field nothing can bind: the ticket's sname name-type, sent in the clear and
    // advisory (RFC 4120 section 6.2; MIT and Windows compare names without it). Its INTEGER
    // content byte is 7 bytes before the first component (`... a0 03 02 01 NT a1 LL 30 LL 1b
    // 04 "HTTP"`): a flip there that names another service type is still this service.
    let http = ap_req.windows(4).position(|w| w == b"HTTP").unwrap();
    let name_type = http - 7;
    assert_eq!(ap_req[name_type - 4..name_type], [0xa0, 0x03, 0x02, 0x01]);
    let outside: Vec<_> = accepted.iter().filter(|b| *b / 8 != name_type).collect();
    assert!(outside.is_empty(), "AP-REQ bits accepted when flipped: {outside:?}");
    // (The accepted name-type variant had the genuine authenticator, now in the replay cache:
    // fresh credentials accept the genuine token.)
    let fresh = service_credentials(&keytab);
    let mut server = SecurityContext::acceptor(&fresh, AcceptorOptions::new()).unwrap();
    let ap_rep = server.step(Some(&ap_req)).unwrap().token;
    let mut accepted = Vec::new();
    for bit in 0..ap_rep.len() * 8 {
        let mut bad = ap_rep.clone();
        bad[bit / 8] ^= 1 << (bit % 8);
        let export = sspi_emu::export::ExportOptions::new().protection(
            sspi_emu::export::Protection::Key(sspi_emu::export::ExportKey::from_bytes([1; 32])),
        );
        let blob = client.export(0, &export).unwrap();
        let import = sspi_emu::ImportOptions::new().protection(sspi_emu::export::Protection::Key(
            sspi_emu::export::ExportKey::from_bytes([1; 32]),
        ));
        let mut copy = SecurityContext::import(blob.packed.as_bytes(), &import).unwrap();
        if copy.step(Some(&bad)).is_ok() {
            accepted.push(bit);
        }
    }
    assert!(accepted.is_empty(), "AP-REP bits accepted when flipped: {accepted:?}");
    client.step(Some(&ap_rep)).unwrap();
}

/// A ticket whose PAC carries a Windows logon (MS-PAC 2.5): the acceptor verifies its server
/// signature and client info, exposes the SIDs, and they travel with an exported context. A
/// PAC signed with another key, or made for another client, is refused.
#[test]
fn pac_logon_info_is_verified_exposed_and_exported() {
    use sspi_emu::ImportOptions;
    use sspi_emu::env::{Environment, FileTime};
    use sspi_emu::export::{ExportKey, ExportOptions, Protection};
    use sspi_emu::kerberos::keytab::KeytabEntry;
    use sspi_emu::kerberos::pac::{self, LogonInfo, Sid};
    use sspi_emu::kerberos::{EncType, Key, testing::issue_ticket};
    let now = std::time::SystemTime::now();
    let unix = u32::try_from(now.duration_since(std::time::UNIX_EPOCH).unwrap().as_secs()).unwrap();
    let env = |seed| Environment::deterministic(seed, FileTime::from_system_time(now));
    let service = Principal::parse(&format!("{SERVICE}@{REALM}"), None).unwrap();
    let alice = Principal::new(NameType::PRINCIPAL, &["alice"], REALM);
    let service_key = Key::new(EncType::AES256_CTS_HMAC_SHA1_96, &[7; 32]);
    let krbtgt_key = Key::new(EncType::AES256_CTS_HMAC_SHA1_96, &[8; 32]);
    let domain: Sid = "S-1-5-21-1-2-3".parse().unwrap();
    let logon = LogonInfo {
        user_name: "alice".into(),
        full_name: "Alice".into(),
        domain_name: "EXAMPLE".into(),
        logon_server: "DC1".into(),
        domain_sid: domain.clone(),
        user_sid: domain.with_rid(1105).unwrap(),
        primary_group_sid: domain.with_rid(513).unwrap(),
        group_sids: vec![domain.with_rid(513).unwrap(), domain.with_rid(512).unwrap()],
        group_attributes: vec![7, 7],
        extra_sids: Vec::new(),
        extra_sid_attributes: Vec::new(),
        resource_group_sids: Vec::new(),
        resource_group_attributes: Vec::new(),
        logon_time: 0,
        user_flags: 0,
    };
    let keytab = Keytab {
        entries: vec![KeytabEntry {
            principal: service.clone(),
            timestamp: unix,
            kvno: 3,
            key: service_key.clone(),
        }],
    };
    let start = unix - 60;
    let run = |pac_client: &str, signing_key: &Key| {
        let pac = pac::dangerous_build_for_tests(
            Some(&logon),
            pac_client,
            start,
            signing_key,
            &krbtgt_key,
        )
        .unwrap();
        let ad = [pac::dangerous_if_relevant_for_tests(&pac)];
        let ticket = issue_ticket(
            &alice,
            &service,
            &service_key,
            3,
            EncType::AES256_CTS_HMAC_SHA1_96,
            start,
            3600,
            &ad,
            &env(5),
        )
        .unwrap();
        let kdc = KdcClient::from_config(
            &Krb5Config::parse("[libdefaults]\n default_realm = EXAMPLE.TEST\n", "t").unwrap(),
        );
        let creds = Credentials::kerberos(InitiatorCredentials::with_tickets(
            alice.clone(),
            vec![ticket],
            kdc,
        ));
        let mut client = SecurityContext::initiator(
            &creds,
            InitiatorOptions::new()
                .target_name(SERVICE)
                .flags(IscReq::MUTUAL_AUTH)
                .environment(env(6)),
        )
        .unwrap();
        let acceptor = Credentials::kerberos_acceptor(
            AcceptorCredentials::new(keytab.clone(), Some(service.clone())).unwrap(),
        );
        let mut server =
            SecurityContext::acceptor(&acceptor, AcceptorOptions::new().environment(env(7)))
                .unwrap();
        let ap_req = client.step(None).unwrap().token;
        server.step(Some(&ap_req)).map(|_| server)
    };
    let server = run("alice", &service_key).unwrap();
    let info = server.logon_info().unwrap().expect("a logon info");
    assert_eq!(info.user_sid.to_string(), "S-1-5-21-1-2-3-1105");
    assert_eq!(info.domain_name, "EXAMPLE");
    let mut server = server;
    let key = ExportKey::from_bytes([4; 32]);
    let blob =
        server.export(0, &ExportOptions::new().protection(Protection::Key(key.clone()))).unwrap();
    let identity = blob.identity.unwrap();
    assert_eq!(identity.sids, ["S-1-5-21-1-2-3-1105", "S-1-5-21-1-2-3-513", "S-1-5-21-1-2-3-512"]);
    let imported = SecurityContext::import(
        blob.packed.as_bytes(),
        &ImportOptions::new().protection(Protection::Key(key)).identity(identity),
    )
    .unwrap();
    assert_eq!(imported.logon_info().unwrap(), Some(info));
    // A PAC whose server signature is another key's, or made for bob: refused.
    let other = Key::new(EncType::AES256_CTS_HMAC_SHA1_96, &[9; 32]);
    assert_eq!(run("alice", &other).err(), Some(Error::MessageAltered));
    assert_eq!(run("bob", &service_key).err(), Some(Error::MessageAltered));
}

/// The Windows-shaped layer with Kerberos: handles, SecBuffer lists, every message call
/// (EncryptMessage's token and data buffers, DecryptMessage's SECBUFFER_STREAM), the sizes
/// Windows reports, and export/import of handles.
#[test]
fn kerberos_over_handles() {
    use sspi_emu::sspi::*;
    use sspi_emu::{FileTime, SecurityStatus as S};
    let Some((realm, keytab)) = realm_with_service("kerberos_over_handles", &[]) else {
        return;
    };
    let (mut ccred, mut scred, mut t) =
        (SecHandle::default(), SecHandle::default(), FileTime::default());
    let alice = alice_credentials(&realm);
    let st = acquire_credentials_handle(
        None,
        "Kerberos",
        SECPKG_CRED_OUTBOUND,
        Some(&alice),
        &mut ccred,
        &mut t,
    );
    assert_eq!(st, S::SEC_E_OK);
    let service = service_credentials(&keytab);
    let st = acquire_credentials_handle(
        None,
        "kerberos",
        SECPKG_CRED_INBOUND,
        Some(&service),
        &mut scred,
        &mut t,
    );
    assert_eq!(st, S::SEC_E_OK);
    let (mut c, mut s) = (SecHandle::default(), SecHandle::default());
    let (mut attrs, mut expiry) = (0, FileTime::default());
    // ISC into a caller buffer of cbMaxToken.
    let mut token = vec![0u8; 48_000];
    let mut out = [SecBuffer::new(SECBUFFER_TOKEN, &mut token)];
    let flags = IscReq::MUTUAL_AUTH | IscReq::CONFIDENTIALITY | IscReq::REPLAY_DETECT;
    let st = initialize_security_context(
        Some(&ccred),
        None,
        Some(SERVICE),
        flags,
        0,
        None,
        &mut c,
        &mut out,
        &mut attrs,
        &mut expiry,
    );
    assert_eq!(st, S::SEC_I_CONTINUE_NEEDED);
    let ap_req = out[0].as_slice().to_vec();
    // ASC allocating its output.
    let mut inputs = [SecBuffer::read_only(SECBUFFER_TOKEN, &ap_req)];
    let mut out = [SecBuffer::empty(SECBUFFER_TOKEN)];
    let st = accept_security_context(
        Some(&scred),
        None,
        Some(&mut inputs),
        sspi_emu::flags::AscReq::ALLOCATE_MEMORY,
        0,
        &mut s,
        &mut out,
        &mut attrs,
        &mut expiry,
    );
    assert_eq!(st, S::SEC_E_OK);
    let ap_rep = out[0].take_allocated().unwrap();
    let ap_rep_bytes = ap_rep.as_slice().to_vec();
    assert_eq!(free_context_buffer(ap_rep), S::SEC_E_OK);
    assert!(
        expiry.0 > FileTime::from_system_time(std::time::SystemTime::now()).0,
        "the ticket's end"
    );
    let mut inputs = [SecBuffer::read_only(SECBUFFER_TOKEN, &ap_rep_bytes)];
    let mut empty = [0u8; 16];
    let mut out = [SecBuffer::new(SECBUFFER_TOKEN, &mut empty)];
    let old = c;
    let st = initialize_security_context(
        Some(&ccred),
        Some(old),
        Some(SERVICE),
        flags,
        0,
        Some(&mut inputs),
        &mut c,
        &mut out,
        &mut attrs,
        &mut expiry,
    );
    assert_eq!(st, S::SEC_E_OK);
    // Sizes: Windows' for aes-sha1.
    let mut value = None;
    assert_eq!(query_context_attributes(&c, SECPKG_ATTR_SIZES, &mut value), S::SEC_E_OK);
    assert!(
        matches!(value.take(), Some(ContextAttribute::Sizes(z)) if (z.max_signature, z.security_trailer) == (28, 76))
    );
    assert_eq!(query_context_attributes(&s, SECPKG_ATTR_NAMES, &mut value), S::SEC_E_OK);
    assert!(matches!(value.take(), Some(ContextAttribute::Names(n)) if n == "alice@EXAMPLE.TEST"));
    // EncryptMessage into a trailer of cbSecurityTrailer, data in place; DecryptMessage.
    let mut data = *b"over the wire, in place";
    let mut trailer = [0u8; 76];
    let mut msg =
        [SecBuffer::new(SECBUFFER_TOKEN, &mut trailer), SecBuffer::new(SECBUFFER_DATA, &mut data)];
    assert_eq!(encrypt_message(&c, 0, &mut msg, 0), S::SEC_E_OK);
    assert_eq!(msg[0].len(), 60, "narrowed to what EncryptMessage wrote");
    let sealed_trailer = msg[0].as_slice().to_vec();
    let mut trailer = sealed_trailer.clone();
    let mut msg =
        [SecBuffer::new(SECBUFFER_TOKEN, &mut trailer), SecBuffer::new(SECBUFFER_DATA, &mut data)];
    let mut qop = 9;
    assert_eq!(decrypt_message(&s, &mut msg, 0, &mut qop), S::SEC_E_OK);
    assert_eq!(msg[1].as_slice(), b"over the wire, in place");
    // SECBUFFER_STREAM: the whole token in one buffer, the data buffer pointed at the plaintext.
    let mut data = *b"streamed";
    let mut trailer = [0u8; 76];
    let mut msg =
        [SecBuffer::new(SECBUFFER_TOKEN, &mut trailer), SecBuffer::new(SECBUFFER_DATA, &mut data)];
    assert_eq!(encrypt_message(&s, 0, &mut msg, 0), S::SEC_E_OK);
    let mut stream = [msg[0].as_slice(), msg[1].as_slice()].concat();
    let mut msg = [SecBuffer::new(SECBUFFER_STREAM, &mut stream), SecBuffer::empty(SECBUFFER_DATA)];
    assert_eq!(decrypt_message(&c, &mut msg, 0, &mut qop), S::SEC_E_OK);
    assert_eq!(msg[1].as_slice(), b"streamed");
    // SECPKG_ATTR_SESSION_KEY: the same key on both sides (the acceptor's subkey).
    let mut other = None;
    assert_eq!(query_context_attributes(&c, SECPKG_ATTR_SESSION_KEY, &mut value), S::SEC_E_OK);
    assert_eq!(query_context_attributes(&s, SECPKG_ATTR_SESSION_KEY, &mut other), S::SEC_E_OK);
    match (value.take(), other.take()) {
        (
            Some(ContextAttribute::KerberosSessionKey(a)),
            Some(ContextAttribute::KerberosSessionKey(b)),
        ) => {
            assert!(a.ct_eq(&b));
            assert_eq!(a.dangerous_bytes().len(), 32, "aes256");
        }
        x => panic!("{x:?}"),
    }
    assert_eq!(query_context_attributes(&s, SECPKG_ATTR_LIFESPAN, &mut value), S::SEC_E_OK);
    assert!(matches!(value.take(), Some(ContextAttribute::Lifespan(_, end)) if end == expiry));
    // SECQOP_WRAP_NO_ENCRYPT: the data stays in the clear, its checksum in the token, and
    // DecryptMessage says so; a change to the data is caught.
    let mut data = *b"in the clear";
    let mut token = [0u8; 28];
    let mut msg =
        [SecBuffer::new(SECBUFFER_TOKEN, &mut token), SecBuffer::new(SECBUFFER_DATA, &mut data)];
    assert_eq!(encrypt_message(&c, SECQOP_WRAP_NO_ENCRYPT, &mut msg, 0), S::SEC_E_OK);
    assert_eq!(msg[1].as_slice(), b"in the clear");
    let signed = msg[0].as_slice().to_vec();
    let mut bad = *b"in the clean";
    let mut t = signed.clone();
    let mut msg =
        [SecBuffer::new(SECBUFFER_TOKEN, &mut t), SecBuffer::new(SECBUFFER_DATA, &mut bad)];
    assert_eq!(decrypt_message(&s, &mut msg, 0, &mut qop), S::SEC_E_MESSAGE_ALTERED);
    let mut t = signed.clone();
    let mut msg =
        [SecBuffer::new(SECBUFFER_TOKEN, &mut t), SecBuffer::new(SECBUFFER_DATA, &mut data)];
    assert_eq!(decrypt_message(&s, &mut msg, 0, &mut qop), S::SEC_E_OK);
    assert_eq!(qop, SECQOP_WRAP_NO_ENCRYPT);
    // MakeSignature / VerifySignature, and a replay.
    let payload = *b"signed";
    let mut sig = [0u8; 28];
    let mut msg =
        [SecBuffer::read_only(SECBUFFER_DATA, &payload), SecBuffer::new(SECBUFFER_TOKEN, &mut sig)];
    assert_eq!(make_signature(&c, 0, &mut msg, 0), S::SEC_E_OK);
    assert_eq!(verify_signature(&s, &mut msg, 0, &mut qop), S::SEC_E_OK);
    assert_eq!(verify_signature(&s, &mut msg, 0, &mut qop), S::SEC_E_OUT_OF_SEQUENCE);
    let mut small = [0u8; 16];
    let mut msg = [
        SecBuffer::read_only(SECBUFFER_DATA, &payload),
        SecBuffer::new(SECBUFFER_TOKEN, &mut small),
    ];
    assert_eq!(make_signature(&c, 0, &mut msg, 0), S::SEC_E_BUFFER_TOO_SMALL);
    for h in [c, s] {
        assert_eq!(delete_security_context(&h), S::SEC_E_OK);
    }
    for h in [ccred, scred] {
        assert_eq!(free_credentials_handle(&h), S::SEC_E_OK);
    }
}
