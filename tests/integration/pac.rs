//! The PAC MIT krb5 1.20+ puts in every ticket it issues (PAC_CLIENT_INFO and the signatures,
//! no logon info; MIT's `kdc_authdata.c`), read from tickets of a real MIT KDC: found in the
//! authorization data, its server signature verified with the service's keytab key, its KDC
//! signature with the krbtgt key, its client info against the ticket (MS-PAC 2.7, 2.8).

use crate::krb5_realm::{REALM, Realm, USER_PASSWORD};
use sspi_emu::kerberos::config::Krb5Config;
use sspi_emu::kerberos::crypto::{KeyUsage, decrypt};
use sspi_emu::kerberos::kdc::RequestOptions;
use sspi_emu::kerberos::keytab::Keytab;
use sspi_emu::kerberos::pac::{Pac, buffer_type, find_pac};
use sspi_emu::kerberos::transport::KdcClient;
use sspi_emu::kerberos::{AuthData, Credential, EncType, Key, NameType, Principal};
use sspi_emu::{Error, Password};
use std::time::Duration;

const SERVICE: &str = "HTTP/web.example.test";

/// The key of `principal` for `etype`, exported with `-norandkey` (the KDC's current key).
fn key_of(realm: &Realm, principal: &str, etype: EncType) -> Key {
    let path = realm.dir.join(format!("{}.keytab", principal.replace('/', "_")));
    realm.export_keytab(principal, &path, true);
    let keytab = Keytab::read(&path).unwrap();
    let name = Principal::parse(&format!("{principal}@{REALM}"), None).unwrap();
    keytab.find(&name, None, Some(etype)).unwrap().key.clone()
}

/// The ticket's enctype and its authorization data, decrypted with `key` (usage 2).
fn ticket_auth_data(cred: &Credential, key: &Key) -> Vec<AuthData> {
    let ticket: picky_krb::data_types::Ticket = picky_asn1_der::from_bytes(&cred.ticket).unwrap();
    let enc = &ticket.0.enc_part.0;
    let plain = decrypt(key, KeyUsage::KDC_REP_TICKET, &enc.cipher.0.0).unwrap();
    let part: picky_krb::data_types::EncTicketPart = picky_asn1_der::from_bytes(&plain).unwrap();
    let ad = part.0.authorization_data.0.expect("MIT 1.20 puts a PAC in every ticket");
    ad.0.0
        .iter()
        .map(|a| AuthData {
            ad_type: i32::from(*a.ad_type.0.as_unsigned_bytes_be().last().unwrap()),
            data: a.ad_data.0.0.clone(),
        })
        .collect()
}

fn ticket_etype(cred: &Credential) -> EncType {
    let ticket: picky_krb::data_types::Ticket = picky_asn1_der::from_bytes(&cred.ticket).unwrap();
    EncType(i32::from(*ticket.0.enc_part.0.etype.0.0.last().unwrap()))
}

/// For each enctype (the server signature's checksum type follows the service key's: 16,
/// 20 and -138), a service ticket's and the TGT's PACs verify, and any altered byte fails.
#[test]
fn mit_pac_signatures_and_client_info_verify() {
    let cases = [
        ("aes256-cts-hmac-sha1-96", ""),
        ("aes256-cts-hmac-sha384-192", ""),
        ("aes128-cts-hmac-sha1-96", ""),
        ("arcfour-hmac", "allow_rc4 = true"),
    ];
    for (name, extra) in cases {
        let supported = format!("{name}:normal");
        let Some(realm) = Realm::start_with("mit_pac_signatures_verify", &[&supported], extra)
        else {
            return;
        };
        realm.add_user("alice", USER_PASSWORD);
        realm.add_service(SERVICE);
        let config = Krb5Config::load(realm.krb5_conf()).unwrap();
        let mut kdc = KdcClient::from_config(&config).timeout(Duration::from_secs(10));
        if extra.contains("rc4") {
            kdc = kdc.options(RequestOptions {
                etypes: vec![EncType::RC4_HMAC],
                ..RequestOptions::default()
            });
        }
        let alice = Principal::new(NameType::PRINCIPAL, &["alice"], REALM);
        let tgt = kdc
            .tgt_with_password(&alice, &Password::new(USER_PASSWORD))
            .unwrap_or_else(|e| panic!("{name}: AS: {e}\n{}", realm.kdc_logs()));
        let st = kdc.service_ticket(&tgt, SERVICE).unwrap();
        let etype = ticket_etype(&st);
        let service_key = key_of(&realm, SERVICE, etype);
        let krbtgt_key = key_of(&realm, &format!("krbtgt/{REALM}"), ticket_etype(&tgt));

        for (what, cred, key) in [("service", &st, &service_key), ("tgt", &tgt, &krbtgt_key)] {
            let raw = find_pac(&ticket_auth_data(cred, key))
                .unwrap()
                .unwrap_or_else(|| panic!("{name} {what}: no PAC"));
            let pac = Pac::parse(&raw).unwrap();
            assert!(pac.logon_info().is_none(), "{name} {what}: MIT writes no logon info");
            assert_eq!(pac.client_info().unwrap().name, "alice", "{name} {what}");
            pac.check_client_info("alice", cred.auth_time).unwrap();
            assert_eq!(pac.check_client_info("bob", cred.auth_time), Err(Error::MessageAltered));
            assert_eq!(
                pac.check_client_info("alice", cred.auth_time + 1),
                Err(Error::MessageAltered)
            );
            pac.verify_server_checksum(key)
                .unwrap_or_else(|e| panic!("{name} {what}: server signature: {e}"));
            pac.verify_kdc_checksum(&krbtgt_key)
                .unwrap_or_else(|e| panic!("{name} {what}: KDC signature: {e}"));
            let types: Vec<u32> = pac.buffers().iter().map(|b| b.buffer_type).collect();
            // MIT 1.20: [10, 16, 6, 7] in service tickets (the ticket signature of MS-PAC
            // 2.8.3, which the server signature covers), [10, 6, 7] in TGTs.
            assert!(types.contains(&buffer_type::CLIENT_INFO), "{name} {what}: {types:?}");
            let ticket_sig = types.contains(&buffer_type::TICKET_CHECKSUM);
            assert_eq!(ticket_sig, what == "service", "{name} {what}: {types:?}");

            // Every byte outside the KDC signature (zeroed for the server checksum) is
            // covered: altered, the PAC is refused or its server signature fails.
            let kdc_sig = pac.buffers().iter().find(|b| b.buffer_type == 7).unwrap();
            let kdc_range = kdc_sig.offset + 4..kdc_sig.offset + kdc_sig.len;
            for i in (0..raw.len()).filter(|i| !kdc_range.contains(i)) {
                let mut bad = raw.clone();
                bad[i] ^= 0x10;
                if let Ok(altered) = Pac::parse(&bad) {
                    assert!(altered.verify_server_checksum(key).is_err(), "{name} {what} {i}");
                }
            }
        }
    }
}
