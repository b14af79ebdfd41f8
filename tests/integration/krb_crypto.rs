//! Kerberos crypto (`sspi_emu::kerberos::crypto`) against other implementations:
//!
//! - MIT Kerberos: `ktutil` makes keys from a password for every enctype (default salt
//!   `REALMprincipal`, default iteration counts), `klist -k -K -e` prints them; our
//!   `string_to_key` must give the same bytes.
//! - picky-krb 0.13.1 (Devolutions): for aes128/aes256-cts-hmac-sha1-96, the only enctypes
//!   of ours it implements, on random keys, usages and messages: what we encrypt it decrypts,
//!   what it encrypts we decrypt, checksums and string-to-key (4096 iterations) agree.

use crate::driver::{missing_peer, to_hex};
use sspi_emu::env::{RandomSource, SeededRandom};
use sspi_emu::kerberos::crypto::{
    DerivedKeys, KeyUsage, decrypt, encrypt, make_checksum, random_key, string_to_key,
    verify_checksum,
};
use sspi_emu::kerberos::{EncType, Key};
use std::io::Write;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Kills the child if the test ends before it does.
struct Guard(Child);

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Runs `program` with `stdin` and returns its stdout, or `None` if it is not installed.
/// Fails after 30 s.
fn run(program: &str, args: &[&str], stdin: &str) -> Option<String> {
    let child = Command::new(program)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .ok()?;
    let mut guard = Guard(child);
    guard.0.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
    let start = Instant::now();
    while guard.0.try_wait().unwrap().is_none() {
        assert!(start.elapsed() < Duration::from_secs(30), "{program} did not finish");
        std::thread::sleep(Duration::from_millis(20));
    }
    let mut out = String::new();
    std::io::Read::read_to_string(guard.0.stdout.as_mut().unwrap(), &mut out).unwrap();
    Some(out)
}

#[test]
fn string_to_key_matches_keys_mit_ktutil_made() {
    let test = "krb_crypto::string_to_key_matches_keys_mit_ktutil_made";
    let password = "Correct horse 1 \u{e9}t\u{e9}";
    let names = [
        (EncType::AES128_CTS_HMAC_SHA1_96, "aes128-cts-hmac-sha1-96"),
        (EncType::AES256_CTS_HMAC_SHA1_96, "aes256-cts-hmac-sha1-96"),
        (EncType::AES128_CTS_HMAC_SHA256_128, "aes128-cts-hmac-sha256-128"),
        (EncType::AES256_CTS_HMAC_SHA384_192, "aes256-cts-hmac-sha384-192"),
        (EncType::RC4_HMAC, "arcfour-hmac"),
    ];
    let path =
        std::env::temp_dir().join(format!("sspi-emu-krb-crypto-{}.keytab", std::process::id()));
    let _ = std::fs::remove_file(&path);
    let mut script = String::new();
    for (_, name) in names {
        script += &format!("addent -password -p alice@EXAMPLE.TEST -k 1 -e {name}\n{password}\n");
    }
    script += &format!("wkt {}\nquit\n", path.display());
    if run("ktutil", &[], &script).is_none() {
        return missing_peer(test, "MIT ktutil is not installed");
    }
    let listing = run("klist", &["-k", "-K", "-e", path.to_str().unwrap()], "");
    let _ = std::fs::remove_file(&path);
    let Some(listing) = listing else { return missing_peer(test, "MIT klist is not installed") };
    for (etype, name) in names {
        // `   1 alice@EXAMPLE.TEST (aes256-cts-hmac-sha1-96)  (0x71e3...)`; rc4 is shown as
        // `DEPRECATED:arcfour-hmac`.
        let line = listing
            .lines()
            .find(|l| l.contains(&format!("{name})")))
            .unwrap_or_else(|| panic!("no {name} key in:\n{listing}"));
        let mit = line.rsplit("(0x").next().unwrap().trim_end_matches(')');
        let ours = string_to_key(etype, password.as_bytes(), b"EXAMPLE.TESTalice", None).unwrap();
        assert_eq!(to_hex(ours.dangerous_bytes()), mit, "{name}");
    }
}

fn picky_suite(etype: EncType) -> picky_krb::crypto::CipherSuite {
    match etype {
        EncType::AES128_CTS_HMAC_SHA1_96 => picky_krb::crypto::CipherSuite::Aes128CtsHmacSha196,
        _ => picky_krb::crypto::CipherSuite::Aes256CtsHmacSha196,
    }
}

fn picky_checksum(etype: EncType) -> picky_krb::crypto::ChecksumSuite {
    match etype {
        EncType::AES128_CTS_HMAC_SHA1_96 => picky_krb::crypto::ChecksumSuite::HmacSha196Aes128,
        _ => picky_krb::crypto::ChecksumSuite::HmacSha196Aes256,
    }
}

/// A value in `0..n` from the random source.
fn below(random: &SeededRandom, n: usize) -> usize {
    let mut b = [0u8; 4];
    random.fill(&mut b).unwrap();
    usize::try_from(u32::from_le_bytes(b)).unwrap() % n
}

#[test]
fn aes_sha1_agrees_with_picky_krb_both_ways() {
    let random = SeededRandom::new(0x5eed);
    for etype in [EncType::AES128_CTS_HMAC_SHA1_96, EncType::AES256_CTS_HMAC_SHA1_96] {
        let cipher = picky_suite(etype).cipher();
        let hasher = picky_checksum(etype).hasher();
        for round in 0..200 {
            let key = random_key(etype, &random).unwrap();
            let usage = u32::try_from(below(&random, 30)).unwrap() + 1;
            let len =
                if round % 20 == 0 { 1000 + below(&random, 3000) } else { below(&random, 70) };
            let mut plain = vec![0u8; len];
            random.fill(&mut plain).unwrap();
            let picky_usage = i32::try_from(usage).unwrap();

            let ours = encrypt(&key, KeyUsage(usage), &plain, &random).unwrap();
            let theirs = cipher.decrypt(key.dangerous_bytes(), picky_usage, &ours).unwrap();
            assert_eq!(theirs, plain, "{etype:?} len {len}: picky decrypts ours");

            let theirs = cipher.encrypt(key.dangerous_bytes(), picky_usage, &plain).unwrap();
            assert_eq!(
                decrypt(&key, KeyUsage(usage), &theirs).unwrap(),
                plain,
                "ours decrypts picky's"
            );
            let keys = DerivedKeys::new(&key, KeyUsage(usage)).unwrap();
            let mut buf = theirs.clone();
            assert_eq!(keys.decrypt_in_place(&mut buf).unwrap(), &plain[..]);

            let sum = make_checksum(&key, KeyUsage(usage), &plain).unwrap();
            let picky_sum = hasher.checksum(key.dangerous_bytes(), picky_usage, &plain).unwrap();
            assert_eq!(sum, picky_sum, "{etype:?} checksum");
            verify_checksum(&key, KeyUsage(usage), &plain, &picky_sum).unwrap();
        }
    }
}

#[test]
fn aes_sha1_string_to_key_agrees_with_picky_krb() {
    let random = SeededRandom::new(77);
    for etype in [EncType::AES128_CTS_HMAC_SHA1_96, EncType::AES256_CTS_HMAC_SHA1_96] {
        let cipher = picky_suite(etype).cipher();
        for _ in 0..4 {
            let mut password = vec![0u8; 1 + below(&random, 40)];
            random.fill(&mut password).unwrap();
            let mut salt = vec![0u8; below(&random, 40)];
            random.fill(&mut salt).unwrap();
            let ours = string_to_key(etype, &password, &salt, None).unwrap();
            let theirs = cipher.generate_key_from_password(&password, &salt).unwrap();
            assert!(ours.ct_eq(&Key::new(etype, &theirs)), "{etype:?}");
        }
    }
}
