//! Where an acceptor finds the NT hash of a user.

use crate::crypto::{NtHash, Password};
use crate::error::{Error, Result};
use crate::ntlm::keys::upcase_chars;
use std::collections::HashMap;
use std::path::Path;

/// The largest user file read (16 MiB: some 200,000 users); a larger one is refused from its
/// size, unread.
pub const MAX_FILE_SIZE: u64 = 16 << 20;

/// A source of NT hashes for the acceptor.
///
/// Any `Fn(&str, &str) -> Option<NtHash>` taking `(user, domain)` is a store, so a caller can
/// plug in its own directory.
pub trait UserStore: Send + Sync {
    /// The NT hash of `user` in `domain`, or `None` if the user is unknown. `user` and
    /// `domain` are exactly as the client sent them.
    fn nt_hash(&self, user: &str, domain: &str) -> Option<NtHash>;
}

impl<F> UserStore for F
where
    F: Fn(&str, &str) -> Option<NtHash> + Send + Sync,
{
    fn nt_hash(&self, user: &str, domain: &str) -> Option<NtHash> {
        self(user, domain)
    }
}

/// An in-memory user store. Names match case-insensitively; an entry with an empty domain
/// matches a user of that name in any domain (as gss-ntlmssp's user file does).
#[derive(Default, Clone)]
pub struct MemoryUserStore {
    /// Keyed by the length of `upcase(domain)` in UTF-8 (native-endian `usize`), then the
    /// UTF-8 of `upcase(domain)` and `upcase(user)`, which a lookup builds on the stack. The
    /// length keeps every (domain, user) pair apart, whatever the names hold (a separator
    /// would not: with `D NUL U`, the domain "a NUL b" and user "c" met the domain "a" and
    /// user "b NUL c"; found by the `user_file` fuzz target). The keys are bytes, not
    /// strings, so that a lookup need not check again that what it built is UTF-8.
    users: HashMap<Box<[u8]>, NtHash>,
}

impl core::fmt::Debug for MemoryUserStore {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("MemoryUserStore").field("users", &self.users.len()).finish()
    }
}

/// The bytes of the domain's length at the start of a key.
const LEN: usize = core::mem::size_of::<usize>();

fn key(domain: &str, user: &str) -> Box<[u8]> {
    let domain: String = upcase_chars(domain).collect();
    let mut k = Vec::with_capacity(LEN + domain.len() + user.len());
    k.extend_from_slice(&domain.len().to_ne_bytes());
    k.extend_from_slice(domain.as_bytes());
    k.extend(upcase_chars(user).collect::<String>().as_bytes());
    k.into_boxed_slice()
}

impl MemoryUserStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds (or replaces) a user by password.
    pub fn add_password(&mut self, domain: &str, user: &str, password: &Password) -> &mut Self {
        self.add_nt_hash(domain, user, NtHash::from_password(password.as_str()))
    }

    /// Adds (or replaces) a user by NT hash.
    pub fn add_nt_hash(&mut self, domain: &str, user: &str, hash: NtHash) -> &mut Self {
        self.users.insert(key(domain, user), hash);
        self
    }

    /// Parses `DOMAIN:USER:PASSWORD` lines, the format of the file other NTLM implementations
    /// read from `NTLM_USER_FILE`. The password is everything after the second colon. Empty
    /// lines and lines starting with `#` are skipped.
    ///
    /// # Errors
    /// [`Error::UserFile`] (`SEC_E_NO_CREDENTIALS`) naming the first malformed line.
    pub fn parse(text: &str) -> Result<Self> {
        let mut store = Self::new();
        for (n, line) in text.lines().enumerate() {
            let line = line.strip_suffix('\r').unwrap_or(line);
            if line.trim().is_empty() || line.starts_with('#') {
                continue;
            }
            let mut fields = line.splitn(3, ':');
            match (fields.next(), fields.next(), fields.next()) {
                (Some(domain), Some(user), Some(password)) if !user.is_empty() => {
                    let hash = NtHash::from_password(password);
                    store.add_nt_hash(domain, user, hash);
                }
                _ => {
                    return Err(Error::UserFile(format!(
                        "line {}: expected DOMAIN:USER:PASSWORD",
                        n + 1
                    )));
                }
            }
        }
        Ok(store)
    }

    /// Reads a `DOMAIN:USER:PASSWORD` file (see [`MemoryUserStore::parse`]).
    ///
    /// # Errors
    /// [`Error::UserFile`] (`SEC_E_NO_CREDENTIALS`) if the file cannot be read, is larger
    /// than [`MAX_FILE_SIZE`], or is malformed.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let bytes = crate::crypto::read_bounded(path, MAX_FILE_SIZE)
            .map_err(|e| Error::UserFile(format!("{}: {e}", path.display())))?;
        let text = std::str::from_utf8(&bytes)
            .map_err(|_| Error::UserFile(format!("{}: not UTF-8", path.display())))?;
        Self::parse(text)
    }

    /// Number of users.
    pub fn len(&self) -> usize {
        self.users.len()
    }

    /// Whether the store is empty.
    pub fn is_empty(&self) -> bool {
        self.users.is_empty()
    }
}

impl MemoryUserStore {
    /// Looks the key of (`domain`, `user`) up, building it on the stack when it fits (names
    /// are short): no allocation per handshake.
    fn get(&self, domain: &str, user: &str) -> Option<&NtHash> {
        let mut buf = [0u8; 256];
        if domain.is_ascii() && user.is_ascii() {
            // The usual case: the names upper-cased byte by byte after the domain's length.
            let len = LEN + domain.len() + user.len();
            let Some(lookup) = buf.get_mut(..len) else {
                return self.users.get(&key(domain, user));
            };
            let (prefix, names) = lookup.split_at_mut(LEN);
            prefix.copy_from_slice(&domain.len().to_ne_bytes());
            let (d, u) = names.split_at_mut(domain.len());
            d.copy_from_slice(domain.as_bytes());
            u.copy_from_slice(user.as_bytes());
            names.make_ascii_uppercase();
            return self.users.get(&*lookup);
        }
        let mut len = LEN;
        let mut domain_len = None;
        for c in upcase_chars(domain).map(Some).chain([None]).chain(upcase_chars(user).map(Some)) {
            let Some(c) = c else {
                domain_len = Some(len - LEN);
                continue;
            };
            let Some(slot) = buf.get_mut(len..len + c.len_utf8()) else {
                return self.users.get(&key(domain, user));
            };
            len += c.encode_utf8(slot).len();
        }
        buf.get_mut(..LEN)?.copy_from_slice(&domain_len?.to_ne_bytes());
        self.users.get(buf.get(..len)?)
    }
}

impl UserStore for MemoryUserStore {
    fn nt_hash(&self, user: &str, domain: &str) -> Option<NtHash> {
        self.get(domain, user).or_else(|| self.get("", user)).cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_user_file_lines() {
        let store =
            MemoryUserStore::parse("# comment\r\nEXAMPLE:alice:pa:ss\n\n:bob:secret\r\n").unwrap();
        assert_eq!(store.len(), 2);
        let alice = store.nt_hash("ALICE", "example").unwrap();
        assert!(alice.ct_eq(&NtHash::from_password("pa:ss")));
        assert!(store.nt_hash("bob", "ANYWHERE").unwrap().ct_eq(&NtHash::from_password("secret")));
        assert!(store.nt_hash("alice", "OTHER").is_none());
        assert!(store.nt_hash("carol", "EXAMPLE").is_none());
    }

    #[test]
    fn long_and_non_ascii_names_are_found() {
        // Keys longer than the stack buffer take the allocating path; upcasing may change
        // the UTF-8 length (ı is two bytes, its uppercase I one).
        let long = "u".repeat(300);
        let mut store = MemoryUserStore::new();
        store.add_password("D", &long, &Password::new("a"));
        store.add_password("dömäin", "ırmak", &Password::new("b"));
        assert!(store.nt_hash(&long.to_uppercase(), "d").is_some());
        assert!(store.nt_hash(&"u".repeat(299), "D").is_none());
        assert!(store.nt_hash("IRMAK", "DÖMÄIN").unwrap().ct_eq(&NtHash::from_password("b")));
        assert!(store.nt_hash("ırmak", "dömäin").is_some());
    }

    #[test]
    fn malformed_lines_are_reported() {
        let err = MemoryUserStore::parse("A:b:c\nnocolons\n").unwrap_err();
        assert_eq!(err, Error::UserFile("line 2: expected DOMAIN:USER:PASSWORD".into()));
        assert!(MemoryUserStore::parse("D::pw").is_err(), "empty user");
        assert!(matches!(MemoryUserStore::from_file("/nonexistent/x"), Err(Error::UserFile(_))));
    }

    #[test]
    fn names_holding_nul_stay_apart() {
        // Found by the `user_file` fuzz target: with keys `upcase(domain) NUL upcase(user)`
        // these two entries were one, and each logon found the other's password.
        let store = MemoryUserStore::parse("a\0b:c:p1\na:b\0c:p2\n").unwrap();
        assert_eq!(store.len(), 2);
        assert!(store.nt_hash("c", "a\0b").unwrap().ct_eq(&NtHash::from_password("p1")));
        assert!(store.nt_hash("b\0c", "a").unwrap().ct_eq(&NtHash::from_password("p2")));
        // The same on the lookup path for names that are not ASCII.
        let store = MemoryUserStore::parse("\u{e4}\0b:c:p1\n\u{e4}:b\0c:p2\n").unwrap();
        assert_eq!(store.len(), 2);
        assert!(store.nt_hash("C", "\u{c4}\0B").unwrap().ct_eq(&NtHash::from_password("p1")));
        assert!(store.nt_hash("B\0C", "\u{c4}").unwrap().ct_eq(&NtHash::from_password("p2")));
    }

    #[test]
    fn closures_are_stores() {
        let store = |user: &str, _: &str| (user == "u").then(|| NtHash::from_password("p"));
        assert!(store.nt_hash("u", "").is_some());
        assert!(store.nt_hash("v", "").is_none());
    }
}
