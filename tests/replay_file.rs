//! The file-backed Kerberos replay cache shared by processes: processes (this test binary,
//! re-run with only [`replay_child`]) and threads race to record the same authenticators in
//! one file, and each authenticator is accepted exactly once.

use sspi_emu::Error;
use sspi_emu::kerberos::replay::ReplayCache;
use std::path::{Path, PathBuf};
use std::time::Duration;

const TAGS: u32 = 300;

fn tag(n: u32) -> [u8; 32] {
    let mut t = [0u8; 32];
    t[..4].copy_from_slice(&n.to_be_bytes());
    // Spread the rest so that the tags differ in every byte the file keeps.
    for (i, b) in t.iter_mut().enumerate().skip(4) {
        *b = u8::try_from((n as usize * 31 + i * 7) % 251).unwrap();
    }
    t
}

/// Records every tag in `order`; returns those this caller won.
fn insert_all(cache: &ReplayCache, order: impl Iterator<Item = u32>) -> Vec<u32> {
    order
        .filter(|&n| match cache.check_and_insert(tag(n), 1000, 1000, 300) {
            Ok(()) => true,
            Err(Error::Replay) => false,
            Err(e) => panic!("tag {n}: {e}"),
        })
        .collect()
}

/// A private directory for one test, removed at the end.
fn private_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("sspi-emu-rcache-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let mut b = std::fs::DirBuilder::new();
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        b.mode(0o700);
    }
    b.create(&dir).unwrap();
    dir
}

/// Every tag won exactly once over all the `wins`.
fn assert_each_won_once(wins: &[Vec<u32>]) {
    let mut count = vec![0u32; usize::try_from(TAGS).unwrap()];
    for w in wins {
        for &n in w {
            count[usize::try_from(n).unwrap()] += 1;
        }
    }
    let wrong: Vec<_> = count.iter().enumerate().filter(|(_, c)| **c != 1).collect();
    assert!(wrong.is_empty(), "tags not won exactly once (tag, winners): {wrong:?}");
    // How much the contenders overlapped depends on the scheduler: shown, not asserted.
    let per: Vec<usize> = wins.iter().map(Vec::len).collect();
    println!("tags won per contender: {per:?}");
}

/// Processes create the file at once and insert the same tags (each in its own order, so
/// they collide all along): every tag is accepted by exactly one process.
#[test]
fn processes_sharing_a_file_accept_each_authenticator_once() {
    const PROCESSES: u32 = 8;
    let dir = private_dir("processes");
    let file = dir.join("replay");
    let go = dir.join("go");
    let exe = std::env::current_exe().unwrap();
    let children: Vec<_> = (0..PROCESSES)
        .map(|i| {
            std::process::Command::new(&exe)
                .args(["--exact", "replay_child", "--ignored", "--nocapture", "--test-threads=1"])
                .env("SSPI_EMU_RACE_REPLAY_FILE", &file)
                .env("SSPI_EMU_RACE_GO", &go)
                .env("SSPI_EMU_RACE_ROTATE", (i * TAGS / PROCESSES).to_string())
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    std::thread::sleep(Duration::from_millis(300));
    std::fs::write(&go, b"").unwrap();
    let mut wins = Vec::new();
    for child in children {
        let out = child.wait_with_output().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "a child failed:\n{stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let line = stdout
            .lines()
            .find_map(|l| l.split("WON ").nth(1))
            .unwrap_or_else(|| panic!("the child printed no result:\n{stdout}"));
        wins.push(line.split_whitespace().map(|n| n.parse().unwrap()).collect::<Vec<u32>>());
    }
    assert_each_won_once(&wins);
    // Afterwards every tag is a replay for a newcomer too; one file, no temporary left.
    let cache = ReplayCache::file(&file).unwrap();
    assert!(insert_all(&cache, 0..TAGS).is_empty());
    let mut names: Vec<_> =
        std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().file_name()).collect();
    names.sort();
    assert_eq!(names, ["go", "replay"]);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The child of [`processes_sharing_a_file_accept_each_authenticator_once`]: waits for the
/// go file, opens (or creates) the cache and inserts every tag starting at its rotation;
/// prints the tags it won.
#[test]
#[ignore = "run only as a child process of processes_sharing_a_file_accept_each_authenticator_once"]
fn replay_child() {
    let var = |name: &str| std::env::var_os(name).expect("run by the parent test");
    let file = PathBuf::from(var("SSPI_EMU_RACE_REPLAY_FILE"));
    let go = PathBuf::from(var("SSPI_EMU_RACE_GO"));
    let rotate: u32 = var("SSPI_EMU_RACE_ROTATE").to_str().unwrap().parse().unwrap();
    // Every child creates or opens the file at once, then they insert together.
    let cache = ReplayCache::file(&file).unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while !go.exists() {
        assert!(std::time::Instant::now() < deadline, "the parent never said go");
        std::thread::yield_now();
    }
    let won = insert_all(&cache, (0..TAGS).map(|n| (n + rotate) % TAGS));
    let won: Vec<String> = won.iter().map(ToString::to_string).collect();
    println!("WON {}", won.join(" "));
}

/// Threads of one process, each with its own cache opened on the same file (as separate
/// credentials would be): the file lock alone keeps them apart.
#[test]
fn threads_with_their_own_caches_accept_each_authenticator_once() {
    const THREADS: u32 = 6;
    let dir = private_dir("threads");
    let file = dir.join("replay");
    let barrier = std::sync::Barrier::new(usize::try_from(THREADS).unwrap());
    let wins: Vec<Vec<u32>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..THREADS)
            .map(|i| {
                let (file, barrier): (&Path, _) = (&file, &barrier);
                s.spawn(move || {
                    let cache = ReplayCache::file(file).unwrap();
                    barrier.wait();
                    let rotate = i * TAGS / THREADS;
                    insert_all(&cache, (0..TAGS).map(|n| (n + rotate) % TAGS))
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_each_won_once(&wins);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// End to end: two acceptor credentials (two workers) with the same replay file; an AP-REQ
/// accepted by one is refused by the other, while each credential on its own memory cache
/// would accept it. The world is `sspi_emu::fuzzing`'s offline one (its service key, its
/// ticket for alice, its clock).
#[test]
fn an_ap_req_accepted_by_one_worker_is_refused_by_another() {
    use sspi_emu::api::{AcceptorOptions, Credentials, SecurityContext};
    use sspi_emu::env::{Environment, FileTime, ManualClock, SeededRandom};
    use sspi_emu::kerberos::credentials::AcceptorCredentials;
    use sspi_emu::kerberos::keytab::{Keytab, KeytabEntry};
    use sspi_emu::kerberos::{EncType, Key, NameType, Principal};
    let dir = private_dir("workers");
    let file = dir.join("replay");
    let service = Principal::new(NameType::SRV_INST, &["HTTP", "web.example.test"], "EXAMPLE.TEST");
    let keytab = || Keytab {
        entries: vec![KeytabEntry {
            principal: service.clone(),
            timestamp: 1_767_225_600,
            kvno: 2,
            key: Key::new(EncType::AES256_CTS_HMAC_SHA1_96, &[0x5a; 32]),
        }],
    };
    let worker = |shared: bool| {
        let creds = AcceptorCredentials::new(keytab(), Some(service.clone())).unwrap();
        let creds = if shared { creds.with_replay_file(&file).unwrap() } else { creds };
        let env = Environment::new(
            SeededRandom::new(2),
            ManualClock::new(FileTime(134_116_992_000_000_000)),
        );
        SecurityContext::acceptor(
            &Credentials::kerberos_acceptor(creds),
            AcceptorOptions::new().environment(env),
        )
        .unwrap()
    };
    let (_, _, ap_req, _) = sspi_emu::fuzzing::krb_pair();
    // Separate memory caches: both accept (which is what the file is for).
    worker(false).step(Some(&ap_req)).unwrap();
    worker(false).step(Some(&ap_req)).unwrap();
    // One file: the first accepts, the second refuses the replay.
    worker(true).step(Some(&ap_req)).unwrap();
    let refused = worker(true).step(Some(&ap_req)).map(|_| ()).unwrap_err();
    assert_eq!(refused, sspi_emu::Error::Replay, "{refused:?}");
    std::fs::remove_dir_all(&dir).unwrap();
}
