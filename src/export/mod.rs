//! `ExportSecurityContext` / `ImportSecurityContext`: versioned, protected context blobs.
//!
//! A context in any state — before its first token, between handshake legs, or established
//! with any amount of traffic behind it — packs into a blob that another process on the same
//! machine imports and carries on with, producing byte-identical output to a context that
//! never moved.
//!
//! # The blob
//!
//! A fixed 48-byte header, then the package state, then a 16-byte tag. All integers are
//! little-endian.
//!
//! | Offset | Size | Field |
//! |---|---|---|
//! | 0 | 8 | magic `SSPI-EMU` |
//! | 8 | 2 | format version: the oldest that holds the context (1, or 2 for options version 1 has no room for; this build reads up to [`FORMAT_VERSION`]) |
//! | 10 | 1 | package: 1 = NTLM, 2 = Kerberos (from version 2; module `krb`), 3 reserved for Negotiate |
//! | 11 | 1 | protection: 1 = XChaCha20-Poly1305, 0 = none (dangerous) |
//! | 12 | 8 | key id: the first 8 bytes of SHA-256(`"sspi-emu export key id\0"` ‖ key); zero when unprotected |
//! | 20 | 24 | nonce (random; zero when unprotected) |
//! | 44 | 4 | length of the state that follows |
//! | 48 | n | the state: postcard encoding of the version's frozen structs ([`v1`] and [`v2`] document them), encrypted when protected |
//! | 48+n | 16 | the Poly1305 tag over the header (associated data) and the state; when unprotected, the first 16 bytes of SHA-256(header ‖ state), which catches damage but not forgery |
//!
//! Import checks, in order: the size (at most [`MAX_PACKED_SIZE`]), the magic, the version
//! (a newer one is [`Error::UnsupportedVersion`] naming both), the package, the length
//! field against the real length, the key id ([`Error::WrongKey`]: another key sealed it),
//! and the tag ([`Error::CorruptContext`]). Only then is the state decoded, and then
//! checked field by field; nothing of the context exists until all of that passed.
//!
//! # Other packages and later versions
//!
//! The package byte selects the state's schema: Kerberos and Negotiate contexts get their own
//! frozen structs under their own package numbers, so adding them changes nothing for NTLM
//! blobs. A change to a package's state is a new format version with a new module (as [`v2`]
//! added the options version 1 had no room for); import keeps a decoder for every version
//! ever released, and export writes the oldest version that holds the context.
//!
//! # Protection
//!
//! By default blobs are sealed under the per-host key ([`ExportKey::host`]): 32 random bytes
//! in a file created on first use with owner-only permissions, at `$SSPI_EMU_EXPORT_KEY_FILE`
//! or a per-user default ([`ExportKey::default_path`]). This stands in for Windows' rule that
//! a context is imported on the same computer, and keeps a process that cannot read the key
//! file from forging a context. A key can also be given directly ([`Protection::Key`]).
//! An unprotected blob needs [`Protection::DangerousUnprotected`] on both sides.

pub(crate) mod krb;
pub mod v1;
pub mod v2;

use crate::crypto::{SecretBytes, aead};
use crate::env::{Environment, FileTime};
use crate::error::{Error, Result};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use zeroize::Zeroizing;

/// `SECPKG_CONTEXT_EXPORT_RESET_NEW`: the imported context starts over (see the manual).
pub const SECPKG_CONTEXT_EXPORT_RESET_NEW: u32 = 1;
/// `SECPKG_CONTEXT_EXPORT_DELETE_OLD`: the exported context is deleted.
pub const SECPKG_CONTEXT_EXPORT_DELETE_OLD: u32 = 2;
/// `SECPKG_CONTEXT_EXPORT_TO_KERNEL`: refused with `SEC_E_NOT_SUPPORTED`.
pub const SECPKG_CONTEXT_EXPORT_TO_KERNEL: u32 = 4;

/// The newest format version this build reads and writes. A blob is written in the oldest
/// version that holds its context ([`v2`]).
pub const FORMAT_VERSION: u16 = 2;
/// The largest blob import looks at.
pub const MAX_PACKED_SIZE: usize = 64 * 1024;
/// The first bytes of every blob.
pub const MAGIC: [u8; 8] = *b"SSPI-EMU";
/// The environment variable naming the per-host key file.
pub const KEY_FILE_ENV: &str = "SSPI_EMU_EXPORT_KEY_FILE";

const HEADER_LEN: usize = 48;
const TAG_LEN: usize = aead::TAG_LEN;
const PROTECTION_NONE: u8 = 0;
const PROTECTION_XCHACHA: u8 = 1;

/// A package's number in the blob header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PackageId {
    Ntlm = 1,
    Kerberos = 2,
}

impl PackageId {
    fn from_byte(b: u8) -> Result<Self> {
        match b {
            1 => Ok(Self::Ntlm),
            2 => Ok(Self::Kerberos),
            3 => Err(Error::NotSupported("Negotiate contexts in this build")),
            _ => Err(Error::CorruptContext("unknown package")),
        }
    }
}

/// The 32-byte key that protects exported contexts. Zeroized on drop, never printed.
#[derive(Clone)]
pub struct ExportKey {
    key: Zeroizing<[u8; 32]>,
    /// Computed once: every blob carries it.
    id: [u8; 8],
}

impl core::fmt::Debug for ExportKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "ExportKey(id {})", hex(&self.id()))
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl ExportKey {
    /// A key given as its bytes.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        let key = Zeroizing::new(bytes);
        let digest = Sha256::new()
            .chain_update(b"sspi-emu export key id\0")
            .chain_update(&key[..])
            .finalize();
        let mut id = [0u8; 8];
        id.copy_from_slice(&digest[..8]);
        Self { key, id }
    }

    /// A new random key from the operating system.
    ///
    /// # Errors
    /// [`Error::RandomSource`] if the OS has no randomness.
    pub fn generate() -> Result<Self> {
        Ok(Self::from_bytes(Environment::system().random()?))
    }

    /// The key's public identifier, written in every blob it seals: the first 8 bytes of
    /// SHA-256(`"sspi-emu export key id\0"` ‖ key).
    pub fn id(&self) -> [u8; 8] {
        self.id
    }

    /// Where the per-host key lives: `$SSPI_EMU_EXPORT_KEY_FILE` if set; otherwise
    /// `$XDG_RUNTIME_DIR/sspi-emu/export.key`, `$HOME/.config/sspi-emu/export.key`, or on
    /// Windows `%LOCALAPPDATA%\sspi-emu\export.key`.
    ///
    /// # Errors
    /// [`Error::KeyFile`] if none of these variables is set.
    pub fn default_path() -> Result<PathBuf> {
        if let Some(p) = std::env::var_os(KEY_FILE_ENV) {
            return Ok(PathBuf::from(p));
        }
        let base = [("XDG_RUNTIME_DIR", ""), ("HOME", ".config"), ("LOCALAPPDATA", "")]
            .iter()
            .find_map(|(var, sub)| std::env::var_os(var).map(|v| PathBuf::from(v).join(sub)))
            .ok_or_else(|| Error::KeyFile(format!("set {KEY_FILE_ENV} to choose a key file")))?;
        Ok(base.join("sspi-emu").join("export.key"))
    }

    /// The per-host key: [`ExportKey::load_or_create`] at [`ExportKey::default_path`]. The
    /// file is read once per process and path; a process started after the file was
    /// replaced sees the new key, one started before keeps the old (and its imports of new
    /// blobs fail with `SEC_E_DECRYPT_FAILURE`).
    ///
    /// # Errors
    /// As [`ExportKey::load_or_create`].
    pub fn host() -> Result<Self> {
        Self::host_with(|path| Self::load_or_create(path))
    }

    /// The per-host key if its file exists (import never creates one).
    fn host_existing() -> Result<Self> {
        Self::host_with(|path| {
            Self::read(path).map_err(|e| Error::KeyFile(format!("{}: {e}", path.display())))
        })
    }

    fn host_with(load: impl FnOnce(&Path) -> Result<Self>) -> Result<Self> {
        static CACHE: std::sync::LazyLock<
            std::sync::Mutex<std::collections::HashMap<PathBuf, ExportKey>>,
        > = std::sync::LazyLock::new(Default::default);
        let path = Self::default_path()?;
        let mut cache = CACHE.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(key) = cache.get(&path) {
            return Ok(key.clone());
        }
        let key = load(&path)?;
        cache.insert(path, key.clone());
        Ok(key)
    }

    /// Reads the key file at `path`, creating it (and its directory) with a new random key
    /// and owner-only permissions if it does not exist. Creation is atomic: processes that
    /// race to create it all end up with the same key. On Unix a key file that others can
    /// read or write is refused.
    ///
    /// # Errors
    /// [`Error::KeyFile`] (`SEC_E_NO_CREDENTIALS`) if the file cannot be read or created, is
    /// not 32 bytes, or is readable by others.
    pub fn load_or_create(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let fail = |what: &str, e: &dyn std::fmt::Display| {
            Error::KeyFile(format!("{}: {what}: {e}", path.display()))
        };
        match Self::read(path) {
            Ok(key) => return Ok(key),
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                return Err(match e.kind() {
                    std::io::ErrorKind::InvalidData | std::io::ErrorKind::PermissionDenied => {
                        fail("unusable key file", &e)
                    }
                    _ => fail("cannot read", &e),
                });
            }
            Err(_) => {}
        }
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            create_private_dir(dir).map_err(|e| fail("cannot create the directory", &e))?;
        }
        let key = Self::generate()?;
        // Write a private temporary file, then link it into place: `hard_link` fails if the
        // key file appeared meanwhile, in which case the other process's key wins.
        // The temporary name is unique per process and per call (threads race too).
        let unique: [u8; 8] = Environment::system().random()?;
        let tmp = path.with_extension(format!("tmp.{}.{}", std::process::id(), hex(&unique)));
        write_private(&tmp, &key.key[..]).map_err(|e| fail("cannot write", &e))?;
        let linked = std::fs::hard_link(&tmp, path);
        let _ = std::fs::remove_file(&tmp);
        match linked {
            Ok(()) => Ok(key),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                Self::read(path).map_err(|e| fail("cannot read", &e))
            }
            Err(e) => Err(fail("cannot create", &e)),
        }
    }

    /// Reads a key file: a regular file (not a symbolic link) of exactly 32 bytes that, on
    /// Unix, only its owner can read or write, in a directory others cannot write. Every
    /// check is made on the opened file before a byte is read.
    fn read(path: &Path) -> std::io::Result<Self> {
        use std::io::{Error as IoError, ErrorKind, Read};
        let refuse = |why: String| IoError::new(ErrorKind::PermissionDenied, why);
        if std::fs::symlink_metadata(path)?.file_type().is_symlink() {
            return Err(refuse("a key file may not be a symbolic link".into()));
        }
        let mut file = std::fs::File::open(path)?;
        let meta = file.metadata()?;
        if !meta.is_file() || meta.len() != 32 {
            return Err(IoError::new(
                ErrorKind::InvalidData,
                "a key file is a regular file of exactly 32 bytes",
            ));
        }
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = meta.permissions().mode();
            if mode & 0o077 != 0 {
                return Err(refuse(format!(
                    "permissions {:o} let others use it; it must be 600",
                    mode & 0o777
                )));
            }
            let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
            let dir_mode = std::fs::metadata(dir)?.permissions().mode();
            if dir_mode & 0o022 != 0 {
                return Err(refuse(format!(
                    "its directory {} is writable by others ({:o})",
                    dir.display(),
                    dir_mode & 0o777
                )));
            }
        }
        let mut key = Zeroizing::new([0u8; 32]);
        file.read_exact(&mut key[..])?;
        Ok(Self::from_bytes(*key))
    }

    fn bytes(&self) -> &[u8; 32] {
        &self.key
    }
}

fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir)
}

fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

/// How a blob is protected.
#[derive(Debug, Clone, Default)]
pub enum Protection {
    /// The per-host key file ([`ExportKey::host`]). The default.
    #[default]
    HostKey,
    /// A key the caller holds.
    Key(ExportKey),
    /// No encryption and no authentication: anyone who can write the blob can forge a
    /// context. Damage is still detected by a checksum. For debugging only.
    DangerousUnprotected,
}

impl Protection {
    /// The key to seal with (the host key file is created if needed).
    fn key(&self) -> Result<Option<ExportKey>> {
        match self {
            Protection::HostKey => ExportKey::host().map(Some),
            Protection::Key(k) => Ok(Some(k.clone())),
            Protection::DangerousUnprotected => Ok(None),
        }
    }

    /// The key to open with: importing never creates a host key file.
    fn existing_key(&self) -> Result<Option<ExportKey>> {
        match self {
            Protection::HostKey => ExportKey::host_existing().map(Some),
            other => other.key(),
        }
    }
}

/// Options of [`crate::SecurityContext::export`].
#[derive(Debug, Clone, Default)]
pub struct ExportOptions {
    pub(crate) protection: Protection,
    pub(crate) random: Option<Environment>,
}

impl ExportOptions {
    /// Defaults: the per-host key, OS randomness for the nonce.
    pub fn new() -> Self {
        Self::default()
    }

    /// How to protect the blob.
    pub fn protection(mut self, protection: Protection) -> Self {
        self.protection = protection;
        self
    }

    /// Where the nonce's randomness comes from. **Tests only** (to write reproducible golden
    /// blobs): a nonce repeated under one key exposes the contexts it protects, so this is
    /// ignored for the per-host key, which always uses the operating system's randomness.
    #[doc(hidden)]
    pub fn environment(mut self, env: Environment) -> Self {
        self.random = Some(env);
        self
    }
}

/// The authenticated party of an established context, handed out on export in place of
/// Windows' token handle: on an acceptor the client, on an initiator its own user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientIdentity {
    /// The package that authenticated it (`"NTLM"`).
    pub package: String,
    /// User name as authenticated.
    pub user: String,
    /// Domain name as authenticated.
    pub domain: String,
    /// The client's workstation, if it named one.
    pub workstation: String,
    /// When the handshake completed.
    pub logon_time: FileTime,
    /// The security identifiers of a Kerberos client whose ticket carried a PAC (MS-PAC
    /// logon info): the user's, the primary group's, then every group's (`S-1-5-21-…`).
    /// Empty for NTLM and for tickets without a PAC.
    pub sids: Vec<String>,
}

impl ClientIdentity {
    /// `DOMAIN\user`.
    pub fn name(&self) -> String {
        if self.domain.is_empty() {
            self.user.clone()
        } else {
            format!("{}\\{}", self.domain, self.user)
        }
    }
}

/// A packed context. Zeroized on drop; its `Debug` shows only the length.
#[derive(Clone, PartialEq, Eq)]
pub struct PackedContext(SecretBytes);

impl PackedContext {
    /// The bytes of the blob.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// Takes a blob received from elsewhere.
    pub fn from_bytes(bytes: Vec<u8>) -> Self {
        Self(SecretBytes(bytes))
    }
}

impl core::fmt::Debug for PackedContext {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "PackedContext({} bytes)", self.0.len())
    }
}

/// What [`crate::SecurityContext::export`] returns.
#[derive(Debug)]
pub struct Exported {
    /// The blob.
    pub packed: PackedContext,
    /// The authenticated identity, for an established context.
    pub identity: Option<ClientIdentity>,
}

/// Checks the export flags: unknown bits and `TO_KERNEL` are refused.
pub(crate) fn check_flags(flags: u32) -> Result<()> {
    let known = SECPKG_CONTEXT_EXPORT_RESET_NEW
        | SECPKG_CONTEXT_EXPORT_DELETE_OLD
        | SECPKG_CONTEXT_EXPORT_TO_KERNEL;
    if flags & !known != 0 {
        return Err(Error::InvalidParameter("unknown export flags"));
    }
    if flags & SECPKG_CONTEXT_EXPORT_TO_KERNEL != 0 {
        return Err(Error::NotSupported("exporting a context to the kernel"));
    }
    Ok(())
}

/// Encodes `state` and seals it into a blob: format version 1 when `extra` is what version 1
/// implies, else version 2 (`state` followed by `extra`).
pub(crate) fn pack(
    package: PackageId,
    state: &v1::Context<'_>,
    extra: v2::Options,
    options: &ExportOptions,
) -> Result<PackedContext> {
    // One buffer for the whole blob: header space, the state serialized straight after it
    // (then encrypted in place), then the tag. One serializing pass: postcard's
    // `serialized_size` would be a second pass through a second copy of the serializer code.
    let hint = state.size_hint().saturating_add(v2::Options::SIZE_BOUND);
    let mut buf =
        SecretBytes(Vec::with_capacity(HEADER_LEN.saturating_add(hint).saturating_add(TAG_LEN)));
    buf.resize(HEADER_LEN, 0);
    let (version, buf) = if extra == v2::Options::IMPLIED_BY_V1 {
        (1, postcard::serialize_with_flavor(state, BlobWriter(buf)))
    } else {
        (2, postcard::serialize_with_flavor(&(state, extra), BlobWriter(buf)))
    };
    let buf = buf.map_err(|_| Error::InvalidParameter("context cannot be encoded"))?;
    seal(package, version, buf, options)
}

/// A postcard output that appends to a [`SecretBytes`] (sized by
/// [`v1::Context::size_hint`]) and, if it must grow after all, moves to a
/// larger buffer and wipes the one it leaves (`Vec`'s own growth would free copies of the
/// state unwiped).
struct BlobWriter(SecretBytes);

impl BlobWriter {
    #[inline]
    fn reserve(&mut self, more: usize) {
        if self.0.capacity() - self.0.len() < more {
            self.grow(more);
        }
    }

    #[cold]
    #[inline(never)]
    fn grow(&mut self, more: usize) {
        let vec = &mut self.0.0;
        let mut bigger = Vec::with_capacity(
            vec.len().saturating_add(more).max(vec.capacity().saturating_mul(2)),
        );
        bigger.extend_from_slice(vec);
        // The old buffer is wiped as the `SecretBytes` it goes into drops.
        drop(SecretBytes(core::mem::replace(vec, bigger)));
    }
}

impl postcard::ser_flavors::Flavor for BlobWriter {
    type Output = SecretBytes;

    #[inline]
    fn try_push(&mut self, byte: u8) -> postcard::Result<()> {
        self.reserve(1);
        self.0.push(byte);
        Ok(())
    }

    #[inline]
    fn try_extend(&mut self, bytes: &[u8]) -> postcard::Result<()> {
        self.reserve(bytes.len());
        self.0.extend_from_slice(bytes);
        Ok(())
    }

    fn finalize(self) -> postcard::Result<SecretBytes> {
        Ok(self.0)
    }
}

/// Encodes a Kerberos context's `state` ([`krb`]) and seals it into a blob of format
/// version 2 (the first that has the Kerberos package).
pub(crate) fn pack_kerberos(
    state: &krb::Context<'_>,
    options: &ExportOptions,
) -> Result<PackedContext> {
    let mut buf = SecretBytes(Vec::with_capacity(HEADER_LEN + 512 + TAG_LEN));
    buf.resize(HEADER_LEN, 0);
    let buf = postcard::serialize_with_flavor(state, BlobWriter(buf))
        .map_err(|_| Error::InvalidParameter("context cannot be encoded"))?;
    seal(PackageId::Kerberos, 2, buf, options)
}

/// Decodes the state of a Kerberos blob of format `version` (from [`unpack`]). Trailing
/// bytes are an error; so is version 1, which had no Kerberos package.
pub(crate) fn decode_kerberos(version: u16, body: &[u8]) -> Result<krb::Context<'_>> {
    if version < 2 {
        return Err(Error::CorruptContext("a Kerberos context in format version 1"));
    }
    let (state, rest) = postcard::take_from_bytes::<krb::Context<'_>>(body)
        .map_err(|_| Error::CorruptContext("undecodable state"))?;
    if !rest.is_empty() {
        return Err(Error::CorruptContext("trailing bytes after the state"));
    }
    Ok(state)
}

/// Seals already-encoded state bytes of format `version` into a blob (used by the fuzz
/// targets to wrap arbitrary state bytes in a valid envelope).
pub(crate) fn pack_body(
    package: PackageId,
    version: u16,
    body: SecretBytes,
    options: &ExportOptions,
) -> Result<PackedContext> {
    let mut buf = SecretBytes(Vec::with_capacity(HEADER_LEN + body.len() + TAG_LEN));
    buf.resize(HEADER_LEN, 0);
    buf.extend_from_slice(&body);
    seal(package, version, buf, options)
}

/// Writes the header into `buf[..48]`, protects the state in `buf[48..]` in place and
/// appends the tag.
fn seal(
    package: PackageId,
    version: u16,
    mut buf: SecretBytes,
    options: &ExportOptions,
) -> Result<PackedContext> {
    let key = options.protection.key()?;
    let (header, body) = buf
        .split_first_chunk_mut::<HEADER_LEN>()
        .ok_or(Error::InvalidParameter("context cannot be encoded"))?;
    header[..8].copy_from_slice(&MAGIC);
    header[8..10].copy_from_slice(&version.to_le_bytes());
    header[10] = package as u8;
    let len =
        u32::try_from(body.len()).map_err(|_| Error::InvalidParameter("context too large"))?;
    header[44..48].copy_from_slice(&len.to_le_bytes());
    let tag: [u8; TAG_LEN] = match &key {
        Some(key) => {
            header[11] = PROTECTION_XCHACHA;
            header[12..20].copy_from_slice(&key.id());
            let env = match (&options.protection, &options.random) {
                (Protection::Key(_), Some(env)) => env.clone(),
                _ => Environment::system(),
            };
            let nonce: [u8; 24] = env.random()?;
            header[20..44].copy_from_slice(&nonce);
            aead::seal(key.bytes(), &nonce, &header[..], body)
        }
        None => checksum(&header[..], body),
    };
    buf.extend_from_slice(&tag);
    if buf.len() > MAX_PACKED_SIZE {
        return Err(Error::InvalidParameter("context larger than the largest importable blob"));
    }
    Ok(PackedContext(buf))
}

fn checksum(header: &[u8], body: &[u8]) -> [u8; TAG_LEN] {
    let digest = Sha256::new().chain_update(header).chain_update(body).finalize();
    let mut out = [0u8; TAG_LEN];
    out.copy_from_slice(&digest[..TAG_LEN]);
    out
}

/// The package named in a blob's header, after the checks that come before it (size, magic,
/// version). Not authenticated: [`unpack`] checks the header as a whole.
pub(crate) fn peek_package(packed: &[u8]) -> Result<PackageId> {
    if packed.len() > MAX_PACKED_SIZE {
        return Err(Error::CorruptContext("larger than any packed context"));
    }
    let header = packed.get(..HEADER_LEN).ok_or(Error::CorruptContext("truncated header"))?;
    if header[..8] != MAGIC {
        return Err(Error::CorruptContext("not an sspi-emu packed context"));
    }
    let version = u16::from_le_bytes([header[8], header[9]]);
    if version > FORMAT_VERSION {
        return Err(Error::UnsupportedVersion { found: version, newest: FORMAT_VERSION });
    }
    PackageId::from_byte(header[10])
}

/// Checks and opens a blob; returns its package, its format version and the decrypted state
/// bytes.
pub(crate) fn unpack(
    packed: &[u8],
    protection: &Protection,
) -> Result<(PackageId, u16, SecretBytes)> {
    if packed.len() > MAX_PACKED_SIZE {
        return Err(Error::CorruptContext("larger than any packed context"));
    }
    let (header, rest) = packed
        .split_first_chunk::<HEADER_LEN>()
        .ok_or(Error::CorruptContext("truncated header"))?;
    let (&magic, _) =
        header.split_first_chunk::<8>().ok_or(Error::CorruptContext("truncated header"))?;
    if magic != MAGIC {
        return Err(Error::CorruptContext("not an sspi-emu packed context"));
    }
    let version = u16::from_le_bytes([header[8], header[9]]);
    if version > FORMAT_VERSION {
        return Err(Error::UnsupportedVersion { found: version, newest: FORMAT_VERSION });
    }
    if version == 0 {
        return Err(Error::CorruptContext("format version 0"));
    }
    let package = PackageId::from_byte(header[10])?;
    let len = usize::try_from(u32::from_le_bytes([header[44], header[45], header[46], header[47]]))
        .map_err(|_| Error::CorruptContext("length"))?;
    if rest.len() != len.checked_add(TAG_LEN).ok_or(Error::CorruptContext("length"))? {
        return Err(Error::CorruptContext("length field does not match the blob"));
    }
    let (body, tag) = rest.split_at(len);
    let mut body = SecretBytes(body.to_vec());
    match (header[11], protection.existing_key()) {
        (PROTECTION_XCHACHA, Ok(Some(key))) => {
            if header[12..20] != key.id() {
                return Err(Error::WrongKey);
            }
            let nonce: &[u8; 24] =
                header[20..44].try_into().map_err(|_| Error::CorruptContext("nonce"))?;
            let tag: &[u8; TAG_LEN] = tag.try_into().map_err(|_| Error::CorruptContext("tag"))?;
            if !aead::open(key.bytes(), nonce, header, &mut body, tag) {
                return Err(Error::CorruptContext("authentication failed"));
            }
        }
        (PROTECTION_XCHACHA, Ok(None)) => return Err(Error::WrongKey),
        (PROTECTION_NONE, Ok(None)) => {
            if !crate::crypto::ct_eq(&checksum(header, &body), tag) || header[12..44] != [0; 32] {
                return Err(Error::CorruptContext("checksum mismatch"));
            }
        }
        (PROTECTION_NONE, Ok(Some(_))) => {
            return Err(Error::NotSupported(
                "an unprotected context (importing one needs Protection::DangerousUnprotected)",
            ));
        }
        (PROTECTION_XCHACHA | PROTECTION_NONE, Err(e)) => return Err(e),
        _ => return Err(Error::CorruptContext("unknown protection mode")),
    }
    Ok((package, version, body))
}

/// Decodes the state of a blob of format `version` (from [`unpack`]): the version-1
/// context and the version-2 options (those version 1 implies for a version-1 blob).
/// Trailing bytes are an error.
pub(crate) fn decode(version: u16, body: &[u8]) -> Result<(v1::Context<'_>, v2::Options)> {
    let undecodable = |_| Error::CorruptContext("undecodable state");
    let (decoded, rest) = match version {
        1 => postcard::take_from_bytes::<v1::Context<'_>>(body)
            .map(|(state, rest)| ((state, v2::Options::IMPLIED_BY_V1), rest))
            .map_err(undecodable)?,
        2 => postcard::take_from_bytes::<(v1::Context<'_>, v2::Options)>(body)
            .map_err(undecodable)?,
        _ => return Err(Error::CorruptContext("format version")),
    };
    if !rest.is_empty() {
        return Err(Error::CorruptContext("trailing bytes after the state"));
    }
    Ok(decoded)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The growth path (taken only if [`v1::Context::size_hint`] ever guessed short): from
    /// an empty buffer, through several moves, the same bytes as postcard's own vector.
    #[test]
    fn blob_writer_grows_to_the_same_bytes() {
        let rc4 = [7u8; 256];
        let direction = || v1::Direction {
            sign_key: v1::Bytes([1; 16]),
            rc4_s: &rc4,
            rc4_i: 2,
            rc4_j: 3,
            seq: 4,
        };
        let state = v1::Context::NtlmServer {
            config: v1::ServerConfig {
                nb_computer: "SERVER",
                nb_domain: "DOMAIN",
                dns_computer: "server.example.com",
                dns_domain: "example.com",
                version: None,
                requested: 0x10,
                channel_bindings: None,
                accepted_targets: vec!["HTTP/server"],
                max_clock_skew_ms: 300_000,
            },
            state: v1::ServerState::Established(v1::Established {
                flags: 0xe288_8215,
                exported_session_key: v1::Bytes([5; 16]),
                detect_sequence: true,
                send: direction(),
                recv: direction(),
                user: "alice",
                domain: "EXAMPLE",
                workstation: "WS",
                attributes: 0x1c,
                logon_time: 134_116_992_000_000_000,
            }),
        };
        let grown =
            postcard::serialize_with_flavor(&state, BlobWriter(SecretBytes(Vec::new()))).unwrap();
        assert_eq!(grown.as_slice(), postcard::to_allocvec(&state).unwrap().as_slice());
    }
}

/// Property tests of the envelope: what is sealed opens to the same package, version and
/// state bytes, under a key or unprotected; any change to any byte of a blob is refused.
/// The envelope is canonical for what it accepts: every header byte is either checked
/// against a fixed value or covered by the tag, so a blob that opens is the one sealed.
#[cfg(test)]
mod proptests {
    use super::*;
    use proptest::collection::vec;
    use proptest::prelude::*;

    fn options(key: Option<[u8; 32]>, seed: u64) -> ExportOptions {
        let protection = match key {
            Some(k) => Protection::Key(ExportKey::from_bytes(k)),
            None => Protection::DangerousUnprotected,
        };
        ExportOptions::new()
            .protection(protection)
            .environment(Environment::deterministic(seed, FileTime(0)))
    }

    proptest! {
        #[test]
        fn sealed_state_opens(
            key in proptest::option::of(any::<[u8; 32]>()),
            seed: u64,
            version in 1u16..=FORMAT_VERSION,
            body in vec(any::<u8>(), 0..300),
        ) {
            let options = options(key, seed);
            let packed =
                pack_body(PackageId::Ntlm, version, SecretBytes(body.clone()), &options).unwrap();
            let blob = packed.as_bytes();
            prop_assert_eq!(blob.len(), HEADER_LEN + body.len() + TAG_LEN);
            prop_assert_eq!(peek_package(blob).unwrap(), PackageId::Ntlm);
            let (package, got_version, state) = unpack(blob, &options.protection).unwrap();
            prop_assert_eq!(package, PackageId::Ntlm);
            prop_assert_eq!(got_version, version);
            prop_assert_eq!(state.as_slice(), &body[..]);
            if key.is_some() && body.len() >= 8 {
                prop_assert_ne!(&blob[HEADER_LEN..HEADER_LEN + body.len()], &body[..], "not encrypted");
            }
        }

        /// Any change to any byte: refused (the key id names the key: a changed one is
        /// `WrongKey`; everything else is `CorruptContext`, or an unsupported or unknown
        /// version or package named as such).
        #[test]
        fn any_change_is_refused(
            key in proptest::option::of(any::<[u8; 32]>()),
            body in vec(any::<u8>(), 0..100),
            at: prop::sample::Index,
            xor in 1u8..,
        ) {
            let options = options(key, 7);
            let packed = pack_body(PackageId::Ntlm, 2, SecretBytes(body), &options).unwrap();
            let mut blob = packed.as_bytes().to_vec();
            let at = at.index(blob.len());
            blob[at] ^= xor;
            let err = unpack(&blob, &options.protection).err().expect("refused");
            match at {
                8..=10 => prop_assert!(matches!(
                    err,
                    Error::UnsupportedVersion { .. } | Error::CorruptContext(_) | Error::NotSupported(_)
                ), "{err:?}"),
                11 => prop_assert!(matches!(
                    err,
                    Error::CorruptContext(_) | Error::NotSupported(_) | Error::WrongKey
                ), "{err:?}"),
                12..=19 if key.is_some() => prop_assert_eq!(err, Error::WrongKey),
                _ => prop_assert!(matches!(err, Error::CorruptContext(_)), "{err:?}"),
            }
        }

        /// A blob sealed under one key does not open under another.
        #[test]
        fn other_keys_are_refused(a: [u8; 32], b: [u8; 32], body in vec(any::<u8>(), 0..40)) {
            prop_assume!(a != b);
            let packed = pack_body(PackageId::Ntlm, 1, SecretBytes(body), &options(Some(a), 1)).unwrap();
            let other = Protection::Key(ExportKey::from_bytes(b));
            prop_assert_eq!(unpack(packed.as_bytes(), &other).err(), Some(Error::WrongKey));
        }

        /// The whole path of a state: encoded, sealed, opened, decoded. Written as format
        /// version 1 exactly when the options are those version 1 implies.
        #[test]
        fn packed_states_unpack(
            owned in v1::proptests::owned(),
            extra in v1::proptests::options(),
            key in proptest::option::of(any::<[u8; 32]>()),
        ) {
            let options = options(key, 3);
            let state = owned.view();
            let packed = pack(PackageId::Ntlm, &state, extra, &options).unwrap();
            let (package, version, body) = unpack(packed.as_bytes(), &options.protection).unwrap();
            prop_assert_eq!(package, PackageId::Ntlm);
            prop_assert_eq!(version, if extra == v2::Options::IMPLIED_BY_V1 { 1 } else { 2 });
            let (decoded, decoded_extra) = decode(version, &body).unwrap();
            prop_assert_eq!(&decoded, &state);
            prop_assert_eq!(decoded_extra, extra);
        }
    }
}
