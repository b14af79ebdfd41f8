//! The `pac` fuzz target: arbitrary bytes as a PAC and as the data of an `AD-IF-RELEVANT`
//! element (MS-PAC, `crate::kerberos::pac`).

use crate::kerberos::pac::{
    LogonInfo, Pac, Sid, dangerous_build_for_tests, dangerous_if_relevant_for_tests, find_pac,
};
use crate::kerberos::{AuthData, EncType, Key};

/// `saved_pac` of Heimdal's `lib/krb5/test_pac.c` (from Samba's torture suite), and the key
/// of its server signature (`member_keyblock`).
const HEIMDAL_SAVED_PAC: &[u8] = include_bytes!("../kerberos/pac/testdata/heimdal-saved-pac.bin");
const HEIMDAL_MEMBER_KEY: [u8; 16] = [
    0xD2, 0x17, 0xFA, 0xEA, 0xE5, 0xE6, 0xB5, 0xF9, 0x5C, 0xCC, 0x94, 0x07, 0x7A, 0xB8, 0xA5, 0xFC,
];
/// `saved_pac2` of the same file (with a UPN_DNS_INFO buffer).
const HEIMDAL_SAVED_PAC2: &[u8] = include_bytes!("../kerberos/pac/testdata/heimdal-saved-pac2.bin");

/// The keys the target tries: the seeds' keys, so that mutations of them reach the checksum.
fn keys() -> [Key; 2] {
    [
        Key::new(EncType::RC4_HMAC, &HEIMDAL_MEMBER_KEY),
        Key::new(EncType::AES256_CTS_HMAC_SHA1_96, &[0x5e; 32]),
    ]
}

/// Parses `data` as a PAC and as AD-IF-RELEVANT data; must never panic. Every SID of a parsed
/// PAC must display and parse back to itself; checksum and client checks must not panic.
pub fn pac(data: &[u8]) {
    if let Ok(pac) = Pac::parse(data) {
        exercise(&pac);
    }
    let ad = [AuthData { ad_type: 1, data: data.to_vec() }];
    if let Ok(Some(bytes)) = find_pac(&ad)
        && let Ok(pac) = Pac::parse(&bytes)
    {
        exercise(&pac);
    }
}

fn exercise(pac: &Pac) {
    for key in keys() {
        let _ = pac.verify_server_checksum(&key);
        let _ = pac.verify_kdc_checksum(&key);
    }
    if let Some(client) = pac.client_info() {
        let _ = pac.check_client_info(&client.name, 0);
    }
    let _ = pac.check_client_info("w2003final$", 1_120_440_609);
    if let Some(info) = pac.logon_info() {
        let sids = [&info.domain_sid, &info.user_sid, &info.primary_group_sid]
            .into_iter()
            .chain(&info.group_sids)
            .chain(&info.extra_sids)
            .chain(&info.resource_group_sids);
        for sid in sids {
            let text = sid.to_string();
            assert_eq!(text.parse::<Sid>().as_ref(), Ok(sid), "{text}");
        }
        assert_eq!(info.group_sids.len(), info.group_attributes.len());
        assert_eq!(info.extra_sids.len(), info.extra_sid_attributes.len());
    }
}

fn sample_logon_info() -> LogonInfo {
    let sid = |s: &str| s.parse::<Sid>().expect("a valid SID");
    let domain = sid("S-1-5-21-1-2-3");
    let rid = |r| domain.with_rid(r).expect("room for a RID");
    LogonInfo {
        user_name: "alice".into(),
        full_name: "Alice Example".into(),
        domain_name: "EXAMPLE".into(),
        logon_server: "DC1".into(),
        domain_sid: domain.clone(),
        user_sid: rid(1104),
        primary_group_sid: rid(513),
        group_sids: vec![rid(513), rid(512)],
        group_attributes: vec![7, 7],
        extra_sids: vec![sid("S-1-18-1")],
        extra_sid_attributes: vec![7],
        resource_group_sids: vec![sid("S-1-5-21-7-7-7-2001")],
        resource_group_attributes: vec![0x2000_0007],
        logon_time: 134_000_000_000_000_000,
        user_flags: 0,
    }
}

/// The seeds of `fuzz/seeds/pac`: two published PACs and PACs of the test builder (with a
/// logon info and every optional array, and MIT's shape without one), bare and wrapped in
/// AD-IF-RELEVANT.
pub fn seeds() -> Vec<(&'static str, &'static str, Vec<u8>)> {
    let [rc4, aes] = keys();
    let info = sample_logon_info();
    let built = dangerous_build_for_tests(Some(&info), "alice", 1_700_000_000, &aes, &rc4)
        .expect("the sample logon info fits");
    let mit_like =
        dangerous_build_for_tests(None, "alice", 1_700_000_000, &aes, &aes).expect("no logon info");
    vec![
        ("pac", "heimdal-saved-pac", HEIMDAL_SAVED_PAC.to_vec()),
        ("pac", "heimdal-saved-pac2", HEIMDAL_SAVED_PAC2.to_vec()),
        ("pac", "built-logon-info", built.clone()),
        ("pac", "built-without-logon-info", mit_like),
        ("pac", "if-relevant-built", dangerous_if_relevant_for_tests(&built).data),
        ("pac", "if-relevant-heimdal", dangerous_if_relevant_for_tests(HEIMDAL_SAVED_PAC).data),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeds_parse_and_pass() {
        let [rc4, aes] = keys();
        for (_, name, seed) in seeds() {
            super::pac(&seed);
            let bytes = if name.starts_with("if-relevant") {
                find_pac(&[AuthData { ad_type: 1, data: seed }]).unwrap().unwrap()
            } else {
                seed
            };
            let pac = Pac::parse(&bytes).unwrap();
            if name != "heimdal-saved-pac2" {
                let key = if name.contains("heimdal") { &rc4 } else { &aes };
                pac.verify_server_checksum(key).unwrap();
            }
        }
        for data in [&b""[..], &[0; 8], &[1, 0, 0, 0, 0, 0, 0, 0], &[0x30, 0x00]] {
            super::pac(data);
        }
    }

    /// `fuzz/seeds/pac` is what [`super::seeds`] makes.
    #[test]
    fn committed_seeds_are_current() {
        let seeds = super::seeds();
        crate::fuzzing::seeds_are_current(
            seeds.iter().map(|(target, name, seed)| (*target, *name, seed.as_slice())),
        );
    }
}
