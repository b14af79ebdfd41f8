//! The main job: a full NTLM exchange between a client and a server, then signed and sealed
//! messages both ways, printed as a transcript.
//!
//! Both sides run in this one process for now; the export/import work turns this into the
//! cross-process hand-off (the server passes its context to a worker process).
//!
//! Run with `cargo run --example handoff`.

use sspi_emu::flags::{AscReq, IscReq};
use sspi_emu::ntlm::flags::NegotiateFlags;
use sspi_emu::ntlm::users::MemoryUserStore;
use sspi_emu::{AcceptorOptions, Credentials, InitiatorOptions, Password, SecurityContext};

fn describe(token: &[u8]) -> String {
    let kind = match token.get(8) {
        Some(1) => "NEGOTIATE",
        Some(2) => "CHALLENGE",
        Some(3) => "AUTHENTICATE",
        _ => "(none)",
    };
    let head: String = token.iter().take(16).map(|b| format!("{b:02x}")).collect();
    format!("{kind:<12} {:>4} bytes  {head}…", token.len())
}

fn main() -> Result<(), sspi_emu::Error> {
    let mut users = MemoryUserStore::new();
    users.add_password("EXAMPLE", "alice", &Password::new("Correct horse 1"));

    let mut client = SecurityContext::initiator(
        &Credentials::initiator("alice", "EXAMPLE", Password::new("Correct horse 1")),
        InitiatorOptions::new()
            .flags(IscReq::CONFIDENTIALITY | IscReq::INTEGRITY | IscReq::SEQUENCE_DETECT)
            .target_name("HTTP/web.example.com"),
    )?;
    let mut server = SecurityContext::acceptor(
        &Credentials::acceptor(users),
        AcceptorOptions::new()
            .flags(AscReq::CONFIDENTIALITY | AscReq::INTEGRITY | AscReq::SEQUENCE_DETECT)
            .accepted_target_names(["HTTP/web.example.com".to_owned()]),
    )?;

    println!("== NTLM handshake");
    let negotiate = client.step(None)?;
    println!("client -> server  {}", describe(&negotiate.token));
    let challenge = server.step(Some(&negotiate.token))?;
    println!("server -> client  {}", describe(&challenge.token));
    let authenticate = client.step(Some(&challenge.token))?;
    println!("client -> server  {}", describe(&authenticate.token));
    let done = server.step(Some(&authenticate.token))?;
    assert!(done.complete && client.is_established());
    println!("server: authenticated {}", server.peer_name()?);
    let flags = server.negotiated_flags()?;
    println!(
        "negotiated: NTLMv2, extended session security {}, key exchange {}, 128-bit {}, seal {}",
        flags.contains(NegotiateFlags::EXTENDED_SESSION_SECURITY),
        flags.contains(NegotiateFlags::KEY_EXCH),
        flags.contains(NegotiateFlags::NEGOTIATE_128),
        flags.contains(NegotiateFlags::SEAL),
    );

    println!("\n== sealed messages (EncryptMessage / DecryptMessage, in place)");
    for (from_client, text) in [
        (true, "GET /payroll HTTP/1.1"),
        (false, "HTTP/1.1 200 OK"),
        (true, "POST /payroll/raise"),
        (false, "HTTP/1.1 204 No Content"),
    ] {
        let (sender, receiver, arrow) = if from_client {
            (&mut client, &mut server, "client -> server")
        } else {
            (&mut server, &mut client, "server -> client")
        };
        let mut buffer = text.as_bytes().to_vec();
        let signature = sender.seal(&mut buffer)?;
        let wire: String = buffer.iter().take(12).map(|b| format!("{b:02x}")).collect();
        receiver.unseal(&mut buffer, &signature)?;
        println!("{arrow}  sealed {wire}…  -> {:?}", String::from_utf8_lossy(&buffer));
    }

    println!("\n== signed messages (MakeSignature / VerifySignature)");
    let signature = client.sign(b"audit record 1")?;
    server.verify(b"audit record 1", &signature)?;
    println!("client -> server  signature {} verified", hex(&signature));
    let signature = server.sign(b"ack 1")?;
    client.verify(b"ack 1", &signature)?;
    println!("server -> client  signature {} verified", hex(&signature));
    let signature = client.sign(b"audit record 2")?;
    let forged = server.verify(b"audit record 3", &signature);
    println!("server: an altered message is refused: {}", forged.unwrap_err());
    server.verify(b"audit record 2", &signature)?;
    println!("server: and the genuine one still verifies afterwards");

    let (sent, received) = server.sequence_numbers()?;
    println!("\nserver sequence numbers: sent {sent}, received {received}. Done.");
    Ok(())
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}
