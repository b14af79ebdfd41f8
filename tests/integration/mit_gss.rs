//! Kerberos contexts against MIT krb5's GSS-API (Debian `python3-gssapi`, driven through
//! `tests/peers/krb5_peer.py`) with a real MIT KDC, for every enctype: MIT's initiator (after
//! `kinit`) to our acceptor, and our initiator to MIT's acceptor (keytab).

use crate::gss_ntlmssp::{PYTHON, Peer};
use crate::krb5_realm::{REALM, Realm, USER_PASSWORD};
use sspi_emu::flags::IscReq;
use sspi_emu::kerberos::config::Krb5Config;
use sspi_emu::kerberos::credentials::{AcceptorCredentials, InitiatorCredentials};
use sspi_emu::kerberos::kdc::RequestOptions;
use sspi_emu::kerberos::keytab::Keytab;
use sspi_emu::kerberos::transport::KdcClient;
use sspi_emu::kerberos::{EncType, NameType, Principal};
use sspi_emu::{AcceptorOptions, Credentials, InitiatorOptions, Password, SecurityContext};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/peers/krb5_peer.py");
const SERVICE: &str = "HTTP/web.example.test";
const HOSTBASED: &str = "HTTP@web.example.test";

/// Every enctype of part 1, with its MIT name.
pub(crate) const ENCTYPES: [(EncType, &str); 5] = [
    (EncType::AES128_CTS_HMAC_SHA1_96, "aes128-cts-hmac-sha1-96"),
    (EncType::AES256_CTS_HMAC_SHA1_96, "aes256-cts-hmac-sha1-96"),
    (EncType::AES128_CTS_HMAC_SHA256_128, "aes128-cts-hmac-sha256-128"),
    (EncType::AES256_CTS_HMAC_SHA384_192, "aes256-cts-hmac-sha384-192"),
    (EncType::RC4_HMAC, "arcfour-hmac"),
];

/// Whether python3-gssapi imports (the realm tools are checked by [`Realm::start`]).
fn python_gssapi_ready(test: &str) -> bool {
    static WHY: OnceLock<Option<String>> = OnceLock::new();
    let why = WHY.get_or_init(|| {
        match Command::new(PYTHON).args(["-c", "import gssapi.raw"]).stdin(Stdio::null()).output() {
            Ok(out) if out.status.success() => None,
            Ok(out) => Some(format!(
                "`import gssapi` failed (Debian: python3-gssapi): {}",
                String::from_utf8_lossy(&out.stderr).trim()
            )),
            Err(e) => Some(format!("cannot run {PYTHON}: {e}")),
        }
    });
    match why {
        None => true,
        Some(why) => {
            crate::driver::missing_peer(test, why);
            false
        }
    }
}

/// A realm whose only enctype is `name`, with `alice` (whose TGT is in the realm's default
/// ccache, from `kinit`) and the service (its keys in the realm's default keytab).
fn realm_for(test: &str, etype: EncType, name: &str) -> Option<(Realm, Keytab)> {
    if !python_gssapi_ready(test) {
        return None;
    }
    let supported = format!("{name}:normal");
    // MIT 1.20 issues rc4 session keys only with `allow_rc4` (it calls rc4 DEPRECATED).
    let extra = if etype == EncType::RC4_HMAC { "allow_rc4 = true" } else { "" };
    let realm = Realm::start_with(test, &[&supported], extra)?;
    realm.add_user("alice", USER_PASSWORD);
    realm.add_service(SERVICE);
    realm.export_keytab(SERVICE, &realm.keytab(), false);
    realm.kinit_password("alice", USER_PASSWORD, &realm.ccache());
    let keytab = Keytab::read(realm.keytab()).unwrap();
    Some((realm, keytab))
}

fn our_acceptor(keytab: &Keytab) -> SecurityContext {
    let service = Principal::parse(&format!("{SERVICE}@{REALM}"), None).unwrap();
    let creds = Credentials::kerberos_acceptor(
        AcceptorCredentials::new(keytab.clone(), Some(service)).unwrap(),
    );
    SecurityContext::acceptor(&creds, AcceptorOptions::new()).unwrap()
}

fn our_initiator(realm: &Realm, etype: EncType, flags: IscReq) -> SecurityContext {
    let config = Krb5Config::load(realm.krb5_conf()).unwrap();
    let options = RequestOptions { etypes: vec![etype], ..RequestOptions::default() };
    let kdc = KdcClient::from_config(&config).timeout(Duration::from_secs(10)).options(options);
    let creds = Credentials::kerberos(InitiatorCredentials::with_password(
        Principal::new(NameType::PRINCIPAL, &["alice"], REALM),
        Password::new(USER_PASSWORD),
        kdc,
    ));
    SecurityContext::initiator(&creds, InitiatorOptions::new().target_name(SERVICE).flags(flags))
        .unwrap()
}

/// MIT's initiator (mutual, replay, sequence, conf, integ) to our acceptor.
fn mit_to_us(realm: &Realm, keytab: &Keytab) -> (Peer, SecurityContext) {
    let mut peer = Peer::script("mit client", SCRIPT, &["client", HOSTBASED], &realm.env());
    let mut server = our_acceptor(keytab);
    let ap_req = peer.token();
    let reply = server.step(Some(&ap_req)).unwrap_or_else(|e| {
        panic!("our acceptor refused MIT's AP-REQ: {e}\n{}", peer.diagnostics(Duration::ZERO))
    });
    assert!(reply.complete);
    assert!(!reply.token.is_empty(), "MIT asks for mutual authentication: an AP-REP");
    peer.send_token(&reply.token);
    let info = peer.established();
    assert_eq!(info.str("target_name"), format!("{SERVICE}@{REALM}"));
    assert!(info.has_flag("mutual_authentication"));
    (peer, server)
}

/// Our initiator to MIT's acceptor.
fn us_to_mit(realm: &Realm, etype: EncType) -> (Peer, SecurityContext) {
    let mut peer = Peer::script("mit server", SCRIPT, &["server"], &realm.env());
    let flags = IscReq::MUTUAL_AUTH
        | IscReq::SEQUENCE_DETECT
        | IscReq::REPLAY_DETECT
        | IscReq::CONFIDENTIALITY
        | IscReq::INTEGRITY;
    let mut client = our_initiator(realm, etype, flags);
    let ap_req = client.step(None).unwrap();
    assert!(!ap_req.complete);
    peer.send_token(&ap_req.token);
    let ap_rep = peer.token();
    let done = client.step(Some(&ap_rep)).unwrap_or_else(|e| {
        panic!("our initiator refused MIT's AP-REP: {e}\n{}", peer.diagnostics(Duration::ZERO))
    });
    assert!(done.complete && done.token.is_empty());
    let info = peer.established();
    assert_eq!(info.str("initiator_name"), format!("alice@{REALM}"));
    (peer, client)
}

/// MIC and Wrap tokens both ways between MIT and `ours`: MIT's tokens verified and
/// unwrapped by us, ours by MIT, in each form (MIC, contiguous Wrap, integrity-only Wrap from
/// MIT, and our `EncryptMessage` split form sent as the token it is a cut of).
///
/// The split form of an rc4-hmac context is the DCE-style token (MS-KILE 3.4.5.4.1), which is
/// not a cut of a plain RFC 4757 Wrap token: `split` is false there and that form is left
/// out (the plain rc4 split form, with a padding buffer, is not implemented: see `manual`).
fn messages_both_ways(peer: &mut Peer, ours: &mut SecurityContext, name: &str, split: bool) {
    for len in [0usize, 1, 16, 33, 1000] {
        let msg: Vec<u8> =
            (0..len).map(|i| i.to_le_bytes()[0].wrapping_mul(13).wrapping_add(1)).collect();
        let mic = peer.mic(&msg);
        ours.verify(&msg, &mic).unwrap_or_else(|e| panic!("{name}: MIT's MIC: {e}"));
        let token = peer.wrap(&msg);
        assert_eq!(ours.unwrap(&token).unwrap(), msg, "{name}: MIT's wrap");
        let token = peer.command(&format!("WRAPI {}", crate::driver::to_hex(&msg))).unwrap();
        assert_eq!(ours.unwrap(&token).unwrap(), msg, "{name}: MIT's integrity-only wrap");
        let sig = ours.sign(&msg).unwrap();
        peer.verify(&sig, &msg).unwrap_or_else(|e| panic!("{name}: our MIC: {e}"));
        let token = ours.wrap(&msg).unwrap();
        assert_eq!(peer.unwrap(&token).unwrap(), msg, "{name}: our wrap");
        let sealed =
            peer.command(&format!("SEALED {}", crate::driver::to_hex(&ours.wrap(&msg).unwrap())));
        assert_eq!(sealed.unwrap(), [1], "{name}: our wrap is encrypted");
        let token = ours.wrap_integrity_only(&msg).unwrap();
        let sealed = peer.command(&format!("SEALED {}", crate::driver::to_hex(&token)));
        assert_eq!(sealed.unwrap(), [0], "{name}: our integrity-only wrap is not encrypted");
        let token = ours.wrap_integrity_only(&msg).unwrap();
        assert_eq!(peer.unwrap(&token).unwrap(), msg, "{name}: our integrity-only wrap");
        if split {
            let mut data = msg.clone();
            let trailer = ours.seal(&mut data).unwrap();
            let mut whole = trailer.to_vec();
            whole.extend_from_slice(&data);
            let unwrapped = peer.unwrap(&whole);
            assert_eq!(unwrapped.unwrap(), msg, "{name}: our EncryptMessage, as a token");
        }
    }
}

/// Last in a session (a refused token leaves a gap MIT's sequence check then reports): a
/// replayed MIT token is refused by us, and MIT refuses our token tampered with.
fn replay_and_tamper(peer: &mut Peer, ours: &mut SecurityContext, name: &str) {
    let mic = peer.mic(b"once");
    ours.verify(b"once", &mic).unwrap();
    assert!(ours.verify(b"once", &mic).is_err(), "{name}: replay");
    let mut token = ours.wrap(b"tamper").unwrap();
    let last = token.len() - 1;
    token[last] ^= 1;
    assert!(peer.unwrap(&token).is_err(), "{name}: MIT accepted a tampered token");
}

/// Messages both ways, then replay and tampering (for every context key type: RFC 4121
/// tokens for AES, RFC 4757 ones for rc4-hmac).
fn messages_and_tampering(peer: &mut Peer, ours: &mut SecurityContext, name: &str) {
    let split = ours.sizes().security_trailer != 45; // rc4-hmac's DCE-style trailer
    messages_both_ways(peer, ours, name, split);
    replay_and_tamper(peer, ours, name);
}

#[test]
fn mit_initiator_to_our_acceptor_and_ours_to_mit_for_every_enctype() {
    for (etype, name) in ENCTYPES {
        let test = "mit_gss_handshakes_every_enctype";
        let Some((realm, keytab)) = realm_for(test, etype, name) else { return };
        let (mut peer, mut server) = mit_to_us(&realm, &keytab);
        assert_eq!(server.client_name().unwrap(), format!("alice@{REALM}"), "{name}");
        messages_and_tampering(&mut peer, &mut server, name);
        peer.quit();
        let (mut peer, mut client) = us_to_mit(&realm, etype);
        assert!(client.is_established(), "{name}");
        messages_and_tampering(&mut peer, &mut client, name);
        peer.quit();
    }
}

/// Our acceptor exported and imported in the middle of a session with MIT's initiator (and
/// our initiator with MIT's acceptor): MIT carries on unaware.
#[test]
fn export_and_import_mid_session_with_mit() {
    use sspi_emu::ImportOptions;
    use sspi_emu::export::{ExportKey, ExportOptions, Protection};
    let (etype, name) = ENCTYPES[1];
    let Some((realm, keytab)) = realm_for("mit_gss_export_mid_session", etype, name) else {
        return;
    };
    let key = ExportKey::from_bytes([3; 32]);
    let export = ExportOptions::new().protection(Protection::Key(key.clone()));
    let import = ImportOptions::new().protection(Protection::Key(key));
    let (mut peer, mut server) = mit_to_us(&realm, &keytab);
    messages_both_ways(&mut peer, &mut server, name, true);
    let blob = server.export(sspi_emu::export::SECPKG_CONTEXT_EXPORT_DELETE_OLD, &export).unwrap();
    drop(server);
    let mut server = SecurityContext::import(blob.packed.as_bytes(), &import).unwrap();
    messages_both_ways(&mut peer, &mut server, name, true);
    peer.quit();
    let (mut peer, mut client) = us_to_mit(&realm, etype);
    messages_both_ways(&mut peer, &mut client, name, true);
    let blob = client.export(0, &export).unwrap();
    let mut client = SecurityContext::import(blob.packed.as_bytes(), &import).unwrap();
    messages_both_ways(&mut peer, &mut client, name, true);
    peer.quit();
}

/// Delegation (`ISC_REQ_DELEGATE`, GSS_C_DELEG_FLAG) with a forwardable TGT: our initiator
/// delegates to MIT's acceptor and to ours; MIT's initiator delegates to ours; the delegated
/// TGT gets a service ticket from the KDC for the client.
#[test]
fn delegation_both_ways_with_mit() {
    let test = "mit_gss_delegation";
    if !python_gssapi_ready(test) {
        return;
    }
    let Some(realm) = Realm::start_with(test, &[], "forwardable = true") else { return };
    realm.add_user("alice", USER_PASSWORD);
    realm.add_service(SERVICE);
    realm.add_service("HTTP/other.example.test");
    realm.export_keytab(SERVICE, &realm.keytab(), false);
    realm.kinit_password("alice", USER_PASSWORD, &realm.ccache());
    let keytab = Keytab::read(realm.keytab()).unwrap();
    let config = Krb5Config::load(realm.krb5_conf()).unwrap();
    let kdc = || KdcClient::from_config(&config).timeout(Duration::from_secs(10));
    let alice = Credentials::kerberos(InitiatorCredentials::with_password(
        Principal::new(NameType::PRINCIPAL, &["alice"], REALM),
        Password::new(USER_PASSWORD),
        kdc(),
    ));
    let flags = IscReq::MUTUAL_AUTH | IscReq::DELEGATE;
    // Ours to ours: the acceptor gets alice's forwarded TGT and uses it.
    let mut client = SecurityContext::initiator(
        &alice,
        InitiatorOptions::new().target_name(SERVICE).flags(flags),
    )
    .unwrap();
    let mut server = our_acceptor(&keytab);
    let ap_req = client.step(None).unwrap().token;
    let ap_rep = server.step(Some(&ap_req)).unwrap().token;
    client.step(Some(&ap_rep)).unwrap();
    assert_ne!(client.attributes().unwrap() & sspi_emu::flags::IscRet::DELEGATE.0, 0);
    assert_ne!(server.attributes().unwrap() & sspi_emu::flags::AscRet::DELEGATE.0, 0);
    let tgt = server.delegated_ticket().unwrap().expect("a delegated TGT");
    assert_eq!(tgt.server.to_string(), format!("krbtgt/{REALM}@{REALM}"));
    assert_eq!(tgt.client.to_string(), format!("alice@{REALM}"));
    let delegated = server.delegated_credentials(kdc()).unwrap().unwrap();
    let ticket =
        delegated.as_kerberos().unwrap().service_ticket("HTTP/other.example.test").unwrap();
    assert_eq!(ticket.client.to_string(), format!("alice@{REALM}"));
    // Without the flag: nothing delegated.
    let mut client = SecurityContext::initiator(
        &alice,
        InitiatorOptions::new().target_name(SERVICE).flags(IscReq::MUTUAL_AUTH),
    )
    .unwrap();
    let mut server = our_acceptor(&keytab);
    server.step(Some(&client.step(None).unwrap().token)).unwrap();
    assert!(server.delegated_ticket().unwrap().is_none());
    // Ours to MIT: MIT's acceptor reports delegated credentials.
    let mut peer = Peer::script("mit server", SCRIPT, &["server"], &realm.env());
    let mut client = SecurityContext::initiator(
        &alice,
        InitiatorOptions::new().target_name(SERVICE).flags(flags),
    )
    .unwrap();
    peer.send_token(&client.step(None).unwrap().token);
    client.step(Some(&peer.token())).unwrap();
    assert!(peer.established().bool("delegated"), "MIT got no delegated credentials");
    peer.quit();
    // MIT to ours (mutual | delegate): we get the TGT.
    let mut env = realm.env();
    env.push(("KRB5_PEER_FLAGS".into(), "3".into()));
    let mut peer = Peer::script("mit client", SCRIPT, &["client", HOSTBASED], &env);
    let mut server = our_acceptor(&keytab);
    let reply = server.step(Some(&peer.token())).unwrap();
    peer.send_token(&reply.token);
    peer.established();
    let tgt = server.delegated_ticket().unwrap().expect("MIT delegated a TGT");
    assert_eq!(tgt.client.to_string(), format!("alice@{REALM}"));
    peer.quit();
}

/// Channel bindings with MIT's initiator: the same bindings on both sides are accepted,
/// different ones refused; and MIT's AP-REQ replayed to a second acceptor of the same
/// credentials is refused.
#[test]
fn mit_channel_bindings_and_replay() {
    use sspi_emu::{AcceptorOptions, ChannelBindings, Error};
    let (etype, name) = ENCTYPES[1];
    let Some((realm, keytab)) = realm_for("mit_gss_bindings_replay", etype, name) else { return };
    let service = Principal::parse(&format!("{SERVICE}@{REALM}"), None).unwrap();
    let creds = Credentials::kerberos_acceptor(
        AcceptorCredentials::new(keytab.clone(), Some(service)).unwrap(),
    );
    let cb = b"tls-server-end-point:0123456789abcdef".to_vec();
    let mut env = realm.env();
    env.push(("KRB5_PEER_CB_HEX".into(), crate::driver::to_hex(&cb)));
    for (ours, accepted) in [(cb.clone(), true), (b"tls-server-end-point:other".to_vec(), false)] {
        let mut peer = Peer::script("mit client", SCRIPT, &["client", HOSTBASED], &env);
        let mut server = SecurityContext::acceptor(
            &creds,
            AcceptorOptions::new().channel_bindings(ChannelBindings::application(ours)),
        )
        .unwrap();
        let ap_req = peer.token();
        let result = server.step(Some(&ap_req));
        if accepted {
            peer.send_token(&result.unwrap().token);
            peer.established();
            peer.quit();
            // The same AP-REQ again, to another context of the same credentials: a replay.
            let mut again = SecurityContext::acceptor(
                &creds,
                AcceptorOptions::new().channel_bindings(ChannelBindings::application(cb.clone())),
            )
            .unwrap();
            assert_eq!(again.step(Some(&ap_req)).unwrap_err(), Error::Replay);
        } else {
            assert_eq!(result.unwrap_err(), Error::BadBindings);
        }
    }
    // Our initiator's bindings, checked by MIT's acceptor.
    for (ours, accepted) in [(cb.clone(), true), (b"tls-server-end-point:other".to_vec(), false)] {
        let mut peer = Peer::script("mit server", SCRIPT, &["server"], &env);
        let config = Krb5Config::load(realm.krb5_conf()).unwrap();
        let alice = Credentials::kerberos(InitiatorCredentials::with_password(
            Principal::new(NameType::PRINCIPAL, &["alice"], REALM),
            Password::new(USER_PASSWORD),
            KdcClient::from_config(&config),
        ));
        let mut client = SecurityContext::initiator(
            &alice,
            InitiatorOptions::new()
                .target_name(SERVICE)
                .flags(IscReq::MUTUAL_AUTH)
                .channel_bindings(ChannelBindings::application(ours)),
        )
        .unwrap();
        peer.send_token(&client.step(None).unwrap().token);
        if accepted {
            client.step(Some(&peer.token())).unwrap();
            peer.established();
            peer.quit();
        } else {
            assert!(peer.outcome().is_err(), "MIT accepted other bindings");
        }
    }
}
