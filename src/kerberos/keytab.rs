//! MIT keytab files (the `FILE:` keytab type), read and written.
//!
//! The format is MIT's `doc/formats/keytab_file_format.rst`:
//!
//! ```text
//! file    ::= 0x05 version(8)  record*          version 2: big-endian; 1: native order
//! record  ::= length(i32)  bytes[|length|]      > 0: an entry (maybe followed by slack)
//!                                               < 0: a deleted entry (a zero-filled hole)
//!                                               = 0: end of the keytab
//! entry   ::= count(u16)            components, plus one for the realm in version 1
//!             realm(data) component(data)*
//!             name_type(u32)        absent in version 1
//!             timestamp(u32) kvno(u8) enctype(u16) keylen(u16) key[keylen]
//!             [kvno(u32)]           if >= 4 bytes are left in the record and it is not 0,
//!                                   it replaces the 8-bit kvno (MIT 1.14 and later)
//! data    ::= length(u16) bytes[length]
//! ```
//!
//! Reading accepts versions 2 and 1 (version 1 in this machine's byte order, as MIT reads it);
//! writing always produces version 2 with the 32-bit kvno after every key, as MIT 1.14+
//! writes, so re-writing a keytab MIT made gives the same bytes. Every length is checked
//! against the record and the record against the file; nothing is allocated from a length
//! read from the file before the bytes are known to be there. Names must be UTF-8 and have
//! 1 to 64 components.

use super::{EncType, Key, NameType, Principal, PrincipalName};
use crate::crypto::SecretBytes;
use crate::error::{Error, Result};
use std::path::{Path, PathBuf};
use zeroize::Zeroizing;

/// The largest keytab file [`Keytab::read`] reads.
pub const MAX_FILE_SIZE: u64 = 64 << 20;
/// The most components a principal name in a keytab or ccache may have.
pub(super) const MAX_COMPONENTS: usize = 64;

const VERSION_1: u16 = 0x0501;
const VERSION_2: u16 = 0x0502;

/// A keytab: the long-term keys of one or more principals, as `kadmin ktadd` and `ktutil`
/// write them.
#[derive(Clone, Debug, Default)]
pub struct Keytab {
    /// The entries, in file order (deleted entries are not kept).
    pub entries: Vec<KeytabEntry>,
}

/// One key of one principal.
#[derive(Clone, Debug)]
pub struct KeytabEntry {
    /// Whose key this is.
    pub principal: Principal,
    /// When the entry was written, in seconds since the Unix epoch.
    pub timestamp: u32,
    /// The key version number.
    pub kvno: u32,
    /// The key (its enctype included).
    pub key: Key,
}

impl Keytab {
    /// Parses a keytab file's bytes.
    ///
    /// # Errors
    /// [`Error::Keytab`] naming the problem and its offset: an unknown version, a truncated or
    /// overlong record, a record length pointing past the end of the file, a principal with no
    /// or too many components, a name that is not UTF-8.
    pub fn parse(bytes: &[u8]) -> Result<Keytab> {
        parse(bytes).map_err(|e| Error::Keytab(format!("(in memory): {e}")))
    }

    /// The file bytes: version 2, one record per entry, each followed by its 32-bit kvno.
    ///
    /// # Errors
    /// [`Error::Keytab`] when an entry cannot be written: a component or key over 65535 bytes,
    /// no components or more than 64 (more than [`Keytab::parse`] reads back), an enctype
    /// outside the 16-bit range.
    ///
    /// The bytes hold the keys: they are wiped when the returned buffer is dropped.
    pub fn to_bytes(&self) -> Result<Zeroizing<Vec<u8>>> {
        let mut out = SecretBytes::default();
        out.extend_from_slice(&VERSION_2.to_be_bytes());
        for (i, entry) in self.entries.iter().enumerate() {
            let record =
                entry_bytes(entry).map_err(|e| Error::Keytab(format!("entry {i}: {e}")))?;
            let len = i32::try_from(record.len())
                .map_err(|_| Error::Keytab(format!("entry {i}: too long")))?;
            out.extend_from_slice(&len.to_be_bytes());
            out.extend_from_slice(&record);
        }
        Ok(out.into_zeroizing())
    }

    /// Reads and parses the keytab file at `path`.
    ///
    /// # Errors
    /// [`Error::Keytab`] naming the file: it cannot be read, it is larger than
    /// [`MAX_FILE_SIZE`], or it is malformed (see [`Keytab::parse`]).
    pub fn read(path: impl AsRef<Path>) -> Result<Keytab> {
        let path = path.as_ref();
        let bytes = crate::crypto::read_bounded(path, MAX_FILE_SIZE)
            .map_err(|e| Error::Keytab(format!("{}: {e}", path.display())))?;
        parse(&bytes).map_err(|e| Error::Keytab(format!("{}: {e}", path.display())))
    }

    /// Writes the keytab to `path`, replacing the file. A new file is created readable and
    /// writable by its owner only (0600 on Unix); an existing file keeps its permissions.
    ///
    /// # Errors
    /// [`Error::Keytab`] naming the file, when it cannot be written or an entry cannot be
    /// encoded (see [`Keytab::to_bytes`]).
    pub fn write(&self, path: impl AsRef<Path>) -> Result<()> {
        let path = path.as_ref();
        let bytes = self.to_bytes()?;
        write_private(path, &bytes, false)
            .map_err(|e| Error::Keytab(format!("{}: cannot write: {e}", path.display())))
    }

    /// The entry for `principal` (compared by realm and components; the name type is not
    /// compared, as MIT does not), of key version `kvno` (`None`: the highest present) and
    /// encryption type `etype` (`None`: any; the first in file order).
    pub fn find(
        &self,
        principal: &Principal,
        kvno: Option<u32>,
        etype: Option<EncType>,
    ) -> Option<&KeytabEntry> {
        let mut best: Option<&KeytabEntry> = None;
        for entry in &self.entries {
            if !same_principal(&entry.principal, principal)
                || etype.is_some_and(|e| e != entry.key.etype())
            {
                continue;
            }
            match kvno {
                Some(kvno) if entry.kvno == kvno => return Some(entry),
                Some(_) => {}
                None => {
                    if best.is_none_or(|b| entry.kvno > b.kvno) {
                        best = Some(entry);
                    }
                }
            }
        }
        best
    }
}

/// Whether two principals have the same realm and components (name types may differ).
pub(super) fn same_principal(a: &Principal, b: &Principal) -> bool {
    a.realm == b.realm && a.name.components == b.name.components
}

/// Where the default keytab is, from `KRB5_KTNAME` as `lookup` gives it (`FILE:path`,
/// `WRFILE:path` or a bare path), else `/etc/krb5.keytab`. (MIT also reads
/// `default_keytab_name` from krb5.conf; a caller that has the configuration checks it first.)
///
/// # Errors
/// [`Error::Keytab`] for a keytab type other than `FILE` and `WRFILE` (`MEMORY:`, `KEYRING:`,
/// ...), which sspi-emu cannot read, or an empty path.
pub fn default_keytab_path_from(lookup: impl Fn(&str) -> Option<String>) -> Result<PathBuf> {
    match lookup("KRB5_KTNAME").filter(|v| !v.is_empty()) {
        Some(name) => keytab_path_from_name(&name),
        None => Ok(PathBuf::from("/etc/krb5.keytab")),
    }
}

/// [`default_keytab_path_from`] over the process environment.
///
/// # Errors
/// As [`default_keytab_path_from`].
pub fn default_keytab_path() -> Result<PathBuf> {
    default_keytab_path_from(|name| std::env::var(name).ok())
}

/// The keytab an initiator's keys are read from when none is named: `KRB5_CLIENT_KTNAME`
/// (MIT's client keytab), else the default keytab ([`default_keytab_path_from`]), which is
/// what `kinit -k` reads.
///
/// # Errors
/// As [`default_keytab_path_from`].
pub fn default_client_keytab_path_from(lookup: impl Fn(&str) -> Option<String>) -> Result<PathBuf> {
    match lookup("KRB5_CLIENT_KTNAME").filter(|v| !v.is_empty()) {
        Some(name) => keytab_path_from_name(&name),
        None => default_keytab_path_from(lookup),
    }
}

/// [`default_client_keytab_path_from`] over the process environment.
///
/// # Errors
/// As [`default_keytab_path_from`].
pub fn default_client_keytab_path() -> Result<PathBuf> {
    default_client_keytab_path_from(|name| std::env::var(name).ok())
}

/// The file path of a keytab name in MIT's `TYPE:residual` form (no type, or a name starting
/// with `/`: a file path).
///
/// # Errors
/// [`Error::Keytab`] for a type other than `FILE`/`WRFILE`, or an empty path.
pub fn keytab_path_from_name(name: &str) -> Result<PathBuf> {
    let path = match split_type(name) {
        None => name,
        Some(("FILE" | "WRFILE", path)) => path,
        Some((kind, _)) => {
            return Err(Error::Keytab(format!(
                "keytab type {kind}: is not supported (only FILE: and WRFILE: keytabs can be read): {name}"
            )));
        }
    };
    if path.is_empty() {
        return Err(Error::Keytab(format!("empty keytab path in {name:?}")));
    }
    Ok(PathBuf::from(path))
}

/// `Some((type, residual))` for `TYPE:residual`; `None` for a plain path (no colon, or one
/// starting with `/`, or a Windows drive letter `C:...`).
pub(super) fn split_type(name: &str) -> Option<(&str, &str)> {
    if name.starts_with('/') {
        return None;
    }
    let (kind, rest) = name.split_once(':')?;
    let drive_letter = kind.len() == 1 && kind.bytes().all(|b| b.is_ascii_alphabetic());
    if drive_letter && cfg!(windows) {
        return None;
    }
    Some((kind, rest))
}

// ---------------------------------------------------------------------------------------------
// Parsing
// ---------------------------------------------------------------------------------------------

fn parse(bytes: &[u8]) -> core::result::Result<Keytab, String> {
    let mut r = FileReader::new(bytes, true);
    let version = r.u16("version")?;
    let big_endian = match version {
        VERSION_2 => true,
        // Version 1 is in the writer's byte order; MIT reads it in its own.
        VERSION_1 => cfg!(target_endian = "big"),
        0x0105 | 0x0205 => {
            return Err(format!("byte-swapped version {version:#06x}: not a keytab"));
        }
        _ => {
            return Err(format!(
                "unknown keytab version {version:#06x} (expected 0x0502 or 0x0501)"
            ));
        }
    };
    r.big_endian = big_endian;
    let mut entries = Vec::new();
    while r.remaining() > 0 {
        let at = r.offset();
        let len = r.i32("record length")?;
        if len == 0 {
            // MIT: a zero length ends the keytab; whatever follows is ignored.
            break;
        }
        let size = usize::try_from(len.unsigned_abs()).map_err(|_| "record length overflow")?;
        if size > r.remaining() {
            return Err(format!(
                "record at offset {at} declares {size} bytes but only {} remain",
                r.remaining()
            ));
        }
        let record = r.take(size, "record")?;
        if len < 0 {
            continue; // a hole left by a deleted entry
        }
        let base = r.offset() - size;
        let entry = parse_entry(record, base, version == VERSION_1, big_endian)
            .map_err(|e| format!("entry at offset {at}: {e}"))?;
        entries.push(entry);
    }
    Ok(Keytab { entries })
}

fn parse_entry(
    record: &[u8],
    base: usize,
    v1: bool,
    big_endian: bool,
) -> core::result::Result<KeytabEntry, String> {
    let mut r = FileReader::new(record, big_endian);
    r.base = base;
    let mut count = usize::from(r.u16("component count")?);
    if v1 {
        count = count.checked_sub(1).ok_or("component count 0 (no realm)")?;
    }
    if count == 0 {
        return Err("principal with no components".to_owned());
    }
    if count > MAX_COMPONENTS {
        return Err(format!("{count} components (at most {MAX_COMPONENTS})"));
    }
    let realm = r.string16("realm")?;
    let mut components = Vec::with_capacity(count);
    for _ in 0..count {
        components.push(r.string16("name component")?);
    }
    let name_type = if v1 { NameType::UNKNOWN } else { NameType(r.i32("name type")?) };
    let timestamp = r.u32("timestamp")?;
    let kvno8 = r.u8("kvno")?;
    let etype = EncType(i32::from(r.i16("enctype")?));
    let key_len = usize::from(r.u16("key length")?);
    let key = Key::new(etype, r.take(key_len, "key")?);
    // The 32-bit kvno extension: present when at least 4 bytes are left and not zero.
    let mut kvno = u32::from(kvno8);
    if r.remaining() >= 4 {
        let kvno32 = r.u32("kvno")?;
        if kvno32 != 0 {
            kvno = kvno32;
        }
    }
    Ok(KeytabEntry {
        principal: Principal { name: PrincipalName { name_type, components }, realm },
        timestamp,
        kvno,
        key,
    })
}

fn entry_bytes(entry: &KeytabEntry) -> core::result::Result<SecretBytes, String> {
    let mut out = SecretBytes::default();
    let components = &entry.principal.name.components;
    if components.is_empty() {
        return Err("a principal with no components".to_owned());
    }
    // The format could hold 65535, but no reader of ours would take the file back.
    if components.len() > MAX_COMPONENTS {
        return Err(format!("{} components (at most {MAX_COMPONENTS})", components.len()));
    }
    let count = u16::try_from(components.len()).map_err(|_| "too many components")?;
    out.extend_from_slice(&count.to_be_bytes());
    put_data16(&mut out, entry.principal.realm.as_bytes(), "realm")?;
    for component in components {
        put_data16(&mut out, component.as_bytes(), "name component")?;
    }
    out.extend_from_slice(&entry.principal.name.name_type.0.to_be_bytes());
    out.extend_from_slice(&entry.timestamp.to_be_bytes());
    // The 8-bit kvno is the low byte (what MIT writes); the 32-bit one follows the key.
    out.push(entry.kvno.to_be_bytes()[3]);
    let etype = i16::try_from(entry.key.etype().0)
        .map_err(|_| format!("enctype {} does not fit in 16 bits", entry.key.etype().0))?;
    out.extend_from_slice(&etype.to_be_bytes());
    put_data16(&mut out, entry.key.bytes(), "key")?;
    out.extend_from_slice(&entry.kvno.to_be_bytes());
    Ok(out)
}

fn put_data16(out: &mut SecretBytes, data: &[u8], what: &str) -> core::result::Result<(), String> {
    let len = u16::try_from(data.len()).map_err(|_| format!("{what} longer than 65535 bytes"))?;
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(data);
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Shared with the ccache: a bounded reader of fixed-order integers, and file helpers
// ---------------------------------------------------------------------------------------------

/// A cursor over a file's bytes that never reads past the end; integers in big-endian order
/// (or native order for the old format versions). Errors are texts naming the field and the
/// offset in the file.
pub(super) struct FileReader<'a> {
    rest: &'a [u8],
    len: usize,
    /// The offset of this reader's first byte in the file (for messages).
    pub(super) base: usize,
    pub(super) big_endian: bool,
}

impl<'a> FileReader<'a> {
    pub(super) fn new(bytes: &'a [u8], big_endian: bool) -> Self {
        Self { rest: bytes, len: bytes.len(), base: 0, big_endian }
    }

    /// The offset of the next byte in the file.
    pub(super) fn offset(&self) -> usize {
        self.base + (self.len - self.rest.len())
    }

    pub(super) fn remaining(&self) -> usize {
        self.rest.len()
    }

    pub(super) fn take(&mut self, n: usize, what: &str) -> core::result::Result<&'a [u8], String> {
        if n > self.rest.len() {
            return Err(format!(
                "truncated {what} at offset {}: {n} bytes needed, {} left",
                self.offset(),
                self.rest.len()
            ));
        }
        let (head, tail) = self.rest.split_at(n);
        self.rest = tail;
        Ok(head)
    }

    fn array<const N: usize>(&mut self, what: &str) -> core::result::Result<[u8; N], String> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N, what)?);
        if !self.big_endian {
            out.reverse();
        }
        Ok(out)
    }

    pub(super) fn u8(&mut self, what: &str) -> core::result::Result<u8, String> {
        Ok(self.array::<1>(what)?[0])
    }

    pub(super) fn u16(&mut self, what: &str) -> core::result::Result<u16, String> {
        Ok(u16::from_be_bytes(self.array(what)?))
    }

    pub(super) fn i16(&mut self, what: &str) -> core::result::Result<i16, String> {
        Ok(i16::from_be_bytes(self.array(what)?))
    }

    pub(super) fn u32(&mut self, what: &str) -> core::result::Result<u32, String> {
        Ok(u32::from_be_bytes(self.array(what)?))
    }

    pub(super) fn i32(&mut self, what: &str) -> core::result::Result<i32, String> {
        Ok(i32::from_be_bytes(self.array(what)?))
    }

    /// A UTF-8 string with a 16-bit length.
    fn string16(&mut self, what: &str) -> core::result::Result<String, String> {
        let at = self.offset();
        let len = usize::from(self.u16(what)?);
        let bytes = self.take(len, what)?;
        utf8(bytes, what, at)
    }
}

/// Bytes as UTF-8, or an error naming the field.
pub(super) fn utf8(bytes: &[u8], what: &str, at: usize) -> core::result::Result<String, String> {
    String::from_utf8(bytes.to_vec()).map_err(|_| format!("{what} at offset {at} is not UTF-8"))
}

/// Writes `bytes` to `path` with owner-only permissions when the file is new (0600 on Unix).
/// With `atomic`, through a temporary file in the same directory renamed over `path` (the
/// replaced file's permissions are not carried over: the result is always 0600).
pub(super) fn write_private(path: &Path, bytes: &[u8], atomic: bool) -> std::io::Result<()> {
    use std::io::Write;
    let target = if atomic {
        let name = path.file_name().ok_or_else(|| {
            std::io::Error::new(std::io::ErrorKind::InvalidInput, "the path names no file")
        })?;
        let mut tmp_name = std::ffi::OsString::from(".");
        tmp_name.push(name);
        // Unique per process and call: two writers of one cache never share a temporary file.
        static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        tmp_name.push(format!(".tmp{}.{n}", std::process::id()));
        path.with_file_name(tmp_name)
    } else {
        path.to_path_buf()
    };
    let mut options = std::fs::OpenOptions::new();
    options.write(true);
    if atomic {
        options.create_new(true);
    } else {
        options.create(true).truncate(true);
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let result = (|| {
        let mut file = options.open(&target)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        if atomic {
            std::fs::rename(&target, path)?;
        }
        Ok(())
    })();
    if result.is_err() && atomic {
        let _ = std::fs::remove_file(&target);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A keytab written by MIT ktutil 1.20 (`addent -password -p alice@EXAMPLE.TEST -k 3 -e
    /// aes256-cts-hmac-sha1-96`, password `Passw0rd!`; `addent -password -p
    /// HTTP/web.example.test@EXAMPLE.TEST -k 300 -e rc4-hmac`, password `secret`; `wkt`).
    const MIT_KEYTAB: &str = "0502 00000048 0001 000c 4558414d504c452e54455354 0005 616c696365 \
        00000001 6b13fe97 03 0012 0020 c01b1671b2ba7aede63a6e13540f5fc5e5366ca82d8f49e762187c30d0d21fa0 \
        00000003 \
        00000049 0002 000c 4558414d504c452e54455354 0004 48545450 0010 7765622e6578616d706c652e74657374 \
        00000001 6b13fe97 2c 0017 0010 878d8014606cda29677a44efa1353fc7 0000012c";

    fn hex(s: &str) -> Vec<u8> {
        let s: String = s.chars().filter(|c| !c.is_whitespace()).collect();
        (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
    }

    fn alice() -> Principal {
        Principal::parse("alice@EXAMPLE.TEST", None).unwrap()
    }

    #[test]
    fn reads_mit_keytab_and_writes_it_back_byte_for_byte() {
        let bytes = hex(MIT_KEYTAB);
        let kt = Keytab::parse(&bytes).unwrap();
        assert_eq!(kt.entries.len(), 2);
        let a = &kt.entries[0];
        assert_eq!(a.principal, alice());
        assert_eq!(a.kvno, 3);
        assert_eq!(a.timestamp, 0x6b13_fe97);
        assert_eq!(a.key.etype(), EncType::AES256_CTS_HMAC_SHA1_96);
        assert_eq!(
            a.key.bytes(),
            &hex("c01b1671b2ba7aede63a6e13540f5fc5e5366ca82d8f49e762187c30d0d21fa0")[..]
        );
        let h = &kt.entries[1];
        assert_eq!(h.principal.to_string(), "HTTP/web.example.test@EXAMPLE.TEST");
        // ktutil parses the name with krb5_parse_name: NT-PRINCIPAL, not NT-SRV-HST.
        assert_eq!(h.principal.name.name_type, NameType::PRINCIPAL);
        // The 8-bit kvno holds 300 & 0xff; the 32-bit extension holds 300.
        assert_eq!(h.kvno, 300);
        assert_eq!(h.key.etype(), EncType::RC4_HMAC);
        assert_eq!(*kt.to_bytes().unwrap(), bytes);
    }

    #[test]
    fn finds_by_principal_kvno_and_enctype() {
        let mut kt = Keytab::parse(&hex(MIT_KEYTAB)).unwrap();
        let mut newer = kt.entries[0].clone();
        newer.kvno = 4;
        newer.key = Key::new(EncType::AES128_CTS_HMAC_SHA1_96, &[1; 16]);
        kt.entries.push(newer);
        assert_eq!(kt.find(&alice(), None, None).unwrap().kvno, 4);
        assert_eq!(kt.find(&alice(), Some(3), None).unwrap().kvno, 3);
        let aes256 = kt.find(&alice(), None, Some(EncType::AES256_CTS_HMAC_SHA1_96)).unwrap();
        assert_eq!(aes256.kvno, 3);
        assert!(kt.find(&alice(), Some(5), None).is_none());
        assert!(kt.find(&alice(), Some(4), Some(EncType::RC4_HMAC)).is_none());
        // The name type does not matter; the realm does.
        let http = Principal::new(NameType::SRV_HST, &["HTTP", "web.example.test"], "EXAMPLE.TEST");
        assert_eq!(kt.find(&http, None, None).unwrap().kvno, 300);
        let other_realm = Principal::parse("alice@OTHER.TEST", None).unwrap();
        assert!(kt.find(&other_realm, None, None).is_none());
    }

    #[test]
    fn skips_holes_honours_slack_and_the_zero_terminator() {
        let mit = hex(MIT_KEYTAB);
        let first_len = 4 + 0x48;
        let mut bytes = mit[..2].to_vec();
        // A hole of 10 zero bytes (a deleted entry).
        bytes.extend_from_slice(&(-10i32).to_be_bytes());
        bytes.extend_from_slice(&[0; 10]);
        // The first entry in a record 6 bytes longer than it (slack after the kvno).
        let mut rec = mit[2 + 4..2 + first_len].to_vec();
        rec.extend_from_slice(&[0; 6]);
        bytes.extend_from_slice(&i32::try_from(rec.len()).unwrap().to_be_bytes());
        bytes.extend_from_slice(&rec);
        // End marker, then garbage that is never read.
        bytes.extend_from_slice(&[0, 0, 0, 0, 0xff, 0xff]);
        let kt = Keytab::parse(&bytes).unwrap();
        assert_eq!(kt.entries.len(), 1);
        assert_eq!(kt.entries[0].kvno, 3);
    }

    #[test]
    fn the_kvno_extension_is_optional_and_zero_means_absent() {
        let mit = hex(MIT_KEYTAB);
        // The first record without its last 4 bytes (the 32-bit kvno): kvno 3 from the byte.
        let mut bytes = mit[..2].to_vec();
        bytes.extend_from_slice(&(0x48i32 - 4).to_be_bytes());
        bytes.extend_from_slice(&mit[6..6 + 0x48 - 4]);
        assert_eq!(Keytab::parse(&bytes).unwrap().entries[0].kvno, 3);
        // With a zero 32-bit kvno: the byte counts.
        let mut bytes = mit[..2 + 4 + 0x48].to_vec();
        let n = bytes.len();
        bytes[n - 4..].copy_from_slice(&[0; 4]);
        assert_eq!(Keytab::parse(&bytes).unwrap().entries[0].kvno, 3);
    }

    #[test]
    fn reads_version_1() {
        // Version 1: the count includes the realm, no name type; native byte order.
        let mut e = Vec::new();
        let n16 =
            |v: u16| if cfg!(target_endian = "big") { v.to_be_bytes() } else { v.to_le_bytes() };
        let n32 =
            |v: u32| if cfg!(target_endian = "big") { v.to_be_bytes() } else { v.to_le_bytes() };
        e.extend_from_slice(&n16(2));
        e.extend_from_slice(&n16(1));
        e.extend_from_slice(b"R");
        e.extend_from_slice(&n16(3));
        e.extend_from_slice(b"bob");
        e.extend_from_slice(&n32(7)); // timestamp
        e.push(2); // kvno
        e.extend_from_slice(&n16(17));
        e.extend_from_slice(&n16(16));
        e.extend_from_slice(&[9; 16]);
        let mut bytes = vec![5, 1];
        bytes.extend_from_slice(&n32(u32::try_from(e.len()).unwrap()));
        bytes.extend_from_slice(&e);
        let kt = Keytab::parse(&bytes).unwrap();
        let entry = &kt.entries[0];
        assert_eq!(entry.principal.to_string(), "bob@R");
        assert_eq!(entry.principal.name.name_type, NameType::UNKNOWN);
        assert_eq!((entry.kvno, entry.timestamp, entry.key.etype()), (2, 7, EncType(17)));
    }

    #[test]
    fn malformed_keytabs_are_refused_with_a_reason() {
        let mit = hex(MIT_KEYTAB);
        // Truncated anywhere inside an entry: an error, never a panic, never a short keytab.
        for cut in 0..mit.len() {
            let r = Keytab::parse(&mit[..cut]);
            let complete = cut == 2 || cut == 2 + 4 + 0x48;
            assert_eq!(r.is_ok(), complete, "cut at {cut}: {r:?}");
        }
        let err = |bytes: &[u8]| match Keytab::parse(bytes) {
            Err(Error::Keytab(text)) => text,
            other => panic!("expected an error, got {other:?}"),
        };
        assert!(err(&[]).contains("truncated version"));
        assert!(err(&[5, 3]).contains("unknown keytab version 0x0503"));
        assert!(err(&[2, 5]).contains("byte-swapped"));
        // A record length past the end of the file, positive or negative (also i32::MIN).
        for len in [i32::MAX, 0x49, -0x49, i32::MIN] {
            let mut bytes = mit[..2 + 4 + 0x48].to_vec();
            bytes[2..6].copy_from_slice(&len.to_be_bytes());
            assert!(err(&bytes).contains("declares"), "{len}");
        }
        // A principal with a huge component length inside the record.
        let mut bytes = mit.clone();
        bytes[8..10].copy_from_slice(&[0xff, 0xff]);
        assert!(err(&bytes).contains("truncated realm"));
        // No components; too many components.
        let mut bytes = mit.clone();
        bytes[6..8].copy_from_slice(&[0, 0]);
        assert!(err(&bytes).contains("no components"));
        bytes[6..8].copy_from_slice(&[0xff, 0xff]);
        assert!(err(&bytes).contains("65535 components"));
        // A key length past the record.
        let mut bytes = mit.clone();
        let key_len_at = 2 + 4 + 2 + 14 + 7 + 4 + 4 + 1 + 2;
        bytes[key_len_at..key_len_at + 2].copy_from_slice(&[0, 0x40]);
        assert!(err(&bytes).contains("truncated key"));
        // A realm that is not UTF-8.
        let mut bytes = mit.clone();
        bytes[10] = 0xff;
        assert!(err(&bytes).contains("not UTF-8"));
    }

    #[test]
    fn writer_refuses_what_the_format_cannot_hold() {
        let mut kt = Keytab::parse(&hex(MIT_KEYTAB)).unwrap();
        kt.entries[0].key = Key::new(EncType(70_000), &[0; 16]);
        assert!(matches!(kt.to_bytes(), Err(Error::Keytab(t)) if t.contains("16 bits")));
        kt.entries[0].key = Key::new(EncType(-128), &[0; 16]);
        let back = Keytab::parse(&kt.to_bytes().unwrap()).unwrap();
        assert_eq!(back.entries[0].key.etype(), EncType(-128));
        kt.entries[0].principal.name.components.clear();
        assert!(matches!(kt.to_bytes(), Err(Error::Keytab(t)) if t.contains("no components")));
        kt.entries[0].principal.name.components.push("a".to_owned());
        kt.entries[0].principal.realm = "x".repeat(70_000);
        assert!(matches!(kt.to_bytes(), Err(Error::Keytab(t)) if t.contains("realm")));
    }

    /// Regression (found by `proptests::what_is_written_reads_back`): a principal of 65
    /// components was written, and the file then refused by our own reader.
    #[test]
    fn writer_refuses_more_components_than_the_reader_takes() {
        let mut kt = Keytab::parse(&hex(MIT_KEYTAB)).unwrap();
        kt.entries[0].principal.name.components = vec!["c".to_owned(); MAX_COMPONENTS];
        let back = Keytab::parse(&kt.to_bytes().unwrap()).unwrap();
        assert_eq!(back.entries[0].principal.name.components.len(), MAX_COMPONENTS);
        kt.entries[0].principal.name.components.push("c".to_owned());
        assert!(
            matches!(kt.to_bytes(), Err(Error::Keytab(t)) if t.contains("65 components (at most 64)"))
        );
    }

    #[test]
    fn default_name_from_the_environment() {
        let env = |value: Option<&'static str>| {
            move |name: &str| {
                assert_eq!(name, "KRB5_KTNAME");
                value.map(str::to_owned)
            }
        };
        assert_eq!(default_keytab_path_from(env(None)).unwrap(), PathBuf::from("/etc/krb5.keytab"));
        assert_eq!(
            default_keytab_path_from(env(Some(""))).unwrap(),
            PathBuf::from("/etc/krb5.keytab")
        );
        assert_eq!(
            default_keytab_path_from(env(Some("FILE:/k/a.kt"))).unwrap(),
            PathBuf::from("/k/a.kt")
        );
        assert_eq!(
            default_keytab_path_from(env(Some("WRFILE:/k/b"))).unwrap(),
            PathBuf::from("/k/b")
        );
        assert_eq!(default_keytab_path_from(env(Some("/k/c:d"))).unwrap(), PathBuf::from("/k/c:d"));
        assert_eq!(default_keytab_path_from(env(Some("rel.kt"))).unwrap(), PathBuf::from("rel.kt"));
        for refused in ["MEMORY:x", "KEYRING:persistent:0", "KDB:", "FILE:"] {
            match default_keytab_path_from(env(Some(refused))) {
                Err(Error::Keytab(text)) => assert!(
                    text.contains(refused.split(':').next().unwrap()) || text.contains("empty")
                ),
                other => panic!("{refused}: {other:?}"),
            }
        }
        let text = default_keytab_path_from(env(Some("MEMORY:x"))).unwrap_err().to_string();
        assert!(text.contains("MEMORY"), "{text}");
    }

    #[cfg(unix)]
    #[test]
    fn writes_new_files_owner_only() {
        use std::os::unix::fs::PermissionsExt;
        let dir = std::env::temp_dir().join(format!("sspi-emu-kt-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("w.keytab");
        let _ = std::fs::remove_file(&path);
        let kt = Keytab::parse(&hex(MIT_KEYTAB)).unwrap();
        kt.write(&path).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        assert_eq!(Keytab::read(&path).unwrap().to_bytes().unwrap().to_vec(), hex(MIT_KEYTAB));
        let missing = Keytab::read(dir.join("missing")).unwrap_err().to_string();
        assert!(missing.contains("missing") && missing.contains("cannot open"), "{missing}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

/// Property tests: every keytab the writer takes parses back to its entries, and bytes the
/// writer made are written again identically. Keytabs are not canonical: a reader takes
/// version 1, deleted entries (holes), slack after a record's fields, the end marker
/// followed by anything, and a kvno in the 8-bit field alone; the writer writes none of
/// those, so `to_bytes(parse(b)) == b` holds only for the writer's own bytes.
#[cfg(test)]
pub(super) mod proptests {
    use super::*;
    use proptest::collection::vec;
    use proptest::prelude::*;

    pub(in crate::kerberos) fn component() -> impl Strategy<Value = String> {
        prop_oneof![4 => "[a-zA-Z0-9./@-]{1,12}", 1 => ".{0,20}"]
    }

    pub(in crate::kerberos) fn principal(min: usize) -> impl Strategy<Value = Principal> {
        (any::<i32>(), vec(component(), min..=4), component()).prop_map(|(t, components, realm)| {
            Principal { name: PrincipalName { name_type: NameType(t), components }, realm }
        })
    }

    pub(in crate::kerberos) fn key() -> impl Strategy<Value = Key> {
        (any::<i16>(), vec(any::<u8>(), 0..40))
            .prop_map(|(etype, bytes)| Key::new(EncType(i32::from(etype)), &bytes))
    }

    fn entry() -> impl Strategy<Value = KeytabEntry> {
        (principal(1), any::<u32>(), prop_oneof![Just(0u32), 1u32..256, any::<u32>()], key())
            .prop_map(|(principal, timestamp, kvno, key)| KeytabEntry {
                principal,
                timestamp,
                kvno,
                key,
            })
    }

    fn same(a: &[KeytabEntry], b: &[KeytabEntry]) -> bool {
        a.len() == b.len()
            && a.iter().zip(b).all(|(a, b)| {
                a.principal == b.principal
                    && (a.timestamp, a.kvno) == (b.timestamp, b.kvno)
                    && a.key.ct_eq(&b.key)
            })
    }

    /// How one record is laid out in a keytab MIT (or another tool) may have written.
    #[derive(Debug, Clone)]
    struct Layout {
        /// A deleted entry (a hole of zeros) before the record, of this size.
        hole: Option<u8>,
        /// For a kvno below 256: leave out the 32-bit kvno, or write it as 0.
        short_kvno: Option<bool>,
        /// Zero bytes of slack at the end of the record.
        slack: u8,
    }

    fn layout() -> impl Strategy<Value = Layout> {
        (proptest::option::of(any::<u8>()), proptest::option::of(any::<bool>()), 0u8..12)
            .prop_map(|(hole, short_kvno, slack)| Layout { hole, short_kvno, slack })
    }

    proptest! {
        #[test]
        fn keytabs_round_trip(entries in vec(entry(), 0..5)) {
            let kt = Keytab { entries };
            let bytes = kt.to_bytes().unwrap();
            let back = Keytab::parse(&bytes).unwrap();
            prop_assert!(same(&back.entries, &kt.entries), "{:?} != {:?}", back, kt);
            prop_assert_eq!(back.to_bytes().unwrap(), bytes);
        }

        /// The layouts MIT writes and reads (holes, slack, an 8-bit kvno, the zero end
        /// marker and whatever follows it) parse to the same entries, and are written back
        /// in the canonical layout.
        #[test]
        fn mit_layouts_parse_to_their_entries(
            entries in vec((entry(), layout()), 0..5),
            trailer in proptest::option::of(vec(any::<u8>(), 0..16)),
        ) {
            let mut bytes = VERSION_2.to_be_bytes().to_vec();
            for (entry, layout) in &entries {
                if let Some(hole) = layout.hole {
                    let size = i32::from(hole) + 1;
                    bytes.extend_from_slice(&(-size).to_be_bytes());
                    bytes.resize(bytes.len() + usize::from(hole) + 1, 0);
                }
                let mut record = entry_bytes(entry).unwrap().0.clone();
                match layout.short_kvno {
                    Some(drop) if entry.kvno < 256 => {
                        record.truncate(record.len() - 4);
                        if !drop {
                            record.extend_from_slice(&[0; 4]);
                        }
                    }
                    _ => {}
                }
                record.resize(record.len() + usize::from(layout.slack), 0);
                bytes.extend_from_slice(&i32::try_from(record.len()).unwrap().to_be_bytes());
                bytes.extend_from_slice(&record);
            }
            if let Some(trailer) = trailer {
                bytes.extend_from_slice(&[0; 4]);
                bytes.extend_from_slice(&trailer);
            }
            let parsed = Keytab::parse(&bytes).unwrap();
            let want: Vec<KeytabEntry> = entries.into_iter().map(|(e, _)| e).collect();
            prop_assert!(same(&parsed.entries, &want), "{:?}", parsed);
            let canonical = Keytab { entries: want }.to_bytes().unwrap();
            prop_assert_eq!(parsed.to_bytes().unwrap(), canonical);
        }

        /// What the writer writes, the reader reads: a principal of more components than a
        /// reader takes ([`MAX_COMPONENTS`]) is refused when written, not left for the next
        /// read to fail on.
        #[test]
        fn what_is_written_reads_back(
            n in 60usize..70,
            entry in entry(),
        ) {
            let mut entry = entry;
            entry.principal.name.components = vec!["c".to_owned(); n];
            let kt = Keytab { entries: vec![entry] };
            match kt.to_bytes() {
                Ok(bytes) => {
                    prop_assert!(n <= MAX_COMPONENTS);
                    let back = Keytab::parse(&bytes).unwrap();
                    prop_assert!(same(&back.entries, &kt.entries));
                }
                Err(e) => {
                    prop_assert!(n > MAX_COMPONENTS, "{e}");
                    prop_assert!(e.to_string().contains("components"), "{e}");
                }
            }
        }

        /// Cut short anywhere inside a record: an error, never a panic or a wrong entry.
        #[test]
        fn truncated_keytabs_are_refused(entries in vec(entry(), 1..3), cut: prop::sample::Index) {
            let bytes = Keytab { entries }.to_bytes().unwrap();
            let cut = cut.index(bytes.len() - 2) + 2;
            // Where records end: a cut there is a shorter keytab; anywhere else, an error.
            let mut ends = vec![2];
            while let Some(&end) = ends.last().filter(|&&e| e < bytes.len()) {
                let len = i32::from_be_bytes(bytes[end..end + 4].try_into().unwrap());
                ends.push(end + 4 + usize::try_from(len).unwrap());
            }
            let parsed = Keytab::parse(&bytes[..cut]);
            match ends.iter().position(|&e| e == cut) {
                Some(n) => prop_assert_eq!(parsed.unwrap().entries.len(), n),
                None => prop_assert!(parsed.is_err()),
            }
        }
    }
}
