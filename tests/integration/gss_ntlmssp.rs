//! Interop with gss-ntlmssp, the NTLMSSP mechanism of MIT krb5's GSS-API, driven as a child
//! process through `tests/peers/ntlm_peer.py` (Debian's `python3-gssapi`).
//!
//! ```text
//!   this test (sspi-emu)            ntlm_peer.py (gss-ntlmssp)
//!   --------------------            --------------------------
//!                      stdin  ->    TOKEN <hex> | WRAP <hex> | UNWRAP <hex> | MIC <hex>
//!                                   | VERIFY <mic> <msg> | QUIT
//!                      <- stdout    TOKEN <hex> | ESTABLISHED <json> | OK [<hex>] | ERR <msg>
//! ```
//!
//! Both directions are covered: gss-ntlmssp initiator -> our acceptor, and our initiator ->
//! gss-ntlmssp acceptor. Each test says in its doc comment what it proves.
//!
//! When the peer is not installed the tests print a loud SKIPPED line and pass, unless
//! `SSPI_EMU_REQUIRE_PEERS=1` (see [`driver::missing_peer`]).
//!
//! Both sides use the system clock (not the driver's seeded clock): gss-ntlmssp stamps its
//! NTLMv2 blob with the real time, and our acceptor checks it against its own clock.

use crate::driver::{self, DOMAIN, PASSWORD, USER};
use sspi_emu::env::Environment;
use sspi_emu::ntlm::flags::NegotiateFlags;
use sspi_emu::{
    AcceptorOptions, ChannelBindings, Credentials, Error, InitiatorOptions, Password,
    SecurityContext,
};
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex, OnceLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

// ---------------------------------------------------------------------------------------------
// Peer availability
// ---------------------------------------------------------------------------------------------

pub(crate) const PYTHON: &str = "/usr/bin/python3";
const PEER_SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/peers/ntlm_peer.py");
/// The NTLMSSP mechanism OID, as registered in `/etc/gss/mech.d/*.conf`.
const NTLM_OID: &str = "1.3.6.1.4.1.311.2.2.10";
/// How long to wait for any one line from the peer before declaring it hung.
const LINE_TIMEOUT: Duration = Duration::from_secs(30);

/// Why the peer cannot run here, or `None` if it can. Checked once per test binary.
fn peer_unavailable() -> Option<&'static str> {
    static WHY: OnceLock<Option<String>> = OnceLock::new();
    WHY.get_or_init(|| {
        if !Path::new(PYTHON).exists() {
            return Some(format!("{PYTHON} not found"));
        }
        if !Path::new(PEER_SCRIPT).exists() {
            return Some(format!("{PEER_SCRIPT} not found"));
        }
        // gss-ntlmssp registers itself with MIT's mechglue through a line naming its OID and
        // shared object in /etc/gss/mech.d/*.conf (krb5 >= 1.12) or /etc/gss/mech.
        if !mech_registered() {
            return Some(format!("gss-ntlmssp not registered ({NTLM_OID} in /etc/gss/mech.d)"));
        }
        // The decisive check: python3-gssapi imports and the mechglue actually loads the
        // plugin (`gss_indicate_mechs` lists NTLMSSP).
        let probe = format!(
            "import sys, gssapi.raw as gr\n\
             sys.exit(0 if gr.OID.from_int_seq('{NTLM_OID}') in gr.indicate_mechs() else 3)"
        );
        match Command::new(PYTHON).args(["-c", &probe]).stdin(Stdio::null()).output() {
            Ok(out) if out.status.success() => None,
            Ok(out) if out.status.code() == Some(3) => {
                Some("gss_indicate_mechs does not list NTLMSSP".to_owned())
            }
            Ok(out) => Some(format!(
                "`import gssapi` failed (python3-gssapi missing?): {}",
                String::from_utf8_lossy(&out.stderr).trim()
            )),
            Err(e) => Some(format!("cannot run {PYTHON}: {e}")),
        }
    })
    .as_deref()
}

/// Whether a mechglue configuration line registers the NTLMSSP OID with an existing library.
fn mech_registered() -> bool {
    let mut files: Vec<PathBuf> = vec![PathBuf::from("/etc/gss/mech")];
    if let Ok(dir) = std::fs::read_dir("/etc/gss/mech.d") {
        files.extend(dir.filter_map(|e| e.ok()).map(|e| e.path()));
    }
    files.iter().filter_map(|f| std::fs::read_to_string(f).ok()).any(|text| {
        text.lines().filter(|l| !l.trim_start().starts_with('#')).any(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            fields.get(1) == Some(&NTLM_OID)
                && fields.get(2).is_some_and(|so| Path::new(so).exists())
        })
    })
}

/// `true` if the test can go on; otherwise reports the skip (or panics when peers are
/// required).
fn peer_ready(test: &str) -> bool {
    match peer_unavailable() {
        None => true,
        Some(why) => {
            driver::missing_peer(test, why);
            false
        }
    }
}

// ---------------------------------------------------------------------------------------------
// A temporary directory, removed on drop
// ---------------------------------------------------------------------------------------------

struct TempDir(PathBuf);

impl TempDir {
    fn new() -> Self {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let path = std::env::temp_dir().join(format!(
            "sspi-emu-gss-{}-{}-{nanos}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        // create_dir, not create_dir_all: fails rather than reuse someone else's directory.
        std::fs::create_dir(&path).unwrap_or_else(|e| panic!("create {}: {e}", path.display()));
        Self(path)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

// ---------------------------------------------------------------------------------------------
// The peer process
// ---------------------------------------------------------------------------------------------

/// Environment knobs of the peer script; any of these inherited from the caller is removed
/// so a test sees only what it sets.
const PEER_KNOBS: &[&str] = &[
    "NTLM_PEER_MIC",
    "NTLM_PEER_CB_HEX",
    "NTLM_PEER_FLAGS",
    "NTLM_USER_FILE",
    "LM_COMPAT_LEVEL",
    "GSSNTLMSSP_DEBUG",
];

/// One `ntlm_peer.py` child. Dropping it kills and reaps the child (also when a test
/// panics), joins the reader threads and removes its temporary directory.
pub(crate) struct Peer {
    label: &'static str,
    child: Child,
    stdin: Option<ChildStdin>,
    lines: Receiver<String>,
    stdout_thread: Option<JoinHandle<()>>,
    stderr: Arc<Mutex<String>>,
    stderr_thread: Option<JoinHandle<()>>,
    /// The last line sent, for failure messages.
    last_sent: String,
    _dir: TempDir,
}

impl Peer {
    /// A gss-ntlmssp initiator for `DOMAIN\user` with `password`, targeting `HTTP@server`.
    fn client(user: &str, domain: &str, password: &str, env: &[(&str, &str)]) -> Self {
        Self::spawn("gss client", PEER_SCRIPT, &["client", user, domain, password], &[], env)
    }

    /// A gss-ntlmssp initiator with an explicit hostbased target (`service@host`).
    fn client_to(target: &str, env: &[(&str, &str)]) -> Self {
        Self::spawn(
            "gss client",
            PEER_SCRIPT,
            &["client", USER, DOMAIN, PASSWORD, target],
            &[],
            env,
        )
    }

    /// A gss-ntlmssp acceptor knowing `users` as `(domain, user, password)`.
    fn server(users: &[(&str, &str, &str)], env: &[(&str, &str)]) -> Self {
        Self::spawn("gss server", PEER_SCRIPT, &["server"], users, env)
    }

    /// Another peer script of the same line protocol (`tests/peers/krb5_peer.py`), with
    /// `env` added to its environment.
    pub(crate) fn script(
        label: &'static str,
        script: &str,
        args: &[&str],
        env: &[(String, String)],
    ) -> Self {
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        Self::spawn(label, script, args, &[], &env)
    }

    fn spawn(
        label: &'static str,
        script: &str,
        args: &[&str],
        users: &[(&str, &str, &str)],
        env: &[(&str, &str)],
    ) -> Self {
        let dir = TempDir::new();
        let user_file = dir.0.join("users");
        let text: String = users.iter().map(|(d, u, p)| format!("{d}:{u}:{p}\n")).collect();
        std::fs::write(&user_file, text).expect("write the user file");

        let mut cmd = Command::new(PYTHON);
        cmd.arg(script).args(args);
        for knob in PEER_KNOBS {
            cmd.env_remove(knob);
        }
        cmd.env("NTLM_USER_FILE", &user_file).envs(env.iter().copied()).current_dir(&dir.0);
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("spawn {PYTHON} {script}: {e}"));

        // stdout: lines go through a channel so a hung peer becomes a timeout, not a hang.
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, lines) = mpsc::channel();
        let stdout_thread = std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        // stderr: collected whole, for failure messages (Python tracebacks, GSS errors).
        let mut stderr_pipe = child.stderr.take().expect("piped stderr");
        let stderr = Arc::new(Mutex::new(String::new()));
        let sink = Arc::clone(&stderr);
        let stderr_thread = std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n @ 1..) = stderr_pipe.read(&mut buf) {
                let chunk = String::from_utf8_lossy(buf.get(..n).unwrap_or_default()).into_owned();
                sink.lock().unwrap_or_else(|p| p.into_inner()).push_str(&chunk);
            }
        });

        Self {
            label,
            stdin: child.stdin.take(),
            child,
            lines,
            stdout_thread: Some(stdout_thread),
            stderr,
            stderr_thread: Some(stderr_thread),
            last_sent: String::new(),
            _dir: dir,
        }
    }

    /// The peer's exit status (if it exited within `wait`) and its stderr so far.
    pub(crate) fn diagnostics(&mut self, wait: Duration) -> String {
        let deadline = Instant::now() + wait;
        let status = loop {
            match self.child.try_wait() {
                Ok(Some(status)) => break Some(status),
                Ok(None) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(20));
                }
                _ => break None,
            }
        };
        if status.is_some() {
            // The child is gone, so its stderr is closed: collect all of it.
            if let Some(t) = self.stderr_thread.take() {
                let _ = t.join();
            }
        }
        let stderr = self.stderr.lock().unwrap_or_else(|p| p.into_inner()).clone();
        format!(
            "{} (last sent: {:.80}) status: {status:?}\n--- peer stderr ---\n{stderr}---",
            self.label, self.last_sent
        )
    }

    fn send(&mut self, line: &str) {
        self.last_sent = line.to_owned();
        let stdin = self.stdin.as_mut().expect("stdin open");
        if let Err(e) = writeln!(stdin, "{line}").and_then(|()| stdin.flush()) {
            let diag = self.diagnostics(Duration::from_secs(2));
            panic!("write to {diag}: {e}");
        }
    }

    fn recv(&mut self) -> String {
        match self.lines.recv_timeout(LINE_TIMEOUT) {
            Ok(line) => line,
            Err(RecvTimeoutError::Timeout) => {
                panic!("timed out waiting for {}", self.diagnostics(Duration::ZERO))
            }
            Err(RecvTimeoutError::Disconnected) => {
                panic!("stdout closed by {}", self.diagnostics(Duration::from_secs(2)))
            }
        }
    }

    /// Reads a line `<word> <rest>` and returns `rest`, panicking on any other word.
    fn expect(&mut self, word: &str) -> String {
        let line = self.recv();
        match line.split_once(' ').unwrap_or((line.as_str(), "")) {
            (w, rest) if w == word => rest.to_owned(),
            _ => panic!("expected {word}, got {line:?} from {}", self.diagnostics(Duration::ZERO)),
        }
    }

    pub(crate) fn send_token(&mut self, token: &[u8]) {
        self.send(&format!("TOKEN {}", driver::to_hex(token)));
    }

    pub(crate) fn token(&mut self) -> Vec<u8> {
        driver::hex(&self.expect("TOKEN"))
    }

    /// The `ESTABLISHED` line, or the text of an `ERR` line.
    pub(crate) fn outcome(&mut self) -> Result<PeerInfo, String> {
        let line = self.recv();
        if let Some(json) = line.strip_prefix("ESTABLISHED ") {
            Ok(PeerInfo(json.to_owned()))
        } else if let Some(err) = line.strip_prefix("ERR ") {
            Err(err.to_owned())
        } else {
            panic!(
                "expected ESTABLISHED or ERR, got {line:?} from {}",
                self.diagnostics(Duration::ZERO)
            )
        }
    }

    pub(crate) fn established(&mut self) -> PeerInfo {
        let outcome = self.outcome();
        outcome.unwrap_or_else(|e| {
            panic!("handshake failed: {e}: {}", self.diagnostics(Duration::ZERO))
        })
    }

    /// A command answered by `OK [<hex>]` or `ERR <msg>`.
    pub(crate) fn command(&mut self, line: &str) -> Result<Vec<u8>, String> {
        self.send(line);
        let reply = self.recv();
        if let Some(rest) = reply.strip_prefix("OK") {
            Ok(driver::hex(rest))
        } else if let Some(err) = reply.strip_prefix("ERR ") {
            Err(err.to_owned())
        } else {
            panic!("expected OK or ERR, got {reply:?} from {}", self.diagnostics(Duration::ZERO))
        }
    }

    /// `gss_wrap` (confidentiality on); must succeed.
    pub(crate) fn wrap(&mut self, msg: &[u8]) -> Vec<u8> {
        let reply = self.command(&format!("WRAP {}", driver::to_hex(msg)));
        reply.unwrap_or_else(|e| {
            panic!("peer WRAP failed: {e}: {}", self.diagnostics(Duration::ZERO))
        })
    }

    /// `gss_unwrap`.
    pub(crate) fn unwrap(&mut self, token: &[u8]) -> Result<Vec<u8>, String> {
        self.command(&format!("UNWRAP {}", driver::to_hex(token)))
    }

    /// `gss_get_mic`; must succeed.
    pub(crate) fn mic(&mut self, msg: &[u8]) -> Vec<u8> {
        let reply = self.command(&format!("MIC {}", driver::to_hex(msg)));
        reply.unwrap_or_else(|e| {
            panic!("peer MIC failed: {e}: {}", self.diagnostics(Duration::ZERO))
        })
    }

    /// `gss_verify_mic`.
    pub(crate) fn verify(&mut self, mic: &[u8], msg: &[u8]) -> Result<(), String> {
        let line = format!("VERIFY {} {}", driver::to_hex(mic), driver::to_hex(msg));
        self.command(&line).map(|_| ())
    }

    /// Waits for the child to exit on its own (after QUIT, or after a handshake `ERR`).
    fn wait_exit(&mut self) -> ExitStatus {
        self.stdin = None; // EOF also ends the command loop
        let deadline = Instant::now() + LINE_TIMEOUT;
        loop {
            match self.child.try_wait() {
                Ok(Some(status)) => return status,
                Ok(None) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(20));
                }
                other => panic!("{} did not exit: {other:?}", self.label),
            }
        }
    }

    /// Ends the command loop cleanly and checks the exit status is 0.
    pub(crate) fn quit(mut self) {
        self.send("QUIT");
        let status = self.wait_exit();
        assert!(status.success(), "{}", self.diagnostics(Duration::ZERO));
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        self.stdin = None;
        // kill fails harmlessly if the child already exited; wait reaps it either way.
        let _ = self.child.kill();
        let _ = self.child.wait();
        for t in [self.stdout_thread.take(), self.stderr_thread.take()].into_iter().flatten() {
            let _ = t.join();
        }
    }
}

/// The JSON of the peer's `ESTABLISHED` line (`json.dumps(sort_keys=True)`, default
/// separators). The crate has no JSON dependency, so fields are picked out by a minimal
/// reader that handles what the script emits: strings, booleans, numbers, null.
pub(crate) struct PeerInfo(String);

impl PeerInfo {
    /// The raw text following `"key": `.
    fn raw(&self, key: &str) -> &str {
        let pat = format!("\"{key}\": ");
        let at = self.0.find(&pat).unwrap_or_else(|| panic!("no {key:?} in {}", self.0));
        &self.0[at + pat.len()..]
    }

    /// A string field; panics if absent or not a string.
    pub(crate) fn str(&self, key: &str) -> String {
        let raw = self.raw(key);
        let mut chars =
            raw.strip_prefix('"').unwrap_or_else(|| panic!("{key} not a string: {raw}")).chars();
        let mut out = String::new();
        loop {
            match chars.next().unwrap_or_else(|| panic!("unterminated {key}")) {
                '"' => return out,
                '\\' => match chars.next() {
                    Some('n') => out.push('\n'),
                    Some('t') => out.push('\t'),
                    Some('u') => {
                        let code: String = chars.by_ref().take(4).collect();
                        let code = u32::from_str_radix(&code, 16).expect("\\u escape");
                        out.push(char::from_u32(code).unwrap_or('\u{fffd}'));
                    }
                    Some(c) => out.push(c), // \\ \" \/
                    None => panic!("unterminated {key}"),
                },
                c => out.push(c),
            }
        }
    }

    /// A boolean field; panics if absent or not a boolean.
    pub(crate) fn bool(&self, key: &str) -> bool {
        let raw = self.raw(key);
        if raw.starts_with("true") {
            true
        } else if raw.starts_with("false") {
            false
        } else {
            panic!("{key} not a boolean: {raw}")
        }
    }

    /// Whether the `flag_names` list names `flag` (e.g. `"confidentiality"`).
    pub(crate) fn has_flag(&self, flag: &str) -> bool {
        let list = self.raw("flag_names");
        let list = &list[..list.find(']').unwrap_or(list.len())];
        list.contains(&format!("\"{flag}\""))
    }
}

// ---------------------------------------------------------------------------------------------
// Our side, and the two handshake directions
// ---------------------------------------------------------------------------------------------

/// The driver's acceptor options (confidentiality, integrity, replay detection) with the
/// system clock, since the peer's timestamp is real.
fn acceptor_options() -> AcceptorOptions {
    driver::server_options(0).environment(Environment::system())
}

/// The driver's initiator options with the system clock.
fn initiator_options() -> InitiatorOptions {
    driver::client_options(0).environment(Environment::system())
}

fn acceptor(options: AcceptorOptions) -> SecurityContext {
    SecurityContext::acceptor(&driver::server_creds(), options).expect("acceptor")
}

fn initiator(credentials: &Credentials, options: InitiatorOptions) -> SecurityContext {
    SecurityContext::initiator(credentials, options).expect("initiator")
}

/// gss-ntlmssp initiator -> our acceptor. The gss initiator finishes (prints ESTABLISHED) as
/// soon as it has sent AUTHENTICATE, so its info always comes back; our verdict is the
/// result of our last step.
fn gss_to_us(peer: &mut Peer, server: &mut SecurityContext) -> (PeerInfo, sspi_emu::Result<()>) {
    let negotiate = peer.token();
    let challenge = server.step(Some(&negotiate)).expect("our CHALLENGE");
    assert!(!challenge.complete);
    peer.send_token(&challenge.token);
    let authenticate = peer.token();
    let info = peer.established();
    let verdict = server.step(Some(&authenticate)).map(|done| {
        assert!(done.complete && done.token.is_empty(), "NTLM's acceptor sends no last token");
    });
    assert_eq!(server.is_established(), verdict.is_ok());
    (info, verdict)
}

/// Our initiator -> gss-ntlmssp acceptor: the acceptor's ESTABLISHED info, or its ERR text.
fn us_to_gss(client: &mut SecurityContext, peer: &mut Peer) -> Result<PeerInfo, String> {
    let negotiate = client.step(None).expect("our NEGOTIATE");
    assert!(!negotiate.complete);
    peer.send_token(&negotiate.token);
    let challenge = peer.token();
    let authenticate = client.step(Some(&challenge)).expect("our AUTHENTICATE");
    assert!(authenticate.complete);
    peer.send_token(&authenticate.token);
    peer.outcome()
}

/// A full, successful gss-ntlmssp initiator -> our acceptor handshake.
fn established_from_gss(peer_env: &[(&str, &str)]) -> (Peer, SecurityContext) {
    let mut peer = Peer::client(USER, DOMAIN, PASSWORD, peer_env);
    let mut server = acceptor(acceptor_options());
    let (_, verdict) = gss_to_us(&mut peer, &mut server);
    verdict.expect("our acceptor accepts gss-ntlmssp");
    (peer, server)
}

// ---------------------------------------------------------------------------------------------
// Message security
// ---------------------------------------------------------------------------------------------

/// Messages for every exchange: text, one byte, every byte value, 1 KiB.
fn messages() -> Vec<Vec<u8>> {
    vec![
        b"hello from sspi-emu".to_vec(),
        vec![0x00],
        (0..=255u8).collect(),
        (0..1024usize).map(|i| u8::try_from(i * 7 % 251).expect("< 251")).collect(),
    ]
}

/// The sequence number of a signature (MS-NLMP 2.2.2.9.1, `SeqNum` at bytes 12..16).
fn seq_of(signature: &[u8]) -> u32 {
    u32::from_le_bytes(signature[12..16].try_into().expect("16-byte signature"))
}

/// Wrap/unwrap and MIC/verify in both directions between an established context of ours
/// and the peer, checking the token layout (signature(16) || ciphertext, version 1, sequence
/// numbers shared by wrap and MIC) and that each side reads the other exactly.
fn exchange(ours: &mut SecurityContext, peer: &mut Peer) {
    let (mut sent, mut received) = ours.sequence_numbers().expect("established");

    // 1. peer -> us, sealed.
    for m in messages() {
        let token = peer.wrap(&m);
        assert_eq!(token.len(), 16 + m.len(), "gss_wrap = signature || sealed data");
        assert_eq!(token[..4], [1, 0, 0, 0], "signature version 1");
        assert_eq!(seq_of(&token), received);
        if m.len() >= 16 {
            assert_ne!(token[16..], m[..], "the data is encrypted");
        }
        assert_eq!(ours.unwrap(&token).expect("we unwrap the peer's wrap"), m);
        received += 1;
    }
    // 2. us -> peer, sealed.
    for m in messages() {
        let token = ours.wrap(&m).expect("our wrap");
        assert_eq!(seq_of(&token), sent);
        assert_eq!(peer.unwrap(&token), Ok(m), "the peer unwraps our wrap");
        sent += 1;
    }
    // 3. MICs, alternating direction.
    for m in messages() {
        let mic = peer.mic(&m);
        assert_eq!(mic.len(), 16);
        assert_eq!(seq_of(&mic), received);
        ours.verify(&m, &mic).expect("we verify the peer's MIC");
        received += 1;

        let sig = ours.sign(&m).expect("our MIC");
        assert_eq!(seq_of(&sig), sent);
        assert_eq!(peer.verify(&sig, &m), Ok(()), "the peer verifies our MIC");
        sent += 1;
    }
    // 4. Interleaved wrap and MIC, several in a row each way: one sequence counter and one
    //    RC4 keystream per direction are shared by both operations, so any disagreement on
    //    the order breaks every later message.
    for m in messages() {
        let (token, mic) = (peer.wrap(&m), peer.mic(&m));
        assert_eq!((seq_of(&token), seq_of(&mic)), (received, received + 1));
        assert_eq!(ours.unwrap(&token).expect("unwrap after MIC"), m);
        ours.verify(&m, &mic).expect("verify after unwrap");
        received += 2;

        let (sig, token) = (ours.sign(&m).expect("sign"), ours.wrap(&m).expect("wrap"));
        assert_eq!((seq_of(&sig), seq_of(&token)), (sent, sent + 1));
        assert_eq!(peer.verify(&sig, &m), Ok(()));
        assert_eq!(peer.unwrap(&token), Ok(m));
        sent += 2;
    }
    assert_eq!(ours.sequence_numbers().expect("established"), (sent, received));
}

/// The NTLM flags gss-ntlmssp's wrap format relies on: ESS, 128-bit RC4 with key exchange.
fn assert_gss_flags(ours: &SecurityContext) {
    let flags = ours.negotiated_flags().expect("established");
    for (name, f) in [
        ("SIGN", NegotiateFlags::SIGN),
        ("SEAL", NegotiateFlags::SEAL),
        ("EXTENDED_SESSION_SECURITY", NegotiateFlags::EXTENDED_SESSION_SECURITY),
        ("NEGOTIATE_128", NegotiateFlags::NEGOTIATE_128),
        ("KEY_EXCH", NegotiateFlags::KEY_EXCH),
    ] {
        assert!(flags.contains(f), "{name} not negotiated: {flags:?}");
    }
}

// ---------------------------------------------------------------------------------------------
// (a) gss-ntlmssp initiator -> our acceptor
// ---------------------------------------------------------------------------------------------

/// Proves that our acceptor authenticates a real third-party NTLMv2 client (with MIC), that
/// both sides derive the same exported session key, and that our sealing and signing are
/// wire-compatible with gss_wrap/gss_get_mic in both directions, including interleaving.
#[test]
fn gss_client_to_our_server() {
    if !peer_ready("gss_client_to_our_server") {
        return;
    }
    let mut peer = Peer::client(USER, DOMAIN, PASSWORD, &[]);
    let mut server = acceptor(acceptor_options());
    let (info, verdict) = gss_to_us(&mut peer, &mut server);
    verdict.expect("our acceptor accepts gss-ntlmssp");

    assert!(info.bool("established"));
    assert!(info.bool("auth_mic_sent"), "the peer put a MIC in AUTHENTICATE");
    assert_eq!(server.client_name().unwrap(), format!("{DOMAIN}\\{USER}"));
    assert_eq!(
        driver::to_hex(server.dangerous_session_key().unwrap().dangerous_bytes()),
        info.str("session_key"),
        "both sides hold the same ExportedSessionKey"
    );
    assert_gss_flags(&server);

    exchange(&mut server, &mut peer);
    peer.quit();
}

// ---------------------------------------------------------------------------------------------
// (b) our initiator -> gss-ntlmssp acceptor
// ---------------------------------------------------------------------------------------------

/// Proves that gss-ntlmssp's acceptor authenticates our initiator as `DOMAIN\user`, derives
/// our session key, and exchanges sealed and signed messages with us both ways.
#[test]
fn our_client_to_gss_server() {
    if !peer_ready("our_client_to_gss_server") {
        return;
    }
    let mut peer = Peer::server(&[(DOMAIN, USER, PASSWORD)], &[]);
    let mut client =
        initiator(&driver::client_creds(), initiator_options().target_name("HTTP/server"));
    let info = us_to_gss(&mut client, &mut peer).expect("gss-ntlmssp accepts our initiator");

    assert!(info.bool("established"));
    let me = format!("{DOMAIN}\\{USER}");
    assert_eq!(info.str("peer_name"), me, "the peer's initiator name");
    assert_eq!(info.str("src_name"), me, "accept_sec_context's src_name");
    assert!(info.has_flag("confidentiality") && info.has_flag("integrity"));
    assert_eq!(
        info.str("session_key"),
        driver::to_hex(client.dangerous_session_key().unwrap().dangerous_bytes())
    );
    assert_gss_flags(&client);

    exchange(&mut client, &mut peer);
    peer.quit();
}

// ---------------------------------------------------------------------------------------------
// (c) wrong password, both directions
// ---------------------------------------------------------------------------------------------

/// Proves that our acceptor checks the NTLMv2 proof of a real client: a wrong password or an
/// unknown user is `LogonDenied` (not told apart), and the context is not established.
#[test]
fn gss_client_wrong_password_is_logon_denied() {
    if !peer_ready("gss_client_wrong_password_is_logon_denied") {
        return;
    }
    for (user, password) in [(USER, "Wrong horse 1"), ("mallory", PASSWORD)] {
        let mut peer = Peer::client(user, DOMAIN, password, &[]);
        let mut server = acceptor(acceptor_options());
        let (_, verdict) = gss_to_us(&mut peer, &mut server);
        assert_eq!(verdict, Err(Error::LogonDenied), "user {user:?}");
        assert!(server.client_name().is_err());
    }
}

/// Proves that what our initiator computes from the password is what gss-ntlmssp checks: a
/// wrong password makes the peer's acceptor fail (`ERR`, exit status 1).
#[test]
fn our_client_wrong_password_is_rejected_by_gss() {
    if !peer_ready("our_client_wrong_password_is_rejected_by_gss") {
        return;
    }
    let mut peer = Peer::server(&[(DOMAIN, USER, PASSWORD)], &[]);
    let creds = Credentials::initiator(USER, DOMAIN, Password::new("Wrong horse 1"));
    let mut client = initiator(&creds, initiator_options());
    let outcome = us_to_gss(&mut client, &mut peer);
    assert!(outcome.is_err(), "the peer must reject a wrong password");
    assert_eq!(peer.wait_exit().code(), Some(1));
}

// ---------------------------------------------------------------------------------------------
// (d) channel bindings
// ---------------------------------------------------------------------------------------------

/// Application data as a TLS channel binding would carry it (RFC 5929).
fn cb_data(fill: u8) -> Vec<u8> {
    let mut data = b"tls-server-end-point:".to_vec();
    data.extend_from_slice(&[fill; 32]);
    data
}

/// Proves that our `MsvAvChannelBindings` check computes the same
/// MD5(gss_channel_bindings_struct) as gss-ntlmssp: equal bindings pass, different ones and
/// none at all are `BadBindings`.
#[test]
fn channel_bindings_gss_client_to_our_server() {
    if !peer_ready("channel_bindings_gss_client_to_our_server") {
        return;
    }
    let ours = ChannelBindings::application(cb_data(0xAB));
    let same = driver::to_hex(&cb_data(0xAB));
    let other = driver::to_hex(&cb_data(0xAC));
    for (peer_cb, expected) in [
        (Some(same.as_str()), Ok(())),
        (Some(other.as_str()), Err(Error::BadBindings)),
        (None, Err(Error::BadBindings)),
    ] {
        let env: Vec<(&str, &str)> =
            peer_cb.map(|cb| ("NTLM_PEER_CB_HEX", cb)).into_iter().collect();
        let mut peer = Peer::client(USER, DOMAIN, PASSWORD, &env);
        let mut server = acceptor(acceptor_options().channel_bindings(ours.clone()));
        let (_, verdict) = gss_to_us(&mut peer, &mut server);
        assert_eq!(verdict, expected, "peer bindings {peer_cb:?}");
        if verdict.is_ok() {
            let token = peer.wrap(b"bound");
            assert_eq!(server.unwrap(&token).unwrap(), b"bound");
            peer.quit();
        }
    }
}

/// Proves that the bindings our initiator sends are the ones gss-ntlmssp's acceptor expects
/// (it reports the context channel-bound), and that different bindings make it fail.
#[test]
fn channel_bindings_our_client_to_gss_server() {
    if !peer_ready("channel_bindings_our_client_to_gss_server") {
        return;
    }
    let peer_cb = driver::to_hex(&cb_data(0xAB));
    let env = [("NTLM_PEER_CB_HEX", peer_cb.as_str())];

    let mut peer = Peer::server(&[(DOMAIN, USER, PASSWORD)], &env);
    let options = initiator_options().channel_bindings(ChannelBindings::application(cb_data(0xAB)));
    let mut client = initiator(&driver::client_creds(), options);
    let info = us_to_gss(&mut client, &mut peer).expect("same bindings are accepted");
    assert!(info.bool("channel_bindings"));
    assert!(info.has_flag("channel_bound"), "the peer verified our bindings");
    let token = client.wrap(b"bound").unwrap();
    assert_eq!(peer.unwrap(&token), Ok(b"bound".to_vec()));
    peer.quit();

    let mut peer = Peer::server(&[(DOMAIN, USER, PASSWORD)], &env);
    let options = initiator_options().channel_bindings(ChannelBindings::application(cb_data(0xAC)));
    let mut client = initiator(&driver::client_creds(), options);
    assert!(us_to_gss(&mut client, &mut peer).is_err(), "different bindings are rejected");
    assert_eq!(peer.wait_exit().code(), Some(1));
}

// ---------------------------------------------------------------------------------------------
// (e) target name
// ---------------------------------------------------------------------------------------------

/// Proves that our acceptor reads the `MsvAvTargetName` gss-ntlmssp sends (`HTTP/server` for
/// the hostbased name `HTTP@server`), compares it ignoring ASCII case, and refuses a client
/// that authenticated to another service with `WrongPrincipal`.
#[test]
fn target_name_checked_against_gss_client() {
    if !peer_ready("target_name_checked_against_gss_client") {
        return;
    }
    for (peer_target, accepted, expected) in [
        ("HTTP@server", "HTTP/server", Ok(())),
        ("HTTP@server", "http/SERVER", Ok(())),
        ("HTTP@server", "HTTP/other", Err(Error::WrongPrincipal)),
        ("HTTP@other", "HTTP/server", Err(Error::WrongPrincipal)),
    ] {
        let mut peer = Peer::client_to(peer_target, &[]);
        let options = acceptor_options().accepted_target_names([accepted.to_owned()]);
        let mut server = acceptor(options);
        let (_, verdict) = gss_to_us(&mut peer, &mut server);
        assert_eq!(verdict, expected, "peer target {peer_target}, accepted {accepted}");
        if verdict.is_ok() {
            assert_eq!(server.client_name().unwrap(), format!("{DOMAIN}\\{USER}"));
        }
    }
}

// ---------------------------------------------------------------------------------------------
// (f) no MIC
// ---------------------------------------------------------------------------------------------

/// Proves the MIC policy against a real client that sends no MIC. Our CHALLENGE always
/// carries `MsvAvTimestamp`, and MS-NLMP 3.1.5.1.2 then asks the client for a MIC (and
/// `MsvAvFlags` bit 0x2); gss-ntlmssp omits it when the caller did not ask for one (raw mech
/// without SPNEGO's query, `NTLM_PEER_MIC=0`). By default that client is accepted, as
/// Windows accepts it; with `require_mic` it is refused with `InvalidToken`.
#[test]
fn gss_client_without_mic_is_accepted_unless_a_mic_is_required() {
    if !peer_ready("gss_client_without_mic_is_accepted_unless_a_mic_is_required") {
        return;
    }
    for require in [false, true] {
        let mut peer = Peer::client(USER, DOMAIN, PASSWORD, &[("NTLM_PEER_MIC", "0")]);
        let mut server = acceptor(acceptor_options().require_mic(require));
        let (info, verdict) = gss_to_us(&mut peer, &mut server);
        assert!(!info.bool("auth_mic_sent"), "the knob must really suppress the MIC");
        if require {
            assert!(matches!(verdict, Err(Error::InvalidToken(_))), "got {verdict:?}");
        } else {
            assert_eq!(verdict, Ok(()));
            assert_eq!(server.client_name().unwrap(), format!("{DOMAIN}\\{USER}"));
            // Both sides have a working session: the peer's messages unseal here.
            let token = peer.wrap(b"no MIC, still sealed");
            assert_eq!(server.unwrap(&token).unwrap(), b"no MIC, still sealed");
        }
    }
}

// ---------------------------------------------------------------------------------------------
// (g) altered messages
// ---------------------------------------------------------------------------------------------

fn flipped(token: &[u8], index: usize) -> Vec<u8> {
    let mut t = token.to_vec();
    t[index] ^= 0x01;
    t
}

/// Proves that our unwrap/verify detect every alteration of a real peer's token (data,
/// checksum, version, sequence number, truncation) and that a failure leaves our context
/// intact: the genuine token and the peer's next messages still go through, and a replay is
/// caught. Only this direction is tested for recovery: gss-ntlmssp advances its receive
/// keystream on a failure, so after one bad message every later one fails on its side.
#[test]
fn altered_gss_token_fails_and_context_survives() {
    if !peer_ready("altered_gss_token_fails_and_context_survives") {
        return;
    }
    let (mut peer, mut server) = established_from_gss(&[]);

    // Wrap: every alteration fails, none of them moves our receive state.
    let first = b"first message, altered in flight".to_vec();
    let token = peer.wrap(&first);
    for (what, bad, expected) in [
        ("ciphertext", flipped(&token, 16 + 5), Error::MessageAltered),
        ("last ciphertext byte", flipped(&token, token.len() - 1), Error::MessageAltered),
        ("checksum", flipped(&token, 4), Error::MessageAltered),
        ("version", flipped(&token, 0), Error::MessageAltered),
        ("truncated", token[..10].to_vec(), Error::MessageAltered),
        // Replay detection is on (driver's acceptor flags), so a wrong sequence number is
        // reported as such rather than as an alteration.
        ("sequence number", flipped(&token, 12), Error::OutOfSequence { expected: 0, found: 1 }),
    ] {
        assert_eq!(server.unwrap(&bad), Err(expected), "{what}");
        assert_eq!(server.sequence_numbers().unwrap(), (0, 0), "{what} left no trace");
    }
    assert_eq!(server.unwrap(&token).expect("the genuine token after failures"), first);
    let second = b"the next message".to_vec();
    let token2 = peer.wrap(&second);
    assert_eq!(server.unwrap(&token2).expect("the next message"), second);

    // MIC: a MIC over another message, or an altered MIC, fails; the genuine one passes.
    let third = b"signed, not sealed".to_vec();
    let mic = peer.mic(&third);
    assert_eq!(server.verify(b"signed, not sealeD", &mic), Err(Error::MessageAltered));
    assert_eq!(server.verify(&third, &flipped(&mic, 7)), Err(Error::MessageAltered));
    server.verify(&third, &mic).expect("the genuine MIC after failures");

    // A replay of an accepted token is caught.
    assert_eq!(server.unwrap(&token), Err(Error::OutOfSequence { expected: 3, found: 0 }));

    // The other direction was never disturbed.
    let reply = server.wrap(b"still talking").unwrap();
    assert_eq!(peer.unwrap(&reply), Ok(b"still talking".to_vec()));

    // Last (it breaks the peer's receive side): the peer really checks our tokens too, so
    // the successes above and in `exchange` are not vacuous.
    let altered = flipped(&server.wrap(b"altered for the peer").unwrap(), 16);
    assert!(peer.unwrap(&altered).is_err(), "gss-ntlmssp must reject an altered token");
}

// ---------------------------------------------------------------------------------------------
// Cross-process hand-off against the peer
// ---------------------------------------------------------------------------------------------

/// gss-ntlmssp's client talks to "the server" throughout; behind it the acceptor context
/// moves into another process twice: between CHALLENGE and AUTHENTICATE, and again once
/// established. The peer never knows.
#[test]
fn handoff_to_another_process_is_invisible_to_gss_ntlmssp() {
    use super::export::test_key;
    use super::handoff::Worker;
    use sspi_emu::export::{ExportOptions, SECPKG_CONTEXT_EXPORT_DELETE_OLD};
    if !peer_ready("handoff_to_another_process_is_invisible_to_gss_ntlmssp") {
        return;
    }
    let mut peer = Peer::client(USER, DOMAIN, PASSWORD, &[]);
    let mut front = acceptor(acceptor_options());
    let negotiate = peer.token();
    let challenge = front.step(Some(&negotiate)).expect("our CHALLENGE").token;
    peer.send_token(&challenge);
    let authenticate = peer.token();
    let info = peer.established();

    // Worker 1 takes the half-done context and accepts the AUTHENTICATE.
    let export = ExportOptions::new().protection(test_key());
    let blob = front.export(SECPKG_CONTEXT_EXPORT_DELETE_OLD, &export).expect("export");
    let mut first = Worker::spawn();
    first.pid();
    first.ask(&format!("IMPORT {}", driver::to_hex(blob.packed.as_bytes()))).expect("import");
    let answer = first.ask(&format!("STEP {}", driver::to_hex(&authenticate))).expect("accept");
    assert_eq!(answer[0], format!("{DOMAIN}\\{USER}"));
    let token = peer.wrap(b"first worker");
    assert_eq!(
        driver::hex(&first.ask(&format!("UNWRAP {}", driver::to_hex(&token))).unwrap()[0]),
        b"first worker"
    );
    let token = first.ask(&format!("WRAP {}", driver::to_hex(b"from worker 1"))).unwrap();
    assert_eq!(peer.unwrap(&driver::hex(&token[0])).expect("peer unwraps"), b"from worker 1");

    // Worker 2 takes the established context from worker 1.
    let blob = first.ask("EXPORT").expect("export from worker 1");
    drop(first);
    let mut second = Worker::spawn();
    second.ask(&format!("IMPORT {}", blob[0])).expect("import into worker 2");
    for msg in messages() {
        let token = peer.wrap(&msg);
        let plain = second.ask(&format!("UNWRAP {}", driver::to_hex(&token))).unwrap();
        assert_eq!(driver::hex(plain.first().map_or("", String::as_str)), msg);
        let token = second.ask(&format!("WRAP {}", driver::to_hex(&msg))).unwrap();
        assert_eq!(peer.unwrap(&driver::hex(&token[0])).expect("peer unwraps"), msg);
    }
    let mic = second.ask(&format!("SIGN {}", driver::to_hex(b"signed by worker 2"))).unwrap();
    peer.verify(&driver::hex(&mic[0]), b"signed by worker 2").expect("peer verifies");
    let mic = peer.mic(b"signed by gss");
    second
        .ask(&format!("VERIFY {} {}", driver::to_hex(&mic), driver::to_hex(b"signed by gss")))
        .expect("worker verifies");
    // The session key never changed hands in the clear: the peer's is the one we agreed.
    assert!(!info.str("session_key").is_empty());
}
