//! Kerberos initiator credentials (`Credentials::kerberos*`, `AcquireCredentialsHandle` for
//! Kerberos) against a real MIT KDC: a password, a client keytab, and the cache a user's
//! `kinit` left; tickets reused from memory and stored into a cache MIT's `klist` lists.

use crate::krb5_realm::{REALM, Realm, USER_PASSWORD, check_output};
use sspi_emu::flags::IscReq;
use sspi_emu::kerberos::config::Krb5Config;
use sspi_emu::kerberos::credentials::InitiatorCredentials;
use sspi_emu::kerberos::keytab::Keytab;
use sspi_emu::kerberos::transport::KdcClient;
use sspi_emu::kerberos::{NameType, Principal};
use sspi_emu::sspi::{self as win, SecHandle};
use sspi_emu::{Credentials, Error, FileTime, InitiatorOptions, Password, SecurityContext};
use sspi_emu::{SecurityStatus as S, SecurityStatus};
use std::time::Duration;

fn kdc(realm: &Realm) -> KdcClient {
    let config = Krb5Config::load(realm.krb5_conf()).unwrap();
    KdcClient::from_config(&config).timeout(Duration::from_secs(10))
}

fn alice() -> Principal {
    Principal::new(NameType::PRINCIPAL, &["alice"], REALM)
}

/// How many AS and TGS requests the KDC has logged so far.
fn requests(realm: &Realm) -> (usize, usize) {
    let log = realm.kdc_logs();
    (log.matches("AS_REQ").count(), log.matches("TGS_REQ").count())
}

#[test]
fn password_credentials_get_tickets_once_and_store_them_for_klist() {
    let Some(realm) = Realm::start("password_credentials_get_tickets_once", &[]) else { return };
    realm.add_user("alice", USER_PASSWORD);
    realm.add_service("HTTP/web.example.test");
    let creds = Credentials::kerberos(InitiatorCredentials::with_password(
        alice(),
        Password::new(USER_PASSWORD),
        kdc(&realm),
    ));
    assert_eq!(creds.package(), sspi_emu::Package::Kerberos);
    assert!(creds.is_initiator());
    assert_eq!(creds.user_name().as_deref(), Some("alice@EXAMPLE.TEST"));
    let kerberos = creds.as_kerberos().unwrap();
    // Acquiring contacted no KDC.
    assert_eq!(requests(&realm), (0, 0));
    let ticket = kerberos.service_ticket("HTTP@web.example.test").unwrap();
    assert_eq!(ticket.server.to_string(), "HTTP/web.example.test@EXAMPLE.TEST");
    assert_eq!(ticket.client, alice());
    let after_first = requests(&realm);
    assert!(after_first.0 >= 1 && after_first.1 == 1, "{after_first:?}");
    // The same service (under another name form) and the TGT come from memory.
    let again = kerberos.service_ticket("HTTP/web.example.test").unwrap();
    assert_eq!(again.ticket, ticket.ticket);
    assert_eq!(kerberos.tgt().unwrap().server, Principal::krbtgt(REALM));
    assert_eq!(requests(&realm), after_first, "no new request for tickets held");
    // Clones share the tickets.
    let clone = creds.clone();
    assert_eq!(clone.as_kerberos().unwrap().tickets().len(), 2);
    // Stored into a cache, MIT lists both tickets under alice.
    let cache = realm.dir.join("ours.ccache");
    kerberos.store_in_ccache(&cache).unwrap();
    let out = realm.run({
        let mut klist = realm.command("klist");
        klist.arg("-c").arg(format!("FILE:{}", cache.display()));
        klist
    });
    assert!(out.contains("Default principal: alice@EXAMPLE.TEST"), "{out}");
    assert!(out.contains("krbtgt/EXAMPLE.TEST@EXAMPLE.TEST"), "{out}");
    assert!(out.contains("HTTP/web.example.test@EXAMPLE.TEST"), "{out}");
}

#[test]
fn wrong_password_fails_at_the_first_ticket_with_logon_denied() {
    let Some(realm) = Realm::start("wrong_password_fails_at_the_first_ticket", &[]) else {
        return;
    };
    realm.add_user("alice", USER_PASSWORD);
    let creds = InitiatorCredentials::with_password(alice(), Password::new("nope"), kdc(&realm));
    let err = creds.tgt().unwrap_err();
    assert_eq!(SecurityStatus::from(&err), S::SEC_E_LOGON_DENIED, "{err}");
    assert!(creds.tickets().is_empty(), "nothing kept from a failed logon");
}

#[test]
fn keytab_credentials_get_tickets() {
    let Some(realm) = Realm::start("keytab_credentials_get_tickets", &[]) else { return };
    realm.add_user("alice", USER_PASSWORD);
    realm.add_service("HTTP/web.example.test");
    let path = realm.dir.join("alice.keytab");
    realm.export_keytab("alice", &path, true);
    let keytab = Keytab::read(&path).unwrap();
    let creds = InitiatorCredentials::with_keytab(alice(), keytab.clone(), kdc(&realm)).unwrap();
    let ticket = creds.service_ticket("HTTP/web.example.test").unwrap();
    assert_eq!(ticket.client, alice());
    // A keytab without the client's key is refused at once, naming the principal.
    let bob = Principal::new(NameType::PRINCIPAL, &["bob"], REALM);
    let err = InitiatorCredentials::with_keytab(bob, keytab, kdc(&realm)).unwrap_err();
    assert!(matches!(&err, Error::Keytab(m) if m.contains("bob@EXAMPLE.TEST")), "{err}");
}

#[test]
fn a_user_who_ran_kinit_is_signed_in() {
    let Some(realm) = Realm::start("a_user_who_ran_kinit_is_signed_in", &[]) else { return };
    realm.add_user("alice", USER_PASSWORD);
    realm.add_service("HTTP/web.example.test");
    let cache = realm.ccache();
    realm.kinit_password("alice", USER_PASSWORD, &cache);
    // The default cache, found through KRB5CCNAME as the environment gives it.
    let ccname = format!("FILE:{}", cache.display());
    let lookup = |name: &str| (name == "KRB5CCNAME").then(|| ccname.clone());
    let creds = InitiatorCredentials::from_default_ccache_with(lookup, kdc(&realm)).unwrap();
    assert_eq!(creds.client(), &alice());
    let (as_before, _) = requests(&realm);
    let ticket = creds.service_ticket("HTTP@web.example.test").unwrap();
    assert_eq!(ticket.client, alice());
    assert_eq!(requests(&realm).0, as_before, "the cache's TGT was used: no AS exchange");
    // Other cache types are refused, naming the type.
    let keyring = |name: &str| (name == "KRB5CCNAME").then(|| "KEYRING:persistent:0".to_owned());
    let err = InitiatorCredentials::from_default_ccache_with(keyring, kdc(&realm)).unwrap_err();
    assert!(matches!(&err, Error::CredentialCache(m) if m.contains("KEYRING")), "{err}");
    // The same through AcquireCredentialsHandle with no auth data, in a child process whose
    // environment names the realm's krb5.conf and cache (tests never change their own).
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "kerberos_credentials::child_acquires_from_the_default_ccache"])
        .args(["--ignored", "--nocapture", "--test-threads=1"])
        .env("SSPI_EMU_CHILD_EXPECT", "alice@EXAMPLE.TEST")
        .env("KRB5CCNAME", &ccname)
        .env("KRB5_CONFIG", realm.krb5_conf())
        .output()
        .unwrap();
    check_output("the child test", &out);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("1 passed"), "{stdout}");
    assert!(stdout.contains("CHILD OK"), "the child ran its checks: {stdout}");
}

/// Run by [`a_user_who_ran_kinit_is_signed_in`] in a child process: `AcquireCredentialsHandle`
/// for Kerberos outbound with no auth data takes the default cache's user.
#[test]
#[ignore = "run by a_user_who_ran_kinit_is_signed_in in a child process"]
fn child_acquires_from_the_default_ccache() {
    let Ok(expected) = std::env::var("SSPI_EMU_CHILD_EXPECT") else { return };
    let (mut handle, mut expiry) = (SecHandle::default(), FileTime::default());
    let status = win::acquire_credentials_handle(
        None,
        "Kerberos",
        win::SECPKG_CRED_OUTBOUND,
        None,
        &mut handle,
        &mut expiry,
    );
    assert_eq!(status, S::SEC_E_OK);
    let creds = Credentials::kerberos_from_default_ccache().unwrap();
    assert_eq!(creds.user_name().as_deref(), Some(expected.as_str()));
    creds.as_kerberos().unwrap().service_ticket("HTTP/web.example.test").unwrap();
    assert_eq!(win::free_credentials_handle(&handle), S::SEC_E_OK);
    println!("CHILD OK");
}

/// Kerberos credentials go through the same handle calls as NTLM's; a context of them is
/// refused clearly until the Kerberos contexts exist, and nothing is left behind.
#[test]
fn kerberos_handles_and_what_this_build_refuses() {
    let kdc = KdcClient::with_kdcs(REALM, &["127.0.0.1:9"]).unwrap();
    let creds = Credentials::kerberos(InitiatorCredentials::with_password(
        alice(),
        Password::new("unused"),
        kdc,
    ));
    let (mut handle, mut expiry) = (SecHandle::default(), FileTime::default());
    let acquire = |name: &str, usage: u32, data: Option<&Credentials>, h: &mut SecHandle| {
        win::acquire_credentials_handle(None, name, usage, data, h, &mut FileTime::default())
    };
    assert_eq!(
        win::acquire_credentials_handle(
            None,
            "kerberos",
            win::SECPKG_CRED_OUTBOUND,
            Some(&creds),
            &mut handle,
            &mut expiry
        ),
        S::SEC_E_OK
    );
    assert_eq!(expiry, FileTime::NEVER);
    let mut unused = SecHandle::default();
    assert_eq!(
        acquire("NTLM", win::SECPKG_CRED_OUTBOUND, Some(&creds), &mut unused),
        S::SEC_E_UNKNOWN_CREDENTIALS,
        "Kerberos credentials under another package's name"
    );
    assert_eq!(
        acquire("Kerberos", win::SECPKG_CRED_INBOUND, Some(&creds), &mut unused),
        S::SEC_E_UNKNOWN_CREDENTIALS,
        "initiator credentials for inbound use"
    );
    assert_eq!(
        acquire("Kerberos", win::SECPKG_CRED_BOTH, Some(&creds), &mut unused),
        S::SEC_E_UNSUPPORTED_FUNCTION
    );
    assert_eq!(unused, SecHandle::default(), "no handle was issued");
    // A context: its first call asks the KDC for a service ticket, and the KDC here is a
    // closed port: no authority, and no context handle is issued.
    let mut context = SecHandle::default();
    let mut token = vec![0u8; 48_000];
    let mut out = [win::SecBuffer::new(win::SECBUFFER_TOKEN, &mut token)];
    let mut attributes = 0;
    let status = win::initialize_security_context(
        Some(&handle),
        None,
        Some("HTTP/web.example.test"),
        IscReq::MUTUAL_AUTH,
        0,
        None,
        &mut context,
        &mut out,
        &mut attributes,
        &mut expiry,
    );
    assert_eq!(status, S::SEC_E_NO_AUTHORITY);
    assert_eq!(context, SecHandle::default(), "no context was created");
    let mut ctx = SecurityContext::initiator(
        &creds,
        InitiatorOptions::new().target_name("HTTP/web.example.test"),
    )
    .unwrap();
    assert!(matches!(ctx.step(None), Err(sspi_emu::Error::NoAuthority(_))));
    assert_eq!(win::free_credentials_handle(&handle), S::SEC_E_OK);
}
