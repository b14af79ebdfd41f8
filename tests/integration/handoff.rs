//! Cross-process hand-off for real: the context moves into another process (this test binary
//! started again as a worker), which carries on the conversation.

use super::driver::*;
use super::export::test_key;
use sspi_emu::ImportOptions;
use sspi_emu::export::{ExportOptions, SECPKG_CONTEXT_EXPORT_DELETE_OLD};
use sspi_emu::{Error, SecurityContext};
use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};

const WORKER_ENV: &str = "SSPI_EMU_TEST_WORKER";
const PREFIX: &str = "@@ ";

/// A worker process: the test binary running `handoff::worker_process` with
/// `SSPI_EMU_TEST_WORKER=1`. Commands are lines on its stdin; its answers are stdout lines
/// starting with `@@ ` (the test harness prints its own lines too). Killed and reaped on drop.
pub struct Worker {
    child: Child,
    to: ChildStdin,
    from: BufReader<ChildStdout>,
}

impl Worker {
    pub fn spawn() -> Self {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args(["--exact", "handoff::worker_process", "--nocapture", "--test-threads=1"])
            .env(WORKER_ENV, "1")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let to = child.stdin.take().unwrap();
        let from = BufReader::new(child.stdout.take().unwrap());
        Self { child, to, from }
    }

    /// Sends a command; returns the words of the answer, or the worker's error text.
    pub fn ask(&mut self, line: &str) -> Result<Vec<String>, String> {
        writeln!(self.to, "{line}").unwrap();
        self.to.flush().unwrap();
        loop {
            let mut reply = String::new();
            assert_ne!(self.from.read_line(&mut reply).unwrap(), 0, "the worker hung up");
            // The harness may print `test ... ` on the same line, before the first answer.
            if let Some(at) = reply.find(PREFIX) {
                let answer = reply[at + PREFIX.len()..].trim_end();
                let words: Vec<String> = answer.split(' ').map(str::to_owned).collect();
                return match words[0].as_str() {
                    "OK" => Ok(words[1..].to_vec()),
                    _ => Err(words[1..].join(" ")),
                };
            }
        }
    }

    /// The worker's process id (it differs from ours).
    pub fn pid(&mut self) -> u32 {
        let pid: u32 = self.ask("PID").unwrap()[0].parse().unwrap();
        assert_ne!(pid, std::process::id());
        pid
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        let _ = writeln!(self.to, "QUIT");
        let _ = self.to.flush();
        for _ in 0..100 {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The worker's side: does nothing unless started by [`Worker::spawn`].
#[test]
fn worker_process() {
    if std::env::var_os(WORKER_ENV).is_none() {
        return;
    }
    let mut ctx: Option<SecurityContext> = None;
    let stdin = std::io::stdin();
    let mut out = std::io::stdout();
    for line in stdin.lock().lines() {
        let line = line.unwrap();
        let words: Vec<&str> = line.split(' ').collect();
        let arg = |i: usize| hex(words.get(i).copied().unwrap_or(""));
        let result: Result<String, Error> = (|| {
            Ok(match (words[0], ctx.as_mut()) {
                ("PID", _) => std::process::id().to_string(),
                ("IMPORT", _) => {
                    let options = ImportOptions::new()
                        .protection(test_key())
                        .credentials(server_creds())
                        .environment(sspi_emu::Environment::system());
                    ctx = Some(SecurityContext::import(&arg(1), &options)?);
                    "imported".into()
                }
                ("EXPORT", Some(c)) => {
                    let options = ExportOptions::new().protection(test_key());
                    to_hex(c.export(SECPKG_CONTEXT_EXPORT_DELETE_OLD, &options)?.packed.as_bytes())
                }
                ("STEP", Some(c)) => {
                    let token = c.step(Some(&arg(1)))?.token;
                    format!(
                        "{} {}",
                        c.client_name().unwrap_or_default().replace(' ', "_"),
                        to_hex(&token)
                    )
                }
                ("WRAP", Some(c)) => to_hex(&c.wrap(&arg(1))?),
                ("UNWRAP", Some(c)) => to_hex(&c.unwrap(&arg(1))?),
                ("SIGN", Some(c)) => to_hex(&c.sign(&arg(1))?),
                ("VERIFY", Some(c)) => {
                    c.verify(&arg(2), &arg(1))?;
                    "verified".into()
                }
                ("QUIT", _) => std::process::exit(0),
                _ => return Err(Error::InvalidParameter("unknown worker command")),
            })
        })();
        match result {
            Ok(answer) => writeln!(out, "{PREFIX}OK {answer}").unwrap(),
            Err(e) => writeln!(out, "{PREFIX}ERR {e}").unwrap(),
        }
        out.flush().unwrap();
    }
}

/// The example that README runs: its NTLM hand-offs, and its Kerberos ones in a throwaway
/// realm when MIT's tools are installed, across real processes.
#[test]
fn the_handoff_example_runs() {
    // `cargo test` builds the examples next to the test binaries.
    let exe = std::env::current_exe().unwrap();
    let example = exe.parent().unwrap().parent().unwrap().join("examples").join("handoff");
    if !example.exists() {
        missing_peer(
            "the_handoff_example_runs",
            "examples/handoff is not built (run `cargo test`)",
        );
        return;
    }
    let out = Command::new(&example).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{text}\n{err}");
    assert!(text.contains("Done: the client never noticed any move."), "{text}");
    assert!(err.contains("accepted the client's token: authenticated EXAMPLE\\alice"), "{err}");
    // With MIT's KDC tools, the Kerberos hand-offs too (two more imports); without them the
    // example says it skipped them.
    if crate::krb5_realm::mit_tools_present() {
        assert_eq!(err.matches("imported the context").count(), 4, "{err}");
        assert!(
            text.contains("started a throwaway MIT realm")
                && text.contains("[realm]           stopped"),
            "{text}"
        );
        assert!(
            err.contains("accepted the client's token: authenticated alice@EXAMPLE.TEST"),
            "{err}"
        );
    } else {
        assert_eq!(err.matches("imported the context").count(), 2, "{err}");
        assert!(text.contains("(skipped: MIT KDC tools not installed"), "{text}");
    }
}

/// Our client, our server in this process, then the server context moves to a worker between
/// CHALLENGE and AUTHENTICATE, finishes there, serves messages, and moves back.
#[test]
fn server_context_moves_to_another_process_and_back() {
    let (mut client, mut server) = (
        SecurityContext::initiator(&client_creds(), client_options(1)).unwrap(),
        SecurityContext::acceptor(
            &server_creds(),
            server_options(2).environment(sspi_emu::Environment::system()),
        )
        .unwrap(),
    );
    let negotiate = client.step(None).unwrap().token;
    let challenge = server.step(Some(&negotiate)).unwrap().token;
    let blob = server
        .export(SECPKG_CONTEXT_EXPORT_DELETE_OLD, &ExportOptions::new().protection(test_key()))
        .unwrap();
    let mut worker = Worker::spawn();
    worker.pid();
    worker.ask(&format!("IMPORT {}", to_hex(blob.packed.as_bytes()))).unwrap();
    // The client's clock is the driver's fixed one; the worker's is the system clock, so
    // the client echoes the server's timestamp as MS-NLMP says and the check passes.
    let authenticate = client.step(Some(&challenge)).unwrap().token;
    let answer = worker.ask(&format!("STEP {}", to_hex(&authenticate))).unwrap();
    assert_eq!(answer[0], "EXAMPLE\\alice");
    for i in 0..3 {
        let msg = format!("message {i}");
        let token = client.wrap(msg.as_bytes()).unwrap();
        let plain = worker.ask(&format!("UNWRAP {}", to_hex(&token))).unwrap();
        assert_eq!(hex(&plain[0]), msg.as_bytes());
        let token = worker.ask(&format!("WRAP {}", to_hex(b"reply"))).unwrap();
        assert_eq!(client.unwrap(&hex(&token[0])).unwrap(), b"reply");
    }
    // A tampered message fails in the worker and does not break it.
    let mut token = client.wrap(b"tampered").unwrap();
    token[20] ^= 1;
    assert_eq!(worker.ask(&format!("UNWRAP {}", to_hex(&token))), Err("message altered".into()));
    token[20] ^= 1;
    assert_eq!(hex(&worker.ask(&format!("UNWRAP {}", to_hex(&token))).unwrap()[0]), b"tampered");
    // And back into this process.
    let back = worker.ask("EXPORT").unwrap();
    assert!(worker.ask("SIGN 00").is_err(), "DELETE_OLD in the worker");
    let options = ImportOptions::new().protection(test_key());
    let mut server = SecurityContext::import(&hex(&back[0]), &options).unwrap();
    let sig = client.sign(b"home again").unwrap();
    server.verify(b"home again", &sig).unwrap();
}
