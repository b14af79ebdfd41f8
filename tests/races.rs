//! Races (issue 16): the `sspi::` handle table under 8 threads × 100,000 racing operations,
//! the Kerberos replay cache under as many racing check-and-inserts, and the per-host key
//! file created by many processes at once.
//!
//! The handle table is process-wide, so this is its own test binary: at the end, with every
//! handle deleted, the table must be empty (nothing lost, nothing leaked), which another test
//! running alongside would make unknowable.
//!
//! Each thread draws operations from its own seeded generator over a shared pool of context
//! handles: import (create), initialize (create a half-done context), make_signature and
//! query (use), export without and with DELETE_OLD (the latter moves the context to a new
//! handle), delete, acquire and free credentials. Handles are copied freely between threads,
//! so a use can race a delete: every status must then be one of the two the race allows,
//! and a handle this thread itself deleted must answer SEC_E_INVALID_HANDLE, every time.
//! A watchdog fails the test if the threads do not finish (a deadlock).

use sspi_emu::export::{ExportKey, ExportOptions, Protection, SECPKG_CONTEXT_EXPORT_DELETE_OLD};
use sspi_emu::flags::{AscReq, IscReq};
use sspi_emu::ntlm::users::MemoryUserStore;
use sspi_emu::sspi::*;
use sspi_emu::{Credentials, FileTime, ImportOptions, Password, SecurityStatus as S};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

const THREADS: usize = 8;
const OPS_PER_THREAD: usize = 100_000;
/// The shared pool holds at most this many contexts; above it, threads delete.
const POOL_MAX: usize = 64;

fn key() -> Protection {
    Protection::Key(ExportKey::from_bytes([0x42; 32]))
}

fn creds(usage: u32) -> SecHandle {
    let auth = if usage == SECPKG_CRED_OUTBOUND {
        Credentials::initiator("u", "D", Password::new("p"))
    } else {
        let mut users = MemoryUserStore::new();
        users.add_password("D", "u", &Password::new("p"));
        Credentials::acceptor(users)
    };
    let (mut handle, mut expiry) = (SecHandle::default(), FileTime::default());
    let st = acquire_credentials_handle(None, "NTLM", usage, Some(&auth), &mut handle, &mut expiry);
    assert_eq!(st, S::SEC_E_OK);
    handle
}

/// One ISC call; `old` for the second leg. Returns the status and the token.
fn isc(
    cred: &SecHandle,
    ctx: &mut SecHandle,
    old: Option<SecHandle>,
    input: &[u8],
) -> (S, Vec<u8>) {
    let mut token = vec![0u8; 4096];
    let mut out = [SecBuffer::new(SECBUFFER_TOKEN, &mut token)];
    let mut inputs = [SecBuffer::read_only(SECBUFFER_TOKEN, input)];
    let (mut attrs, mut expiry) = (0, FileTime::default());
    let st = initialize_security_context(
        Some(cred),
        old,
        Some("HTTP/server"),
        IscReq::CONFIDENTIALITY | IscReq::INTEGRITY,
        0,
        old.is_some().then_some(&mut inputs[..]),
        ctx,
        &mut out,
        &mut attrs,
        &mut expiry,
    );
    (st, out[0].as_slice().to_vec())
}

fn asc(
    cred: &SecHandle,
    ctx: &mut SecHandle,
    old: Option<SecHandle>,
    input: &[u8],
) -> (S, Vec<u8>) {
    let mut token = vec![0u8; 4096];
    let mut out = [SecBuffer::new(SECBUFFER_TOKEN, &mut token)];
    let mut inputs = [SecBuffer::read_only(SECBUFFER_TOKEN, input)];
    let (mut attrs, mut expiry) = (0, FileTime::default());
    let st = accept_security_context(
        Some(cred),
        old,
        Some(&mut inputs),
        AscReq::CONFIDENTIALITY | AscReq::INTEGRITY,
        0,
        ctx,
        &mut out,
        &mut attrs,
        &mut expiry,
    );
    (st, out[0].as_slice().to_vec())
}

/// Blobs of an established client and server, protected with [`key`]: what threads import.
fn templates(client_cred: &SecHandle, server_cred: &SecHandle) -> Vec<Vec<u8>> {
    let (mut c, mut s) = (SecHandle::default(), SecHandle::default());
    let (st, negotiate) = isc(client_cred, &mut c, None, &[]);
    assert_eq!(st, S::SEC_I_CONTINUE_NEEDED);
    let (st, challenge) = asc(server_cred, &mut s, None, &negotiate);
    assert_eq!(st, S::SEC_I_CONTINUE_NEEDED);
    let old = Some(c);
    let (st, authenticate) = isc(client_cred, &mut c, old, &challenge);
    assert_eq!(st, S::SEC_E_OK);
    let old = Some(s);
    let (st, _) = asc(server_cred, &mut s, old, &authenticate);
    assert_eq!(st, S::SEC_E_OK);
    [c, s]
        .iter()
        .map(|h| {
            let mut packed = None;
            let options = ExportOptions::new().protection(key());
            let st = export_security_context_ex(
                h,
                SECPKG_CONTEXT_EXPORT_DELETE_OLD,
                &options,
                &mut packed,
                None,
            );
            assert_eq!(st, S::SEC_E_OK);
            let packed = packed.unwrap();
            let blob = packed.as_slice().to_vec();
            assert_eq!(free_context_buffer(packed), S::SEC_E_OK);
            blob
        })
        .collect()
}

fn import(blob: &[u8]) -> SecHandle {
    let mut handle = SecHandle::default();
    let st = import_security_context_ex(
        "NTLM",
        blob,
        None,
        &ImportOptions::new().protection(key()),
        &mut handle,
    );
    assert_eq!(st, S::SEC_E_OK);
    handle
}

/// A signature over a short message: `SEC_E_OK`, or `SEC_E_INVALID_HANDLE` when the handle
/// is gone.
fn sign(handle: &SecHandle) -> S {
    let mut data = *b"racing message";
    let mut sig = [0u8; 16];
    let mut message =
        [SecBuffer::new(SECBUFFER_TOKEN, &mut sig), SecBuffer::new(SECBUFFER_DATA, &mut data)];
    make_signature(handle, 0, &mut message, 0)
}

fn query(handle: &SecHandle) -> S {
    let mut value = None;
    query_context_attributes(handle, SECPKG_ATTR_SIZES, &mut value)
}

struct XorShift(u64);

impl XorShift {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        usize::try_from(self.0 % n as u64).unwrap()
    }
}

/// What a thread saw, by operation: how often, and how often the handle was already gone.
#[derive(Default)]
struct Tally {
    ops: [u64; 8],
    gone: u64,
}

fn allowed(what: &str, st: S, ok: &[S]) {
    assert!(ok.contains(&st), "{what}: {st:?}, expected one of {ok:?}");
}

fn worker(
    seed: u64,
    pool: &Mutex<Vec<SecHandle>>,
    blobs: &[Vec<u8>],
    client_cred: &SecHandle,
) -> Tally {
    let mut rng = XorShift(seed);
    let mut tally = Tally::default();
    // Handles this thread deleted (or moved with DELETE_OLD): they must stay invalid.
    let mut dead: Vec<SecHandle> = Vec::new();
    // Copies of handles picked earlier: used later, they race with other threads' deletes.
    let mut seen: Vec<SecHandle> = Vec::new();
    let mut pick = |rng: &mut XorShift| {
        if !seen.is_empty() && rng.below(2) == 0 {
            return Some(seen[rng.below(seen.len())]);
        }
        let pool = pool.lock().unwrap();
        let handle = (!pool.is_empty()).then(|| pool[rng.below(pool.len())])?;
        if seen.len() < 32 {
            seen.push(handle);
        } else {
            seen[rng.below(32)] = handle;
        }
        Some(handle)
    };
    let take = |rng: &mut XorShift| {
        let mut pool = pool.lock().unwrap();
        (!pool.is_empty()).then(|| {
            let i = rng.below(pool.len());
            pool.swap_remove(i)
        })
    };
    for _ in 0..OPS_PER_THREAD {
        let full = pool.lock().unwrap().len() >= POOL_MAX;
        let op = if full { 5 } else { rng.below(8) };
        tally.ops[op] += 1;
        match op {
            // Create: import an established context.
            0 => {
                let handle = import(&blobs[rng.below(blobs.len())]);
                pool.lock().unwrap().push(handle);
            }
            // Create: a half-done initiator (NEGOTIATE sent), deleted at once or pooled.
            1 => {
                let mut handle = SecHandle::default();
                let (st, _) = isc(client_cred, &mut handle, None, &[]);
                assert_eq!(st, S::SEC_I_CONTINUE_NEEDED);
                if rng.below(2) == 0 {
                    assert_eq!(delete_security_context(&handle), S::SEC_E_OK);
                    dead.push(handle);
                } else {
                    pool.lock().unwrap().push(handle);
                }
            }
            // Use: sign (a half-done context refuses with OUT_OF_SEQUENCE, a gone one INVALID_HANDLE).
            2 => {
                if let Some(handle) = pick(&mut rng) {
                    let st = sign(&handle);
                    tally.gone += u64::from(st == S::SEC_E_INVALID_HANDLE);
                    allowed(
                        "make_signature",
                        st,
                        &[S::SEC_E_OK, S::SEC_E_INVALID_HANDLE, S::SEC_E_OUT_OF_SEQUENCE],
                    );
                }
            }
            // Use: query.
            3 => {
                if let Some(handle) = pick(&mut rng) {
                    let st = query(&handle);
                    tally.gone += u64::from(st == S::SEC_E_INVALID_HANDLE);
                    allowed(
                        "query_context_attributes",
                        st,
                        &[S::SEC_E_OK, S::SEC_E_INVALID_HANDLE],
                    );
                }
            }
            // Export without DELETE_OLD: both copies live.
            4 => {
                if let Some(handle) = pick(&mut rng) {
                    let mut packed = None;
                    let options = ExportOptions::new().protection(key());
                    let st = export_security_context_ex(&handle, 0, &options, &mut packed, None);
                    tally.gone += u64::from(st == S::SEC_E_INVALID_HANDLE);
                    allowed("export", st, &[S::SEC_E_OK, S::SEC_E_INVALID_HANDLE]);
                    if let Some(packed) = packed {
                        assert_eq!(free_context_buffer(packed), S::SEC_E_OK);
                    }
                }
            }
            // Delete one from the pool (another thread may still be using a copy of it).
            5 => {
                if let Some(handle) = take(&mut rng) {
                    assert_eq!(
                        delete_security_context(&handle),
                        S::SEC_E_OK,
                        "a pooled handle is deleted once"
                    );
                    dead.push(handle);
                }
            }
            // Move: export with DELETE_OLD, import under a new handle.
            6 => {
                if let Some(handle) = take(&mut rng) {
                    let mut packed = None;
                    let options = ExportOptions::new().protection(key());
                    let st = export_security_context_ex(
                        &handle,
                        SECPKG_CONTEXT_EXPORT_DELETE_OLD,
                        &options,
                        &mut packed,
                        None,
                    );
                    assert_eq!(
                        st,
                        S::SEC_E_OK,
                        "export with DELETE_OLD of a handle only this thread holds"
                    );
                    dead.push(handle);
                    let packed = packed.unwrap();
                    let moved = import(packed.as_slice());
                    assert_eq!(free_context_buffer(packed), S::SEC_E_OK);
                    pool.lock().unwrap().push(moved);
                }
            }
            // Credentials: acquire, use, free, and a freed handle is refused.
            _ => {
                let cred = creds(SECPKG_CRED_OUTBOUND);
                let mut handle = SecHandle::default();
                let (st, _) = isc(&cred, &mut handle, None, &[]);
                assert_eq!(st, S::SEC_I_CONTINUE_NEEDED);
                assert_eq!(free_credentials_handle(&cred), S::SEC_E_OK);
                let (st, _) = isc(&cred, &mut SecHandle::default(), None, &[]);
                assert_eq!(st, S::SEC_E_INVALID_HANDLE, "a freed credentials handle");
                assert_eq!(free_credentials_handle(&cred), S::SEC_E_INVALID_HANDLE);
                // The context outlives its credentials' handle, as on Windows.
                assert_eq!(query(&handle), S::SEC_E_OK);
                assert_eq!(delete_security_context(&handle), S::SEC_E_OK);
                dead.push(handle);
            }
        }
        // Every handle this thread deleted stays deleted: check one, every time.
        if let Some(gone) = dead.get(rng.below(dead.len().max(1))) {
            assert_eq!(sign(gone), S::SEC_E_INVALID_HANDLE, "a deleted handle signs");
            assert_eq!(delete_security_context(gone), S::SEC_E_INVALID_HANDLE, "deleted twice");
        }
        if dead.len() > 1024 {
            dead.drain(..512);
        }
    }
    tally
}

/// Unoptimized, the 800,000 operations take minutes: `cargo test` lists this test as ignored
/// and `.ci/run` runs it with `cargo test --release --test races`.
#[test]
#[cfg_attr(debug_assertions, ignore = "slow unoptimized: .ci/run runs it with --release")]
fn eight_threads_race_on_the_handle_table() {
    let (live_credentials, live_contexts) = sspi_emu::fuzzing::live_handles();
    assert_eq!((live_credentials, live_contexts), (0, 0), "the table starts empty");
    let client_cred = creds(SECPKG_CRED_OUTBOUND);
    let server_cred = creds(SECPKG_CRED_INBOUND);
    let blobs = templates(&client_cred, &server_cred);
    let pool = Mutex::new(Vec::new());
    let finished = AtomicU64::new(0);
    let started = std::time::Instant::now();
    let (done_tx, done_rx) = std::sync::mpsc::channel();
    let tallies = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..THREADS)
            .map(|t| {
                let (pool, blobs, client_cred, finished, done_tx) =
                    (&pool, &blobs, &client_cred, &finished, done_tx.clone());
                scope.spawn(move || {
                    let tally =
                        worker(0x9E37_79B9_7F4A_7C15 ^ (t as u64 + 1), pool, blobs, client_cred);
                    finished.fetch_add(1, Ordering::SeqCst);
                    let _ = done_tx.send(());
                    tally
                })
            })
            .collect();
        // The watchdog: every thread must finish within the bound, or the test fails (a
        // deadlock would otherwise hang the suite).
        let bound = Duration::from_secs(600);
        for _ in 0..THREADS {
            if done_rx.recv_timeout(bound.saturating_sub(started.elapsed())).is_err() {
                let n = finished.load(Ordering::SeqCst);
                eprintln!(
                    "FAILED: {} of {THREADS} threads still running after {bound:?}: a deadlock",
                    THREADS as u64 - n
                );
                std::process::exit(101);
            }
        }
        handles.into_iter().map(|h| h.join().expect("a worker panicked")).collect::<Vec<Tally>>()
    });
    let elapsed = started.elapsed();
    let mut total = Tally::default();
    for t in &tallies {
        for (a, b) in total.ops.iter_mut().zip(t.ops) {
            *a += b;
        }
        total.gone += t.gone;
    }
    assert_eq!(total.ops.iter().sum::<u64>(), (THREADS * OPS_PER_THREAD) as u64);
    // Every kind of operation ran, and uses did race deletes.
    assert!(total.ops.iter().all(|&n| n > 1000), "{:?}", total.ops);
    eprintln!(
        "races: {} operations on {THREADS} threads in {elapsed:.2?} (import, isc, sign, query, export, delete, move, credentials: {:?}); {} uses found the handle already deleted",
        THREADS * OPS_PER_THREAD,
        total.ops,
        total.gone
    );
    // Delete what is left: the table is then empty.
    for handle in pool.into_inner().unwrap() {
        assert_eq!(delete_security_context(&handle), S::SEC_E_OK);
    }
    assert_eq!(free_credentials_handle(&client_cred), S::SEC_E_OK);
    assert_eq!(free_credentials_handle(&server_cred), S::SEC_E_OK);
    assert_eq!(sspi_emu::fuzzing::live_handles(), (0, 0), "handles lost or leaked");
}

/// Many processes create the per-host key file at once: every one ends up with the same key.
/// The processes are this test binary, re-run with only [`key_file_child`].
#[test]
fn many_processes_creating_the_key_file_get_one_key() {
    const PROCESSES: usize = 16;
    let dir = std::env::temp_dir().join(format!("sspi-emu-races-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let key_file = dir.join("keys").join("export.key");
    let go = dir.join("go");
    let exe = std::env::current_exe().unwrap();
    let children: Vec<_> = (0..PROCESSES)
        .map(|_| {
            std::process::Command::new(&exe)
                .args(["--exact", "key_file_child", "--ignored", "--nocapture", "--test-threads=1"])
                .env("SSPI_EMU_RACE_KEY_FILE", &key_file)
                .env("SSPI_EMU_RACE_GO", &go)
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    // Let them all start and wait, then release them together.
    std::thread::sleep(Duration::from_millis(300));
    std::fs::write(&go, b"").unwrap();
    let mut ids = Vec::new();
    for child in children {
        let out = child.wait_with_output().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "a child failed:\n{stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let id = stdout
            .lines()
            .find_map(|l| l.split("KEY ID ").nth(1))
            .unwrap_or_else(|| panic!("the child printed no key id:\n{stdout}"));
        ids.push(id.to_owned());
    }
    let key = ExportKey::load_or_create(&key_file).unwrap();
    let expected: String = key.id().iter().map(|b| format!("{b:02x}")).collect();
    assert!(
        ids.iter().all(|id| *id == expected),
        "{PROCESSES} processes got more than one key: {ids:?}"
    );
    // Nothing left behind but the key file: no temporary files.
    let names: Vec<_> = std::fs::read_dir(key_file.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, [std::ffi::OsString::from("export.key")]);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The child of [`many_processes_creating_the_key_file_get_one_key`]: waits for the go file,
/// then creates (or reads) the key file and prints the key's id.
#[test]
#[ignore = "run only as a child process of many_processes_creating_the_key_file_get_one_key"]
fn key_file_child() {
    let path = std::env::var_os("SSPI_EMU_RACE_KEY_FILE").expect("run by the parent test");
    let go = std::path::PathBuf::from(
        std::env::var_os("SSPI_EMU_RACE_GO").expect("run by the parent test"),
    );
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while !go.exists() {
        assert!(std::time::Instant::now() < deadline, "the parent never said go");
        std::thread::yield_now();
    }
    let key = ExportKey::load_or_create(&path).unwrap();
    let id: String = key.id().iter().map(|b| format!("{b:02x}")).collect();
    println!("KEY ID {id}");
}

/// The Kerberos replay cache under 8 threads × 100,000 racing check-and-insert calls over a
/// shared set of authenticator tags (the case of one credential's acceptors accepting in
/// parallel): every tag is accepted by exactly one call, every other call on it is a replay,
/// and nothing deadlocks.
#[test]
#[cfg_attr(debug_assertions, ignore = "slow unoptimized: .ci/run runs it with --release")]
fn eight_threads_race_on_the_replay_cache() {
    use sspi_emu::Error;
    use sspi_emu::kerberos::replay::ReplayCache;
    use std::sync::atomic::AtomicUsize;
    const TAGS: usize = 50_000;
    let cache = ReplayCache::new(TAGS);
    let accepted: Vec<AtomicUsize> = (0..TAGS).map(|_| AtomicUsize::new(0)).collect();
    let (done_tx, done_rx) = std::sync::mpsc::channel();
    std::thread::scope(|scope| {
        for t in 0..THREADS {
            let (cache, accepted, done_tx) = (&cache, &accepted, done_tx.clone());
            scope.spawn(move || {
                // Each thread walks the tags in its own order (a stride prime to TAGS).
                let stride = [1usize, 7, 11, 13, 17, 19, 23, 29][t];
                for i in 0..OPS_PER_THREAD {
                    let n = (i * stride + t * 101) % TAGS;
                    let mut tag = [0u8; 32];
                    tag[..8].copy_from_slice(&(n as u64).to_le_bytes());
                    match cache.check_and_insert(tag, 1_000, 1_000, 300) {
                        Ok(()) => {
                            accepted[n].fetch_add(1, Ordering::Relaxed);
                        }
                        Err(Error::Replay) => {}
                        Err(e) => panic!("tag {n}: {e}"),
                    }
                }
                done_tx.send(()).unwrap();
            });
        }
        drop(done_tx);
        for _ in 0..THREADS {
            done_rx.recv_timeout(Duration::from_secs(120)).expect("a thread is stuck: deadlock?");
        }
    });
    let seen = accepted.iter().filter(|a| a.load(Ordering::Relaxed) > 0).count();
    assert!(accepted.iter().all(|a| a.load(Ordering::Relaxed) <= 1), "a tag accepted twice");
    assert_eq!(cache.len(), seen, "the cache holds exactly the accepted tags");
    assert!(seen > TAGS / 2, "the threads covered the tags ({seen})");
}
