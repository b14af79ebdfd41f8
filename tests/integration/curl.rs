//! curl as a real NTLM client. `curl --ntlm` logs on to a small HTTP/1.1 server on
//! 127.0.0.1 that protects every page with `WWW-Authenticate: NTLM` through our acceptor;
//! the test starts the server and stops it (and every connection thread) when it ends, also
//! on failure.
//!
//! curl offers OEM names, no Unicode, no 128-bit keys, no key exchange, no SIGN or SEAL, and
//! sends no MIC: Windows accepts it, and so must we (the manual's table of where sspi-emu
//! matches Windows says why each of these is safe).
//!
//! When curl is not installed (or built without NTLM) the tests print a loud SKIPPED line
//! and pass, unless `SSPI_EMU_REQUIRE_PEERS=1`.

use super::driver::{self, DOMAIN, PASSWORD, USER};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use sspi_emu::ImportOptions;
use sspi_emu::export::{ExportKey, ExportOptions, Protection, SECPKG_CONTEXT_EXPORT_DELETE_OLD};
use sspi_emu::ntlm::flags::NegotiateFlags;
use sspi_emu::{AcceptorOptions, SecurityContext};
use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

/// Why curl cannot run here, if it cannot.
fn curl_unavailable() -> Option<String> {
    match Command::new("curl").arg("--version").output() {
        Err(e) => Some(format!("curl not found ({e}); install Debian's curl")),
        Ok(out) => {
            let text = String::from_utf8_lossy(&out.stdout);
            let features = text.lines().find(|l| l.starts_with("Features:")).unwrap_or("");
            if features.split_whitespace().any(|f| f == "NTLM") {
                None
            } else {
                Some("this curl is built without NTLM".to_owned())
            }
        }
    }
}

fn curl_ready(test: &str) -> bool {
    match curl_unavailable() {
        None => true,
        Some(why) => {
            driver::missing_peer(test, &why);
            false
        }
    }
}

/// How the server handles a logon.
#[derive(Clone)]
struct Policy {
    options: AcceptorOptions,
    /// Export the context after sending CHALLENGE and import it again for AUTHENTICATE, as
    /// a server whose next request lands on another worker would.
    hand_off: bool,
}

/// What the server saw of one completed or refused logon.
#[derive(Debug, Clone)]
struct Logon {
    result: Result<String, sspi_emu::Error>,
    flags: Option<NegotiateFlags>,
    attributes: Option<u32>,
}

/// The HTTP server: one thread accepting, one per connection.
struct HttpServer {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    acceptor: Option<JoinHandle<Vec<JoinHandle<()>>>>,
    logons: Arc<Mutex<Vec<Logon>>>,
}

impl HttpServer {
    fn start(policy: Policy) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
        let addr = listener.local_addr().unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let logons = Arc::new(Mutex::new(Vec::new()));
        let (stop2, logons2) = (Arc::clone(&stop), Arc::clone(&logons));
        let acceptor = std::thread::spawn(move || {
            let mut connections = Vec::new();
            for stream in listener.incoming() {
                if stop2.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(stream) = stream else { continue };
                let (policy, logons) = (policy.clone(), Arc::clone(&logons2));
                connections.push(std::thread::spawn(move || serve(stream, &policy, &logons)));
            }
            connections
        });
        Self { addr, stop, acceptor: Some(acceptor), logons }
    }

    fn url(&self) -> String {
        format!("http://{}/private", self.addr)
    }

    fn logons(&self) -> Vec<Logon> {
        self.logons.lock().unwrap().clone()
    }
}

impl Drop for HttpServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accepting thread, then wait for it and every connection thread.
        let _ = TcpStream::connect(self.addr);
        if let Some(acceptor) = self.acceptor.take()
            && let Ok(connections) = acceptor.join()
        {
            for c in connections {
                let _ = c.join();
            }
        }
    }
}

/// One HTTP connection: NTLM state lives on the connection, as HTTP NTLM requires.
fn serve(stream: TcpStream, policy: &Policy, logons: &Mutex<Vec<Logon>>) {
    stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut writer = stream;
    let mut context: Option<SecurityContext> = None;
    let mut parked: Option<Vec<u8>> = None;
    let key = Protection::Key(ExportKey::from_bytes([0x42; 32]));
    loop {
        let mut authorization = None;
        let mut line = String::new();
        let mut first = true;
        loop {
            line.clear();
            match reader.read_line(&mut line) {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
            let l = line.trim_end();
            if l.is_empty() && !first {
                break;
            }
            first = false;
            if let Some((name, value)) = l.split_once(':')
                && name.eq_ignore_ascii_case("authorization")
            {
                authorization = Some(value.trim().to_owned());
            }
        }
        let token = authorization
            .as_deref()
            .and_then(|v| v.strip_prefix("NTLM "))
            .and_then(|b64| BASE64.decode(b64.trim()).ok());
        let response = match token {
            None => unauthorized("NTLM", "log on with NTLM\n"),
            Some(token) if token.get(8) == Some(&1) => {
                // NEGOTIATE: a new context for this connection.
                let mut ctx =
                    SecurityContext::acceptor(&driver::server_creds(), policy.options.clone())
                        .expect("acceptor");
                match ctx.step(Some(&token)) {
                    Ok(step) => {
                        let header = format!("NTLM {}", BASE64.encode(&step.token));
                        if policy.hand_off {
                            let options = ExportOptions::new().protection(key.clone());
                            let blob = ctx.export(SECPKG_CONTEXT_EXPORT_DELETE_OLD, &options);
                            parked = Some(blob.expect("export").packed.as_bytes().to_vec());
                        } else {
                            context = Some(ctx);
                        }
                        unauthorized(&header, "")
                    }
                    Err(e) => unauthorized("NTLM", &format!("refused: {e}\n")),
                }
            }
            Some(token) => {
                if let Some(blob) = parked.take() {
                    let options = ImportOptions::new()
                        .protection(key.clone())
                        .credentials(driver::server_creds());
                    context = SecurityContext::import(&blob, &options).ok();
                }
                match context.take() {
                    None => unauthorized("NTLM", "AUTHENTICATE without a NEGOTIATE\n"),
                    Some(mut ctx) => {
                        let result = ctx.step(Some(&token)).and_then(|_| ctx.client_name());
                        logons.lock().unwrap().push(Logon {
                            result: result.clone(),
                            flags: ctx.negotiated_flags().ok(),
                            attributes: ctx.attributes().ok(),
                        });
                        match result {
                            Ok(name) => ok(&format!("authenticated as {name}\n")),
                            Err(e) => unauthorized("NTLM", &format!("refused: {e}\n")),
                        }
                    }
                }
            }
        };
        if writer.write_all(response.as_bytes()).is_err() {
            return;
        }
        let _ = writer.flush();
    }
}

fn unauthorized(www_authenticate: &str, body: &str) -> String {
    format!(
        "HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: {www_authenticate}\r\n\
         Content-Type: text/plain\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
}

fn ok(body: &str) -> String {
    format!(
        "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
}

/// Runs `curl --ntlm` with `DOMAIN\user:password`; returns the status and the body.
fn curl(url: &str, user: &str, password: &str) -> (u16, String) {
    let out = Command::new("curl")
        .args(["--silent", "--show-error", "--noproxy", "*", "--max-time", "20", "--ntlm"])
        .arg("--user")
        .arg(format!("{DOMAIN}\\{user}:{password}"))
        .args(["--write-out", "\n%{http_code}"])
        .arg(url)
        .output()
        .expect("run curl");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let (body, code) = text.rsplit_once('\n').expect("curl's status line");
    let code = code.trim().parse().unwrap_or_else(|_| panic!("curl: {text} {out:?}"));
    (code, body.to_owned())
}

fn policy(options: AcceptorOptions) -> Policy {
    Policy { options, hand_off: false }
}

/// Right password: 200 and the user the server reports; wrong password and unknown user:
/// 401. The logon is OEM and authentication-only.
#[test]
fn curl_ntlm_logs_on_and_wrong_credentials_are_refused() {
    if !curl_ready("curl_ntlm_logs_on_and_wrong_credentials_are_refused") {
        return;
    }
    let server = HttpServer::start(policy(AcceptorOptions::new()));
    let (code, body) = curl(&server.url(), USER, PASSWORD);
    assert_eq!((code, body.as_str()), (200, "authenticated as EXAMPLE\\alice\n"));
    let logon = server.logons().pop().expect("a logon");
    let flags = logon.flags.unwrap();
    assert!(flags.contains(NegotiateFlags::OEM) && !flags.contains(NegotiateFlags::UNICODE));
    assert!(!flags.intersects(NegotiateFlags::SIGN | NegotiateFlags::SEAL));
    assert_eq!(logon.attributes, Some(sspi_emu::flags::AscRet::CONNECTION.0));

    assert_eq!(curl(&server.url(), USER, "wrong password").0, 401);
    assert_eq!(server.logons().pop().unwrap().result, Err(sspi_emu::Error::LogonDenied));
    assert_eq!(curl(&server.url(), "mallory", PASSWORD).0, 401);
    assert_eq!(server.logons().pop().unwrap().result, Err(sspi_emu::Error::LogonDenied));
    // A different case of the user name is the same user (NTOWFv2 uppercases it).
    let (code, body) = curl(&server.url(), "ALICE", PASSWORD);
    assert_eq!((code, body.as_str()), (200, "authenticated as EXAMPLE\\ALICE\n"));
    assert_eq!(server.logons().len(), 4);
}

/// curl sends no MIC: the strict policy refuses it (the option is for servers whose clients
/// all send one).
#[test]
fn curl_is_refused_when_a_mic_is_required() {
    if !curl_ready("curl_is_refused_when_a_mic_is_required") {
        return;
    }
    let server = HttpServer::start(policy(AcceptorOptions::new().require_mic(true)));
    assert_eq!(curl(&server.url(), USER, PASSWORD).0, 401);
    let refused = server.logons().pop().unwrap().result;
    assert_eq!(refused, Err(sspi_emu::Error::InvalidToken("the AUTHENTICATE message has no MIC")));
}

/// The half-done context crosses an export and an import between CHALLENGE and
/// AUTHENTICATE, as on a server whose requests land on different workers.
#[test]
fn curl_logs_on_through_a_context_handed_off_mid_handshake() {
    if !curl_ready("curl_logs_on_through_a_context_handed_off_mid_handshake") {
        return;
    }
    let server = HttpServer::start(Policy { options: AcceptorOptions::new(), hand_off: true });
    let (code, body) = curl(&server.url(), USER, PASSWORD);
    assert_eq!((code, body.as_str()), (200, "authenticated as EXAMPLE\\alice\n"));
    assert_eq!(curl(&server.url(), USER, "wrong").0, 401);
}
