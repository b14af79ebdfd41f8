//! Property tests of export and import over real handshakes of random configurations: at
//! every stage, on both sides, a context exported and imported exports again to the same
//! bytes, and carries on exactly as one that never moved (every token and every message
//! byte for byte).

use proptest::collection::vec;
use proptest::prelude::*;
use sspi_emu::env::{FileTime, ManualClock, SeededRandom};
use sspi_emu::export::{ExportOptions, Protection};
use sspi_emu::flags::{AscReq, IscReq};
use sspi_emu::ntlm::users::MemoryUserStore;
use sspi_emu::ntlm::{ServerNames, Version};

use sspi_emu::{
    AcceptorOptions, ChannelBindings, Credentials, Environment, ImportOptions, InitiatorOptions,
    OemCodePage, Password, SecurityContext,
};

/// 2026-01-01T00:00:00Z as a FILETIME.
const T0: FileTime = FileTime(134_116_992_000_000_000);

#[derive(Debug, Clone)]
struct Config {
    user: String,
    domain: String,
    password: String,
    workstation: String,
    isc: u32,
    asc: u32,
    target: Option<String>,
    bindings: Option<Vec<u8>>,
    client_page: OemCodePage,
    server_page: OemCodePage,
    require_mic: bool,
    version: Option<[u8; 8]>,
    server_names: [String; 4],
    seeds: (u64, u64),
    messages: Vec<Vec<u8>>,
}

fn page() -> impl Strategy<Value = OemCodePage> {
    prop::sample::select(vec![
        OemCodePage::Cp437,
        OemCodePage::Cp850,
        OemCodePage::Cp852,
        OemCodePage::Cp866,
    ])
}

fn config() -> impl Strategy<Value = Config> {
    let name = "[a-zA-Z0-9._ äöüßÆЖя-]{1,12}";
    let isc = [
        IscReq::REPLAY_DETECT,
        IscReq::SEQUENCE_DETECT,
        IscReq::CONFIDENTIALITY,
        IscReq::INTEGRITY,
        IscReq::IDENTIFY,
        IscReq::CONNECTION,
    ];
    let asc = [
        AscReq::REPLAY_DETECT,
        AscReq::SEQUENCE_DETECT,
        AscReq::CONFIDENTIALITY,
        AscReq::INTEGRITY,
        AscReq::CONNECTION,
    ];
    (
        (name, "[A-Za-z0-9äЖ.-]{0,12}", ".{0,16}", "[A-Za-z0-9-]{0,15}"),
        (
            vec(prop::bool::ANY, isc.len()).prop_map(move |on| {
                isc.iter().zip(on).filter(|(_, on)| *on).fold(0, |acc, (f, _)| acc | f.0)
            }),
            vec(prop::bool::ANY, asc.len()).prop_map(move |on| {
                asc.iter().zip(on).filter(|(_, on)| *on).fold(0, |acc, (f, _)| acc | f.0)
            }),
            proptest::option::of("HTTP/[a-z0-9.]{1,16}"),
            proptest::option::of(vec(any::<u8>(), 0..40)),
        ),
        (page(), page(), any::<bool>(), proptest::option::of(any::<[u8; 8]>())),
        (
            ["[A-Z0-9]{1,15}", "[A-Z0-9]{0,15}", "[a-z0-9.]{0,20}", "[a-z0-9.]{0,20}"],
            any::<(u64, u64)>(),
        ),
        vec(vec(any::<u8>(), 0..64), 1..4),
    )
        .prop_map(
            |(
                (user, domain, password, workstation),
                (isc, asc, target, bindings),
                (client_page, server_page, require_mic, version),
                (server_names, seeds),
                messages,
            )| Config {
                user,
                domain,
                password,
                workstation,
                isc,
                asc,
                target,
                bindings,
                client_page,
                server_page,
                require_mic,
                version,
                server_names,
                seeds,
                messages,
            },
        )
}

/// One side of a conversation: its context, its environment (shared with an imported
/// context), and its credentials.
struct Peer {
    ctx: SecurityContext,
    env: Environment,
    creds: Credentials,
}

fn users(c: &Config) -> MemoryUserStore {
    let mut users = MemoryUserStore::new();
    users.add_password(&c.domain, &c.user, &Password::new(&c.password));
    users
}

fn peers(c: &Config) -> (Peer, Peer) {
    let clock = ManualClock::new(T0);
    let cenv = Environment::new(SeededRandom::new(c.seeds.0), clock.clone());
    let senv = Environment::new(SeededRandom::new(c.seeds.1), clock);
    let ccreds = Credentials::initiator(&c.user, &c.domain, Password::new(&c.password));
    let mut copts = InitiatorOptions::new()
        .flags(IscReq(c.isc))
        .workstation(c.workstation.clone())
        .version(c.version.map(Version))
        .oem_code_page(c.client_page)
        .environment(cenv.clone());
    let mut sopts = AcceptorOptions::new()
        .flags(AscReq(c.asc))
        .require_mic(c.require_mic)
        .oem_code_page(c.server_page)
        .version(c.version.map(Version))
        .names(ServerNames {
            nb_computer: c.server_names[0].clone(),
            nb_domain: c.server_names[1].clone(),
            dns_computer: c.server_names[2].clone(),
            dns_domain: c.server_names[3].clone(),
        })
        .environment(senv.clone());
    if let Some(t) = &c.target {
        copts = copts.target_name(t.clone());
        sopts = sopts.accepted_target_names([t.clone()]);
    }
    if let Some(b) = &c.bindings {
        copts = copts.channel_bindings(ChannelBindings::application(b.clone()));
        sopts = sopts.channel_bindings(ChannelBindings::application(b.clone()));
    }
    let screds = Credentials::acceptor(users(c));
    let client = SecurityContext::initiator(&ccreds, copts).unwrap();
    let server = SecurityContext::acceptor(&screds, sopts).unwrap();
    (Peer { ctx: client, env: cenv, creds: ccreds }, Peer { ctx: server, env: senv, creds: screds })
}

/// Exports `peer`'s context, imports it in its place, and checks that the import exports to
/// the same blob (unprotected blobs have no nonce, so equal states give equal bytes).
fn move_context(peer: &mut Peer) -> Result<(), TestCaseError> {
    let unprotected = ExportOptions::new().protection(Protection::DangerousUnprotected);
    let blob = peer.ctx.export(0, &unprotected).unwrap().packed;
    let options = ImportOptions::new()
        .protection(Protection::DangerousUnprotected)
        .credentials(peer.creds.clone())
        .environment(peer.env.clone());
    let mut imported = SecurityContext::import(blob.as_bytes(), &options).unwrap();
    let again = imported.export(0, &unprotected).unwrap().packed;
    prop_assert_eq!(again.as_bytes(), blob.as_bytes(), "re-export differs");
    peer.ctx = imported;
    Ok(())
}

/// Everything a conversation puts on the wire or hands back, with the contexts moved (both
/// sides, at every stage and after every message) or not.
fn conversation(c: &Config, moved: bool) -> Result<Vec<Vec<u8>>, TestCaseError> {
    let (mut client, mut server) = peers(c);
    let mut wire = Vec::new();
    let maybe_move = |p: &mut Peer| if moved { move_context(p) } else { Ok(()) };
    // A configuration the two sides cannot agree on fails the handshake; the moved and the
    // unmoved conversation must then fail alike.
    let record = |wire: &mut Vec<Vec<u8>>, step: sspi_emu::Result<sspi_emu::Step>| match step {
        Ok(step) => {
            wire.push(step.token.clone());
            Some(step)
        }
        Err(e) => {
            wire.push(format!("{e:?}").into_bytes());
            None
        }
    };
    maybe_move(&mut client)?;
    maybe_move(&mut server)?;
    let Some(negotiate) = record(&mut wire, client.ctx.step(None)) else { return Ok(wire) };
    maybe_move(&mut client)?;
    let Some(challenge) = record(&mut wire, server.ctx.step(Some(&negotiate.token))) else {
        return Ok(wire);
    };
    maybe_move(&mut server)?;
    let Some(step) = record(&mut wire, client.ctx.step(Some(&challenge.token))) else {
        return Ok(wire);
    };
    prop_assert!(step.complete);
    maybe_move(&mut client)?;
    let Some(done) = record(&mut wire, server.ctx.step(Some(&step.token))) else {
        return Ok(wire);
    };
    prop_assert!(done.complete);
    maybe_move(&mut server)?;
    for (i, message) in c.messages.iter().enumerate() {
        let (from, to) =
            if i % 2 == 0 { (&mut client, &mut server) } else { (&mut server, &mut client) };
        if let Ok(sig) = from.ctx.sign(message) {
            to.ctx.verify(message, &sig).unwrap();
            wire.push(sig.to_vec());
        }
        let mut sealed = message.clone();
        if let Ok(sig) = from.ctx.seal(&mut sealed) {
            wire.extend([sig.to_vec(), sealed.clone()]);
            to.ctx.unseal(&mut sealed, &sig).unwrap();
            prop_assert_eq!(&sealed, message);
        }
        maybe_move(from)?;
        maybe_move(to)?;
    }
    Ok(wire)
}

proptest! {
    #[test]
    fn moved_contexts_carry_on_identically(c in config()) {
        let still = conversation(&c, false)?;
        let moved = conversation(&c, true)?;
        prop_assert_eq!(still, moved);
    }
}
