//! Interop of sspi-emu's keytab, credential cache and krb5.conf code with MIT Kerberos 1.20's
//! own tools, against a throwaway realm ([`crate::krb5_realm::Realm`]).
//!
//! ```text
//!   MIT writes, we read:   ktutil wkt / kadmin ktadd, ktremove  ->  Keytab::read
//!                          kinit, kvno                           ->  CredentialCache::read
//!                          the realm's krb5.conf                 ->  Krb5Config::load
//!   we write, MIT reads:   Keytab::write            ->  klist -k -K, kinit -k -t
//!                          CredentialCache::write   ->  klist -c, kvno -c (uses our TGT)
//! ```
//!
//! Keys are checked against what `klist -K` prints, not against our own parse. Each test says
//! what it proves. Without the MIT tools the tests print a SKIPPED line (a failure under
//! `SSPI_EMU_REQUIRE_PEERS=1`).

use crate::krb5_realm::{Realm, USER_PASSWORD};
use sspi_emu::kerberos::ccache::{CcacheVersion, CredentialCache, is_config_entry};
use sspi_emu::kerberos::config::{CanonicalizeHostname, KdcAddress, KdcTransport, Krb5Config};
use sspi_emu::kerberos::keytab::{Keytab, KeytabEntry};
use sspi_emu::kerberos::{EncType, Key, Principal};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{SystemTime, UNIX_EPOCH};

const ALICE: &str = "alice@EXAMPLE.TEST";
const WEB: &str = "HTTP/web.example.test@EXAMPLE.TEST";

fn now() -> u32 {
    let secs = SystemTime::now().duration_since(UNIX_EPOCH).expect("after 1970").as_secs();
    u32::try_from(secs).expect("before 2106")
}

fn hex(s: &str) -> Vec<u8> {
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex")).collect()
}

fn file(realm: &Realm, name: &str) -> PathBuf {
    realm.dir.join(name)
}

fn fcc(path: &Path) -> String {
    format!("FILE:{}", path.display())
}

/// One line of `klist -k -t -K -e`.
#[derive(Debug, PartialEq)]
struct KlistKey {
    kvno: u32,
    principal: String,
    etype: String,
    key: Vec<u8>,
}

/// What MIT's `klist -k -t -K -e` says is in a keytab.
fn klist_keytab(realm: &Realm, path: &Path) -> Vec<KlistKey> {
    let mut klist = realm.command("klist");
    klist.args(["-k", "-t", "-K", "-e", &fcc(path)]);
    let out = realm.run(klist);
    // "   3 12/05/26 12:07:51 alice@EXAMPLE.TEST (aes256-cts-hmac-sha1-96)  (0xc01b...)"
    out.lines()
        .filter(|l| l.contains("(0x"))
        .map(|l| {
            let words: Vec<&str> = l.split_whitespace().collect();
            assert_eq!(words.len(), 6, "unexpected klist line {l:?}");
            KlistKey {
                kvno: words[0].parse().expect("kvno"),
                principal: words[3].to_owned(),
                etype: words[4]
                    .trim_matches(['(', ')'])
                    .trim_start_matches("DEPRECATED:")
                    .to_owned(),
                key: hex(words[5].trim_matches(['(', ')']).trim_start_matches("0x")),
            }
        })
        .collect()
}

/// Our view of a keytab in the shape of [`KlistKey`].
fn our_view(kt: &Keytab) -> Vec<KlistKey> {
    kt.entries
        .iter()
        .map(|e| KlistKey {
            kvno: e.kvno,
            principal: e.principal.to_string(),
            etype: e
                .key
                .etype()
                .name()
                .map_or_else(|| format!("etype {}", e.key.etype().0), str::to_owned),
            key: e.key.dangerous_bytes().to_vec(),
        })
        .collect()
}

/// Runs `ktutil` with these commands on stdin.
fn ktutil(realm: &Realm, script: &str) {
    let mut child = realm
        .command("ktutil")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("cannot run ktutil");
    child.stdin.take().expect("stdin").write_all(script.as_bytes()).expect("ktutil stdin");
    let out = child.wait_with_output().expect("ktutil");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success() && stderr.trim().is_empty(), "ktutil failed: {stderr}");
}

/// `kinit -k -t keytab principal` into `ccache`; whether it worked, and stderr.
fn kinit_keytab(realm: &Realm, keytab: &Path, principal: &str, ccache: &Path) -> (bool, String) {
    let out = realm
        .command("kinit")
        .args(["-k", "-t", &fcc(keytab), "-c", &fcc(ccache), principal])
        .output()
        .expect("cannot run kinit");
    (out.status.success(), String::from_utf8_lossy(&out.stderr).into_owned())
}

fn klist_cache(realm: &Realm, ccache: &Path) -> String {
    let mut klist = realm.command("klist");
    klist.args(["-e", "-c", &fcc(ccache)]);
    realm.run(klist)
}

/// `kvno -c ccache service`: MIT uses the cache's TGT to get a service ticket.
fn kvno(realm: &Realm, ccache: &Path, service: &str) -> (bool, String) {
    let out = realm
        .command("kvno")
        .args(["-c", &fcc(ccache), service])
        .output()
        .expect("cannot run kvno");
    let text =
        format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out.status.success(), text)
}

// ---------------------------------------------------------------------------------------------
// Keytabs
// ---------------------------------------------------------------------------------------------

/// A keytab MIT `ktutil` writes (four enctypes for alice at kvno 3, an aes-sha2 key for a
/// service at kvno 300, which needs the 32-bit kvno) reads as the same principals, kvnos,
/// enctypes and key bytes that `klist -K` prints, and writes back byte for byte.
#[test]
fn ktutil_keytab_reads_with_the_keys_klist_shows() {
    let Some(realm) = Realm::start("ktutil_keytab_reads_with_the_keys_klist_shows", &[]) else {
        return;
    };
    let path = file(&realm, "ktutil.keytab");
    let mut script = String::new();
    for etype in [
        "aes256-cts-hmac-sha1-96",
        "aes128-cts-hmac-sha1-96",
        "aes256-cts-hmac-sha384-192",
        "rc4-hmac",
    ] {
        script.push_str(&format!("addent -password -p {ALICE} -k 3 -e {etype}\n{USER_PASSWORD}\n"));
    }
    script.push_str(&format!(
        "addent -password -p {WEB} -k 300 -e aes128-cts-hmac-sha256-128\nsecret\n"
    ));
    script.push_str(&format!("wkt {}\nquit\n", path.display()));
    ktutil(&realm, &script);

    let kt = Keytab::read(&path).expect("our reader reads ktutil's keytab");
    let mit = klist_keytab(&realm, &path);
    assert_eq!(mit.len(), 5);
    assert_eq!(our_view(&kt), mit);
    assert_eq!(kt.entries[4].kvno, 300);
    let t = now();
    assert!(kt.entries.iter().all(|e| e.timestamp.abs_diff(t) < 600), "timestamps are now");
    let alice = Principal::parse(ALICE, None).expect("principal");
    let aes = kt.find(&alice, Some(3), Some(EncType::AES256_CTS_HMAC_SHA1_96)).expect("found");
    assert_eq!(aes.key.dangerous_bytes().len(), 32);
    assert_eq!(*kt.to_bytes().expect("writes"), std::fs::read(&path).expect("file"));
}

/// A keytab `kadmin.local ktadd` writes for a service (random keys of the realm's four
/// enctypes, kvno 2) reads as klist shows it; after `ktremove` of another principal the file
/// has a hole (a negative record length) that we skip, agreeing with klist; and our rewrite
/// (without the hole) lists the same in MIT's klist.
#[test]
fn kadmin_keytab_with_a_deleted_entry() {
    let Some(realm) = Realm::start("kadmin_keytab_with_a_deleted_entry", &[]) else { return };
    realm.add_service("HTTP/web.example.test");
    realm.add_user("bob", USER_PASSWORD);
    let path = file(&realm, "service.keytab");
    realm.export_keytab("bob", &path, true);
    realm.export_keytab("HTTP/web.example.test", &path, false);
    let before = Keytab::read(&path).expect("read");
    assert_eq!(before.entries.len(), 8);
    realm.kadmin(&format!("ktremove -k {} bob all", path.display()));

    let bytes = std::fs::read(&path).expect("file");
    let first_len = i32::from_be_bytes(bytes[2..6].try_into().expect("4 bytes"));
    assert!(first_len < 0, "ktremove leaves a hole where bob's first key was: {first_len}");
    let kt = Keytab::read(&path).expect("our reader skips the holes");
    let mit = klist_keytab(&realm, &path);
    assert_eq!(our_view(&kt), mit);
    assert_eq!(mit.len(), 4);
    assert!(mit.iter().all(|k| k.principal == WEB && k.kvno == 2));
    let etypes: Vec<&str> = mit.iter().map(|k| k.etype.as_str()).collect();
    assert_eq!(
        etypes,
        [
            "aes256-cts-hmac-sha1-96",
            "aes128-cts-hmac-sha1-96",
            "aes256-cts-hmac-sha384-192",
            "arcfour-hmac"
        ]
    );

    let ours = file(&realm, "rewritten.keytab");
    kt.write(&ours).expect("write");
    assert_eq!(klist_keytab(&realm, &ours), mit);
    assert!(std::fs::metadata(&ours).expect("meta").len() < bytes.len() as u64);
}

/// MIT `kinit -k -t` gets alice a TGT from keytabs we wrote: one built from scratch with the
/// key bytes `klist -K` printed for kadmin's keytab (a KDC checks them: preauthentication is
/// encrypted in that key), and kadmin's keytab read and rewritten by us. A keytab with one
/// bit of the key flipped is refused by the KDC (so the key really is what counts).
#[test]
fn kinit_uses_keytabs_we_wrote() {
    let Some(realm) = Realm::start("kinit_uses_keytabs_we_wrote", &[]) else { return };
    realm.add_user("alice", USER_PASSWORD);
    realm.kadmin("modprinc +requires_preauth alice");
    let mit_path = file(&realm, "alice.keytab");
    realm.export_keytab("alice", &mit_path, true);
    let mit = klist_keytab(&realm, &mit_path);
    assert_eq!(mit.len(), 4);

    let entry = |k: &KlistKey, flip: bool| {
        let mut key = k.key.clone();
        if flip {
            key[0] ^= 1;
        }
        let etype = match k.etype.as_str() {
            "aes256-cts-hmac-sha1-96" => EncType::AES256_CTS_HMAC_SHA1_96,
            "aes128-cts-hmac-sha1-96" => EncType::AES128_CTS_HMAC_SHA1_96,
            "aes256-cts-hmac-sha384-192" => EncType::AES256_CTS_HMAC_SHA384_192,
            "arcfour-hmac" => EncType::RC4_HMAC,
            other => panic!("unexpected enctype {other}"),
        };
        KeytabEntry {
            principal: Principal::parse(&k.principal, None).expect("principal"),
            timestamp: now(),
            kvno: k.kvno,
            key: Key::new(etype, &key),
        }
    };
    let scratch = Keytab { entries: mit.iter().map(|k| entry(k, false)).collect() };
    let scratch_path = file(&realm, "scratch.keytab");
    scratch.write(&scratch_path).expect("write");
    assert_eq!(klist_keytab(&realm, &scratch_path), mit);
    let cc = file(&realm, "cc-scratch");
    let (ok, err) = kinit_keytab(&realm, &scratch_path, ALICE, &cc);
    assert!(ok, "kinit -k -t with our keytab failed: {err}");
    assert!(klist_cache(&realm, &cc).contains("krbtgt/EXAMPLE.TEST@EXAMPLE.TEST"));

    let rewritten = file(&realm, "rewritten.keytab");
    Keytab::read(&mit_path).expect("read").write(&rewritten).expect("write");
    let (ok, err) = kinit_keytab(&realm, &rewritten, ALICE, &file(&realm, "cc-rewritten"));
    assert!(ok, "kinit -k -t with our rewrite failed: {err}");

    let bad = Keytab { entries: mit.iter().map(|k| entry(k, true)).collect() };
    let bad_path = file(&realm, "bad.keytab");
    bad.write(&bad_path).expect("write");
    let (ok, err) = kinit_keytab(&realm, &bad_path, ALICE, &file(&realm, "cc-bad"));
    assert!(!ok, "a wrong key must not get a TGT");
    assert!(
        err.contains("Preauthentication failed") || err.contains("Password incorrect"),
        "{err}"
    );
}

// ---------------------------------------------------------------------------------------------
// Credential caches
// ---------------------------------------------------------------------------------------------

/// The cache MIT `kinit` (password) and `kvno` write reads as: version 4, alice as default
/// principal, a TGT for krbtgt/EXAMPLE.TEST@EXAMPLE.TEST with sane times (issued now, 10 h
/// max life, renewable 7 d at most), an aes256 session key as klist -e says, a DER ticket;
/// the service ticket kvno added; MIT's config entries kept; written back byte for byte.
#[test]
fn kinit_ccache_reads_as_klist_shows() {
    let Some(realm) = Realm::start("kinit_ccache_reads_as_klist_shows", &[]) else { return };
    realm.add_user("alice", USER_PASSWORD);
    realm.add_service("HTTP/web.example.test");
    let path = file(&realm, "kinit.ccache");
    let before = now();
    realm.kinit_password("alice", USER_PASSWORD, &path);
    let (ok, out) = kvno(&realm, &path, WEB);
    assert!(ok, "{out}");
    let after = now();

    let cc = CredentialCache::read(&path).expect("our reader reads kinit's cache");
    assert_eq!(cc.version, CcacheVersion::V4);
    assert_eq!(cc.default_principal.to_string(), ALICE);
    assert!(cc.kdc_time_offset.is_some());
    let tgt = cc.tgt("EXAMPLE.TEST", after).expect("a TGT");
    assert_eq!(tgt.server, Principal::krbtgt("EXAMPLE.TEST"));
    assert_eq!(tgt.client, cc.default_principal);
    assert!(
        tgt.auth_time + 5 >= before && tgt.auth_time <= after + 5,
        "auth time {}",
        tgt.auth_time
    );
    assert!(tgt.start_time >= tgt.auth_time && tgt.start_time <= after + 5);
    assert!(tgt.end_time > after && tgt.end_time - tgt.start_time <= 10 * 3600);
    assert!(
        tgt.renew_till == 0
            || (tgt.renew_till >= tgt.end_time && tgt.renew_till - tgt.start_time <= 7 * 86_400)
    );
    assert!(!tgt.is_skey);
    assert_eq!(tgt.ticket.first(), Some(&0x61), "Ticket ::= [APPLICATION 1]");
    assert!(tgt.second_ticket.is_empty());
    assert_eq!(tgt.session_key.etype(), EncType::AES256_CTS_HMAC_SHA1_96);
    assert_eq!(tgt.session_key.dangerous_bytes().len(), 32);
    let listing = klist_cache(&realm, &path);
    assert!(listing.contains("Etype (skey, tkt): aes256-cts-hmac-sha1-96"), "{listing}");

    let web = Principal::parse(WEB, None).expect("principal");
    let service = cc.find_ticket(&cc.default_principal, &web, after).expect("kvno's ticket");
    assert_eq!(service.server.to_string(), WEB);
    assert!(
        cc.find_ticket(&cc.default_principal, &web, service.end_time).is_none(),
        "expired then"
    );
    assert!(cc.credentials.iter().any(is_config_entry), "MIT writes config entries");
    assert_eq!(*cc.to_bytes().expect("writes"), std::fs::read(&path).expect("file"));
}

/// Caches we write are read and used by MIT: kinit's cache re-serialized (byte-identical,
/// listed by klist), and caches built from scratch around a copy of kinit's TGT, in versions 4
/// and 3, which `klist` lists with the right principal names and `kvno` uses to get a service
/// ticket from the KDC (so the session key, times and ticket were written right). With the
/// session key altered, kvno fails.
#[test]
fn mit_reads_and_uses_caches_we_write() {
    let Some(realm) = Realm::start("mit_reads_and_uses_caches_we_write", &[]) else { return };
    realm.add_user("alice", USER_PASSWORD);
    realm.add_service("HTTP/web.example.test");
    let mit_path = file(&realm, "kinit.ccache");
    realm.kinit_password("alice", USER_PASSWORD, &mit_path);
    let mit = CredentialCache::read(&mit_path).expect("read");

    let copy = file(&realm, "copy.ccache");
    mit.write(&copy).expect("write");
    assert_eq!(std::fs::read(&copy).expect("copy"), std::fs::read(&mit_path).expect("mit"));
    let listing = klist_cache(&realm, &copy);
    assert!(listing.contains("Default principal: alice@EXAMPLE.TEST"), "{listing}");

    let tgt = mit.tgt("EXAMPLE.TEST", now()).expect("TGT").clone();
    for version in [CcacheVersion::V4, CcacheVersion::V3] {
        let mut scratch = CredentialCache::new(Principal::parse(ALICE, None).expect("principal"));
        scratch.version = version;
        scratch.store(tgt.clone());
        let path = file(&realm, &format!("scratch-{version:?}.ccache"));
        scratch.write(&path).expect("write");
        let bytes = std::fs::read(&path).expect("file");
        assert_eq!(bytes[1], if version == CcacheVersion::V4 { 4 } else { 3 });
        let listing = klist_cache(&realm, &path);
        assert!(listing.contains("Default principal: alice@EXAMPLE.TEST"), "{listing}");
        assert!(listing.contains("krbtgt/EXAMPLE.TEST@EXAMPLE.TEST"), "{listing}");
        let (ok, out) = kvno(&realm, &path, WEB);
        assert!(ok, "kvno with our {version:?} cache: {out}");
        // MIT appended the service ticket to our file; we read it back.
        let back = CredentialCache::read(&path).expect("read back");
        assert_eq!(back.version, version);
        let web = Principal::parse(WEB, None).expect("principal");
        assert!(back.find_ticket(&back.default_principal, &web, now()).is_some());
    }

    let mut broken = tgt.clone();
    let mut key = broken.session_key.dangerous_bytes().to_vec();
    key[0] ^= 0x80;
    broken.session_key = Key::new(broken.session_key.etype(), &key);
    let mut scratch = CredentialCache::new(Principal::parse(ALICE, None).expect("principal"));
    scratch.store(broken);
    let path = file(&realm, "broken.ccache");
    scratch.write(&path).expect("write");
    let (ok, out) = kvno(&realm, &path, WEB);
    assert!(!ok, "kvno must fail with a wrong session key: {out}");
}

// ---------------------------------------------------------------------------------------------
// krb5.conf
// ---------------------------------------------------------------------------------------------

/// Our parser reads the realm's krb5.conf (the one MIT's tools in these tests use) as MIT
/// uses it: default realm, the KDC's loopback address and port, TCP only, no rdns or
/// canonicalization, the domain_realm mapping, the permitted enctypes.
#[test]
fn realm_krb5_conf_parses_as_mit_uses_it() {
    let Some(realm) = Realm::start("realm_krb5_conf_parses_as_mit_uses_it", &[]) else { return };
    let env = realm.env();
    let paths = sspi_emu::kerberos::config::default_config_paths_from(|name| {
        env.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
    });
    assert_eq!(paths, [realm.krb5_conf()]);
    let c = Krb5Config::load(&paths[0]).expect("parses");
    assert_eq!(c.default_realm(), Some("EXAMPLE.TEST"));
    assert_eq!(
        c.kdcs("EXAMPLE.TEST"),
        [KdcAddress {
            transport: KdcTransport::Any,
            host: "127.0.0.1".to_owned(),
            port: realm.port
        }]
    );
    assert_eq!(c.udp_preference_limit(), 1);
    assert!(!c.rdns());
    assert_eq!(c.dns_canonicalize_hostname(), CanonicalizeHostname::No);
    assert_eq!(c.realm_for_host("web.example.test"), Some("EXAMPLE.TEST"));
    assert_eq!(c.realm_for_host("localhost"), Some("EXAMPLE.TEST"));
    assert_eq!(
        c.permitted_enctypes(),
        [
            EncType::AES256_CTS_HMAC_SHA1_96,
            EncType::AES128_CTS_HMAC_SHA1_96,
            EncType::AES256_CTS_HMAC_SHA384_192,
            EncType::AES128_CTS_HMAC_SHA256_128,
            EncType::RC4_HMAC
        ]
    );
    // The KDC's own kdc.conf is the same syntax.
    let kdc = Krb5Config::load(realm.dir.join("kdc.conf")).expect("kdc.conf parses");
    assert_eq!(
        kdc.value(&["kdcdefaults", "kdc_tcp_listen"]),
        Some(format!("127.0.0.1:{}", realm.port).as_str())
    );
}

/// Debian's stock /etc/krb5.conf (from the krb5-config package, checked in as a fuzz seed):
/// many realms, indented with tabs and spaces, comments in a section, domain_realm with
/// nested domains (the longest suffix wins).
#[test]
fn debian_stock_krb5_conf() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/fuzz/seeds/krb5_conf/debian-default.conf");
    let c = Krb5Config::load(path).expect("parses");
    assert_eq!(c.default_realm(), Some("ATHENA.MIT.EDU"));
    assert!(!c.rdns());
    let hosts: Vec<(&str, u16)> =
        c.kdcs("ATHENA.MIT.EDU").iter().map(|k| (k.host.as_str(), k.port)).collect();
    assert_eq!(
        hosts,
        [("kerberos.mit.edu", 88), ("kerberos-1.mit.edu", 88), ("kerberos-2.mit.edu", 88)]
    );
    assert_eq!(c.kdcs("stanford.edu").len(), 3);
    assert!(c.kdcs("CSAIL.MIT.EDU").is_empty(), "no kdc line: DNS in MIT, nothing here");
    assert_eq!(c.value(&["realms", "stanford.edu", "master_kdc"]), Some("krb5auth1.stanford.edu"));
    assert_eq!(c.realm_for_host("www.mit.edu"), Some("ATHENA.MIT.EDU"));
    assert_eq!(c.realm_for_host("mit.edu"), Some("ATHENA.MIT.EDU"));
    assert_eq!(c.realm_for_host("x.media.mit.edu"), Some("MEDIA-LAB.MIT.EDU"));
    assert_eq!(c.realm_for_host("a.slac.stanford.edu"), Some("SLAC.STANFORD.EDU"));
    assert_eq!(c.realm_for_host("www.stanford.edu"), Some("stanford.edu"));
    assert_eq!(c.realm_for_host("example.com"), None);
    assert_eq!(c.value(&["libdefaults", "fcc-mit-ticketflags"]), Some("true"));
}
