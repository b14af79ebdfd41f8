//! PAC tests. Published PACs with their keys come from Heimdal's `lib/krb5/test_pac.c`
//! (github.com/heimdal/heimdal at 8c3c97bdf6c06200418f1a85aa22beaa441c6b23, 2025-04-16),
//! copied byte for byte into `testdata/`:
//! - `heimdal-saved-pac.bin`: `saved_pac`, "copied (with permission) from Samba torture
//!   regression test suite, created by Andrew Bartlett": a Windows Server 2003 PAC for the
//!   machine account `w2003final$`, server and KDC signatures HMAC-MD5 under
//!   `member_keyblock` and `kdc_keyblock` (rc4-hmac), authtime 1120440609.
//! - `heimdal-saved-pac2.bin`: `saved_pac2` ("from Christian Krause"): user `openmsp`,
//!   with a UPN_DNS_INFO buffer, signed under a DES key (which sspi-emu does not implement),
//!   authtime 1225304188.
//! - `heimdal-service-ticket.bin`: `service_ticket`, a Samba AD DC service ticket for
//!   `apache@ACME.COM` under `server_key` (rc4-hmac) whose PAC has the 2021 ticket signature;
//!   the KDC signatures are under `rwdc_tgt_pac_key`.
//! - `heimdal-tgt-ticket.bin`: `tgt_ticket`, a TGT of the same DC under `rwdc_tgt_key`
//!   (aes256-cts-hmac-sha1-96): its PAC's server signature is HMAC-SHA1-96-AES256 (type 16).

use super::*;
use crate::kerberos::EncType;
use crate::kerberos::crypto::decrypt;

const SAVED_PAC: &[u8] = include_bytes!("testdata/heimdal-saved-pac.bin");
const SAVED_PAC2: &[u8] = include_bytes!("testdata/heimdal-saved-pac2.bin");
const SERVICE_TICKET: &[u8] = include_bytes!("testdata/heimdal-service-ticket.bin");
const TGT_TICKET: &[u8] = include_bytes!("testdata/heimdal-tgt-ticket.bin");

/// test_pac.c `member_keyblock`.
fn member_key() -> Key {
    Key::new(
        EncType::RC4_HMAC,
        &[
            0xD2, 0x17, 0xFA, 0xEA, 0xE5, 0xE6, 0xB5, 0xF9, 0x5C, 0xCC, 0x94, 0x07, 0x7A, 0xB8,
            0xA5, 0xFC,
        ],
    )
}

/// test_pac.c `kdc_keyblock`.
fn kdc_key() -> Key {
    Key::new(
        EncType::RC4_HMAC,
        &[
            0xB2, 0x86, 0x75, 0x71, 0x48, 0xAF, 0x7F, 0xD2, 0x52, 0xC5, 0x36, 0x03, 0xA1, 0x50,
            0xB7, 0xE7,
        ],
    )
}

/// test_pac.c `server_key` (the `apache` service).
fn apache_key() -> Key {
    Key::new(
        EncType::RC4_HMAC,
        &[
            0xed, 0x23, 0x11, 0x20, 0x7a, 0x21, 0x44, 0x20, 0xbf, 0xc0, 0x8d, 0x36, 0xf7, 0xf6,
            0xb2, 0x3e,
        ],
    )
}

/// test_pac.c `rwdc_tgt_key` (aes256-cts-hmac-sha1-96).
fn rwdc_tgt_key() -> Key {
    Key::new(
        EncType::AES256_CTS_HMAC_SHA1_96,
        &[
            0x27, 0x86, 0x34, 0x1d, 0xd3, 0x15, 0x06, 0x0d, 0x6f, 0xd6, 0x40, 0xfa, 0x03, 0xb1,
            0x95, 0x32, 0x91, 0x22, 0xe8, 0x6b, 0x0f, 0x47, 0xe0, 0xb5, 0xfe, 0xda, 0xef, 0x54,
            0x98, 0xdc, 0x07, 0x5a,
        ],
    )
}

/// test_pac.c `rwdc_tgt_pac_key`.
fn rwdc_pac_key() -> Key {
    Key::new(
        EncType::RC4_HMAC,
        &[
            0xb9, 0xf0, 0x39, 0x8d, 0xe9, 0x60, 0xb8, 0x40, 0x8c, 0x54, 0x0b, 0x61, 0xf9, 0xd2,
            0xf1, 0x16,
        ],
    )
}

fn sid(s: &str) -> Sid {
    s.parse().unwrap()
}

/// Every field of the Windows 2003 PAC, read from its hex by hand (MS-PAC 2.5 layout).
#[test]
fn samba_windows_2003_pac_decodes_field_by_field() {
    let pac = Pac::parse(SAVED_PAC).unwrap();
    let types: Vec<_> = pac.buffers().iter().map(|b| (b.buffer_type, b.offset, b.len)).collect();
    assert_eq!(types, [(1, 0x48, 0x1d8), (10, 0x220, 0x20), (6, 0x240, 0x14), (7, 0x258, 0x14)]);
    let info = pac.logon_info().unwrap();
    assert_eq!(info.user_name, "W2003FINAL$");
    assert_eq!(info.full_name, "");
    assert_eq!(info.logon_server, "W2003FINAL");
    assert_eq!(info.domain_name, "WIN2K3THINK");
    // LogonDomainId: 1-4-0:0:0:0:0:5, 0x15, 0xb5af2f11, 0xec1b0490, 0xdcec3b50.
    let domain = sid("S-1-5-21-3048156945-3961193616-3706469200");
    assert_eq!(info.domain_sid, domain);
    assert_eq!(info.user_sid, sid("S-1-5-21-3048156945-3961193616-3706469200-1005"));
    assert_eq!(info.primary_group_sid, domain.with_rid(516).unwrap());
    assert_eq!(info.group_sids, [domain.with_rid(516).unwrap()]);
    assert_eq!(info.group_attributes, [7]);
    // UserFlags 0x20 (LOGON_EXTRA_SIDS): one extra SID, S-1-5-9, attributes 7.
    assert_eq!(info.user_flags, 0x20);
    assert_eq!(info.extra_sids, [sid("S-1-5-9")]);
    assert_eq!(info.extra_sid_attributes, [7]);
    assert!(info.resource_group_sids.is_empty());
    assert_eq!(info.logon_time, 0x01c5_7d4f_cba6_df30);
    let client = pac.client_info().unwrap();
    assert_eq!(client.name, "w2003final$");
    assert_eq!(client.client_id, 0x01c5_8037_ea28_6680);
}

#[test]
fn samba_windows_2003_pac_signatures_verify_and_every_flip_fails() {
    let pac = Pac::parse(SAVED_PAC).unwrap();
    pac.verify_server_checksum(&member_key()).unwrap();
    pac.verify_kdc_checksum(&kdc_key()).unwrap();
    assert_eq!(pac.verify_server_checksum(&kdc_key()), Err(Error::MessageAltered));
    assert_eq!(pac.verify_kdc_checksum(&member_key()), Err(Error::MessageAltered));
    // An AES key cannot have made an HMAC-MD5 signature.
    let aes = Key::new(EncType::AES256_CTS_HMAC_SHA1_96, &[1; 32]);
    assert_eq!(pac.verify_server_checksum(&aes), Err(Error::MessageAltered));

    let server_sig = 0x240 + 4..0x240 + 0x14;
    let kdc_sig = 0x258 + 4..0x258 + 0x14;
    for i in 0..SAVED_PAC.len() {
        let mut bad = SAVED_PAC.to_vec();
        bad[i] ^= 0x01;
        let Ok(pac) = Pac::parse(&bad) else { continue };
        let server = pac.verify_server_checksum(&member_key());
        let kdc = pac.verify_kdc_checksum(&kdc_key());
        if i < 0x48 {
            // The buffer list: a retyped or moved buffer may be missing instead.
            assert!(server.is_err(), "byte {i}");
        } else if kdc_sig.contains(&i) {
            // The KDC signature is zeroed for the server checksum: only its own check fails.
            server.unwrap();
            assert_eq!(kdc, Err(Error::MessageAltered), "byte {i}");
        } else if i >= 0x26c {
            // The trailing padding after the last buffer is covered too.
            assert_eq!(server, Err(Error::MessageAltered), "byte {i}");
        } else {
            assert_eq!(server, Err(Error::MessageAltered), "byte {i}");
            if server_sig.contains(&i) {
                assert_eq!(kdc, Err(Error::MessageAltered), "byte {i}");
            }
        }
    }
}

#[test]
fn samba_windows_2003_pac_client_info() {
    let pac = Pac::parse(SAVED_PAC).unwrap();
    pac.check_client_info("w2003final$", 1_120_440_609).unwrap();
    pac.check_client_info("W2003FINAL$", 1_120_440_609).unwrap();
    assert_eq!(pac.check_client_info("w2003final", 1_120_440_609), Err(Error::MessageAltered));
    assert_eq!(pac.check_client_info("w2003final$", 1_120_440_610), Err(Error::MessageAltered));
    assert_eq!(pac.check_client_info("w2003final$", 1_120_440_608), Err(Error::MessageAltered));
}

/// The malformed variants test_pac.c makes of `saved_pac`, each refused.
#[test]
fn heimdal_malformed_variants_are_refused() {
    assert!(Pac::parse(&SAVED_PAC[..SAVED_PAC.len() / 2]).is_err());
    for (index, delta) in [(13, 1i16), (16, 1), (16, -1), (0, 1)] {
        let mut bad = SAVED_PAC.to_vec();
        bad[index] = bad[index].wrapping_add_signed(i8::try_from(delta).unwrap());
        assert!(Pac::parse(&bad).is_err(), "byte {index} {delta:+}");
    }
}

#[test]
fn christian_krause_pac_decodes() {
    let pac = Pac::parse(SAVED_PAC2).unwrap();
    let types: Vec<_> = pac.buffers().iter().map(|b| b.buffer_type).collect();
    assert_eq!(types, [1, 10, 12, 6, 7]);
    assert!(pac.buffer(buffer_type::UPN_DNS_INFO).is_some());
    let info = pac.logon_info().unwrap();
    assert_eq!(info.user_name, "openmsp");
    assert_eq!(info.full_name, "open msp");
    assert_eq!(info.domain_name, "MSP-ADS");
    assert_eq!(info.logon_server, "CHKR-ADS");
    let domain = sid("S-1-5-21-1289530769-1219868771-3520222165");
    assert_eq!(info.user_sid, domain.with_rid(0x452).unwrap());
    assert_eq!(info.primary_group_sid, domain.with_rid(513).unwrap());
    let groups: Vec<_> = [0x460, 513, 0x45e].map(|r| domain.with_rid(r).unwrap()).to_vec();
    assert_eq!(info.group_sids, groups);
    assert_eq!(info.group_attributes, [7, 7, 7]);
    // LOGON_EXTRA_SIDS set, with SidCount 0 and a null ExtraSids.
    assert_eq!(info.user_flags, 0x20);
    assert!(info.extra_sids.is_empty());
    pac.check_client_info("openmsp", 1_225_304_188).unwrap();
    // Signed with des-cbc-md5: not implemented, said so.
    let des = Key::new(EncType(3), &[0x9e, 0x37, 0x83, 0x25, 0x4a, 0x7f, 0xf2, 0xf8]);
    assert!(matches!(pac.verify_server_checksum(&des), Err(Error::NotSupported(_))));
}

/// Decrypts a ticket with `key` (usage 2), finds its PAC, verifies both signatures and the
/// client info against the ticket's cname and authtime; returns the PAC.
fn ticket_pac(ticket: &[u8], key: &Key, krbtgt_pac_key: &Key) -> Pac {
    use picky_krb::data_types::{EncTicketPart, Ticket};
    let ticket: Ticket = picky_asn1_der::from_bytes(ticket).unwrap();
    let cipher = &ticket.0.enc_part.0.cipher.0.0;
    let plain = decrypt(key, KeyUsage::KDC_REP_TICKET, cipher).unwrap();
    let part: EncTicketPart = picky_asn1_der::from_bytes(&plain).unwrap();
    let part = part.0;
    let auth_data: Vec<AuthData> = part
        .authorization_data
        .0
        .unwrap()
        .0
        .0
        .iter()
        .map(|a| AuthData {
            ad_type: i32::from(a.ad_type.0.as_unsigned_bytes_be()[0]),
            data: a.ad_data.0.0.clone(),
        })
        .collect();
    let raw = find_pac(&auth_data).unwrap().expect("the ticket has a PAC");
    let pac = Pac::parse(&raw).unwrap();
    pac.verify_server_checksum(key).unwrap();
    pac.verify_kdc_checksum(krbtgt_pac_key).unwrap();
    let client = part.cname.0.name_string.0.0[0].to_string();
    let auth_time = crate::kerberos::kdc::convert::unix_time(&part.auth_time.0).unwrap();
    pac.check_client_info(&client, auth_time).unwrap();
    assert_eq!(pac.logon_info().unwrap().user_name, client);
    pac
}

/// A 2021+ PAC (with the ticket signature, MS-PAC 2.8.3) found in a real service ticket's
/// authorization data: the server signature (HMAC-MD5) covers the ticket signature unzeroed.
#[test]
fn samba_service_ticket_pac_with_ticket_signature_verifies() {
    let pac = ticket_pac(SERVICE_TICKET, &apache_key(), &rwdc_pac_key());
    assert!(pac.buffer(buffer_type::TICKET_CHECKSUM).is_some());
    let sig = pac.buffer(buffer_type::SERVER_CHECKSUM).unwrap();
    assert_eq!(sig[..4], (-138i32).to_le_bytes());
    assert!(pac.logon_info().unwrap().user_sid.to_string().starts_with("S-1-5-21-"));
    let wrong = Key::new(EncType::RC4_HMAC, &[0; 16]);
    assert_eq!(pac.verify_server_checksum(&wrong), Err(Error::MessageAltered));
}

/// The TGT's PAC: a server signature of type 16 (HMAC-SHA1-96-AES256) under the krbtgt's
/// AES key, verified with our RFC 3962 checksum and usage 17.
#[test]
fn samba_tgt_pac_aes256_server_signature_verifies() {
    let pac = ticket_pac(TGT_TICKET, &rwdc_tgt_key(), &rwdc_pac_key());
    let sig = pac.buffer(buffer_type::SERVER_CHECKSUM).unwrap();
    assert_eq!(sig[..4], 16i32.to_le_bytes());
    assert_eq!(sig.len(), 4 + 12);
    let mut raw = pac.as_bytes().to_vec();
    let at = pac.buffers().iter().find(|b| b.buffer_type == 1).unwrap().offset + 40;
    raw[at] ^= 0x80;
    let altered = Pac::parse(&raw).unwrap();
    assert_eq!(altered.verify_server_checksum(&rwdc_tgt_key()), Err(Error::MessageAltered));
}

fn sample_info() -> LogonInfo {
    let domain = sid("S-1-5-21-1-2-3");
    let rid = |r| domain.with_rid(r).unwrap();
    LogonInfo {
        user_name: "alice".into(),
        full_name: "Alice Ä Example".into(),
        domain_name: "EXAMPLE".into(),
        logon_server: "DC1".into(),
        domain_sid: domain.clone(),
        user_sid: rid(1104),
        primary_group_sid: rid(513),
        group_sids: vec![rid(513), rid(512), rid(1200)],
        group_attributes: vec![7, 7, 0x2000_0007],
        extra_sids: vec![sid("S-1-18-1"), sid("S-1-5-21-9-9-9-1000")],
        extra_sid_attributes: vec![7, 0x2000_0007],
        resource_group_sids: vec![sid("S-1-5-21-7-7-7-2001"), sid("S-1-5-21-7-7-7-2002")],
        resource_group_attributes: vec![0x2000_0007, 0x2000_0007],
        logon_time: 134_000_000_000_000_000,
        user_flags: 0x20 | 0x200,
    }
}

#[test]
fn built_pacs_round_trip_and_verify_for_every_enctype() {
    let info = sample_info();
    for (etype, len) in [
        (EncType::AES256_CTS_HMAC_SHA1_96, 32),
        (EncType::AES128_CTS_HMAC_SHA1_96, 16),
        (EncType::RC4_HMAC, 16),
    ] {
        let service = Key::new(etype, &vec![3; len]);
        let krbtgt = Key::new(EncType::AES256_CTS_HMAC_SHA1_96, &[4; 32]);
        let bytes =
            dangerous_build_for_tests(Some(&info), "alice", 1_700_000_000, &service, &krbtgt)
                .unwrap();
        let ad = dangerous_if_relevant_for_tests(&bytes);
        let found = find_pac(&[AuthData { ad_type: 4, data: vec![1] }, ad]).unwrap().unwrap();
        assert_eq!(found, bytes);
        let pac = Pac::parse(&found).unwrap();
        assert_eq!(pac.logon_info(), Some(&info));
        pac.verify_server_checksum(&service).unwrap();
        pac.verify_kdc_checksum(&krbtgt).unwrap();
        pac.check_client_info("alice", 1_700_000_000).unwrap();
        assert_eq!(
            pac.verify_server_checksum(&Key::new(etype, &vec![5; len])),
            Err(Error::MessageAltered)
        );
    }
    // Without logon info (what MIT writes): client info and signatures only.
    let key = Key::new(EncType::AES128_CTS_HMAC_SHA1_96, &[3; 16]);
    let bytes = dangerous_build_for_tests(None, "bob/admin", 7, &key, &key).unwrap();
    let pac = Pac::parse(&bytes).unwrap();
    assert!(pac.logon_info().is_none());
    pac.verify_server_checksum(&key).unwrap();
    pac.check_client_info("bob/admin", 7).unwrap();
}

#[test]
fn flags_gate_extra_and_resource_sids() {
    let mut info = sample_info();
    let key = Key::new(EncType::RC4_HMAC, &[3; 16]);
    let bytes = dangerous_build_for_tests(Some(&info), "alice", 1, &key, &key).unwrap();
    // Clear D and H in UserFlags: the arrays are still parsed (NDR), not exposed.
    let flags_at = {
        let pac = Pac::parse(&bytes).unwrap();
        let logon = pac.buffers()[0];
        // 16 header bytes, referent (4), 6 FILETIMEs (48), 6 strings (48), 2 u16, 3 u32,
        // the GroupIds pointer (4).
        logon.offset + 16 + 4 + 48 + 48 + 4 + 12 + 4
    };
    let mut patched = bytes.clone();
    assert_eq!(patched[flags_at..flags_at + 4], (0x220u32).to_le_bytes());
    patched[flags_at..flags_at + 4].copy_from_slice(&0u32.to_le_bytes());
    let pac = Pac::parse(&patched).unwrap();
    let parsed = pac.logon_info().unwrap();
    assert!(parsed.extra_sids.is_empty() && parsed.resource_group_sids.is_empty());
    assert_eq!(pac.verify_server_checksum(&key), Err(Error::MessageAltered));
    info.user_flags = 0;
    info.extra_sids.clear();
    info.extra_sid_attributes.clear();
    assert_eq!(parsed.group_sids, info.group_sids);
}

#[test]
fn hostile_counts_are_refused_before_allocating() {
    let info = sample_info();
    let key = Key::new(EncType::RC4_HMAC, &[3; 16]);
    let bytes = dangerous_build_for_tests(Some(&info), "alice", 1, &key, &key).unwrap();
    let logon = Pac::parse(&bytes).unwrap().buffers()[0];
    let group_count_at = logon.offset + 16 + 4 + 48 + 48 + 4 + 8;
    let mut bad = bytes.clone();
    bad[group_count_at..group_count_at + 4].copy_from_slice(&u32::MAX.to_le_bytes());
    assert!(matches!(Pac::parse(&bad), Err(Error::InvalidToken(_))));
    // Every 4-byte field of the logon info set to 0xffffffff: an error or a parse, no panic.
    for at in (logon.offset..logon.offset + logon.len).step_by(4) {
        let mut bad = bytes.clone();
        bad[at..at + 4].copy_from_slice(&u32::MAX.to_le_bytes());
        let _ = Pac::parse(&bad);
        bad[at..at + 4].copy_from_slice(&0x8000u32.to_le_bytes());
        let _ = Pac::parse(&bad);
    }
    // Truncated anywhere: never a panic.
    for n in 0..bytes.len() {
        let _ = Pac::parse(&bytes[..n]);
    }
}

#[test]
fn pac_framing_bounds() {
    let key = Key::new(EncType::RC4_HMAC, &[3; 16]);
    let good = dangerous_build_for_tests(None, "a", 1, &key, &key).unwrap();
    let err = |b: &[u8]| matches!(Pac::parse(b), Err(Error::InvalidToken(_)));
    assert!(err(&vec![0; MAX_PAC_LEN + 1]));
    // Version 1.
    let mut bad = good.clone();
    bad[4] = 1;
    assert!(err(&bad));
    // 65 buffers declared.
    let mut bad = good.clone();
    bad[0] = 65;
    assert!(err(&bad));
    // A duplicate server checksum (the KDC entry retyped to 6).
    let mut bad = good.clone();
    bad[8 + 16 * 2] = 6;
    assert!(err(&bad));
    // Overlap: the client info made longer than its slot.
    let mut bad = good.clone();
    bad[8 + 4] = 0x20;
    assert!(err(&bad));
    // Offset near u64::MAX.
    let mut bad = good.clone();
    bad[8 + 8..8 + 16].copy_from_slice(&(u64::MAX - 7).to_le_bytes());
    assert!(err(&bad));
    // An unknown buffer type is kept, and may repeat.
    let mut odd = good.clone();
    odd[8] = 0x80;
    let pac = Pac::parse(&odd).unwrap();
    assert_eq!(pac.buffers()[0].buffer_type, 0x80);
    assert!(pac.client_info().is_none());
    assert!(matches!(pac.check_client_info("a", 1), Err(Error::InvalidToken(_))));
    // No signatures: verification says so.
    let mut unsigned = good.clone();
    unsigned[8 + 16] = 0x81;
    unsigned[8 + 32] = 0x82;
    let pac = Pac::parse(&unsigned).unwrap();
    assert!(matches!(pac.verify_server_checksum(&key), Err(Error::InvalidToken(_))));
}

#[test]
fn find_pac_cases() {
    let key = Key::new(EncType::RC4_HMAC, &[3; 16]);
    let pac = dangerous_build_for_tests(None, "a", 1, &key, &key).unwrap();
    let ad = dangerous_if_relevant_for_tests(&pac);
    assert_eq!(find_pac(&[]).unwrap(), None);
    assert!(Pac::from_auth_data(&[]).unwrap().is_none());
    let from_ad = Pac::from_auth_data(std::slice::from_ref(&ad)).unwrap().unwrap();
    assert_eq!(from_ad.as_bytes(), pac);
    let junk = dangerous_if_relevant_for_tests(&[1, 2, 3]);
    assert!(Pac::from_auth_data(&[junk]).is_err());
    assert_eq!(find_pac(std::slice::from_ref(&ad)).unwrap(), Some(pac.clone()));
    assert!(find_pac(&[ad.clone(), ad.clone()]).is_err());
    assert!(find_pac(&[AuthData { ad_type: 128, data: pac.clone() }]).is_err());
    // An AD-IF-RELEVANT of other elements only: no PAC.
    let other = AuthData {
        ad_type: 1,
        data: vec![0x30, 0x0b, 0x30, 0x09, 0xa0, 0x03, 0x02, 0x01, 0x7f, 0xa1, 0x02, 0x04, 0x00],
    };
    assert_eq!(find_pac(&[other]).unwrap(), None);
    // Malformed DER, trailing bytes, a non-minimal integer.
    for data in [
        vec![0x30],
        [ad.data.clone(), vec![0]].concat(),
        vec![0x30, 0x0c, 0x30, 0x0a, 0xa0, 0x04, 0x02, 0x02, 0x00, 0x7f, 0xa1, 0x02, 0x04, 0x00],
    ] {
        assert!(find_pac(&[AuthData { ad_type: 1, data }]).is_err());
    }
}

#[test]
fn der_int32_is_minimal() {
    assert_eq!(der_int32(&[0x00, 0x80]), Some(128));
    assert_eq!(der_int32(&[0x80]), Some(-128));
    assert_eq!(der_int32(&[0xff, 0x76]), Some(-138));
    assert_eq!(der_int32(&[0x7f, 0xff, 0xff, 0xff]), Some(i32::MAX));
    assert_eq!(der_int32(&[0x00, 0x7f]), None);
    assert_eq!(der_int32(&[0xff, 0x80]), None);
    assert_eq!(der_int32(&[]), None);
    assert_eq!(der_int32(&[1, 2, 3, 4, 5]), None);
}

#[test]
fn sid_strings() {
    let s = sid("S-1-5-21-3048156945-3961193616-3706469200-1005");
    assert_eq!(s.authority(), 5);
    assert_eq!(s.sub_authorities(), [21, 3048156945, 3961193616, 3706469200, 1005]);
    assert_eq!(s.to_string(), "S-1-5-21-3048156945-3961193616-3706469200-1005");
    // MS-DTYP 2.4.2.1: authorities of 2^32 and above in hex.
    let big = Sid::new(0x1234_5678_9abc, &[1]).unwrap();
    assert_eq!(big.to_string(), "S-1-0x123456789ABC-1");
    assert_eq!(sid("S-1-0x123456789ABC-1"), big);
    assert_eq!(sid("s-1-1-0"), Sid::new(1, &[0]).unwrap());
    assert_eq!(sid("S-1-5").sub_authorities(), [] as [u32; 0]);
    let sixteen = format!("S-1-5{}", "-1".repeat(16));
    let fifteen = format!("S-1-5{}", "-1".repeat(15));
    assert_eq!(sid(&fifteen).to_string(), fifteen);
    assert!(sid(&fifteen).with_rid(1).is_err());
    for bad in [
        "",
        "S-1-",
        "S-1",
        "S-2-5",
        "S-1-5-",
        "S-1--5",
        "S-1-5-4294967296",
        "S-1-+5",
        "S-1-0x12-1",
        "S-1-281474976710656",
        "S-1-5- 1",
        " S-1-5",
        sixteen.as_str(),
    ] {
        assert!(bad.parse::<Sid>().is_err(), "{bad:?}");
    }
    assert!(Sid::new(1 << 48, &[]).is_err());
    assert_eq!(s.split_rid(), Some((sid("S-1-5-21-3048156945-3961193616-3706469200"), 1005)));
    assert_eq!(sid("S-1-5").split_rid(), None);
}

#[test]
fn sid_serde_is_the_string() {
    use serde::de::IntoDeserializer;
    use serde::de::value::{Error as DeError, StringDeserializer};
    let s = sid("S-1-5-32-544");
    let de: StringDeserializer<DeError> = String::from(s.clone()).into_deserializer();
    assert_eq!(<Sid as serde::Deserialize>::deserialize(de).unwrap(), s);
    let de: StringDeserializer<DeError> = "S-1-x".to_owned().into_deserializer();
    assert!(<Sid as serde::Deserialize>::deserialize(de).is_err());
}
