//! The `user_file` and `key_file` fuzz targets: the `NTLM_USER_FILE` parser and the export
//! key file.

use crate::crypto::NtHash;
use crate::error::Error;
use crate::export::ExportKey;
use crate::ntlm::keys::upcase_chars;
use crate::ntlm::users::{MemoryUserStore, UserStore};
use std::collections::HashMap;

/// `user_file`: a `DOMAIN:USER:PASSWORD` file. Checked against the format's rules: the parse
/// fails exactly when a line that is neither blank nor a `#` comment lacks two colons or has
/// an empty user; otherwise the store holds one entry per distinct (domain, user) pair, case
/// folded, each found under the names of its lines with the password of its last line.
pub fn user_file(data: &[u8]) {
    let Ok(text) = core::str::from_utf8(data) else { return };
    let parsed = MemoryUserStore::parse(text);
    let upcase = |s: &str| upcase_chars(s).collect::<String>();
    let mut lines = Vec::new();
    let mut malformed = false;
    for line in text.lines() {
        let line = line.strip_suffix('\r').unwrap_or(line);
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        let mut fields = line.splitn(3, ':');
        match (fields.next(), fields.next(), fields.next()) {
            (Some(domain), Some(user), Some(password)) if !user.is_empty() => {
                lines.push((domain, user, password));
            }
            _ => {
                malformed = true;
                break;
            }
        }
    }
    let store = match parsed {
        Err(e) => {
            assert!(malformed, "a well-formed file was refused: {e:?}");
            assert!(matches!(e, Error::UserFile(_)));
            return;
        }
        Ok(store) => {
            assert!(!malformed, "a malformed file was accepted");
            store
        }
    };
    let mut last: HashMap<(String, String), &str> = HashMap::new();
    for &(domain, user, password) in &lines {
        last.insert((upcase(domain), upcase(user)), password);
    }
    assert_eq!(store.len(), last.len(), "one entry per distinct (domain, user)");
    for &(domain, user, _) in &lines {
        let expected = last[&(upcase(domain), upcase(user))];
        let found = store.nt_hash(user, domain).expect("a listed user is found");
        assert!(found.ct_eq(&NtHash::from_password(expected)), "the last line's password wins");
    }
}

/// The directory of the `key_file` target's one key file: private to this process, made once
/// (the target rewrites one file in it rather than creating a file per input).
fn key_dir() -> &'static std::path::Path {
    static DIR: std::sync::OnceLock<std::path::PathBuf> = std::sync::OnceLock::new();
    DIR.get_or_init(|| {
        let dir =
            std::env::temp_dir().join(format!("sspi-emu-fuzz-key-file-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("a temporary directory");
        dir
    })
}

/// `key_file`: the first byte picks what is at the key file's path and with which
/// permissions, the rest is the file's content; then [`ExportKey::load_or_create`] reads it.
/// A key comes out exactly when the path is a regular file (not a symbolic link) of exactly
/// 32 bytes that only its owner may use, in a directory others cannot write, and it is the
/// key of those bytes; a missing file is created (32 bytes, mode 600) and read back the
/// same. Never a panic.
pub fn key_file(data: &[u8]) {
    let Some((&mode, content)) = data.split_first() else { return };
    let dir = key_dir();
    let path = dir.join("export.key");
    let _ = std::fs::remove_file(&path);
    let _ = std::fs::remove_dir(&path);
    // Every mode can be read by the owner (the target may run as root, who reads anything).
    let file_mode =
        [0o600, 0o400, 0o640, 0o644, 0o604, 0o660, 0o700, 0o606][usize::from(mode >> 2) & 7];
    let dir_mode = if mode & 0x20 != 0 { 0o770 } else { 0o700 };
    set_mode(dir, dir_mode);
    let shape = mode & 3;
    match shape {
        0 => write_with_mode(&path, content, file_mode),
        1 => {}
        2 => std::fs::create_dir(&path).expect("a directory at the key's path"),
        _ => {
            let target = dir.join("target.key");
            write_with_mode(&target, content, file_mode);
            symlink(&target, &path);
        }
    }
    let result = ExportKey::load_or_create(&path);
    let private = file_mode & 0o077 == 0 && dir_mode & 0o022 == 0;
    match shape {
        0 => {
            let usable = private && content.len() == 32;
            assert_eq!(result.is_ok(), usable, "{result:?}");
            if let Ok(key) = result {
                let bytes: [u8; 32] = content.try_into().expect("32 bytes");
                assert_eq!(key.id(), ExportKey::from_bytes(bytes).id());
            }
        }
        1 => {
            if dir_mode & 0o022 == 0 {
                let key = result.expect("a missing key file is created");
                let again = ExportKey::load_or_create(&path).expect("and read back");
                assert_eq!(key.id(), again.id());
                let meta = std::fs::symlink_metadata(&path).expect("the created file");
                assert!(meta.is_file() && meta.len() == 32);
                #[cfg(unix)]
                {
                    use std::os::unix::fs::PermissionsExt;
                    assert_eq!(meta.permissions().mode() & 0o777, 0o600);
                }
            }
        }
        _ => assert!(matches!(result, Err(Error::KeyFile(_))), "{result:?}"),
    }
    set_mode(dir, 0o700);
}

fn write_with_mode(path: &std::path::Path, content: &[u8], mode: u32) {
    let _ = std::fs::remove_file(path);
    std::fs::write(path, content).expect("write the key file");
    set_mode(path, mode);
}

#[cfg(unix)]
fn set_mode(path: &std::path::Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).expect("chmod");
}

#[cfg(not(unix))]
fn set_mode(_: &std::path::Path, _: u32) {}

#[cfg(unix)]
fn symlink(target: &std::path::Path, link: &std::path::Path) {
    std::os::unix::fs::symlink(target, link).expect("a symbolic link");
}

#[cfg(not(unix))]
fn symlink(target: &std::path::Path, link: &std::path::Path) {
    let _ = std::fs::copy(target, link);
}

/// The seeds of `fuzz/seeds/user_file` and `fuzz/seeds/key_file`.
pub fn seeds() -> Vec<(&'static str, &'static str, Vec<u8>)> {
    let key = |mode: u8, content: &[u8]| [&[mode][..], content].concat();
    vec![
        ("user_file", "two-users", b"# users\r\nEXAMPLE:alice:pa:ss\n\n:bob:secret\r\n".to_vec()),
        ("user_file", "replaced-and-folded", b"D:u:1\nd:U:2\n\xc4\xb1:\xc3\xa4:3\n".to_vec()),
        ("user_file", "malformed", b"A:b:c\nnocolons\n".to_vec()),
        ("user_file", "empty-user", b"D::pw\n".to_vec()),
        ("user_file", "nul-in-names", b"a\0b:c:p1\na:b\0c:p2\n".to_vec()),
        ("key_file", "good", key(0, &[7; 32])),
        ("key_file", "short", key(0, &[7; 31])),
        ("key_file", "readable-by-group", key(0x08, &[7; 32])),
        ("key_file", "missing", key(1, &[])),
        ("key_file", "directory", key(2, &[])),
        ("key_file", "symlink", key(3, &[7; 32])),
        ("key_file", "group-writable-dir", key(0x20, &[7; 32])),
    ]
}

#[cfg(test)]
mod tests {
    #[test]
    fn seeds_and_edges_pass() {
        for (target, name, seed) in super::seeds() {
            match target {
                "user_file" => super::user_file(&seed),
                _ => super::key_file(&seed),
            }
            let _ = name;
        }
        for data in [&b""[..], b"\xff", b":", b"::", b"a:b", b"#:x:y\n x:y:z", b"\r\n\r"] {
            super::user_file(data);
        }
    }

    /// `fuzz/seeds/user_file` and `fuzz/seeds/key_file` are what [`super::seeds`] makes.
    #[test]
    fn committed_seeds_are_current() {
        let seeds = super::seeds();
        crate::fuzzing::seeds_are_current(
            seeds.iter().map(|(target, name, seed)| (*target, *name, seed.as_slice())),
        );
    }
}
