//! A throwaway MIT Kerberos realm on loopback, for interop tests: the Rust twin of
//! `krb5-test-realm.sh` (the recipe this follows), so the suite runs from a fresh clone.
//!
//! ```text
//!   Realm::start(test, enctypes)
//!     temp dir (unique, removed on drop)
//!       krb5.conf   [libdefaults] default_realm = EXAMPLE.TEST, TCP only, no DNS
//!                   [realms] EXAMPLE.TEST = { kdc = 127.0.0.1:PORT }
//!       kdc.conf    kdc_listen = kdc_tcp_listen = 127.0.0.1:PORT, database in the dir
//!     kdb5_util create -s -r EXAMPLE.TEST -P masterpw
//!     krb5kdc -n -r EXAMPLE.TEST        (child process; killed and waited on drop)
//!     wait until "commencing operation" is logged and 127.0.0.1:PORT accepts TCP
//! ```
//!
//! The realm starts with no principals besides the ones `kdb5_util` makes (`krbtgt/...`,
//! `K/M`, `kadmin/...`): tests add theirs with [`Realm::add_user`] and [`Realm::add_service`].
//!
//! Every child process gets its environment through `Command::env` ([`Realm::command`]); the
//! test process's own environment is never changed (tests run in parallel threads).
//!
//! When the MIT tools are not installed, [`Realm::start`] prints
//! `SKIPPED: <test>: MIT KDC tools missing (...)` and returns `None` (a panic instead under
//! `SSPI_EMU_REQUIRE_PEERS=1`).
#![allow(dead_code)]

use std::fs;
use std::io::Read;
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// The realm every test realm is called.
pub const REALM: &str = "EXAMPLE.TEST";
/// The master password of the database (not secret: a throwaway realm).
pub const MASTER_PASSWORD: &str = "masterpw";
/// A password tests may use for their users.
pub const USER_PASSWORD: &str = "Passw0rd!";

/// The `supported_enctypes` of the recipe, used when a test asks for none.
pub const DEFAULT_ENCTYPES: &[&str] = &[
    "aes256-cts-hmac-sha1-96:normal",
    "aes128-cts-hmac-sha1-96:normal",
    "aes256-cts-hmac-sha384-192:normal",
    "rc4-hmac:normal",
];

/// The enctypes the realm's clients permit (every one the KDC may be asked to use).
const PERMITTED_ENCTYPES: &str = "aes256-cts-hmac-sha1-96 aes128-cts-hmac-sha1-96 \
     aes256-cts-hmac-sha384-192 aes128-cts-hmac-sha256-128 rc4-hmac";

/// How long the KDC may take to start listening.
const START_TIMEOUT: Duration = Duration::from_secs(20);
/// How many ports to try when another process takes ours between the probe and the KDC's bind.
const PORT_ATTEMPTS: usize = 8;

/// The directories searched for the MIT tools besides `PATH` (the admin tools live in sbin,
/// which is not on every user's `PATH`).
const EXTRA_DIRS: &[&str] =
    &["/usr/sbin", "/usr/local/sbin", "/sbin", "/usr/bin", "/usr/local/bin"];

/// Finds `program` on `PATH` or in the sbin directories.
pub fn find_program(program: &str) -> Option<PathBuf> {
    let path_dirs = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .unwrap_or_default();
    path_dirs
        .into_iter()
        .chain(EXTRA_DIRS.iter().map(PathBuf::from))
        .map(|dir| dir.join(program))
        .find(|candidate| candidate.is_file())
}

/// Whether the MIT KDC and admin tools (and the client tools the tests drive) are installed.
pub fn mit_tools_present() -> bool {
    missing_tools().is_empty()
}

fn missing_tools() -> Vec<&'static str> {
    ["krb5kdc", "kdb5_util", "kadmin.local", "kinit", "klist"]
        .into_iter()
        .filter(|tool| find_program(tool).is_none())
        .collect()
}

/// A running throwaway realm. Dropping it kills and reaps the KDC and removes the directory
/// (kept when `SSPI_EMU_KEEP_REALM=1`; when the test panicked, the tail of the KDC log is printed first).
pub struct Realm {
    /// The realm's directory: configuration, database, logs, caches, keytabs.
    pub dir: PathBuf,
    /// The loopback port the KDC listens on (TCP and UDP).
    pub port: u16,
    /// The realm name, [`REALM`].
    pub name: String,
    kdc: Option<Child>,
}

impl Realm {
    /// Creates the realm and starts its KDC, with these `supported_enctypes` (`name:salt`
    /// entries of kdc.conf; empty: [`DEFAULT_ENCTYPES`]). `None`, after reporting the test as
    /// skipped, when the MIT tools are missing (a panic under `SSPI_EMU_REQUIRE_PEERS=1`).
    /// Panics, with the logs, when the realm cannot be set up.
    pub fn start(test: &str, supported_enctypes: &[&str]) -> Option<Realm> {
        Self::start_with(test, supported_enctypes, "")
    }

    /// [`Realm::start`], with `extra_libdefaults` (lines such as `"ticket_lifetime = 1h"`)
    /// appended to krb5.conf's `[libdefaults]`.
    pub fn start_with(
        test: &str,
        supported_enctypes: &[&str],
        extra_libdefaults: &str,
    ) -> Option<Realm> {
        let missing = missing_tools();
        if !missing.is_empty() {
            let why = format!(
                "MIT KDC tools missing ({}; Debian: krb5-kdc krb5-admin-server krb5-user)",
                missing.join(", ")
            );
            assert!(
                !crate::driver::peers_required(),
                "{test}: {why}, and SSPI_EMU_REQUIRE_PEERS=1"
            );
            eprintln!("SKIPPED: {test}: {why}");
            return None;
        }
        let enctypes =
            if supported_enctypes.is_empty() { DEFAULT_ENCTYPES } else { supported_enctypes };
        let dir = unique_dir();
        // From here on the directory is removed by the guard if anything panics.
        let mut realm = Realm { dir, port: 0, name: REALM.to_owned(), kdc: None };
        realm.write_kdc_conf(0, enctypes);
        realm.write_krb5_conf(0, extra_libdefaults);
        let out = realm
            .command("kdb5_util")
            .args(["create", "-s", "-r", REALM, "-P", MASTER_PASSWORD])
            .output()
            .expect("cannot run kdb5_util");
        check_output("kdb5_util create", &out);

        let mut last_error = String::new();
        for _ in 0..PORT_ATTEMPTS {
            let port = free_port();
            realm.write_kdc_conf(port, enctypes);
            realm.write_krb5_conf(port, extra_libdefaults);
            realm.port = port;
            match realm.spawn_kdc() {
                Ok(child) => {
                    realm.kdc = Some(child);
                    return Some(realm);
                }
                Err(why) => last_error = why,
            }
        }
        panic!("{test}: the KDC did not start after {PORT_ATTEMPTS} ports: {last_error}");
    }

    /// Starts the KDC on `self.port` and waits until it serves TCP. `Err` when the port was
    /// taken (worth another port); panics on any other failure.
    fn spawn_kdc(&self) -> Result<Child, String> {
        let log = self.dir.join("kdc.log");
        let _ = fs::remove_file(&log);
        let stdout = fs::File::create(self.dir.join("kdc.stdout")).expect("kdc.stdout");
        let stderr = stdout.try_clone().expect("kdc.stdout");
        let mut child = self
            .command("krb5kdc")
            .args(["-n", "-r", REALM])
            .stdin(Stdio::null())
            .stdout(stdout)
            .stderr(stderr)
            .spawn()
            .expect("cannot run krb5kdc");
        let deadline = Instant::now() + START_TIMEOUT;
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, self.port));
        loop {
            if let Some(status) = child.try_wait().expect("waiting for krb5kdc") {
                let logs = self.kdc_logs();
                if logs.contains("Address already in use") {
                    return Err(format!("port {} taken", self.port));
                }
                panic!("krb5kdc exited ({status}) while starting:\n{logs}");
            }
            // Our own log says it is up, so whatever answers on the port is our KDC.
            let started =
                fs::read_to_string(&log).is_ok_and(|l| l.contains("commencing operation"));
            if started && TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
                return Ok(child);
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "krb5kdc did not listen on {addr} within {START_TIMEOUT:?}:\n{}",
                    self.kdc_logs()
                );
            }
            std::thread::sleep(Duration::from_millis(25));
        }
    }

    fn write_krb5_conf(&self, port: u16, extra_libdefaults: &str) {
        let d = self.dir.display();
        let text = format!(
            "[libdefaults]\n\
             \x20 default_realm = {REALM}\n\
             \x20 dns_lookup_realm = false\n\
             \x20 dns_lookup_kdc = false\n\
             \x20 rdns = false\n\
             \x20 dns_canonicalize_hostname = false\n\
             \x20 udp_preference_limit = 1\n\
             \x20 allow_weak_crypto = true\n\
             \x20 permitted_enctypes = {PERMITTED_ENCTYPES}\n\
             \x20 default_tkt_enctypes = {PERMITTED_ENCTYPES}\n\
             \x20 default_tgs_enctypes = {PERMITTED_ENCTYPES}\n\
             {extra_libdefaults}\n\
             [realms]\n\
             \x20 {REALM} = {{\n\
             \x20   kdc = 127.0.0.1:{port}\n\
             \x20 }}\n\
             [domain_realm]\n\
             \x20 localhost = {REALM}\n\
             \x20 .example.test = {REALM}\n\
             \x20 example.test = {REALM}\n\
             [logging]\n\
             \x20 default = FILE:{d}/krb5lib.log\n"
        );
        fs::write(self.krb5_conf(), text).expect("writing krb5.conf");
    }

    fn write_kdc_conf(&self, port: u16, enctypes: &[&str]) {
        let d = self.dir.display();
        let enctypes = enctypes.join(" ");
        let text = format!(
            "[kdcdefaults]\n\
             \x20 kdc_listen = 127.0.0.1:{port}\n\
             \x20 kdc_tcp_listen = 127.0.0.1:{port}\n\
             [realms]\n\
             \x20 {REALM} = {{\n\
             \x20   database_name = {d}/principal\n\
             \x20   key_stash_file = {d}/stash\n\
             \x20   acl_file = {d}/kadm5.acl\n\
             \x20   admin_keytab = FILE:{d}/kadm5.keytab\n\
             \x20   max_life = 10h 0m 0s\n\
             \x20   max_renewable_life = 7d 0h 0m 0s\n\
             \x20   supported_enctypes = {enctypes}\n\
             \x20 }}\n\
             [logging]\n\
             \x20 kdc = FILE:{d}/kdc.log\n\
             \x20 admin_server = FILE:{d}/kadmind.log\n"
        );
        fs::write(self.dir.join("kdc.conf"), text).expect("writing kdc.conf");
        fs::write(self.dir.join("kadm5.acl"), "").expect("writing kadm5.acl");
    }

    /// The realm's krb5.conf.
    pub fn krb5_conf(&self) -> PathBuf {
        self.dir.join("krb5.conf")
    }

    /// The realm's default credential cache file (`KRB5CCNAME` is `FILE:` this).
    pub fn ccache(&self) -> PathBuf {
        self.dir.join("ccache")
    }

    /// The realm's default keytab file (`KRB5_KTNAME` is `FILE:` this).
    pub fn keytab(&self) -> PathBuf {
        self.dir.join("default.keytab")
    }

    /// The environment every child process gets.
    pub fn env(&self) -> Vec<(String, String)> {
        let d = self.dir.display();
        vec![
            ("KRB5_CONFIG".to_owned(), format!("{d}/krb5.conf")),
            ("KRB5_KDC_PROFILE".to_owned(), format!("{d}/kdc.conf")),
            ("KRB5CCNAME".to_owned(), format!("FILE:{}", self.ccache().display())),
            ("KRB5_KTNAME".to_owned(), format!("FILE:{}", self.keytab().display())),
            ("KRB5_CLIENT_KTNAME".to_owned(), format!("FILE:{d}/client.keytab")),
            ("KRB5RCACHETYPE".to_owned(), "none".to_owned()),
            ("KRB5_TRACE".to_owned(), format!("{d}/trace.log")),
        ]
    }

    /// A command for one of the MIT tools (found on `PATH` or in sbin), with [`Realm::env`]
    /// applied and the working directory set to the realm's.
    pub fn command(&self, program: &str) -> Command {
        let path = find_program(program).unwrap_or_else(|| PathBuf::from(program));
        let mut command = Command::new(path);
        command.envs(self.env()).current_dir(&self.dir).stdin(Stdio::null());
        command
    }

    /// Runs `kadmin.local -q query`; panics with the output when it fails (kadmin.local exits
    /// 0 on most failures, so stderr is checked too).
    pub fn kadmin(&self, query: &str) {
        let out = self
            .command("kadmin.local")
            .args(["-r", REALM, "-q", query])
            .output()
            .expect("cannot run kadmin.local");
        let stderr = String::from_utf8_lossy(&out.stderr);
        let unexpected = stderr.lines().any(|line| {
            let line = line.trim();
            !(line.is_empty()
                || line.starts_with("Authenticating as principal")
                || line.starts_with("No policy specified")
                || line.starts_with("WARNING: no policy specified"))
        });
        if !out.status.success() || unexpected {
            panic!(
                "kadmin.local -q {query:?} failed ({}):\nstdout: {}\nstderr: {stderr}",
                out.status,
                String::from_utf8_lossy(&out.stdout)
            );
        }
    }

    /// Adds a user principal (`alice`) with this password.
    pub fn add_user(&self, name: &str, password: &str) {
        self.kadmin(&format!("addprinc -pw {password} {name}"));
    }

    /// Adds a service principal (`HTTP/web.example.test`) with a random key.
    pub fn add_service(&self, name: &str) {
        self.kadmin(&format!("addprinc -randkey {name}"));
    }

    /// Exports `principal`'s keys to the keytab file `path` (`ktadd`). With `norandkey` the
    /// current keys are exported (a user's password keeps working); without, new random keys
    /// are made (and the kvno goes up).
    pub fn export_keytab(&self, principal: &str, path: &Path, norandkey: bool) {
        let norandkey = if norandkey { "-norandkey " } else { "" };
        self.kadmin(&format!("ktadd {norandkey}-k {} {principal}", path.display()));
    }

    /// `kinit principal` with the password on stdin, into the ccache `ccache` (a file path).
    /// Panics with the output on failure.
    pub fn kinit_password(&self, principal: &str, password: &str, ccache: &Path) {
        use std::io::Write;
        let mut child = self
            .command("kinit")
            .args(["-c", &format!("FILE:{}", ccache.display()), principal])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("cannot run kinit");
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(format!("{password}\n").as_bytes())
            .expect("writing the password to kinit");
        let out = child.wait_with_output().expect("waiting for kinit");
        check_output(&format!("kinit {principal}"), &out);
    }

    /// Runs a prepared command and returns its stdout; panics with the output on failure.
    pub fn run(&self, mut command: Command) -> String {
        let out = command.output().unwrap_or_else(|e| panic!("cannot run {command:?}: {e}"));
        check_output(&format!("{command:?}"), &out);
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// The KDC's log and stdout, for failure messages.
    pub fn kdc_logs(&self) -> String {
        let mut text = String::new();
        for name in ["kdc.log", "kdc.stdout"] {
            if let Ok(mut f) = fs::File::open(self.dir.join(name)) {
                text.push_str(&format!("--- {name}\n"));
                let _ = f.read_to_string(&mut text);
            }
        }
        text
    }
}

impl Drop for Realm {
    fn drop(&mut self) {
        if let Some(mut kdc) = self.kdc.take() {
            let _ = kdc.kill();
            let _ = kdc.wait();
        }
        if std::thread::panicking() {
            // The KDC's view of what went wrong, before the directory goes.
            let logs = self.kdc_logs();
            let tail: Vec<&str> = logs.lines().rev().take(30).collect();
            eprintln!(
                "test realm {} (port {}), last KDC log lines:\n{}",
                self.dir.display(),
                self.port,
                tail.into_iter().rev().collect::<Vec<_>>().join("\n")
            );
        }
        if std::env::var_os("SSPI_EMU_KEEP_REALM").is_some_and(|v| v == "1") {
            eprintln!(
                "test realm kept for inspection (SSPI_EMU_KEEP_REALM=1): {}",
                self.dir.display()
            );
        } else {
            let _ = fs::remove_dir_all(&self.dir);
        }
    }
}

/// Panics with both streams when a command failed.
pub fn check_output(what: &str, out: &Output) {
    assert!(
        out.status.success(),
        "{what} failed ({}):\nstdout: {}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A new, empty directory under the system temp dir.
fn unique_dir() -> PathBuf {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    loop {
        let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir()
            .join(format!("sspi-emu-realm-{}-{n}-{nanos:08x}", std::process::id()));
        match fs::create_dir(&dir) {
            Ok(()) => return dir,
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => panic!("cannot create {}: {e}", dir.display()),
        }
    }
}

/// A loopback port free for both TCP and UDP at the time of asking (released before the KDC
/// binds it: a collision is caught by [`Realm::spawn_kdc`] and another port tried).
fn free_port() -> u16 {
    for _ in 0..100 {
        let tcp = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("binding a TCP port");
        let port = tcp.local_addr().expect("local address").port();
        if UdpSocket::bind((Ipv4Addr::LOCALHOST, port)).is_ok() {
            return port;
        }
    }
    panic!("no loopback port free for both TCP and UDP");
}

/// Proves the harness: a realm starts, MIT `kinit` gets alice a TGT with her password on
/// stdin, and `klist` lists `krbtgt/EXAMPLE.TEST@EXAMPLE.TEST` for her. Also: the KDC is gone
/// and the directory removed after the drop.
#[test]
fn realm_starts_and_issues_a_tgt() {
    let Some(realm) = Realm::start("realm_starts_and_issues_a_tgt", &[]) else { return };
    realm.add_user("alice", USER_PASSWORD);
    let cc = realm.ccache();
    realm.kinit_password("alice", USER_PASSWORD, &cc);
    let mut klist = realm.command("klist");
    klist.args(["-c", &format!("FILE:{}", cc.display())]);
    let listing = realm.run(klist);
    assert!(listing.contains("Default principal: alice@EXAMPLE.TEST"), "{listing}");
    assert!(listing.contains("krbtgt/EXAMPLE.TEST@EXAMPLE.TEST"), "{listing}");
    // A wrong password is refused by the KDC (so the KDC really checks).
    let mut kinit = realm.command("kinit");
    kinit.args(["-c", &format!("FILE:{}/other", realm.dir.display()), "alice"]);
    let out = kinit.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = out.spawn().expect("kinit");
    {
        use std::io::Write;
        child.stdin.take().expect("stdin").write_all(b"wrong\n").expect("stdin");
    }
    let out = child.wait_with_output().expect("kinit");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("Password incorrect"), "{out:?}");

    let dir = realm.dir.clone();
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, realm.port));
    drop(realm);
    assert!(!dir.exists(), "realm directory left behind");
    assert!(TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err(), "KDC still up");
}

/// Two realms run side by side (tests run in parallel), each on its own port.
#[test]
fn realms_run_in_parallel() {
    let Some(a) = Realm::start("realms_run_in_parallel", &[]) else { return };
    let Some(b) = Realm::start("realms_run_in_parallel", &["aes128-cts-hmac-sha1-96:normal"])
    else {
        return;
    };
    assert_ne!(a.port, b.port);
    assert_ne!(a.dir, b.dir);
    b.add_user("bob", USER_PASSWORD);
    b.kinit_password("bob", USER_PASSWORD, &b.ccache());
    let mut klist = b.command("klist");
    klist.args(["-e", "-c", &format!("FILE:{}", b.ccache().display())]);
    let listing = b.run(klist);
    assert!(listing.contains("aes128-cts-hmac-sha1-96"), "{listing}");
}
