//! Kerberos context targets: the acceptor's AP-REQ, the initiator's AP-REP, the GSS framing
//! and checksum, and the message tokens of an established pair. Everything runs offline:
//! the ticket comes from [`crate::kerberos::testing::issue_ticket`] under a fixed service key,
//! the clock and randomness are fixed, so the seeds (real tokens of this world) pass every
//! check and the fuzzer starts from the success path.

use crate::api::{AcceptorOptions, Credentials, InitiatorOptions, SecurityContext};
use crate::env::{Environment, FileTime, ManualClock, SeededRandom};
use crate::flags::IscReq;
use crate::kerberos::config::Krb5Config;
use crate::kerberos::credentials::{AcceptorCredentials, InitiatorCredentials};
use crate::kerberos::gss::{self, AuthenticatorChecksum};
use crate::kerberos::keytab::{Keytab, KeytabEntry};
use crate::kerberos::transport::KdcClient;
use crate::kerberos::{Credential, EncType, Key, NameType, Principal};
use std::sync::OnceLock;

/// 2026-01-01T00:00:00Z, the world's clock.
const T0: FileTime = FileTime(134_116_992_000_000_000);
const T0_UNIX: u32 = 1_767_225_600;
const SERVICE: &str = "HTTP/web.example.test";
const REALM: &str = "EXAMPLE.TEST";

/// The world's environment: seeded randomness, the clock at 2026-01-01T00:00:00Z.
pub fn krb_env(seed: u64) -> Environment {
    env(seed)
}

fn env(seed: u64) -> Environment {
    Environment::new(SeededRandom::new(seed), ManualClock::new(T0))
}

struct World {
    keytab: Keytab,
    ticket: Credential,
}

fn world() -> &'static World {
    static WORLD: OnceLock<World> = OnceLock::new();
    WORLD.get_or_init(|| {
        let service = Principal::new(NameType::SRV_INST, &["HTTP", "web.example.test"], REALM);
        let key = Key::new(EncType::AES256_CTS_HMAC_SHA1_96, &[0x5a; 32]);
        let alice = Principal::new(NameType::PRINCIPAL, &["alice"], REALM);
        let ticket = crate::kerberos::testing::issue_ticket(
            &alice,
            &service,
            &key,
            2,
            EncType::AES256_CTS_HMAC_SHA1_96,
            T0_UNIX - 60,
            10 * 3600,
            &[],
            &env(100),
        )
        .expect("a ticket");
        let keytab = Keytab {
            entries: vec![KeytabEntry { principal: service, timestamp: T0_UNIX, kvno: 2, key }],
        };
        World { keytab, ticket }
    })
}

fn kdc() -> KdcClient {
    let config = Krb5Config::parse("[libdefaults]\n default_realm = EXAMPLE.TEST\n", "fuzz")
        .expect("a fixed krb5.conf");
    KdcClient::from_config(&config).environment(env(0))
}

/// The initiator's credentials: alice, holding the world's ticket.
pub fn krb_initiator_credentials() -> Credentials {
    let w = world();
    Credentials::kerberos(InitiatorCredentials::with_tickets(
        w.ticket.client.clone(),
        vec![w.ticket.clone()],
        kdc(),
    ))
}

/// For benchmarks: the initiator's credentials (alice) holding a ticket of the world's
/// service whose session key is of `session_etype` (the world's own ticket has aes256-sha1).
/// The initiator's subkey follows the session key's type, the acceptor's subkey the
/// initiator's, so an established pair's message keys are of `session_etype`.
///
/// # Panics
/// For a type `issue_ticket` cannot make a key of.
pub fn krb_initiator_credentials_for(session_etype: EncType) -> Credentials {
    let w = world();
    let ticket = crate::kerberos::testing::issue_ticket(
        &w.ticket.client,
        &w.ticket.server,
        &w.keytab.entries[0].key,
        2,
        session_etype,
        T0_UNIX - 60,
        10 * 3600,
        &[],
        &env(100 + u64::from(session_etype.0.unsigned_abs())),
    )
    .expect("a ticket");
    Credentials::kerberos(InitiatorCredentials::with_tickets(
        ticket.client.clone(),
        vec![ticket],
        kdc(),
    ))
}

/// For benchmarks' floors: the bytes of the world's service key (aes256-sha1, key version
/// 2), its service name (`HTTP/web.example.test`) and its clock (2026-01-01T00:00:00Z),
/// which an acceptor's environment must be near (the acceptor checks the authenticator's
/// time).
pub fn krb_world() -> ([u8; 32], &'static str, FileTime) {
    let mut key = [0u8; 32];
    key.copy_from_slice(world().keytab.entries[0].key.bytes());
    (key, SERVICE, T0)
}

/// The acceptor's credentials (a fresh replay cache each time).
pub fn krb_acceptor_credentials() -> Credentials {
    let service = Principal::parse(&format!("{SERVICE}@{REALM}"), None).expect("a name");
    Credentials::kerberos_acceptor(
        AcceptorCredentials::new(world().keytab.clone(), Some(service)).expect("a key"),
    )
}

/// Mutual authentication and replay detection (not sequence detection: see
/// [`krb_message`]).
const FLAGS: IscReq = IscReq(IscReq::MUTUAL_AUTH.0 | IscReq::REPLAY_DETECT.0);

/// A fresh initiator of the world (alice, for HTTP/web.example.test, mutual authentication
/// and replay detection).
pub fn krb_initiator(seed: u64) -> SecurityContext {
    initiator(seed)
}

/// A fresh acceptor of the world (with fresh credentials: its own replay cache).
pub fn krb_acceptor(seed: u64) -> SecurityContext {
    acceptor(seed)
}

fn initiator(seed: u64) -> SecurityContext {
    SecurityContext::initiator(
        &krb_initiator_credentials(),
        InitiatorOptions::new().target_name(SERVICE).flags(FLAGS).environment(env(seed)),
    )
    .expect("an initiator")
}

fn acceptor(seed: u64) -> SecurityContext {
    SecurityContext::acceptor(
        &krb_acceptor_credentials(),
        AcceptorOptions::new().environment(env(seed)),
    )
    .expect("an acceptor")
}

/// An established pair (initiator, acceptor) and the handshake's tokens.
pub fn krb_pair() -> (SecurityContext, SecurityContext, Vec<u8>, Vec<u8>) {
    let mut client = initiator(1);
    let mut server = acceptor(2);
    let ap_req = client.step(None).expect("AP-REQ").token;
    let ap_rep = server.step(Some(&ap_req)).expect("accepted").token;
    client.step(Some(&ap_rep)).expect("AP-REP");
    (client, server, ap_req, ap_rep)
}

/// `krb_ap`: `data[0] % 5` picks what the rest is: 0, an AP-REQ token for a fresh acceptor;
/// 1, an AP-REP token for an initiator waiting for one; 2, a GSS InitialContextToken and a
/// GSS checksum field (canonical: what parses re-encodes to the input); 3, the same AP-REQ
/// read with the acceptor's bindings set; 4, a KRB-CRED (delegation) under the ticket's
/// session key. Never a panic; an accepted AP-REQ names alice; a KRB-CRED that reads
/// survives its unencrypted form.
pub fn krb_ap(data: &[u8]) {
    let Some((&mode, rest)) = data.split_first() else { return };
    match mode % 5 {
        4 => {
            let key = &world().ticket.session_key;
            if let Ok(cred) = crate::kerberos::cred::read(rest, &[key]) {
                let plain = crate::kerberos::cred::to_plain(&cred).expect("re-encoded");
                let again = crate::kerberos::cred::read(&plain, &[]).expect("reads again");
                assert_eq!(again.client, cred.client);
                assert_eq!(again.ticket, cred.ticket);
            }
        }
        0 | 3 => {
            let mut server = acceptor(2);
            if mode % 5 == 3 {
                let _ = server.set_channel_bindings(crate::ChannelBindings::application(
                    b"tls-server-end-point:x".to_vec(),
                ));
            }
            if server.step(Some(rest)).is_ok() {
                assert!(server.is_established());
                assert_eq!(server.client_name().expect("a name"), "alice@EXAMPLE.TEST");
            }
        }
        1 => {
            let mut client = initiator(1);
            client.step(None).expect("AP-REQ");
            if client.step(Some(rest)).is_ok() {
                assert!(client.is_established());
            }
        }
        _ => {
            if let Ok((id, message)) = gss::unframe(rest) {
                assert_eq!(gss::frame(id, message).expect("re-framed"), rest);
            }
            if let Ok(c) = AuthenticatorChecksum::decode(rest) {
                let again = c.encode().expect("re-encoded");
                assert!(rest.starts_with(&again), "extensions follow the fields");
                assert_eq!(AuthenticatorChecksum::decode(&again).expect("decodes"), c);
            }
        }
    }
}

/// `krb_message`: an established pair; `data[0] % 4` picks how the rest reaches the
/// acceptor: 0, a MIC over "message"; 1, a GSS Wrap token; 2, EncryptMessage's split form
/// (the first 60 bytes as the token buffer, the rest as data); 3, a Kerberos context blob
/// (unprotected) to import with the acceptor's credentials. Never a panic, and afterwards the
/// acceptor still takes the initiator's genuine tokens.
pub fn krb_message(data: &[u8]) {
    use crate::api::ImportOptions;
    use crate::export::{ExportOptions, PackageId, Protection, pack_body};
    let Some((&mode, rest)) = data.split_first() else { return };
    let (mut client, mut server, _, _) = krb_pair();
    let accepted = match mode % 4 {
        0 => server.verify(b"message", rest).is_ok(),
        1 => server.unwrap(rest).is_ok(),
        2 => {
            let split = rest.len().min(60);
            let (token, data) = rest.split_at(split);
            let mut data = data.to_vec();
            server.unseal(&mut data, token).is_ok()
        }
        _ => {
            let unprotected = Protection::DangerousUnprotected;
            let body = crate::crypto::SecretBytes(rest.to_vec());
            let exp = ExportOptions::new().protection(unprotected.clone());
            let Ok(blob) = pack_body(PackageId::Kerberos, 2, body, &exp) else { return };
            let options = ImportOptions::new()
                .protection(unprotected.clone())
                .credentials(krb_acceptor_credentials())
                .environment(env(3));
            if let Ok(mut ctx) = SecurityContext::import(blob.as_bytes(), &options) {
                let again = ctx.export(0, &exp).expect("an imported context exports again");
                SecurityContext::import(again.packed.as_bytes(), &options)
                    .expect("and imports again");
                let _ = ctx.sign(b"m");
                let _ = ctx.wrap(b"m");
                let _ = ctx.step(Some(rest));
            }
            false
        }
    };
    let _ = accepted;
    // Only the initiator's own tokens can be accepted (the world is deterministic: the seeds
    // are its first three), and the pair detects replays but not gaps: past those three, its
    // genuine tokens must still be taken whatever came before.
    for _ in 0..3 {
        client.sign(b"skipped").expect("a MIC");
    }
    let mic = client.sign(b"after").expect("a MIC");
    server.verify(b"after", &mic).expect("the genuine MIC after any input");
    let token = client.wrap(b"after").expect("a token");
    assert_eq!(server.unwrap(&token).expect("the genuine token"), b"after");
}

/// Seeds: the handshake's tokens and the pair's message tokens, and an established
/// acceptor's blob.
pub fn seeds() -> Vec<(&'static str, &'static str, Vec<u8>)> {
    use crate::export::{ExportOptions, Protection};
    let with = |mode: u8, bytes: &[u8]| [&[mode][..], bytes].concat();
    let (mut client, mut server, ap_req, ap_rep) = krb_pair();
    let checksum = AuthenticatorChecksum {
        bindings: [1; 16],
        flags: gss::flags::MUTUAL | gss::flags::INTEG,
        delegation: Some(vec![0x76, 0x00]),
    }
    .encode()
    .expect("encodes");
    let krb_cred =
        crate::kerberos::cred::build(&world().ticket, &world().ticket.session_key, &env(7))
            .expect("a KRB-CRED");
    let mic = client.sign(b"message").expect("a MIC");
    let wrap = client.wrap(b"wrapped").expect("a token");
    let mut data = b"sealed".to_vec();
    let trailer = client.seal(&mut data).expect("sealed");
    let blob = {
        let unprotected = ExportOptions::new().protection(Protection::DangerousUnprotected);
        let packed = server.export(0, &unprotected).expect("exports").packed;
        // The state inside the envelope (after the 48-byte header, before the 16-byte tag).
        let bytes = packed.as_bytes();
        bytes[48..bytes.len() - 16].to_vec()
    };
    let _ = &mut server;
    vec![
        ("krb_ap", "ap-req", with(0, &ap_req)),
        ("krb_ap", "ap-rep", with(1, &ap_rep)),
        ("krb_ap", "gss-frame", with(2, &ap_req)),
        ("krb_ap", "gss-checksum", with(2, &checksum)),
        ("krb_ap", "ap-req-bindings", with(3, &ap_req)),
        ("krb_ap", "krb-cred", with(4, &krb_cred)),
        ("krb_message", "mic", with(0, &mic)),
        ("krb_message", "wrap", with(1, &wrap)),
        ("krb_message", "split", with(2, &[&trailer[..], &data].concat())),
        ("krb_message", "acceptor-blob", with(3, &blob)),
    ]
}

#[cfg(test)]
mod tests {
    #[test]
    fn seeds_pass_and_reach_success() {
        for (target, _, seed) in super::seeds() {
            match target {
                "krb_ap" => super::krb_ap(&seed),
                _ => super::krb_message(&seed),
            }
        }
        // The AP-REQ seed is accepted, the AP-REP seed completes the initiator.
        let (_, _, ap_req, ap_rep) = super::krb_pair();
        let mut server = super::acceptor(2);
        server.step(Some(&ap_req)).unwrap();
        let mut client = super::initiator(1);
        client.step(None).unwrap();
        client.step(Some(&ap_rep)).unwrap();
    }

    /// `fuzz/seeds/krb_ap` and `fuzz/seeds/krb_message` are what [`super::seeds`] makes.
    #[test]
    fn committed_seeds_are_current() {
        let seeds = super::seeds();
        crate::fuzzing::seeds_are_current(
            seeds.iter().map(|(target, name, seed)| (*target, *name, seed.as_slice())),
        );
    }
}
