//! ExportSecurityContext / ImportSecurityContext: equivalence at every stage, flags, errors,
//! the key file, and golden blobs that must import forever.

use super::driver::*;
use sspi_emu::ImportOptions;
use sspi_emu::env::{ManualClock, SeededRandom};
use sspi_emu::export::*;
use sspi_emu::flags::{AscReq, IscReq};
use sspi_emu::{
    AcceptorOptions, Environment, Error, InitiatorOptions, OemCodePage, SecurityContext,
    SecurityStatus,
};

/// The key of the tests' blobs (and of the golden blobs: never change it).
pub fn test_key() -> Protection {
    Protection::Key(ExportKey::from_bytes([0x42; 32]))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    Client,
    Server,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum At {
    BeforeFirstToken,
    AfterFirstLeg,
    Established(usize),
}

const MESSAGES: usize = 5;

/// One conversation: handshake then MESSAGES rounds of sealed, wrapped and signed messages
/// both ways. With `moved`, that side's context is exported and replaced by the import at
/// that point. Returns everything that went over the wire and every plaintext that came out.
fn conversation(moved: Option<(Side, At)>, flags: u32) -> Vec<Vec<u8>> {
    let clock = ManualClock::new(T0);
    let cenv = Environment::new(SeededRandom::new(11), clock.clone());
    let senv = Environment::new(SeededRandom::new(22), clock.clone());
    let mut client = SecurityContext::initiator(
        &client_creds(),
        InitiatorOptions::new()
            .flags(IscReq::CONFIDENTIALITY | IscReq::INTEGRITY | IscReq::REPLAY_DETECT)
            .target_name("HTTP/server")
            .environment(cenv.clone()),
    )
    .unwrap();
    let mut server = SecurityContext::acceptor(
        &server_creds(),
        AcceptorOptions::new()
            .flags(AscReq::CONFIDENTIALITY | AscReq::REPLAY_DETECT)
            .accepted_target_names(["HTTP/server".to_owned()])
            .environment(senv.clone()),
    )
    .unwrap();
    let mut moves = 0;
    let mut maybe_move = |side: Side, at: At, c: &mut SecurityContext, s: &mut SecurityContext| {
        if moved != Some((side, at)) {
            return;
        }
        let (ctx, env) = match side {
            Side::Client => (c, cenv.clone()),
            Side::Server => (s, senv.clone()),
        };
        let exported = ctx.export(flags, &ExportOptions::new().protection(test_key())).unwrap();
        let options = ImportOptions::new()
            .protection(test_key())
            .environment(env)
            .credentials(server_creds());
        let imported = SecurityContext::import(exported.packed.as_bytes(), &options).unwrap();
        if flags & SECPKG_CONTEXT_EXPORT_DELETE_OLD != 0 {
            assert_eq!(ctx.sign(b"x"), Err(Error::InvalidHandle));
        }
        *ctx = imported;
        moves += 1;
    };
    let mut wire = Vec::new();
    maybe_move(Side::Client, At::BeforeFirstToken, &mut client, &mut server);
    maybe_move(Side::Server, At::BeforeFirstToken, &mut client, &mut server);
    let negotiate = client.step(None).unwrap().token;
    maybe_move(Side::Client, At::AfterFirstLeg, &mut client, &mut server);
    let challenge = server.step(Some(&negotiate)).unwrap().token;
    maybe_move(Side::Server, At::AfterFirstLeg, &mut client, &mut server);
    clock.advance(std::time::Duration::from_secs(3));
    let authenticate = client.step(Some(&challenge)).unwrap().token;
    assert!(server.step(Some(&authenticate)).unwrap().complete);
    wire.extend([negotiate, challenge, authenticate]);
    for i in 0..MESSAGES {
        maybe_move(Side::Client, At::Established(i), &mut client, &mut server);
        maybe_move(Side::Server, At::Established(i), &mut client, &mut server);
        let mut data = format!("request {i}").repeat(i + 1).into_bytes();
        let sig = client.seal(&mut data).unwrap();
        wire.extend([data.clone(), sig.to_vec()]);
        server.unseal(&mut data, &sig).unwrap();
        wire.push(data);
        let token = server.wrap(format!("reply {i}").as_bytes()).unwrap();
        wire.push(client.unwrap(&token).unwrap());
        wire.push(token);
        let sig = client.sign(b"signed").unwrap();
        server.verify(b"signed", &sig).unwrap();
        wire.push(sig.to_vec());
    }
    assert_eq!(moves, usize::from(moved.is_some()), "the move at {moved:?} happened");
    wire
}

#[test]
fn export_import_at_every_stage_is_byte_identical() {
    let reference = conversation(None, 0);
    let mut stages = vec![At::BeforeFirstToken, At::AfterFirstLeg];
    stages.extend((0..MESSAGES).map(At::Established));
    for side in [Side::Client, Side::Server] {
        for &at in &stages {
            for flags in [0, SECPKG_CONTEXT_EXPORT_DELETE_OLD] {
                assert_eq!(
                    conversation(Some((side, at)), flags),
                    reference,
                    "{side:?} {at:?} {flags}"
                );
            }
        }
    }
}

fn established_pair() -> (SecurityContext, SecurityContext) {
    established(40)
}

#[test]
fn without_delete_old_both_copies_live() {
    let (mut client, mut server) = established_pair();
    let exported = server.export(0, &ExportOptions::new().protection(test_key())).unwrap();
    let mut copy = SecurityContext::import(
        exported.packed.as_bytes(),
        &ImportOptions::new().protection(test_key()),
    )
    .unwrap();
    // Each copy is where the original was: both unseal the same next message.
    let mut a = *b"to both";
    let sig = client.seal(&mut a).unwrap();
    let mut b = a;
    server.unseal(&mut a, &sig).unwrap();
    copy.unseal(&mut b, &sig).unwrap();
    assert_eq!((&a, &b), (b"to both", b"to both"));
    // A second export of the original works too.
    server.export(0, &ExportOptions::new().protection(test_key())).unwrap();
}

#[test]
fn delete_old_invalidates_the_exported_context() {
    let (_, mut server) = established_pair();
    server
        .export(SECPKG_CONTEXT_EXPORT_DELETE_OLD, &ExportOptions::new().protection(test_key()))
        .unwrap();
    assert_eq!(server.sign(b"x"), Err(Error::InvalidHandle));
    assert_eq!(server.step(Some(b"x")).unwrap_err(), Error::InvalidHandle);
    assert_eq!(server.client_name(), Err(Error::InvalidHandle));
    assert!(!server.is_established());
    let again = server.export(0, &ExportOptions::new().protection(test_key()));
    assert_eq!(again.unwrap_err(), Error::InvalidHandle, "a second export");
}

#[test]
fn to_kernel_and_unknown_flags_are_refused_and_change_nothing() {
    let (mut client, mut server) = established_pair();
    let options = ExportOptions::new().protection(test_key());
    let err = server.export(SECPKG_CONTEXT_EXPORT_TO_KERNEL, &options).unwrap_err();
    assert_eq!(SecurityStatus::from(&err), SecurityStatus::SEC_E_NOT_SUPPORTED);
    let err = server.export(SECPKG_CONTEXT_EXPORT_DELETE_OLD | 8, &options).unwrap_err();
    assert_eq!(SecurityStatus::from(&err), SecurityStatus::SEC_E_INVALID_PARAMETER);
    let sig = client.sign(b"still here").unwrap();
    server.verify(b"still here", &sig).unwrap();
}

#[test]
fn reset_new_starts_over_with_the_same_options() {
    // An established acceptor exported with RESET_NEW imports as a fresh acceptor with the
    // same options: it authenticates a new client from scratch.
    let (_, mut server) = established_pair();
    let exported = server
        .export(SECPKG_CONTEXT_EXPORT_RESET_NEW, &ExportOptions::new().protection(test_key()))
        .unwrap();
    assert!(server.is_established(), "the original is untouched");
    let options = ImportOptions::new()
        .protection(test_key())
        .credentials(server_creds())
        .environment(env(5).0);
    let mut fresh = SecurityContext::import(exported.packed.as_bytes(), &options).unwrap();
    assert!(!fresh.is_established());
    let mut client = SecurityContext::initiator(&client_creds(), client_options(6)).unwrap();
    handshake_with(&mut client, &mut fresh, |_, _| {}).unwrap();
    assert_eq!(fresh.client_name().unwrap(), "EXAMPLE\\alice");
    // The blob holds no keys of the old session: it is smaller than a full one.
    let full = server.export(0, &ExportOptions::new().protection(test_key())).unwrap();
    assert!(exported.packed.as_bytes().len() < full.packed.as_bytes().len());

    // An initiator likewise: a new handshake, new keys.
    let (mut client, _) = established_pair();
    let old_key = client.dangerous_session_key().unwrap();
    let exported = client
        .export(SECPKG_CONTEXT_EXPORT_RESET_NEW, &ExportOptions::new().protection(test_key()))
        .unwrap();
    assert!(exported.identity.is_none(), "a reset blob authenticates no one");
    let options = ImportOptions::new().protection(test_key()).environment(env(7).0);
    let mut fresh = SecurityContext::import(exported.packed.as_bytes(), &options).unwrap();
    let mut server = SecurityContext::acceptor(&server_creds(), server_options(8)).unwrap();
    handshake_with(&mut fresh, &mut server, |_, _| {}).unwrap();
    assert!(!fresh.dangerous_session_key().unwrap().ct_eq(&old_key));
}

#[test]
fn identity_token() {
    let (_, mut server) = established_pair();
    let exported = server.export(0, &ExportOptions::new().protection(test_key())).unwrap();
    let identity = exported.identity.clone().unwrap();
    assert_eq!((identity.package.as_str(), identity.name().as_str()), ("NTLM", "EXAMPLE\\alice"));
    assert_eq!(identity.logon_time, T0);
    let with = |id: ClientIdentity| {
        SecurityContext::import(
            exported.packed.as_bytes(),
            &ImportOptions::new().protection(test_key()).identity(id),
        )
    };
    let imported = with(identity.clone()).unwrap();
    assert_eq!(imported.client_name().unwrap(), "EXAMPLE\\alice");
    let mut other = identity.clone();
    other.user = "mallory".into();
    assert_eq!(with(other).unwrap_err(), Error::WrongPrincipal);
    // Before the handshake completes there is no identity, and none can be expected.
    let mut fresh = SecurityContext::acceptor(&server_creds(), server_options(1)).unwrap();
    let early = fresh.export(0, &ExportOptions::new().protection(test_key())).unwrap();
    assert!(early.identity.is_none());
    let err = SecurityContext::import(
        early.packed.as_bytes(),
        &ImportOptions::new().protection(test_key()).credentials(server_creds()).identity(identity),
    )
    .unwrap_err();
    assert_eq!(err, Error::WrongPrincipal);
}

#[test]
fn import_errors_are_clear_and_create_nothing() {
    let (_, mut server) = established_pair();
    let packed = server.export(0, &ExportOptions::new().protection(test_key())).unwrap().packed;
    let blob = packed.as_bytes();
    let import = |bytes: &[u8], protection: Protection| {
        SecurityContext::import(bytes, &ImportOptions::new().protection(protection)).map(|_| ())
    };
    // The package comes from the blob; the Windows-shaped layer checks the name it is given
    // against it.
    let by_name_with = |package: &str, protection: Protection| {
        let mut handle = sspi_emu::sspi::SecHandle::default();
        let options = ImportOptions::new().protection(protection);
        sspi_emu::sspi::import_security_context_ex(package, blob, None, &options, &mut handle)
    };
    let by_name = |package: &str| by_name_with(package, test_key());
    assert_eq!(by_name("Kerberoz"), SecurityStatus::SEC_E_SECPKG_NOT_FOUND);
    assert_eq!(by_name("Kerberos"), SecurityStatus::SEC_E_INVALID_TOKEN);
    // The name is checked before anything is opened, as Windows hands the blob to the named
    // package: a wrong key does not hide that the blob is of another package.
    let other = Protection::Key(ExportKey::from_bytes([9; 32]));
    assert_eq!(by_name_with("Kerberos", other.clone()), SecurityStatus::SEC_E_INVALID_TOKEN);
    assert_eq!(by_name_with("NTLM", other), SecurityStatus::SEC_E_DECRYPT_FAILURE);
    assert_eq!(by_name("ntlm"), SecurityStatus::SEC_E_OK);
    assert_eq!(
        SecurityContext::import(blob, &ImportOptions::new().protection(test_key()))
            .unwrap()
            .package(),
        sspi_emu::Package::Ntlm
    );
    let other_key = Protection::Key(ExportKey::from_bytes([7; 32]));
    assert_eq!(import(blob, other_key), Err(Error::WrongKey));
    assert_eq!(
        SecurityStatus::from(&Error::WrongKey),
        SecurityStatus::SEC_E_DECRYPT_FAILURE,
        "a wrong key is told apart from damage"
    );
    assert_eq!(import(blob, Protection::DangerousUnprotected), Err(Error::WrongKey));
    // A newer format version: named, with the newest this build reads.
    let mut newer = blob.to_vec();
    newer[8] = 3;
    let err = import(&newer, test_key()).unwrap_err();
    assert_eq!(err, Error::UnsupportedVersion { found: 3, newest: 2 });
    assert!(err.to_string().contains("version 3") && err.to_string().contains("newest 2"));
    // The package byte is authenticated: an NTLM blob relabelled Kerberos is damage.
    let mut kerberos = blob.to_vec();
    kerberos[10] = 2;
    assert_eq!(import(&kerberos, test_key()), Err(Error::CorruptContext("authentication failed")));
    // A package this build does not have (Negotiate is reserved as package 3).
    let mut negotiate = blob.to_vec();
    negotiate[10] = 3;
    assert!(matches!(import(&negotiate, test_key()), Err(Error::NotSupported(_))));
    // Too large: refused before anything is read.
    let huge = vec![0u8; MAX_PACKED_SIZE + 1];
    assert_eq!(
        import(&huge, test_key()),
        Err(Error::CorruptContext("larger than any packed context"))
    );
    // An acceptor mid-handshake needs its credentials.
    let mut fresh = SecurityContext::acceptor(&server_creds(), server_options(1)).unwrap();
    let negotiate = SecurityContext::initiator(&client_creds(), client_options(2))
        .unwrap()
        .step(None)
        .unwrap()
        .token;
    fresh.step(Some(&negotiate)).unwrap();
    let mid = fresh.export(0, &ExportOptions::new().protection(test_key())).unwrap().packed;
    assert!(matches!(import(mid.as_bytes(), test_key()), Err(Error::UnknownCredentials(_))));
    let wrong = ImportOptions::new().protection(test_key()).credentials(client_creds());
    assert!(matches!(
        SecurityContext::import(mid.as_bytes(), &wrong),
        Err(Error::UnknownCredentials(_))
    ));
    // A failed handshake cannot be exported, except to start over (RESET_NEW).
    let mut failed = SecurityContext::acceptor(&server_creds(), server_options(1)).unwrap();
    assert!(failed.step(Some(b"garbage")).is_err());
    let options = ExportOptions::new().protection(test_key());
    assert!(matches!(failed.export(0, &options), Err(Error::WrongState(_))));
    let fresh = failed.export(SECPKG_CONTEXT_EXPORT_RESET_NEW, &options).unwrap();
    let import = ImportOptions::new().protection(test_key()).credentials(server_creds());
    let mut again = SecurityContext::import(fresh.packed.as_bytes(), &import).unwrap();
    let mut client = SecurityContext::initiator(&client_creds(), client_options(2)).unwrap();
    let mut again_env = again;
    handshake_with(&mut client, &mut again_env, |_, _| {}).unwrap();
    again = again_env;
    assert!(again.is_established());
}

#[test]
fn unprotected_blobs_need_the_dangerous_option_on_both_sides() {
    let (mut client, mut server) = established_pair();
    let packed = server
        .export(0, &ExportOptions::new().protection(Protection::DangerousUnprotected))
        .unwrap()
        .packed;
    assert!(matches!(
        SecurityContext::import(packed.as_bytes(), &ImportOptions::new().protection(test_key())),
        Err(Error::NotSupported(_))
    ));
    let mut imported = SecurityContext::import(
        packed.as_bytes(),
        &ImportOptions::new().protection(Protection::DangerousUnprotected),
    )
    .unwrap();
    let sig = client.sign(b"m").unwrap();
    imported.verify(b"m", &sig).unwrap();
    // Damage is still caught.
    flips_and_truncations_are_rejected(packed.as_bytes(), Protection::DangerousUnprotected);
}

fn flips_and_truncations_are_rejected(blob: &[u8], protection: Protection) {
    let options = ImportOptions::new().protection(protection).credentials(server_creds());
    for bit in 0..blob.len() * 8 {
        let mut bad = blob.to_vec();
        bad[bit / 8] ^= 1 << (bit % 8);
        assert!(SecurityContext::import(&bad, &options).is_err(), "bit {bit} flipped");
    }
    for len in 0..blob.len() {
        assert!(SecurityContext::import(&blob[..len], &options).is_err(), "cut at {len}");
    }
    let mut longer = blob.to_vec();
    longer.push(0);
    assert!(SecurityContext::import(&longer, &options).is_err(), "extended");
    assert!(SecurityContext::import(blob, &options).is_ok());
}

#[test]
fn every_bit_flip_and_truncation_of_a_blob_is_rejected() {
    let (_, mut server) = established_pair();
    let packed = server.export(0, &ExportOptions::new().protection(test_key())).unwrap().packed;
    flips_and_truncations_are_rejected(packed.as_bytes(), test_key());
    let mut client = SecurityContext::initiator(&client_creds(), client_options(3)).unwrap();
    client.step(None).unwrap();
    let packed = client.export(0, &ExportOptions::new().protection(test_key())).unwrap().packed;
    flips_and_truncations_are_rejected(packed.as_bytes(), test_key());
}

#[test]
fn host_key_file() {
    let dir = std::env::temp_dir().join(format!("sspi-emu-key-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let path = dir.join("nested").join("export.key");
    // Many threads race to create it: all end up with the same key.
    let keys: Vec<_> = (0..8)
        .map(|_| {
            let path = path.clone();
            std::thread::spawn(move || ExportKey::load_or_create(&path).unwrap().id())
        })
        .collect::<Vec<_>>()
        .into_iter()
        .map(|t| t.join().unwrap())
        .collect();
    assert!(keys.windows(2).all(|w| w[0] == w[1]));
    assert_eq!(std::fs::read(&path).unwrap().len(), 32);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let err = ExportKey::load_or_create(&path).unwrap_err();
        assert!(matches!(&err, Error::KeyFile(m) if m.contains("600")), "{err}");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    std::fs::write(&path, [1u8; 31]).unwrap();
    assert!(matches!(ExportKey::load_or_create(&path), Err(Error::KeyFile(_))));
    // A symbolic link is refused, and so is a directory others can write to.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        ExportKey::load_or_create(&path).ok();
        std::fs::write(&path, [2u8; 32]).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        let link = dir.join("nested").join("link.key");
        std::os::unix::fs::symlink(&path, &link).unwrap();
        assert!(
            matches!(ExportKey::load_or_create(&link), Err(Error::KeyFile(m)) if m.contains("symbolic"))
        );
        let nested = dir.join("nested");
        std::fs::set_permissions(&nested, std::fs::Permissions::from_mode(0o777)).unwrap();
        let err = ExportKey::load_or_create(&path).unwrap_err();
        assert!(matches!(&err, Error::KeyFile(m) if m.contains("writable by others")), "{err}");
        std::fs::set_permissions(&nested, std::fs::Permissions::from_mode(0o700)).unwrap();
        assert!(ExportKey::load_or_create(&path).is_ok());
    }
    // Debug shows the id, never the key.
    let key = ExportKey::from_bytes([0x42; 32]);
    assert!(!format!("{key:?}").contains("4242"));
    std::fs::remove_dir_all(&dir).unwrap();
}

// ---- Golden blobs ---------------------------------------------------------------------

/// Every released format version, each with its own directory of golden blobs.
const GOLDEN_VERSIONS: [u8; 2] = [1, 2];
const GOLDEN_MESSAGE: &[u8] = b"golden message";

fn golden_dir(version: u8) -> String {
    format!("{}/tests/data/v{version}", env!("CARGO_MANIFEST_DIR"))
}

/// The conversation the golden blobs were cut from: fixed seeds, clock and nonce source.
/// Version 1 is the default options; version 2 the same conversation with the options
/// version 1 cannot hold (OEM code pages, `require_mic`), plus an acceptor half-way through
/// curl's OEM logon.
struct Golden {
    blobs: Vec<(&'static str, Vec<u8>)>,
    transcript: Vec<(&'static str, Vec<u8>)>,
}

fn golden_env(seed: u64) -> Environment {
    Environment::new(SeededRandom::new(seed), ManualClock::new(T0))
}

fn make_golden(version: u8) -> Golden {
    let nonces = golden_env(99);
    let options = ExportOptions::new().protection(test_key()).environment(nonces);
    let mut client_options = InitiatorOptions::new()
        .flags(IscReq::CONFIDENTIALITY | IscReq::INTEGRITY | IscReq::SEQUENCE_DETECT)
        .target_name("HTTP/golden")
        .workstation("WS")
        .environment(golden_env(1));
    let mut server_options =
        AcceptorOptions::new().flags(AscReq::CONFIDENTIALITY).environment(golden_env(2));
    if version == 2 {
        client_options = client_options.oem_code_page(OemCodePage::Cp852);
        server_options = server_options.require_mic(true).oem_code_page(OemCodePage::Cp850);
    }
    let mut client = SecurityContext::initiator(&client_creds(), client_options).unwrap();
    let mut server = SecurityContext::acceptor(&server_creds(), server_options).unwrap();
    let mut blobs = Vec::new();
    let mut snap = |name, ctx: &mut SecurityContext| {
        let blob = ctx.export(0, &options).unwrap().packed.as_bytes().to_vec();
        assert_eq!(blob[8], version, "{name}: written as the oldest version that holds it");
        blobs.push((name, blob));
    };
    snap("ntlm-client-initial", &mut client);
    snap("ntlm-server-initial", &mut server);
    let negotiate = client.step(None).unwrap().token;
    snap("ntlm-client-wait-challenge", &mut client);
    let challenge = server.step(Some(&negotiate)).unwrap().token;
    snap("ntlm-server-wait-authenticate", &mut server);
    let authenticate = client.step(Some(&challenge)).unwrap().token;
    server.step(Some(&authenticate)).unwrap();
    let mut data = b"first".to_vec();
    let sig = client.seal(&mut data).unwrap();
    server.unseal(&mut data, &sig).unwrap();
    snap("ntlm-client-established", &mut client);
    snap("ntlm-server-established", &mut server);
    let mut to_server = GOLDEN_MESSAGE.to_vec();
    let to_server_sig = client.seal(&mut to_server).unwrap();
    let to_client = server.wrap(GOLDEN_MESSAGE).unwrap();
    let mut transcript = vec![
        ("negotiate", negotiate),
        ("challenge", challenge),
        ("authenticate", authenticate),
        ("sealed-to-server", to_server),
        ("sealed-to-server-signature", to_server_sig.to_vec()),
        ("wrapped-to-client", to_client),
    ];
    if version == 2 {
        let oem_options =
            AcceptorOptions::new().oem_code_page(OemCodePage::Cp850).environment(golden_env(6));
        let mut oem = SecurityContext::acceptor(&server_creds(), oem_options).unwrap();
        let negotiate = sspi_emu::fuzzing::CURL_NEGOTIATE;
        let oem_challenge = oem.step(Some(&negotiate)).unwrap().token;
        snap("ntlm-server-oem-wait-authenticate", &mut oem);
        let oem_authenticate = curl_like().authenticate(&negotiate, &oem_challenge).unwrap();
        transcript.push(("oem-challenge", oem_challenge));
        transcript.push(("oem-authenticate", oem_authenticate));
    }
    Golden { blobs, transcript }
}

fn read_transcript(version: u8) -> std::collections::HashMap<String, Vec<u8>> {
    let dir = golden_dir(version);
    let text = std::fs::read_to_string(format!("{dir}/transcript.txt")).unwrap();
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(|l| {
            let (k, v) = l.split_once(' ').unwrap();
            (k.to_owned(), hex(v))
        })
        .collect()
}

fn golden(version: u8, name: &str) -> Vec<u8> {
    let dir = golden_dir(version);
    std::fs::read(format!("{dir}/{name}.blob")).unwrap_or_else(|e| panic!("v{version} {name}: {e}"))
}

/// Rewrites the golden files when `SSPI_EMU_BLESS=1` (only ever for a new format version's
/// directory: released blobs are never rewritten).
#[test]
fn golden_blobs_are_current() {
    for version in GOLDEN_VERSIONS {
        let g = make_golden(version);
        let dir = golden_dir(version);
        if std::env::var_os("SSPI_EMU_BLESS").is_some_and(|v| v == "1") {
            std::fs::create_dir_all(&dir).unwrap();
            for (name, blob) in &g.blobs {
                // Released blobs are never rewritten: blessing only adds missing files.
                let file = format!("{dir}/{name}.blob");
                if !std::path::Path::new(&file).exists() {
                    std::fs::write(file, blob).unwrap();
                }
            }
            let mut text = format!(
                "# Wire tokens of the conversation the v{version} golden blobs were cut from.\n"
            );
            for (k, v) in &g.transcript {
                text.push_str(&format!("{k} {}\n", to_hex(v)));
            }
            std::fs::write(format!("{dir}/transcript.txt"), text).unwrap();
            write_fuzz_seeds(version, &g);
        }
        // This build still writes each format byte for byte as when the files were made.
        for (name, blob) in &g.blobs {
            assert_eq!(&golden(version, name), blob, "v{version} {name}");
        }
    }
}

/// The released blobs import and carry on exactly as recorded.
#[test]
fn golden_blobs_import_forever() {
    for version in GOLDEN_VERSIONS {
        let t = read_transcript(version);
        let options = |seed| {
            ImportOptions::new()
                .protection(test_key())
                .credentials(server_creds())
                .environment(golden_env(seed))
        };
        let import = |name: &str, seed| {
            let blob = golden(version, name);
            assert_eq!(blob[8], version, "{name}");
            SecurityContext::import(&blob, &options(seed)).unwrap()
        };

        // Before the first token: the same NEGOTIATE / CHALLENGE.
        assert_eq!(import("ntlm-client-initial", 1).step(None).unwrap().token, t["negotiate"]);
        assert_eq!(
            import("ntlm-server-initial", 2).step(Some(&t["negotiate"])).unwrap().token,
            t["challenge"]
        );
        // Between legs: the same AUTHENTICATE, and it is accepted.
        let step = import("ntlm-client-wait-challenge", 1).step(Some(&t["challenge"])).unwrap();
        assert_eq!(step.token, t["authenticate"]);
        let mut server = import("ntlm-server-wait-authenticate", 3);
        assert!(server.step(Some(&t["authenticate"])).unwrap().complete);
        assert_eq!(server.client_name().unwrap(), "EXAMPLE\\alice");
        // Established, after traffic: the same sealed bytes both ways.
        let mut client = import("ntlm-client-established", 4);
        let mut data = GOLDEN_MESSAGE.to_vec();
        let sig = client.seal(&mut data).unwrap();
        assert_eq!(
            (data, sig.to_vec()),
            (t["sealed-to-server"].clone(), t["sealed-to-server-signature"].clone())
        );
        let mut server = import("ntlm-server-established", 5);
        let mut data = t["sealed-to-server"].clone();
        server.unseal(&mut data, &t["sealed-to-server-signature"]).unwrap();
        assert_eq!(data, GOLDEN_MESSAGE);
        assert_eq!(client.unwrap(&t["wrapped-to-client"]).unwrap(), GOLDEN_MESSAGE);

        // A client without a MIC: version 1 takes it (the default policy), version 2's
        // acceptor was exported with `require_mic` and still refuses it.
        let no_mic = curl_like().authenticate(&t["negotiate"], &t["challenge"]).unwrap();
        let verdict = import("ntlm-server-wait-authenticate", 3).step(Some(&no_mic)).map(|_| ());
        if version == 1 {
            assert_eq!(verdict, Ok(()));
        } else {
            assert_eq!(verdict, Err(Error::InvalidToken("the AUTHENTICATE message has no MIC")));
            // An acceptor half-way through curl's OEM logon accepts curl's AUTHENTICATE.
            let mut oem = import("ntlm-server-oem-wait-authenticate", 6);
            assert!(oem.step(Some(&t["oem-authenticate"])).unwrap().complete);
            assert_eq!(oem.client_name().unwrap(), "EXAMPLE\\alice");
        }
    }
}

/// Seeds of the `import` fuzz target: every golden state as an unprotected blob (mode 0) and
/// as bare state bytes (mode 1 for version 1, 3 for version 2), so the fuzzer starts from
/// deep inside the decoder.
fn write_fuzz_seeds(version: u8, golden: &Golden) {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/fuzz/seeds/import");
    std::fs::create_dir_all(dir).unwrap();
    let prefix = if version == 1 { String::new() } else { format!("v{version}-") };
    for (name, blob) in &golden.blobs {
        let ctx = SecurityContext::import(
            blob,
            &ImportOptions::new().protection(test_key()).credentials(server_creds()),
        );
        let mut ctx = ctx.unwrap();
        let plain = ctx
            .export(0, &ExportOptions::new().protection(Protection::DangerousUnprotected))
            .unwrap();
        let bytes = plain.packed.as_bytes();
        let mut raw = vec![0u8];
        raw.extend_from_slice(bytes);
        std::fs::write(format!("{dir}/{prefix}{name}-blob"), raw).unwrap();
        let mut state = vec![if version == 1 { 1u8 } else { 3 }];
        state.extend_from_slice(&bytes[48..bytes.len() - 16]);
        std::fs::write(format!("{dir}/{prefix}{name}-state"), state).unwrap();
    }
}

/// An acceptor's names travel in the blob: an imported acceptor announces the same names in
/// its CHALLENGE (the defaults are shared on import, others copied).
#[test]
fn imported_acceptors_keep_their_names() {
    use sspi_emu::ntlm::ServerNames;
    let utf16 = |s: &str| s.encode_utf16().flat_map(u16::to_le_bytes).collect::<Vec<u8>>();
    let contains = |hay: &[u8], needle: &[u8]| hay.windows(needle.len()).any(|w| w == needle);
    let custom = ServerNames {
        nb_computer: "FILESRV".into(),
        nb_domain: "CORP".into(),
        dns_computer: "filesrv.corp.example".into(),
        dns_domain: "corp.example".into(),
    };
    for (names, expected) in [(None, "SERVER"), (Some(custom), "filesrv.corp.example")] {
        let options = |seed| match &names {
            Some(n) => server_options(seed).names(n.clone()),
            None => server_options(seed),
        };
        let negotiate = SecurityContext::initiator(&client_creds(), client_options(1))
            .unwrap()
            .step(None)
            .unwrap()
            .token;
        let mut stays = SecurityContext::acceptor(&server_creds(), options(5)).unwrap();
        let mut moves = SecurityContext::acceptor(&server_creds(), options(5)).unwrap();
        let blob = moves
            .export(SECPKG_CONTEXT_EXPORT_DELETE_OLD, &ExportOptions::new().protection(test_key()))
            .unwrap()
            .packed;
        let import = ImportOptions::new()
            .protection(test_key())
            .credentials(server_creds())
            .environment(env(5).0);
        let mut moved = SecurityContext::import(blob.as_bytes(), &import).unwrap();
        let a = stays.step(Some(&negotiate)).unwrap().token;
        let b = moved.step(Some(&negotiate)).unwrap().token;
        assert_eq!(a, b, "{expected}");
        assert!(contains(&b, &utf16(expected)), "{expected}");
    }
}

/// An initiator's identity is its own names: a blob (validly sealed) whose established
/// client names someone other than its credentials is refused as corrupt, not imported
/// with two identities.
#[test]
fn an_initiator_blob_naming_another_identity_is_refused() {
    use sspi_emu::primitives::{xchacha20poly1305_open, xchacha20poly1305_seal};
    let (mut client, _server) = established_pair();
    let exported = client.export(0, &ExportOptions::new().protection(test_key())).unwrap();
    let mut blob = exported.packed.as_bytes().to_vec();
    let (header, rest) = blob.split_at_mut(48);
    let nonce: [u8; 24] = header[20..44].try_into().unwrap();
    let (body, tag) = rest.split_at_mut(rest.len() - 16);
    let old_tag: [u8; 16] = (*tag).try_into().unwrap();
    assert!(xchacha20poly1305_open(&[0x42; 32], &nonce, header, body, &old_tag));
    // The user name appears twice: in the credentials, then in the established identity.
    let at: Vec<usize> = body
        .windows(USER.len())
        .enumerate()
        .filter(|(_, w)| *w == USER.as_bytes())
        .map(|(n, _)| n)
        .collect();
    assert_eq!(at.len(), 2, "{at:?}");
    body[at[1]] ^= 0x20; // "Alice"
    let new_tag = xchacha20poly1305_seal(&[0x42; 32], &nonce, header, body);
    tag.copy_from_slice(&new_tag);
    let err =
        SecurityContext::import(&blob, &ImportOptions::new().protection(test_key())).unwrap_err();
    assert!(matches!(err, Error::CorruptContext(_)), "{err:?}");
    assert_eq!(SecurityStatus::from(&err), SecurityStatus::SEC_E_INVALID_TOKEN);
}

/// A frozen RC4 state must be exactly 256 bytes (`v1` schema): a validly sealed blob whose
/// state is one byte short or long is refused as corrupt.
#[test]
fn an_rc4_state_of_the_wrong_length_is_refused() {
    use sspi_emu::primitives::{xchacha20poly1305_open, xchacha20poly1305_seal};
    let (_client, mut server) = established_pair();
    let exported = server.export(0, &ExportOptions::new().protection(test_key())).unwrap();
    let blob = exported.packed.as_bytes().to_vec();
    let (header, rest) = blob.split_at(48);
    let nonce: [u8; 24] = header[20..44].try_into().unwrap();
    let (body, tag) = rest.split_at(rest.len() - 16);
    let mut body = body.to_vec();
    assert!(xchacha20poly1305_open(
        &[0x42; 32],
        &nonce,
        header,
        &mut body,
        tag.try_into().unwrap()
    ));
    // The first RC4 state: postcard's length 256 (varint 0x80 0x02), then a permutation.
    let is_permutation = |w: &[u8]| {
        let mut seen = [false; 256];
        w.iter().for_each(|&b| seen[usize::from(b)] = true);
        seen.iter().all(|&s| s)
    };
    let at = (0..body.len() - 258)
        .find(|&n| body[n..n + 2] == [0x80, 0x02] && is_permutation(&body[n + 2..n + 258]))
        .expect("an RC4 state in the blob");
    for (length, varint) in [(255usize, [0xff, 0x01]), (257, [0x81, 0x02])] {
        let mut state = body[at + 2..at + 258].to_vec();
        state.resize(length, 0);
        let mut new_body = body[..at].to_vec();
        new_body.extend_from_slice(&varint);
        new_body.extend_from_slice(&state);
        new_body.extend_from_slice(&body[at + 258..]);
        let mut new_header = header.to_vec();
        new_header[44..48].copy_from_slice(&u32::try_from(new_body.len()).unwrap().to_le_bytes());
        let new_tag = xchacha20poly1305_seal(&[0x42; 32], &nonce, &new_header, &mut new_body);
        let mut new_blob = new_header;
        new_blob.extend_from_slice(&new_body);
        new_blob.extend_from_slice(&new_tag);
        let err = SecurityContext::import(&new_blob, &ImportOptions::new().protection(test_key()))
            .unwrap_err();
        assert!(matches!(err, Error::CorruptContext(_)), "{length}: {err:?}");
    }
}

/// A large state (5,000 bytes of channel bindings and a 3,005-byte target name) exports,
/// imports, carries on as the original does, and exports again to the same bytes.
#[test]
fn a_large_state_exports_and_imports() {
    let unprotected = Protection::DangerousUnprotected;
    let bindings: Vec<u8> = (0..5000u32).map(|i| (i % 251) as u8).collect();
    let target = "HTTP/".to_owned() + &"a".repeat(3000);
    let mut original = SecurityContext::initiator(
        &client_creds(),
        InitiatorOptions::new()
            .flags(IscReq::CONFIDENTIALITY)
            .target_name(&target)
            .channel_bindings(sspi_emu::ChannelBindings::application(bindings)),
    )
    .unwrap();
    let blob = original.export(0, &ExportOptions::new().protection(unprotected.clone())).unwrap();
    assert!(blob.packed.as_bytes().len() > 8000, "{} bytes", blob.packed.as_bytes().len());
    let mut imported = SecurityContext::import(
        blob.packed.as_bytes(),
        &ImportOptions::new().protection(unprotected.clone()),
    )
    .unwrap();
    let again = imported.export(0, &ExportOptions::new().protection(unprotected)).unwrap();
    assert_eq!(again.packed.as_bytes(), blob.packed.as_bytes());
    assert_eq!(imported.step(None).unwrap().token, original.step(None).unwrap().token);
}
