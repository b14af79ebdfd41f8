//! The AS and TGS exchanges against a real MIT KDC (the [`crate::krb5_realm`] harness), and the
//! transport against loopback ports that refuse or never answer.

use crate::krb5_realm::{Realm, USER_PASSWORD};
use sspi_emu::kerberos::config::Krb5Config;
use sspi_emu::kerberos::kdc::RequestOptions;
use sspi_emu::kerberos::keytab::Keytab;
use sspi_emu::kerberos::transport::{KdcClient, Transport, store_in_ccache};
use sspi_emu::kerberos::{EncType, NameType, Principal};
use sspi_emu::{Error, Password, SecurityStatus};
use std::net::{Ipv4Addr, TcpListener, UdpSocket};
use std::time::{Duration, Instant};

const REALM: &str = crate::krb5_realm::REALM;

/// A client configured by the realm's krb5.conf (KDC address, default realm, domain_realm,
/// TCP only, the enctype lists).
fn client(realm: &Realm) -> KdcClient {
    let config = Krb5Config::load(realm.krb5_conf()).unwrap();
    KdcClient::from_config(&config).timeout(Duration::from_secs(10))
}

fn alice() -> Principal {
    Principal::new(NameType::PRINCIPAL, &["alice"], REALM)
}

/// AS with a password, then TGS by host-based name and by principal: the tickets name the
/// right client and services, and the session keys have the KDC's first enctype.
#[test]
fn tgt_with_password_and_service_tickets() {
    let Some(realm) = Realm::start("tgt_with_password_and_service_tickets", &[]) else { return };
    realm.add_user("alice", USER_PASSWORD);
    realm.add_service("HTTP/web.example.test");
    let kdc = client(&realm);
    let tgt = kdc.tgt_with_password(&alice(), &Password::new(USER_PASSWORD)).unwrap();
    assert_eq!(tgt.client, alice());
    assert_eq!(tgt.server, Principal::krbtgt(REALM));
    assert!(tgt.end_time > tgt.auth_time);
    assert_eq!(tgt.ticket.first(), Some(&0x61), "a Ticket is [APPLICATION 1]");
    for name in
        ["HTTP/web.example.test", "HTTP@web.example.test", "HTTP/web.example.test@EXAMPLE.TEST"]
    {
        let st = kdc.service_ticket(&tgt, name).unwrap();
        assert_eq!(st.client, alice(), "{name}");
        assert_eq!(st.server.to_string(), "HTTP/web.example.test@EXAMPLE.TEST", "{name}");
        assert_eq!(st.server.realm, REALM);
    }
    // The service can read the ticket: its keytab key decrypts it (key usage 2), and it
    // names alice and holds the session key we were given.
    let st = kdc.service_ticket(&tgt, "HTTP/web.example.test").unwrap();
    let keytab_path = realm.dir.join("http.keytab");
    realm.export_keytab("HTTP/web.example.test", &keytab_path, true);
    let keytab = Keytab::read(&keytab_path).unwrap();
    let ticket: picky_krb::data_types::Ticket = picky_asn1_der::from_bytes(&st.ticket).unwrap();
    let enc = &ticket.0.enc_part.0;
    let etype = EncType(i32::from(*enc.etype.0.0.last().unwrap()));
    let key = &keytab.find(&st.server, None, Some(etype)).unwrap().key;
    let plain = sspi_emu::kerberos::crypto::decrypt(
        key,
        sspi_emu::kerberos::crypto::KeyUsage::KDC_REP_TICKET,
        &enc.cipher.0.0,
    )
    .unwrap();
    let part: picky_krb::data_types::EncTicketPart = picky_asn1_der::from_bytes(&plain).unwrap();
    let cname: Vec<String> = part.0.cname.0.name_string.0.0.iter().map(|c| c.to_string()).collect();
    assert_eq!(cname, ["alice"]);
    assert_eq!(part.0.key.0.key_value.0.0, st.session_key.dangerous_bytes());
}

/// A wrong password is a LogonDenied-class error with a clear text: without
/// pre-authentication (the reply does not decrypt) and with it (KDC_ERR_PREAUTH_FAILED).
#[test]
fn wrong_password_is_logon_denied() {
    let Some(realm) = Realm::start("wrong_password_is_logon_denied", &[]) else { return };
    realm.add_user("alice", USER_PASSWORD);
    for preauth in [false, true] {
        if preauth {
            realm.kadmin("modprinc +requires_preauth alice");
        }
        let err = client(&realm).tgt_with_password(&alice(), &Password::new("wrong")).unwrap_err();
        assert_eq!(SecurityStatus::from(&err), SecurityStatus::SEC_E_LOGON_DENIED, "{err}");
        assert!(err.to_string().contains("wrong password for alice@EXAMPLE.TEST"), "{err}");
        let code = if preauth { 24 } else { 31 };
        assert!(matches!(err, Error::Kdc { code: c, .. } if c == code), "{preauth}: {err:?}");
    }
}

/// With pre-authentication required (PREAUTH_REQUIRED, ETYPE-INFO2, PA-ENC-TIMESTAMP) the
/// right password gets the TGT, and a salt other than the default one (a principal renamed
/// after its key was made keeps its old salt) is taken from ETYPE-INFO2.
#[test]
fn tgt_with_preauth_and_a_non_default_salt() {
    let Some(realm) = Realm::start("tgt_with_preauth_and_a_non_default_salt", &[]) else { return };
    realm.add_user("carol", USER_PASSWORD);
    realm.kadmin("modprinc +requires_preauth carol");
    realm.kadmin("renprinc -force carol dave");
    let dave = Principal::new(NameType::PRINCIPAL, &["dave"], REALM);
    let tgt = client(&realm).tgt_with_password(&dave, &Password::new(USER_PASSWORD)).unwrap();
    assert_eq!(tgt.client, dave);
    assert_eq!(tgt.server, Principal::krbtgt(REALM));
}

/// An unknown user: KDC_ERR_C_PRINCIPAL_UNKNOWN, LogonDenied-class, naming the user.
#[test]
fn unknown_user_is_logon_denied() {
    let Some(realm) = Realm::start("unknown_user_is_logon_denied", &[]) else { return };
    let who = Principal::new(NameType::PRINCIPAL, &["nobody"], REALM);
    let err = client(&realm).tgt_with_password(&who, &Password::new("x")).unwrap_err();
    assert!(matches!(err, Error::Kdc { code: 6, .. }), "{err:?}");
    assert_eq!(SecurityStatus::from(&err), SecurityStatus::SEC_E_LOGON_DENIED);
    assert!(err.to_string().contains("nobody@EXAMPLE.TEST"), "{err}");
}

/// An unknown service: TargetUnknown.
#[test]
fn unknown_service_is_target_unknown() {
    let Some(realm) = Realm::start("unknown_service_is_target_unknown", &[]) else { return };
    realm.add_user("alice", USER_PASSWORD);
    let kdc = client(&realm);
    let tgt = kdc.tgt_with_password(&alice(), &Password::new(USER_PASSWORD)).unwrap();
    let err = kdc.service_ticket(&tgt, "HTTP/nowhere.example.test").unwrap_err();
    assert!(
        matches!(err, Error::TargetUnknown(ref m) if m.contains("HTTP/nowhere.example.test")),
        "{err:?}"
    );
    assert_eq!(SecurityStatus::from(&err), SecurityStatus::SEC_E_TARGET_UNKNOWN);
}

/// UDP and TCP both work against MIT's KDC (the realm listens on both): a small request over
/// UDP with the default limit, and over TCP with limit 1.
#[test]
fn udp_and_tcp_both_reach_the_kdc() {
    let Some(realm) = Realm::start("udp_and_tcp_both_reach_the_kdc", &[]) else { return };
    realm.add_user("alice", USER_PASSWORD);
    for limit in [1usize, 65_535] {
        let kdc = client(&realm).transport(Transport::new().udp_preference_limit(limit));
        let tgt = kdc.tgt_with_password(&alice(), &Password::new(USER_PASSWORD)).unwrap();
        assert_eq!(tgt.server, Principal::krbtgt(REALM), "limit {limit}");
    }
}

/// A loopback port nobody listens on, over TCP and over UDP: NoAuthority, quickly.
#[test]
fn unreachable_kdc_is_no_authority() {
    // Bind and drop, so the port is (very likely) free for both protocols.
    let port = {
        let l = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
        l.local_addr().unwrap().port()
    };
    for entry in [format!("tcp/127.0.0.1:{port}"), format!("udp/127.0.0.1:{port}")] {
        let kdc = KdcClient::with_kdcs(REALM, &[&entry]).unwrap().timeout(Duration::from_secs(3));
        let started = Instant::now();
        let err = kdc.tgt_with_password(&alice(), &Password::new("x")).unwrap_err();
        assert!(
            matches!(err, Error::NoAuthority(ref m) if m.contains(REALM) && m.contains(&port.to_string())),
            "{entry}: {err:?}"
        );
        assert!(started.elapsed() < Duration::from_secs(3 + 5), "{entry}: {:?}", started.elapsed());
    }
}

/// A KDC that accepts the connection (or the datagram) and never answers: NoAuthority within
/// the configured timeout.
#[test]
fn silent_kdc_is_no_authority_within_the_timeout() {
    let tcp = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
    let tcp_port = tcp.local_addr().unwrap().port();
    let udp = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
    let udp_port = udp.local_addr().unwrap().port();
    // Accept the connection and hold it, never answering, past the client's timeout (and
    // give up after 20 s if no client comes, so the thread always ends).
    let acceptor = std::thread::spawn(move || {
        tcp.set_nonblocking(true).unwrap();
        let until = Instant::now() + Duration::from_secs(20);
        while Instant::now() < until {
            if let Ok((held, _)) = tcp.accept() {
                std::thread::sleep(Duration::from_secs(4));
                drop(held);
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    });
    let timeout = Duration::from_millis(1500);
    for entry in [format!("tcp/127.0.0.1:{tcp_port}"), format!("udp/127.0.0.1:{udp_port}")] {
        let kdc = KdcClient::with_kdcs(REALM, &[&entry]).unwrap().timeout(timeout);
        let started = Instant::now();
        let err = kdc.tgt_with_password(&alice(), &Password::new("x")).unwrap_err();
        let took = started.elapsed();
        assert!(
            matches!(err, Error::NoAuthority(ref m) if m.contains("timed out")),
            "{entry}: {err:?}"
        );
        assert!(
            took >= timeout / 2 && took < timeout + Duration::from_secs(5),
            "{entry}: {took:?}"
        );
    }
    drop(udp);
    let _ = acceptor.join();
}

/// For every enctype MIT supports among 17, 18, 19, 20 and 23, a realm offering only that
/// one: AS and TGS succeed and the session keys have that type.
#[test]
fn every_enctype_end_to_end() {
    let cases = [
        (EncType::AES128_CTS_HMAC_SHA1_96, "aes128-cts-hmac-sha1-96"),
        (EncType::AES256_CTS_HMAC_SHA1_96, "aes256-cts-hmac-sha1-96"),
        (EncType::AES128_CTS_HMAC_SHA256_128, "aes128-cts-hmac-sha256-128"),
        (EncType::AES256_CTS_HMAC_SHA384_192, "aes256-cts-hmac-sha384-192"),
        (EncType::RC4_HMAC, "arcfour-hmac"),
    ];
    for (etype, name) in cases {
        if !sspi_emu::kerberos::crypto::supported(etype) {
            eprintln!("SKIPPED: every_enctype_end_to_end: {name}: not implemented in this build");
            continue;
        }
        let supported = format!("{name}:normal");
        // MIT 1.20 issues rc4 session keys only with `allow_rc4` (it calls rc4 DEPRECATED).
        let extra = if etype == EncType::RC4_HMAC { "allow_rc4 = true" } else { "" };
        let Some(realm) = Realm::start_with("every_enctype_end_to_end", &[&supported], extra)
        else {
            return;
        };
        realm.add_user("alice", USER_PASSWORD);
        realm.add_service("HTTP/web.example.test");
        let options = RequestOptions { etypes: vec![etype], ..RequestOptions::default() };
        let kdc = client(&realm).options(options);
        let tgt = kdc
            .tgt_with_password(&alice(), &Password::new(USER_PASSWORD))
            .unwrap_or_else(|e| panic!("{name}: AS: {e}\n{}", realm.kdc_logs()));
        assert_eq!(tgt.session_key.etype(), etype, "{name}");
        let st = kdc
            .service_ticket(&tgt, "HTTP/web.example.test")
            .unwrap_or_else(|e| panic!("{name}: TGS: {e}\n{}", realm.kdc_logs()));
        assert_eq!(st.session_key.etype(), etype, "{name}");
    }
}

/// A TGT with a client keytab exported by `kadmin.local ktadd -norandkey` (the password's
/// keys, so pre-authentication with them succeeds), with pre-authentication required.
#[test]
fn tgt_with_client_keytab() {
    let Some(realm) = Realm::start("tgt_with_client_keytab", &[]) else { return };
    realm.add_user("alice", USER_PASSWORD);
    realm.kadmin("modprinc +requires_preauth alice");
    let path = realm.dir.join("alice.keytab");
    realm.export_keytab("alice", &path, true);
    let keytab = Keytab::read(&path).unwrap();
    let kdc = client(&realm);
    let tgt = kdc.tgt_with_keytab(&alice(), &keytab).unwrap();
    assert_eq!(tgt.client, alice());
    assert_eq!(tgt.server, Principal::krbtgt(REALM));
    // A keytab without alice's keys: a clear keytab error, before any network traffic.
    let empty = Keytab::default();
    assert!(matches!(kdc.tgt_with_keytab(&alice(), &empty), Err(Error::Keytab(_))));
}

/// A user who ran MIT `kinit` is signed in: the TGT comes from the ccache `KRB5CCNAME`
/// names, and a service ticket is got with it; stored back, MIT `klist` lists both tickets
/// and MIT `kvno` accepts the cache (it uses our TGT to get a ticket of its own).
#[test]
fn ccache_from_kinit_and_back_to_klist_and_kvno() {
    let Some(realm) = Realm::start("ccache_from_kinit_and_back_to_klist_and_kvno", &[]) else {
        return;
    };
    realm.add_user("alice", USER_PASSWORD);
    realm.add_service("HTTP/web.example.test");
    realm.add_service("host/other.example.test");
    let cc = realm.ccache();
    realm.kinit_password("alice", USER_PASSWORD, &cc);
    let kdc = client(&realm);
    let env: Vec<(String, String)> = realm.env();
    let lookup = |name: &str| env.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
    let (path, tgt) = kdc.tgt_from_default_ccache_with(lookup).unwrap();
    assert_eq!(path, cc);
    assert_eq!(tgt.client, alice());
    let st = kdc.service_ticket(&tgt, "HTTP@web.example.test").unwrap();

    // Our own TGT and service ticket into a fresh cache: klist lists both.
    let ours = realm.dir.join("ours.ccache");
    let own_tgt = kdc.tgt_with_password(&alice(), &Password::new(USER_PASSWORD)).unwrap();
    let own_st = kdc.service_ticket(&own_tgt, "HTTP/web.example.test").unwrap();
    store_in_ccache(&ours, &[own_tgt, own_st]).unwrap();
    let mut klist = realm.command("klist");
    klist.args(["-e", "-c", &format!("FILE:{}", ours.display())]);
    let listing = realm.run(klist);
    assert!(listing.contains("Default principal: alice@EXAMPLE.TEST"), "{listing}");
    assert!(listing.contains("krbtgt/EXAMPLE.TEST@EXAMPLE.TEST"), "{listing}");
    assert!(listing.contains("HTTP/web.example.test@EXAMPLE.TEST"), "{listing}");
    // kvno uses the TGT we got to ask for a ticket of its own: the KDC accepts our ticket.
    let mut kvno = realm.command("kvno");
    kvno.args(["-c", &format!("FILE:{}", ours.display()), "host/other.example.test"]);
    let out = realm.run(kvno);
    assert!(out.contains("host/other.example.test@EXAMPLE.TEST: kvno = 1"), "{out}");
    // And it finds the service ticket we stored (no new request needed, same answer).
    let mut kvno = realm.command("kvno");
    kvno.args(["-c", &format!("FILE:{}", ours.display()), "HTTP/web.example.test"]);
    assert!(realm.run(kvno).contains("HTTP/web.example.test@EXAMPLE.TEST: kvno = 1"));

    // The ticket got with kinit's TGT stored into kinit's cache: klist lists it too.
    store_in_ccache(&cc, &[st]).unwrap();
    let mut klist = realm.command("klist");
    klist.args(["-c", &format!("FILE:{}", cc.display())]);
    let listing = realm.run(klist);
    assert!(listing.contains("krbtgt/EXAMPLE.TEST@EXAMPLE.TEST"), "{listing}");
    assert!(listing.contains("HTTP/web.example.test@EXAMPLE.TEST"), "{listing}");
}

/// Not a test: captures real MIT KDC replies to deterministic requests (seeded environment,
/// the current second) as fixtures for the unit tests and the `kdc_reply` fuzz target.
/// Run: `SSPI_EMU_CAPTURE_DIR=src/kerberos/kdc/testdata cargo test --test integration
/// capture_mit_replies -- --ignored`, then set `MIT_CAPTURE_TIME` in src/kerberos/kdc/tests.rs
/// to the printed time.
#[test]
#[ignore = "regenerates fixtures"]
fn capture_mit_replies() {
    use sspi_emu::kerberos::kdc::{AsExchange, AsProgress, ClientSecret, TgsExchange};
    use sspi_emu::{Environment, FileTime};
    let Some(dir) = std::env::var_os("SSPI_EMU_CAPTURE_DIR") else { return };
    let dir = std::path::PathBuf::from(dir);
    let Some(realm) = Realm::start("capture_mit_replies", &[]) else { return };
    realm.add_user("alice", USER_PASSWORD);
    realm.add_user("bob", USER_PASSWORD);
    realm.kadmin("modprinc +requires_preauth bob");
    realm.add_service("HTTP/web.example.test");
    let kdc = client(&realm).transport(Transport::new().udp_preference_limit(1));
    let unix =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    let time = FileTime((unix + 11_644_473_600) * 10_000_000);
    let options = RequestOptions::default();
    let save = |name: &str, bytes: &[u8]| std::fs::write(dir.join(name), bytes).unwrap();
    let pw = || ClientSecret::Password(Password::new(USER_PASSWORD));

    let env = Environment::deterministic(1, time);
    let (state, request) = AsExchange::start(&alice(), pw(), &options, &env).unwrap();
    let reply = kdc.exchange(REALM, &request).unwrap();
    save("as_rep.der", &reply);
    let AsProgress::Done(tgt) = state.handle_reply(&reply).unwrap() else { panic!("preauth") };
    let web = Principal::new(NameType::SRV_HST, &["HTTP", "web.example.test"], REALM);
    let (state, request) = TgsExchange::start(&tgt, &web, &options, &env).unwrap();
    let reply = kdc.exchange(REALM, &request).unwrap();
    save("tgs_rep.der", &reply);
    state.handle_reply(&reply).unwrap();
    let nowhere = Principal::new(NameType::SRV_HST, &["HTTP", "nowhere.example.test"], REALM);
    let (_, request) = TgsExchange::start(&tgt, &nowhere, &options, &env).unwrap();
    save("error_unknown_server.der", &kdc.exchange(REALM, &request).unwrap());

    let bob = Principal::new(NameType::PRINCIPAL, &["bob"], REALM);
    let env = Environment::deterministic(2, time);
    let (state, request) = AsExchange::start(&bob, pw(), &options, &env).unwrap();
    let reply = kdc.exchange(REALM, &request).unwrap();
    save("preauth_required.der", &reply);
    let AsProgress::Send(state, request) = state.handle_reply(&reply).unwrap() else { panic!() };
    let reply = kdc.exchange(REALM, &request).unwrap();
    save("as_rep_preauth.der", &reply);
    state.handle_reply(&reply).unwrap();

    let nobody = Principal::new(NameType::PRINCIPAL, &["nobody"], REALM);
    let env = Environment::deterministic(3, time);
    let (_, request) = AsExchange::start(&nobody, pw(), &options, &env).unwrap();
    save("error_unknown_client.der", &kdc.exchange(REALM, &request).unwrap());
    println!("MIT_CAPTURE_TIME = {unix}");
}

/// Forwardable and renewable tickets when asked for, and a TGS-REQ with a subkey (the reply
/// then comes encrypted in the subkey, key usage 9).
#[test]
fn ticket_options_and_a_tgs_subkey() {
    let Some(realm) = Realm::start("ticket_options_and_a_tgs_subkey", &[]) else { return };
    realm.add_user("alice", USER_PASSWORD);
    realm.add_service("HTTP/web.example.test");
    realm.kadmin("modprinc -maxrenewlife 7d alice");
    realm.kadmin("modprinc -maxrenewlife 7d krbtgt/EXAMPLE.TEST");
    let options = RequestOptions {
        forwardable: true,
        renew_lifetime: Some(Duration::from_secs(2 * 86_400)),
        tgs_subkey: true,
        ..RequestOptions::default()
    };
    let kdc = client(&realm).options(options);
    let tgt = kdc.tgt_with_password(&alice(), &Password::new(USER_PASSWORD)).unwrap();
    // RFC 4120 section 5.3: forwardable is bit 1, renewable bit 8 (bit 0 most significant).
    assert_ne!(tgt.ticket_flags & (1 << 30), 0, "forwardable: {:#x}", tgt.ticket_flags);
    assert_ne!(tgt.ticket_flags & (1 << 23), 0, "renewable: {:#x}", tgt.ticket_flags);
    assert!(tgt.renew_till > tgt.end_time);
    let st = kdc.service_ticket(&tgt, "HTTP/web.example.test").unwrap();
    assert_eq!(st.server.to_string(), "HTTP/web.example.test@EXAMPLE.TEST");
}

/// A client clock an hour off: the KDC refuses the pre-authentication timestamp with
/// KRB_AP_ERR_SKEW, which is SEC_E_TIME_SKEW.
#[test]
fn clock_skew_is_time_skew() {
    use sspi_emu::env::{ManualClock, OsRandom};
    let Some(realm) = Realm::start("clock_skew_is_time_skew", &[]) else { return };
    realm.add_user("alice", USER_PASSWORD);
    realm.kadmin("modprinc +requires_preauth alice");
    let clock =
        ManualClock::new(sspi_emu::FileTime::from_system_time(std::time::SystemTime::now()));
    clock.advance(Duration::from_secs(3600));
    let kdc = client(&realm).environment(sspi_emu::Environment::new(OsRandom, clock));
    let err = kdc.tgt_with_password(&alice(), &Password::new(USER_PASSWORD)).unwrap_err();
    assert!(matches!(err, Error::Kdc { code: 37, .. }), "{err:?}");
    assert_eq!(SecurityStatus::from(&err), SecurityStatus::SEC_E_TIME_SKEW);
    assert!(err.to_string().contains("clocks"), "{err}");
}

/// The client offers only a type the realm has no key of: KDC_ERR_ETYPE_NOSUPP, a clear
/// error (SEC_E_UNSUPPORTED_FUNCTION as Windows says).
#[test]
fn no_common_enctype_is_etype_nosupp() {
    let Some(realm) =
        Realm::start("no_common_enctype_is_etype_nosupp", &["aes128-cts-hmac-sha1-96:normal"])
    else {
        return;
    };
    realm.add_user("alice", USER_PASSWORD);
    let options = RequestOptions {
        etypes: vec![EncType::AES256_CTS_HMAC_SHA384_192],
        ..RequestOptions::default()
    };
    let err = client(&realm)
        .options(options)
        .tgt_with_password(&alice(), &Password::new(USER_PASSWORD))
        .unwrap_err();
    assert!(matches!(err, Error::Kdc { code: 14, .. }), "{err:?}");
    assert_eq!(SecurityStatus::from(&err), SecurityStatus::SEC_E_UNSUPPORTED_FUNCTION);
    assert!(err.to_string().contains("encryption types"), "{err}");
}
