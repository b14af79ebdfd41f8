//! The main job: an NTLM context handed from one process to another.
//!
//! A client and a server authenticate with NTLM. The server process exports its context and
//! passes it over a pipe to a separate worker process (this same program, started with
//! `worker`), which imports it and carries on the conversation: it exchanges sealed
//! messages with the client, which never notices. Then a second hand-off happens in the
//! middle of the handshake: the server process sends CHALLENGE, and the worker accepts
//! AUTHENTICATE (the multi-worker web-server case, with the worker's own user store).
//!
//! Both processes find the export key in a per-host key file (owner-only permissions): the
//! parent creates it, the worker reads it through `SSPI_EMU_EXPORT_KEY_FILE`.
//!
//! Then the same with Kerberos, when MIT's KDC tools are installed (Debian: `krb5-kdc
//! krb5-admin-server krb5-user`): the example starts its own throwaway realm on loopback
//! (the tests' recipe, `tests/integration/krb5_realm.rs`), says so, authenticates with a
//! password and a service keytab, hands an established context and an acceptor waiting for
//! its AP-REQ to the worker, and stops the realm at the end. Without the tools it says what
//! is missing and skips that part.
//!
//! Run with `cargo run --example handoff`.

use sspi_emu::ImportOptions;
use sspi_emu::export::{ExportKey, ExportOptions, KEY_FILE_ENV, Protection};
use sspi_emu::flags::{AscReq, IscReq};
use sspi_emu::kerberos::config::Krb5Config;
use sspi_emu::kerberos::credentials::InitiatorCredentials;
use sspi_emu::kerberos::transport::KdcClient;
use sspi_emu::kerberos::{NameType, Principal};
use sspi_emu::ntlm::users::MemoryUserStore;
use sspi_emu::{AcceptorOptions, Credentials, InitiatorOptions, Password, SecurityContext};
use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};

type Error = Box<dyn std::error::Error>;

/// The tests' throwaway MIT realm, shared with this example rather than copied.
#[path = "../tests/integration/krb5_realm.rs"]
#[allow(unreachable_pub)]
mod krb5_realm;

/// What the realm module asks of the test driver: the example never requires the peers.
mod driver {
    pub(crate) fn peers_required() -> bool {
        false
    }
}

const USER: &str = "alice";
const DOMAIN: &str = "EXAMPLE";
const PASSWORD: &str = "Correct horse 1";

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn unhex(s: &str) -> Result<Vec<u8>, Error> {
    if !s.len().is_multiple_of(2) {
        return Err("odd hex".into());
    }
    (0..s.len())
        .step_by(2)
        .map(|i| Ok(u8::from_str_radix(s.get(i..i + 2).ok_or("not hex")?, 16)?))
        .collect()
}

/// The `n`th word of a reply.
fn word(reply: &[String], n: usize) -> Result<&str, Error> {
    reply.get(n).map(String::as_str).ok_or_else(|| "short reply from the worker".into())
}

fn short(b: &[u8]) -> String {
    let h = hex(b);
    if h.len() > 24 { format!("{}… ({} bytes)", &h[..24], b.len()) } else { h }
}

fn main() -> Result<(), Error> {
    match std::env::args().nth(1).as_deref() {
        Some("worker") => worker(),
        _ => parent(),
    }
}

// ---- the parent: the client and the front server -------------------------------------

struct Worker {
    child: Child,
    to: ChildStdin,
    from: BufReader<ChildStdout>,
}

impl Worker {
    fn spawn(dir: &std::path::Path) -> Result<Self, Error> {
        let mut child = Command::new(std::env::current_exe()?)
            .arg("worker")
            .env(KEY_FILE_ENV, dir.join("export.key"))
            .env("NTLM_USER_FILE", dir.join("users"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()?;
        let to = child.stdin.take().ok_or("no stdin")?;
        let from = BufReader::new(child.stdout.take().ok_or("no stdout")?);
        Ok(Self { child, to, from })
    }

    /// A worker for Kerberos: the service keytab through `KRB5_KTNAME`.
    fn spawn_kerberos(dir: &std::path::Path, keytab: &std::path::Path) -> Result<Self, Error> {
        let mut child = Command::new(std::env::current_exe()?)
            .arg("worker")
            .env(KEY_FILE_ENV, dir.join("export.key"))
            .env("KRB5_KTNAME", format!("FILE:{}", keytab.display()))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()?;
        let to = child.stdin.take().ok_or("no stdin")?;
        let from = BufReader::new(child.stdout.take().ok_or("no stdout")?);
        Ok(Self { child, to, from })
    }

    fn ask(&mut self, line: &str) -> Result<Vec<String>, Error> {
        writeln!(self.to, "{line}")?;
        self.to.flush()?;
        let mut reply = String::new();
        if self.from.read_line(&mut reply)? == 0 {
            return Err("the worker hung up".into());
        }
        let words: Vec<String> = reply.split_whitespace().map(str::to_owned).collect();
        match words.first().map(String::as_str) {
            Some("ERR") => Err(format!("worker: {}", words[1..].join(" ")).into()),
            _ => Ok(words),
        }
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        let _ = writeln!(self.to, "QUIT");
        let _ = self.to.flush();
        if self.child.wait().is_err() {
            let _ = self.child.kill();
        }
    }
}

fn client_context() -> Result<SecurityContext, Error> {
    Ok(SecurityContext::initiator(
        &Credentials::initiator(USER, DOMAIN, Password::new(PASSWORD)),
        InitiatorOptions::new()
            .flags(IscReq::CONFIDENTIALITY | IscReq::INTEGRITY | IscReq::SEQUENCE_DETECT)
            .target_name("HTTP/web.example.com"),
    )?)
}

fn server_context(users_file: &std::path::Path) -> Result<SecurityContext, Error> {
    Ok(SecurityContext::acceptor(
        &Credentials::acceptor(MemoryUserStore::from_file(users_file)?),
        AcceptorOptions::new()
            .flags(AscReq::CONFIDENTIALITY | AscReq::INTEGRITY | AscReq::SEQUENCE_DETECT)
            .accepted_target_names(["HTTP/web.example.com".to_owned()]),
    )?)
}

/// The client talks to whoever now holds the server context: a few sealed round trips.
fn converse(
    client: &mut SecurityContext,
    worker: &mut Worker,
    lines: &[&str],
) -> Result<(), Error> {
    for text in lines {
        let mut data = text.as_bytes().to_vec();
        let sig = client.seal(&mut data)?;
        println!("[client]          sends sealed {:?} as {}", text, short(&data));
        let reply = worker.ask(&format!("SEALED {} {}", hex(&sig), hex(&data)))?;
        let (sig, mut data) = (unhex(word(&reply, 1)?)?, unhex(word(&reply, 2)?)?);
        client.unseal(&mut data, &sig)?;
        println!("[client]          unsealed reply {:?}", String::from_utf8_lossy(&data));
    }
    Ok(())
}

fn parent() -> Result<(), Error> {
    let pid = std::process::id();
    // A fresh private directory (fails if it already exists): it holds the key and passwords.
    let dir = std::env::temp_dir().join(format!("sspi-emu-handoff-{pid}"));
    let mut builder = std::fs::DirBuilder::new();
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(&dir)?;
    let result = run_parent(&dir);
    let _ = std::fs::remove_dir_all(&dir);
    result
}

fn run_parent(dir: &std::path::Path) -> Result<(), Error> {
    let pid = std::process::id();
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options
        .open(dir.join("users"))?
        .write_all(format!("{DOMAIN}:{USER}:{PASSWORD}\n").as_bytes())?;
    let key = ExportKey::load_or_create(dir.join("export.key"))?;
    println!("[server pid {pid}] per-host export key {key:?} in {}", dir.display());
    let export = ExportOptions::new().protection(Protection::Key(key));
    let delete_old = sspi_emu::export::SECPKG_CONTEXT_EXPORT_DELETE_OLD;

    println!("\n== 1. hand-off of an established context");
    let mut client = client_context()?;
    let mut server = server_context(&dir.join("users"))?;
    let negotiate = client.step(None)?.token;
    println!("[client]          NEGOTIATE    {}", short(&negotiate));
    let challenge = server.step(Some(&negotiate))?.token;
    println!("[server pid {pid}] CHALLENGE    {}", short(&challenge));
    let authenticate = client.step(Some(&challenge))?.token;
    println!("[client]          AUTHENTICATE {}", short(&authenticate));
    server.step(Some(&authenticate))?;
    println!("[server pid {pid}] authenticated {}", server.client_name()?);
    let mut data = b"hello from the client".to_vec();
    let sig = client.seal(&mut data)?;
    server.unseal(&mut data, &sig)?;
    println!("[server pid {pid}] unsealed {:?}", String::from_utf8_lossy(&data));
    let exported = server.export(delete_old, &export)?;
    let identity = exported.identity.ok_or("no identity")?;
    println!(
        "[server pid {pid}] exported the context ({} bytes, DELETE_OLD) for {}; the old one now says: {}",
        exported.packed.as_bytes().len(),
        identity.name(),
        server.sign(b"x").unwrap_err()
    );
    let mut worker = Worker::spawn(dir)?;
    let reply = worker.ask(&format!("IMPORT {}", hex(exported.packed.as_bytes())))?;
    println!("[server pid {pid}] handed it to worker pid {}", word(&reply, 1)?);
    converse(&mut client, &mut worker, &["GET /payroll HTTP/1.1", "POST /payroll/raise"])?;
    drop(worker);

    println!("\n== 2. hand-off in the middle of the handshake");
    let mut client = client_context()?;
    let mut server = server_context(&dir.join("users"))?;
    let negotiate = client.step(None)?.token;
    println!("[client]          NEGOTIATE    {}", short(&negotiate));
    let challenge = server.step(Some(&negotiate))?.token;
    println!("[server pid {pid}] CHALLENGE    {}", short(&challenge));
    let exported = server.export(delete_old, &export)?;
    println!(
        "[server pid {pid}] exported the half-done context ({} bytes)",
        exported.packed.as_bytes().len()
    );
    let mut worker = Worker::spawn(dir)?;
    let reply = worker.ask(&format!("IMPORT {}", hex(exported.packed.as_bytes())))?;
    println!("[server pid {pid}] handed it to worker pid {}", word(&reply, 1)?);
    let authenticate = client.step(Some(&challenge))?.token;
    println!("[client]          AUTHENTICATE {} (to the worker)", short(&authenticate));
    worker.ask(&format!("AUTH {}", hex(&authenticate)))?;
    converse(&mut client, &mut worker, &["GET /inbox HTTP/1.1"])?;
    drop(worker);
    kerberos_handoff(dir, &export)?;
    println!("\nDone: the client never noticed any move.");
    Ok(())
}

const SERVICE: &str = "HTTP/web.example.test";

/// The Kerberos hand-offs, in a throwaway MIT realm the example starts and stops.
fn kerberos_handoff(dir: &std::path::Path, export: &ExportOptions) -> Result<(), Error> {
    let pid = std::process::id();
    println!("\n== 3. Kerberos: the same hand-offs");
    if !krb5_realm::mit_tools_present() {
        println!(
            "(skipped: MIT KDC tools not installed; Debian: krb5-kdc krb5-admin-server krb5-user)"
        );
        return Ok(());
    }
    let realm = krb5_realm::Realm::start("handoff", &[]).ok_or("the realm did not start")?;
    println!(
        "[realm]           started a throwaway MIT realm {} on 127.0.0.1:{} (stopped at the end)",
        realm.name, realm.port
    );
    realm.add_user("alice", krb5_realm::USER_PASSWORD);
    realm.add_service(SERVICE);
    let keytab = dir.join("service.keytab");
    realm.export_keytab(SERVICE, &keytab, false);
    let kdc = KdcClient::from_config(&Krb5Config::load(realm.krb5_conf())?);
    let alice = Credentials::kerberos(InitiatorCredentials::with_password(
        Principal::new(NameType::PRINCIPAL, &["alice"], krb5_realm::REALM),
        Password::new(krb5_realm::USER_PASSWORD),
        kdc,
    ));
    let service = Credentials::kerberos_acceptor_from_keytab(
        Some(&format!("{SERVICE}@{}", krb5_realm::REALM)),
        Some(&keytab),
    )?;
    let client_options = || {
        InitiatorOptions::new()
            .flags(IscReq::MUTUAL_AUTH | IscReq::CONFIDENTIALITY | IscReq::SEQUENCE_DETECT)
            .target_name(SERVICE)
    };
    let delete_old = sspi_emu::export::SECPKG_CONTEXT_EXPORT_DELETE_OLD;

    // An established context moves to the worker.
    let mut client = SecurityContext::initiator(&alice, client_options())?;
    let mut server = SecurityContext::acceptor(&service, AcceptorOptions::new())?;
    let ap_req = client.step(None)?.token;
    println!("[client]          AP-REQ       {} (a ticket from the KDC)", short(&ap_req));
    let ap_rep = server.step(Some(&ap_req))?.token;
    println!(
        "[server pid {pid}] AP-REP       {}: authenticated {}",
        short(&ap_rep),
        server.client_name()?
    );
    client.step(Some(&ap_rep))?;
    let exported = server.export(delete_old, export)?;
    println!(
        "[server pid {pid}] exported the Kerberos context ({} bytes)",
        exported.packed.as_bytes().len()
    );
    let mut worker = Worker::spawn_kerberos(dir, &keytab)?;
    let reply = worker.ask(&format!("IMPORT {}", hex(exported.packed.as_bytes())))?;
    println!("[server pid {pid}] handed it to worker pid {}", word(&reply, 1)?);
    converse(&mut client, &mut worker, &["GET /ledger HTTP/1.1"])?;
    drop(worker);

    // An acceptor that has not seen the AP-REQ yet moves; the worker accepts it with its own
    // keytab.
    let mut client = SecurityContext::initiator(&alice, client_options())?;
    let mut server = SecurityContext::acceptor(&service, AcceptorOptions::new())?;
    let exported = server.export(delete_old, export)?;
    let mut worker = Worker::spawn_kerberos(dir, &keytab)?;
    let reply = worker.ask(&format!("IMPORT {}", hex(exported.packed.as_bytes())))?;
    println!("[server pid {pid}] handed a fresh acceptor to worker pid {}", word(&reply, 1)?);
    let ap_req = client.step(None)?.token;
    let reply = worker.ask(&format!("AUTH {}", hex(&ap_req)))?;
    client.step(Some(&unhex(word(&reply, 1)?)?))?;
    println!("[client]          mutual authentication done with the worker");
    converse(&mut client, &mut worker, &["GET /ledger/2026 HTTP/1.1"])?;
    drop(worker);
    drop(realm);
    println!("[realm]           stopped");
    Ok(())
}

// ---- the worker ----------------------------------------------------------------------

fn worker() -> Result<(), Error> {
    let pid = std::process::id();
    let stdin = std::io::stdin();
    let mut out = std::io::stdout();
    let mut context: Option<SecurityContext> = None;
    for line in stdin.lock().lines() {
        let line = line?;
        let words: Vec<&str> = line.split_whitespace().collect();
        let reply: Result<String, Error> = (|| {
            Ok(match (words.as_slice(), context.as_mut()) {
                (["IMPORT", blob], _) => {
                    // The per-host key comes from SSPI_EMU_EXPORT_KEY_FILE; the credentials
                    // (needed only before the handshake completed): NTLM's user store from
                    // NTLM_USER_FILE, Kerberos's keys from KRB5_KTNAME.
                    let blob = unhex(blob)?;
                    let credentials = match SecurityContext::package_of(&blob)? {
                        sspi_emu::Package::Kerberos => Credentials::kerberos_acceptor_from_keytab(
                            Some(&format!("{SERVICE}@EXAMPLE.TEST")),
                            None,
                        )?,
                        _ => Credentials::acceptor(MemoryUserStore::from_file(
                            std::env::var_os("NTLM_USER_FILE").ok_or("NTLM_USER_FILE")?,
                        )?),
                    };
                    let options = ImportOptions::new().credentials(credentials);
                    let ctx = SecurityContext::import(&blob, &options)?;
                    let who =
                        ctx.client_name().unwrap_or_else(|_| "(handshake in progress)".into());
                    eprintln!("[worker pid {pid}] imported the context: {who}");
                    context = Some(ctx);
                    format!("IMPORTED {pid}")
                }
                (["AUTH", token], Some(ctx)) => {
                    let reply = ctx.step(Some(&unhex(token)?))?.token;
                    eprintln!(
                        "[worker pid {pid}] accepted the client's token: authenticated {}",
                        ctx.client_name()?
                    );
                    format!("OK {}", hex(&reply))
                }
                (["SEALED", sig, data], Some(ctx)) => {
                    let mut data = unhex(data)?;
                    ctx.unseal(&mut data, &unhex(sig)?)?;
                    let text = String::from_utf8_lossy(&data).into_owned();
                    eprintln!("[worker pid {pid}] unsealed {text:?}");
                    let mut reply = format!("200 OK for {text}").into_bytes();
                    let sig = ctx.seal(&mut reply)?;
                    eprintln!("[worker pid {pid}] sends sealed reply {}", short(&reply));
                    format!("REPLY {} {}", hex(&sig), hex(&reply))
                }
                (["QUIT"], _) => "BYE".to_owned(),
                _ => format!("ERR unexpected {line:?}"),
            })
        })();
        let reply = reply.unwrap_or_else(|e| format!("ERR {e}"));
        if reply == "BYE" {
            break;
        }
        writeln!(out, "{reply}")?;
        out.flush()?;
    }
    Ok(())
}
