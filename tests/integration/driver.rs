//! An in-memory client/server driver, and helpers shared by the tests.

use sspi_emu::env::{FileTime, ManualClock, SeededRandom};
use sspi_emu::flags::{AscReq, IscReq};
use sspi_emu::fuzzing::ForeignClient;
use sspi_emu::ntlm::users::MemoryUserStore;
use sspi_emu::{
    AcceptorOptions, Credentials, Environment, InitiatorOptions, OemCodePage, Password,
    SecurityContext,
};

pub const USER: &str = "alice";
pub const DOMAIN: &str = "EXAMPLE";
pub const PASSWORD: &str = "Correct horse 1";
/// 2026-01-01T00:00:00Z as a FILETIME.
pub const T0: FileTime = FileTime(134_116_992_000_000_000);

pub fn users() -> MemoryUserStore {
    let mut users = MemoryUserStore::new();
    users.add_password(DOMAIN, USER, &Password::new(PASSWORD));
    users
}

pub fn client_creds() -> Credentials {
    Credentials::initiator(USER, DOMAIN, Password::new(PASSWORD))
}

pub fn server_creds() -> Credentials {
    Credentials::acceptor(users())
}

/// A client that logs on as curl does (see [`ForeignClient`]), as alice, at [`T0`].
pub fn curl_like() -> ForeignClient<'static> {
    ForeignClient {
        user: USER,
        domain: DOMAIN,
        password: PASSWORD,
        workstation: "WORKSTATION",
        code_page: OemCodePage::Cp437,
        mic: false,
        extra_av: &[],
        timestamp: T0,
        client_challenge: [0x5a; 8],
    }
}

/// A deterministic environment: seeded randomness, a clock the test can move.
pub fn env(seed: u64) -> (Environment, ManualClock) {
    let clock = ManualClock::new(T0);
    (Environment::new(SeededRandom::new(seed), clock.clone()), clock)
}

pub fn client_options(seed: u64) -> InitiatorOptions {
    InitiatorOptions::new()
        .flags(
            IscReq::CONFIDENTIALITY
                | IscReq::INTEGRITY
                | IscReq::REPLAY_DETECT
                | IscReq::SEQUENCE_DETECT,
        )
        .environment(env(seed).0)
}

pub fn server_options(seed: u64) -> AcceptorOptions {
    AcceptorOptions::new()
        .flags(AscReq::CONFIDENTIALITY | AscReq::INTEGRITY | AscReq::REPLAY_DETECT)
        .environment(env(seed).0)
}

/// The three tokens of a handshake.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transcript {
    pub negotiate: Vec<u8>,
    pub challenge: Vec<u8>,
    pub authenticate: Vec<u8>,
}

/// Runs a full handshake, calling `alter` on each token in flight (index 0, 1, 2).
pub fn handshake_with(
    client: &mut SecurityContext,
    server: &mut SecurityContext,
    mut alter: impl FnMut(usize, &mut Vec<u8>),
) -> sspi_emu::Result<Transcript> {
    let mut negotiate = client.step(None)?.token;
    alter(0, &mut negotiate);
    let mut challenge = server.step(Some(&negotiate))?.token;
    alter(1, &mut challenge);
    let step = client.step(Some(&challenge))?;
    assert!(step.complete);
    let mut authenticate = step.token;
    alter(2, &mut authenticate);
    let done = server.step(Some(&authenticate))?;
    assert!(done.complete && done.token.is_empty());
    Ok(Transcript { negotiate, challenge, authenticate })
}

/// A default established pair.
pub fn established(seed: u64) -> (SecurityContext, SecurityContext) {
    let mut client = SecurityContext::initiator(&client_creds(), client_options(seed)).unwrap();
    let mut server = SecurityContext::acceptor(&server_creds(), server_options(seed + 1)).unwrap();
    handshake_with(&mut client, &mut server, |_, _| {}).unwrap();
    (client, server)
}

/// Whether tests that need an external peer must fail instead of skipping.
pub fn peers_required() -> bool {
    std::env::var_os("SSPI_EMU_REQUIRE_PEERS").is_some_and(|v| v == "1")
}

/// Reports a missing peer: loudly skipped, or a failure when peers are required.
pub fn missing_peer(test: &str, why: &str) {
    if peers_required() {
        panic!("{test}: peer missing and SSPI_EMU_REQUIRE_PEERS=1: {why}");
    }
    eprintln!("\n*** SKIPPED {test}: {why} (set SSPI_EMU_REQUIRE_PEERS=1 to make this fail) ***\n");
}

pub fn hex(s: &str) -> Vec<u8> {
    let s: String = s.chars().filter(|c| !c.is_whitespace()).collect();
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
}

pub fn to_hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}
