//! Golden blobs of Kerberos contexts (package 2, format version 2): checked in, written byte
//! for byte by this build, and imported forever, carrying on exactly as recorded. Cut from the
//! offline world of `sspi_emu::fuzzing` (a ticket issued under a fixed service key, a fixed
//! clock and seeded randomness), so no KDC is needed.

use crate::driver::{hex, to_hex};
use crate::export::test_key;
use sspi_emu::export::ExportOptions;
use sspi_emu::fuzzing::{
    krb_acceptor, krb_acceptor_credentials, krb_env, krb_initiator, krb_initiator_credentials,
};
use sspi_emu::{ImportOptions, SecurityContext};
use std::collections::HashMap;

const MESSAGE: &[u8] = b"golden kerberos message";

fn dir() -> String {
    format!("{}/tests/data/v2", env!("CARGO_MANIFEST_DIR"))
}

struct Golden {
    blobs: Vec<(&'static str, Vec<u8>)>,
    transcript: Vec<(&'static str, Vec<u8>)>,
}

fn make() -> Golden {
    let options = ExportOptions::new().protection(test_key()).environment(krb_env(99));
    let mut client = krb_initiator(1);
    let mut server = krb_acceptor(2);
    let mut blobs = Vec::new();
    let mut snap = |name, ctx: &mut SecurityContext| {
        let blob = ctx.export(0, &options).unwrap().packed.as_bytes().to_vec();
        assert_eq!((blob[8], blob[10]), (2, 2), "{name}: format version 2, package Kerberos");
        blobs.push((name, blob));
    };
    snap("krb-initiator-initial", &mut client);
    snap("krb-acceptor-initial", &mut server);
    let ap_req = client.step(None).unwrap().token;
    snap("krb-initiator-wait-ap-rep", &mut client);
    let ap_rep = server.step(Some(&ap_req)).unwrap().token;
    client.step(Some(&ap_rep)).unwrap();
    let first = client.wrap(b"first").unwrap();
    server.unwrap(&first).unwrap();
    snap("krb-initiator-established", &mut client);
    snap("krb-acceptor-established", &mut server);
    // Sealing draws a random confounder, and the randomness source does not travel with a
    // context: the recorded messages are those of the imported copies with fresh sources of
    // fixed seeds (3 and 4), which an import with the same seeds must repeat byte for byte.
    let reimport = |name: &str, blob: &[u8], seed, initiator: bool| {
        let creds =
            if initiator { krb_initiator_credentials() } else { krb_acceptor_credentials() };
        let options = ImportOptions::new()
            .protection(test_key())
            .credentials(creds)
            .environment(krb_env(seed));
        SecurityContext::import(blob, &options).unwrap_or_else(|e| panic!("{name}: {e}"))
    };
    let mut client = reimport("client", &blobs[3].1, 3, true);
    let mut server = reimport("server", &blobs[4].1, 4, false);
    let mic = client.sign(MESSAGE).unwrap();
    let mut sealed = MESSAGE.to_vec();
    let trailer = client.seal(&mut sealed).unwrap();
    let to_client = server.wrap(MESSAGE).unwrap();
    Golden {
        blobs,
        transcript: vec![
            ("ap-req", ap_req),
            ("ap-rep", ap_rep),
            ("mic-to-acceptor", mic.to_vec()),
            ("sealed-to-acceptor", sealed),
            ("sealed-to-acceptor-trailer", trailer.to_vec()),
            ("wrapped-to-initiator", to_client),
        ],
    }
}

fn golden(name: &str) -> Vec<u8> {
    std::fs::read(format!("{}/{name}.blob", dir())).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn transcript() -> HashMap<String, Vec<u8>> {
    let text = std::fs::read_to_string(format!("{}/krb-transcript.txt", dir())).unwrap();
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(|l| {
            let (k, v) = l.split_once(' ').unwrap();
            (k.to_owned(), hex(v))
        })
        .collect()
}

/// Adds missing golden files when `SSPI_EMU_BLESS=1` (released blobs are never rewritten);
/// this build writes every one byte for byte.
#[test]
fn kerberos_golden_blobs_are_current() {
    let g = make();
    if std::env::var_os("SSPI_EMU_BLESS").is_some_and(|v| v == "1") {
        for (name, blob) in &g.blobs {
            let file = format!("{}/{name}.blob", dir());
            if !std::path::Path::new(&file).exists() {
                std::fs::write(file, blob).unwrap();
            }
        }
        let mut text =
            "# Wire tokens of the Kerberos conversation the v2 krb-* golden blobs were cut from.\n"
                .to_owned();
        for (k, v) in &g.transcript {
            text.push_str(&format!("{k} {}\n", to_hex(v)));
        }
        std::fs::write(format!("{}/krb-transcript.txt", dir()), text).unwrap();
    }
    for (name, blob) in &g.blobs {
        assert_eq!(&golden(name), blob, "{name}");
    }
    let t = transcript();
    for (k, v) in &g.transcript {
        assert_eq!(&t[*k], v, "{k}");
    }
}

/// The released blobs import and carry on exactly as recorded.
#[test]
fn kerberos_golden_blobs_import_forever() {
    let t = transcript();
    let import = |name: &str, seed, initiator: bool| {
        let creds =
            if initiator { krb_initiator_credentials() } else { krb_acceptor_credentials() };
        let options = ImportOptions::new()
            .protection(test_key())
            .credentials(creds)
            .environment(krb_env(seed));
        SecurityContext::import(&golden(name), &options).unwrap_or_else(|e| panic!("{name}: {e}"))
    };
    // Before the first token: the same AP-REQ, and the acceptor answers the same AP-REP.
    assert_eq!(import("krb-initiator-initial", 1, true).step(None).unwrap().token, t["ap-req"]);
    let mut server = import("krb-acceptor-initial", 2, false);
    assert_eq!(server.step(Some(&t["ap-req"])).unwrap().token, t["ap-rep"]);
    assert_eq!(server.client_name().unwrap(), "alice@EXAMPLE.TEST");
    // Waiting for the AP-REP: completed by it.
    let mut client = import("krb-initiator-wait-ap-rep", 1, true);
    assert!(client.step(Some(&t["ap-rep"])).unwrap().complete);
    // Established, after traffic: the same MIC and sealed bytes, and the acceptor takes them.
    let mut client = import("krb-initiator-established", 3, true);
    assert_eq!(client.sign(MESSAGE).unwrap().to_vec(), t["mic-to-acceptor"]);
    let mut sealed = MESSAGE.to_vec();
    let trailer = client.seal(&mut sealed).unwrap();
    assert_eq!(
        (sealed, trailer.to_vec()),
        (t["sealed-to-acceptor"].clone(), t["sealed-to-acceptor-trailer"].clone())
    );
    let mut server = import("krb-acceptor-established", 4, false);
    server.verify(MESSAGE, &t["mic-to-acceptor"]).unwrap();
    let mut data = t["sealed-to-acceptor"].clone();
    server.unseal(&mut data, &t["sealed-to-acceptor-trailer"]).unwrap();
    assert_eq!(data, MESSAGE);
    assert_eq!(server.wrap(MESSAGE).unwrap(), t["wrapped-to-initiator"]);
    assert_eq!(client.unwrap(&t["wrapped-to-initiator"]).unwrap(), MESSAGE);
}
