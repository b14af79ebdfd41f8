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
