//! FILE credential caches (`FILE:/tmp/krb5cc_1000`), read and written.
//!
//! The format is MIT's `doc/formats/ccache_file_format.rst`:
//!
//! ```text
//! file        ::= 0x05 version(8) [header] principal credential*      (until the end)
//! header      ::= length(u16) (tag(u16) length(u16) value)*           version 4 only;
//!                                                                     tag 1: KDC time offset
//!                                                                     (seconds, microseconds)
//! principal   ::= [name_type(u32)] count(u32) realm(data) component(data)*
//!                                   (no name type in version 1, whose count includes the realm)
//! credential  ::= client(principal) server(principal)
//!                 enctype(u16) [enctype(u16) again in version 3] key(data)
//!                 authtime starttime endtime renew_till (u32 each)
//!                 is_skey(u8) ticket_flags(u32)
//!                 count(u32) (addrtype(u16) address(data))*
//!                 count(u32) (ad_type(u16) contents(data))*
//!                 ticket(data) second_ticket(data)
//! data        ::= length(u32) bytes[length]
//! ```
//!
//! Versions 3 and 4 are big-endian; versions 1 and 2 (in the writer's byte order, read in this
//! machine's order as MIT does) are read but not written. [`CredentialCache::to_bytes`] writes
//! version 4, as `kinit` does, or version 3 when [`CredentialCache::version`] says so; a
//! version-4 file from MIT is written back byte for byte.
//!
//! MIT's configuration entries (a server in the realm `X-CACHECONF:`, the value in the ticket
//! field) are kept in [`CredentialCache::credentials`] like any other entry and written back;
//! [`CredentialCache::find_ticket`] skips them, and [`CredentialCache::config`] reads them.
//!
//! Every length is checked against the bytes that remain before anything is taken; a
//! principal may have at most 64 components, and names must be UTF-8 (MIT allows any bytes;
//! a cache with other names is refused with a clear error).
//!
//! [`CredentialCache::write`] replaces the whole file atomically (temporary file and rename);
//! it does not take MIT's `fcntl` lock, so a MIT process appending to the same cache at the
//! same moment can lose its ticket (it then simply asks the KDC again).

use super::keytab::{FileReader, MAX_COMPONENTS, same_principal, split_type, utf8};
use super::{AuthData, Credential, EncType, HostAddress, Key, NameType, Principal, PrincipalName};
use crate::crypto::SecretBytes;
use crate::error::{Error, Result};
use std::path::{Path, PathBuf};
use zeroize::Zeroizing;

/// The largest credential cache file [`CredentialCache::read`] reads.
pub const MAX_FILE_SIZE: u64 = 64 << 20;
/// The realm of MIT's configuration entries.
pub const CONFIG_REALM: &str = "X-CACHECONF:";
/// The first component of a configuration entry's server name.
pub const CONFIG_NAME: &str = "krb5_ccache_conf_data";

/// The header tag of the KDC time offset (version 4).
const TAG_KDC_TIME_OFFSET: u16 = 1;

/// A FILE credential cache format version.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum CcacheVersion {
    /// `0x0501`, native byte order, no name types (read only).
    V1,
    /// `0x0502`, native byte order (read only).
    V2,
    /// `0x0503`, big-endian, the enctype written twice.
    V3,
    /// `0x0504`, big-endian, with a header: what MIT has written since krb5 1.2.
    V4,
}

impl CcacheVersion {
    fn number(self) -> u16 {
        match self {
            Self::V1 => 0x0501,
            Self::V2 => 0x0502,
            Self::V3 => 0x0503,
            Self::V4 => 0x0504,
        }
    }
}

/// The KDC's clock relative to the client's when the cache was made (a version-4 header
/// field): adding it to the local time gives the KDC's time.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct KdcTimeOffset {
    /// Whole seconds.
    pub seconds: i32,
    /// Microseconds.
    pub microseconds: i32,
}

/// A credential cache: a default principal and its tickets.
#[derive(Clone, Debug)]
pub struct CredentialCache {
    /// The file format version (written as read; [`CredentialCache::new`] makes version 4).
    pub version: CcacheVersion,
    /// The KDC time offset of the version-4 header (`None`: the field is absent).
    pub kdc_time_offset: Option<KdcTimeOffset>,
    /// Other version-4 header fields (unknown tags), kept and written back after the offset.
    pub other_header_fields: Vec<(u16, Vec<u8>)>,
    /// Whose cache this is.
    pub default_principal: Principal,
    /// The credentials, configuration entries included, in file order.
    pub credentials: Vec<Credential>,
}

impl CredentialCache {
    /// An empty version-4 cache for `default_principal`, with a zero KDC time offset in its
    /// header (as `kinit` writes).
    pub fn new(default_principal: Principal) -> Self {
        Self {
            version: CcacheVersion::V4,
            kdc_time_offset: Some(KdcTimeOffset::default()),
            other_header_fields: Vec::new(),
            default_principal,
            credentials: Vec::new(),
        }
    }

    /// Parses a credential cache file's bytes.
    ///
    /// # Errors
    /// [`Error::CredentialCache`] naming the problem and its offset: an unknown version, a
    /// truncated field, a length past the end, a principal with too many components, a name
    /// that is not UTF-8.
    pub fn parse(bytes: &[u8]) -> Result<CredentialCache> {
        parse(bytes).map_err(|e| Error::CredentialCache(format!("(in memory): {e}")))
    }

    /// The file bytes in [`CredentialCache::version`] (3 or 4).
    ///
    /// # Errors
    /// [`Error::CredentialCache`] for version 1 or 2 (not written), or a value the format
    /// cannot hold (an enctype, address type or authdata type outside 16 bits, a field over
    /// 4 GiB, a header over 64 KiB) or [`CredentialCache::parse`] would not read back (a
    /// principal of more than 64 components).
    ///
    /// The bytes hold the session keys: they are wiped when the returned buffer is dropped.
    pub fn to_bytes(&self) -> Result<Zeroizing<Vec<u8>>> {
        self.encode().map(SecretBytes::into_zeroizing).map_err(Error::CredentialCache)
    }

    /// Reads and parses the cache file at `path`.
    ///
    /// # Errors
    /// [`Error::CredentialCache`] naming the file: it cannot be read, is larger than
    /// [`MAX_FILE_SIZE`], or is malformed (see [`CredentialCache::parse`]).
    pub fn read(path: impl AsRef<Path>) -> Result<CredentialCache> {
        let path = path.as_ref();
        let bytes = crate::crypto::read_bounded(path, MAX_FILE_SIZE)
            .map_err(|e| Error::CredentialCache(format!("{}: {e}", path.display())))?;
        parse(&bytes).map_err(|e| Error::CredentialCache(format!("{}: {e}", path.display())))
    }

    /// Writes the cache to `path`: a temporary file in the same directory, owner-only (0600
    /// on Unix), renamed over `path`, so a reader sees the old cache or the new one, never half.
    ///
    /// # Errors
    /// [`Error::CredentialCache`] naming the file when it cannot be written, or when the
    /// cache cannot be encoded (see [`CredentialCache::to_bytes`]).
    pub fn write(&self, path: impl AsRef<Path>) -> Result<()> {
        let path = path.as_ref();
        let bytes = self.to_bytes()?;
        super::keytab::write_private(path, &bytes, true)
            .map_err(|e| Error::CredentialCache(format!("{}: cannot write: {e}", path.display())))
    }

    /// The ticket `client` holds for `server` (principals compared by realm and components),
    /// valid at `now` (seconds since the Unix epoch: not expired). Configuration entries are
    /// skipped. When several match, the one that lasts longest.
    pub fn find_ticket(
        &self,
        client: &Principal,
        server: &Principal,
        now: u32,
    ) -> Option<&Credential> {
        self.credentials
            .iter()
            .filter(|c| !is_config_entry(c))
            .filter(|c| same_principal(&c.client, client) && same_principal(&c.server, server))
            .filter(|c| c.end_time > now)
            .max_by_key(|c| c.end_time)
    }

    /// The default principal's ticket-granting ticket for `realm` (`krbtgt/realm@realm`),
    /// valid at `now`.
    pub fn tgt(&self, realm: &str, now: u32) -> Option<&Credential> {
        self.find_ticket(&self.default_principal, &Principal::krbtgt(realm), now)
    }

    /// Adds a credential, replacing those of the same client and server (not configuration
    /// entries, which [`CredentialCache::set_config`] manages).
    pub fn store(&mut self, credential: Credential) {
        self.credentials.retain(|c| {
            is_config_entry(c)
                || !(same_principal(&c.client, &credential.client)
                    && same_principal(&c.server, &credential.server))
        });
        self.credentials.push(credential);
    }

    /// The value of MIT's configuration entry `key` (`fast_avail`, `pa_type`, ...), for
    /// `principal` (`None`: the entry not tied to a principal).
    pub fn config(&self, key: &str, principal: Option<&Principal>) -> Option<&[u8]> {
        let name = config_server(key, principal);
        self.credentials
            .iter()
            .find(|c| is_config_entry(c) && c.server == name)
            .map(|c| c.ticket.as_slice())
    }

    /// Sets MIT's configuration entry `key` (for `principal`, or none) to `value`, replacing
    /// an existing one. The entry's client is the default principal; its other fields are zero.
    pub fn set_config(&mut self, key: &str, principal: Option<&Principal>, value: &[u8]) {
        let server = config_server(key, principal);
        self.credentials.retain(|c| !(is_config_entry(c) && c.server == server));
        self.credentials.push(Credential {
            client: self.default_principal.clone(),
            server,
            session_key: Key::new(EncType(0), &[]),
            auth_time: 0,
            start_time: 0,
            end_time: 0,
            renew_till: 0,
            is_skey: false,
            ticket_flags: 0,
            addresses: Vec::new(),
            auth_data: Vec::new(),
            ticket: value.to_vec(),
            second_ticket: Vec::new(),
        });
    }

    /// The file bytes, in a buffer wiped on drop and on every growth (it holds session keys).
    fn encode(&self) -> core::result::Result<SecretBytes, String> {
        let v3 = match self.version {
            CcacheVersion::V3 => true,
            CcacheVersion::V4 => false,
            v => return Err(format!("writing format {v:?} is not supported (only 3 and 4)")),
        };
        let mut w = SecretBytes::default();
        w.extend_from_slice(&self.version.number().to_be_bytes());
        if !v3 {
            let mut header = Vec::new();
            if let Some(offset) = self.kdc_time_offset {
                header.extend_from_slice(&TAG_KDC_TIME_OFFSET.to_be_bytes());
                header.extend_from_slice(&8u16.to_be_bytes());
                header.extend_from_slice(&offset.seconds.to_be_bytes());
                header.extend_from_slice(&offset.microseconds.to_be_bytes());
            }
            for (tag, value) in &self.other_header_fields {
                header.extend_from_slice(&tag.to_be_bytes());
                let len = u16::try_from(value.len()).map_err(|_| "header field too long")?;
                header.extend_from_slice(&len.to_be_bytes());
                header.extend_from_slice(value);
            }
            let len = u16::try_from(header.len()).map_err(|_| "header too long")?;
            w.extend_from_slice(&len.to_be_bytes());
            w.extend_from_slice(&header);
        }
        put_principal(&mut w, &self.default_principal)?;
        for (i, c) in self.credentials.iter().enumerate() {
            put_credential(&mut w, c, v3).map_err(|e| format!("credential {i}: {e}"))?;
        }
        Ok(w)
    }
}

/// Whether `credential` is one of MIT's configuration entries (its server's realm is
/// `X-CACHECONF:`), not a ticket.
pub fn is_config_entry(credential: &Credential) -> bool {
    credential.server.realm == CONFIG_REALM
}

fn config_server(key: &str, principal: Option<&Principal>) -> Principal {
    let mut components = vec![CONFIG_NAME.to_owned(), key.to_owned()];
    if let Some(p) = principal {
        components.push(p.to_string());
    }
    Principal {
        name: PrincipalName { name_type: NameType::PRINCIPAL, components },
        realm: CONFIG_REALM.to_owned(),
    }
}

// ---------------------------------------------------------------------------------------------
// The default cache name
// ---------------------------------------------------------------------------------------------

/// Where the default credential cache is: `KRB5CCNAME` as `lookup` gives it (`FILE:path` or a
/// bare path), else MIT's built-in default `/tmp/krb5cc_<uid>` with `uid` (`None`: unknown).
/// (MIT also reads `default_ccache_name` from krb5.conf; a caller that has the configuration
/// checks it first.)
///
/// # Errors
/// [`Error::CredentialCache`] naming the type for a cache type sspi-emu cannot read (`DIR:`,
/// `KEYRING:`, `KCM:`, `MEMORY:`, `API:`, `MSLSA:`, or any other), for an empty path, and when
/// `KRB5CCNAME` is unset and the uid is unknown.
pub fn default_ccache_path_from(
    lookup: impl Fn(&str) -> Option<String>,
    uid: Option<u32>,
) -> Result<PathBuf> {
    match lookup("KRB5CCNAME").filter(|v| !v.is_empty()) {
        Some(name) => ccache_path_from_name(&name),
        None => match uid {
            Some(uid) => Ok(PathBuf::from(format!("/tmp/krb5cc_{uid}"))),
            None => Err(Error::CredentialCache(
                "KRB5CCNAME is not set and the user id for /tmp/krb5cc_<uid> is unknown on this \
                 system; set KRB5CCNAME=FILE:<path>"
                    .to_owned(),
            )),
        },
    }
}

/// [`default_ccache_path_from`] over the process environment, with the effective user id
/// (the owner of `/proc/self`, on Linux; unknown elsewhere).
///
/// # Errors
/// As [`default_ccache_path_from`].
pub fn default_ccache_path() -> Result<PathBuf> {
    default_ccache_path_from(|name| std::env::var(name).ok(), current_uid())
}

/// The effective user id: the owner of `/proc/self` (Linux). `None` where there is no procfs
/// or on non-Unix systems (sspi-emu uses no `libc` to ask `geteuid`).
pub fn current_uid() -> Option<u32> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        std::fs::metadata("/proc/self").ok().map(|m| m.uid())
    }
    #[cfg(not(unix))]
    {
        None
    }
}

/// The file path of a credential cache name in MIT's `TYPE:residual` form.
///
/// # Errors
/// [`Error::CredentialCache`] naming the type for anything but `FILE:` (or a bare path), or
/// an empty path.
pub fn ccache_path_from_name(name: &str) -> Result<PathBuf> {
    let path = match split_type(name) {
        None => name,
        Some(("FILE", path)) => path,
        Some((kind @ ("DIR" | "KEYRING" | "KCM" | "MEMORY" | "API" | "MSLSA"), _)) => {
            return Err(Error::CredentialCache(format!(
                "credential cache type {kind}: is not supported (only FILE: caches can be read): \
                 {name}"
            )));
        }
        Some((kind, _)) => {
            return Err(Error::CredentialCache(format!(
                "unknown credential cache type {kind}: in {name} (only FILE: caches can be read)"
            )));
        }
    };
    if path.is_empty() {
        return Err(Error::CredentialCache(format!("empty credential cache path in {name:?}")));
    }
    Ok(PathBuf::from(path))
}

// ---------------------------------------------------------------------------------------------
// Parsing and writing
// ---------------------------------------------------------------------------------------------

fn parse(bytes: &[u8]) -> core::result::Result<CredentialCache, String> {
    let mut r = FileReader::new(bytes, true);
    let number = r.u16("version")?;
    let version = match number {
        0x0501 => CcacheVersion::V1,
        0x0502 => CcacheVersion::V2,
        0x0503 => CcacheVersion::V3,
        0x0504 => CcacheVersion::V4,
        _ => return Err(format!("unknown credential cache version {number:#06x}")),
    };
    // Versions 1 and 2 are in the writer's byte order; MIT reads them in its own.
    r.big_endian =
        matches!(version, CcacheVersion::V3 | CcacheVersion::V4) || cfg!(target_endian = "big");
    let mut kdc_time_offset = None;
    let mut other_header_fields = Vec::new();
    if version == CcacheVersion::V4 {
        let len = usize::from(r.u16("header length")?);
        let base = r.offset();
        let mut h = FileReader::new(r.take(len, "header")?, true);
        h.base = base;
        while h.remaining() > 0 {
            let tag = h.u16("header tag")?;
            let len = usize::from(h.u16("header field length")?);
            let mut value = FileReader::new(h.take(len, "header field")?, true);
            if tag == TAG_KDC_TIME_OFFSET && len == 8 && kdc_time_offset.is_none() {
                kdc_time_offset = Some(KdcTimeOffset {
                    seconds: value.i32("time offset")?,
                    microseconds: value.i32("time offset")?,
                });
            } else {
                other_header_fields.push((tag, value.take(len, "header field")?.to_vec()));
            }
        }
    }
    let default_principal = get_principal(&mut r, version, "default principal")?;
    let mut credentials = Vec::new();
    while r.remaining() > 0 {
        let at = r.offset();
        let c = get_credential(&mut r, version)
            .map_err(|e| format!("credential at offset {at}: {e}"))?;
        credentials.push(c);
    }
    Ok(CredentialCache {
        version,
        kdc_time_offset,
        other_header_fields,
        default_principal,
        credentials,
    })
}

fn get_data<'a>(r: &mut FileReader<'a>, what: &str) -> core::result::Result<&'a [u8], String> {
    let len = r.u32(what)?;
    let len = usize::try_from(len).map_err(|_| format!("{what}: length overflow"))?;
    r.take(len, what)
}

fn get_string(r: &mut FileReader<'_>, what: &str) -> core::result::Result<String, String> {
    let at = r.offset();
    utf8(get_data(r, what)?, what, at)
}

fn get_principal(
    r: &mut FileReader<'_>,
    version: CcacheVersion,
    what: &str,
) -> core::result::Result<Principal, String> {
    let v1 = version == CcacheVersion::V1;
    let name_type = if v1 { NameType::UNKNOWN } else { NameType(r.i32(what)?) };
    let mut count = usize::try_from(r.u32(what)?).map_err(|_| format!("{what}: count overflow"))?;
    if v1 {
        count = count.checked_sub(1).ok_or_else(|| format!("{what}: count 0 (no realm)"))?;
    }
    if count > MAX_COMPONENTS {
        return Err(format!("{what}: {count} components (at most {MAX_COMPONENTS})"));
    }
    let realm = get_string(r, what)?;
    let mut components = Vec::with_capacity(count);
    for _ in 0..count {
        components.push(get_string(r, what)?);
    }
    Ok(Principal { name: PrincipalName { name_type, components }, realm })
}

fn get_credential(
    r: &mut FileReader<'_>,
    version: CcacheVersion,
) -> core::result::Result<Credential, String> {
    let client = get_principal(r, version, "client")?;
    let server = get_principal(r, version, "server")?;
    let mut etype = r.i16("enctype")?;
    if version == CcacheVersion::V3 {
        // Version 3 writes the enctype twice (once as the old "keytype"); MIT uses the second.
        etype = r.i16("enctype")?;
    }
    let session_key = Key::new(EncType(i32::from(etype)), get_data(r, "session key")?);
    let auth_time = r.u32("authtime")?;
    let start_time = r.u32("starttime")?;
    let end_time = r.u32("endtime")?;
    let renew_till = r.u32("renew_till")?;
    let is_skey = r.u8("is_skey")? != 0;
    let ticket_flags = r.u32("ticket flags")?;
    // Each element takes at least 6 bytes, so the loops are bounded by the input.
    let count = r.u32("address count")?;
    let mut addresses = Vec::new();
    for _ in 0..count {
        let addr_type = i32::from(r.u16("address type")?);
        let address = get_data(r, "address")?.to_vec();
        addresses.push(HostAddress { addr_type, address });
    }
    let count = r.u32("authdata count")?;
    let mut auth_data = Vec::new();
    for _ in 0..count {
        let ad_type = i32::from(r.i16("authdata type")?);
        let data = get_data(r, "authdata")?.to_vec();
        auth_data.push(AuthData { ad_type, data });
    }
    let ticket = get_data(r, "ticket")?.to_vec();
    let second_ticket = get_data(r, "second ticket")?.to_vec();
    Ok(Credential {
        client,
        server,
        session_key,
        auth_time,
        start_time,
        end_time,
        renew_till,
        is_skey,
        ticket_flags,
        addresses,
        auth_data,
        ticket,
        second_ticket,
    })
}

fn put_data(w: &mut SecretBytes, data: &[u8], what: &str) -> core::result::Result<(), String> {
    let len = u32::try_from(data.len()).map_err(|_| format!("{what} longer than 4 GiB"))?;
    w.extend_from_slice(&len.to_be_bytes());
    w.extend_from_slice(data);
    Ok(())
}

fn put_principal(w: &mut SecretBytes, p: &Principal) -> core::result::Result<(), String> {
    let n = p.name.components.len();
    // The format could hold more, but no reader of ours would take the file back.
    if n > MAX_COMPONENTS {
        return Err(format!("{p}: {n} components (at most {MAX_COMPONENTS})"));
    }
    w.extend_from_slice(&p.name.name_type.0.to_be_bytes());
    let count = u32::try_from(n).map_err(|_| "too many components")?;
    w.extend_from_slice(&count.to_be_bytes());
    put_data(w, p.realm.as_bytes(), "realm")?;
    for component in &p.name.components {
        put_data(w, component.as_bytes(), "name component")?;
    }
    Ok(())
}

fn put_credential(
    w: &mut SecretBytes,
    c: &Credential,
    v3: bool,
) -> core::result::Result<(), String> {
    put_principal(w, &c.client)?;
    put_principal(w, &c.server)?;
    let etype = i16::try_from(c.session_key.etype().0)
        .map_err(|_| format!("enctype {} does not fit in 16 bits", c.session_key.etype().0))?;
    w.extend_from_slice(&etype.to_be_bytes());
    if v3 {
        w.extend_from_slice(&etype.to_be_bytes());
    }
    put_data(w, c.session_key.bytes(), "session key")?;
    for t in [c.auth_time, c.start_time, c.end_time, c.renew_till] {
        w.extend_from_slice(&t.to_be_bytes());
    }
    w.push(u8::from(c.is_skey));
    w.extend_from_slice(&c.ticket_flags.to_be_bytes());
    let count = u32::try_from(c.addresses.len()).map_err(|_| "too many addresses")?;
    w.extend_from_slice(&count.to_be_bytes());
    for a in &c.addresses {
        let t = u16::try_from(a.addr_type)
            .map_err(|_| format!("address type {} does not fit in 16 bits", a.addr_type))?;
        w.extend_from_slice(&t.to_be_bytes());
        put_data(w, &a.address, "address")?;
    }
    let count = u32::try_from(c.auth_data.len()).map_err(|_| "too many authdata elements")?;
    w.extend_from_slice(&count.to_be_bytes());
    for ad in &c.auth_data {
        let t = i16::try_from(ad.ad_type)
            .map_err(|_| format!("authdata type {} does not fit in 16 bits", ad.ad_type))?;
        w.extend_from_slice(&t.to_be_bytes());
        put_data(w, &ad.data, "authdata")?;
    }
    put_data(w, &c.ticket, "ticket")?;
    put_data(w, &c.second_ticket, "second ticket")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        let s: String = s.chars().filter(|c| !c.is_whitespace()).collect();
        (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
    }

    fn data(out: &mut String, bytes: &[u8]) {
        out.push_str(&format!("{:08x}", bytes.len()));
        for b in bytes {
            out.push_str(&format!("{b:02x}"));
        }
    }

    /// The layout of what MIT kinit 1.20 writes (checked against a real cache, see
    /// tests/integration/krb5_files.rs): a v4 header with a zero time offset, alice, a
    /// `fast_avail` config entry, and a TGT with a 5-byte stand-in ticket.
    fn sample() -> Vec<u8> {
        let mut s = String::from("0504 000c 0001 0008 00000000 00000000");
        let alice = |s: &mut String| {
            s.push_str("00000001 00000001");
            data(s, b"EXAMPLE.TEST");
            data(s, b"alice");
        };
        alice(&mut s);
        // The config entry.
        alice(&mut s);
        s.push_str("00000001 00000003");
        data(&mut s, b"X-CACHECONF:");
        data(&mut s, b"krb5_ccache_conf_data");
        data(&mut s, b"fast_avail");
        data(&mut s, b"krbtgt/EXAMPLE.TEST@EXAMPLE.TEST");
        s.push_str(
            "0000 00000000 00000000 00000000 00000000 00000000 00 00000000 00000000 00000000",
        );
        data(&mut s, b"yes");
        data(&mut s, b"");
        // The TGT.
        alice(&mut s);
        s.push_str("00000002 00000002");
        data(&mut s, b"EXAMPLE.TEST");
        data(&mut s, b"krbtgt");
        data(&mut s, b"EXAMPLE.TEST");
        s.push_str("0012");
        data(&mut s, &[0x11; 32]);
        s.push_str("6b13fefa 6b13fefa 6b148b9a 6b15507a 00 00c10000");
        s.push_str("00000001 0002"); // one IPv4 address
        data(&mut s, &[127, 0, 0, 1]);
        s.push_str("00000001 0080"); // one AD-WIN2K-PAC element
        data(&mut s, b"pac");
        data(&mut s, b"\x61\x03\x30\x01\x00");
        data(&mut s, b"");
        hex(&s)
    }

    fn alice() -> Principal {
        Principal::parse("alice@EXAMPLE.TEST", None).unwrap()
    }

    #[test]
    fn parses_kinit_layout_and_writes_it_back() {
        let bytes = sample();
        let cc = CredentialCache::parse(&bytes).unwrap();
        assert_eq!(cc.version, CcacheVersion::V4);
        assert_eq!(cc.kdc_time_offset, Some(KdcTimeOffset::default()));
        assert_eq!(cc.default_principal, alice());
        assert_eq!(cc.credentials.len(), 2);
        assert!(is_config_entry(&cc.credentials[0]));
        let krbtgt = Principal::krbtgt("EXAMPLE.TEST");
        assert_eq!(cc.config("fast_avail", Some(&krbtgt)), Some(&b"yes"[..]));
        assert_eq!(cc.config("fast_avail", None), None);
        let tgt = cc.tgt("EXAMPLE.TEST", 0x6b13_fefa).unwrap();
        assert_eq!(tgt.server, krbtgt);
        assert_eq!(tgt.session_key.etype(), EncType::AES256_CTS_HMAC_SHA1_96);
        assert_eq!(tgt.session_key.bytes(), &[0x11; 32][..]);
        assert_eq!(
            (tgt.auth_time, tgt.end_time, tgt.renew_till),
            (0x6b13_fefa, 0x6b14_8b9a, 0x6b15_507a)
        );
        assert_eq!(tgt.ticket_flags, 0x00c1_0000);
        assert_eq!(tgt.addresses, [HostAddress { addr_type: 2, address: vec![127, 0, 0, 1] }]);
        assert_eq!(tgt.auth_data, [AuthData { ad_type: 128, data: b"pac".to_vec() }]);
        assert_eq!(tgt.ticket, b"\x61\x03\x30\x01\x00");
        assert_eq!(*cc.to_bytes().unwrap(), bytes);
    }

    #[test]
    fn find_ticket_skips_expired_and_config_entries() {
        let cc = CredentialCache::parse(&sample()).unwrap();
        let krbtgt = Principal::krbtgt("EXAMPLE.TEST");
        assert!(cc.find_ticket(&alice(), &krbtgt, 0x6b14_8b99).is_some());
        assert!(cc.find_ticket(&alice(), &krbtgt, 0x6b14_8b9a).is_none(), "expired at end_time");
        assert!(cc.tgt("OTHER.TEST", 0).is_none());
        let bob = Principal::parse("bob@EXAMPLE.TEST", None).unwrap();
        assert!(cc.find_ticket(&bob, &krbtgt, 0).is_none());
        // A config entry is never a ticket, whatever its server name.
        let conf = cc.credentials[0].server.clone();
        assert!(cc.find_ticket(&alice(), &conf, 0).is_none());
    }

    #[test]
    fn store_replaces_and_the_longest_lived_wins() {
        let mut cc = CredentialCache::parse(&sample()).unwrap();
        let mut newer = cc.credentials[1].clone();
        newer.end_time += 100;
        cc.store(newer);
        assert_eq!(cc.credentials.len(), 2, "replaced, config entry kept");
        assert_eq!(cc.tgt("EXAMPLE.TEST", 0).unwrap().end_time, 0x6b14_8b9a + 100);
        let mut other = cc.credentials[1].clone();
        other.end_time = 0x6b14_8b9a + 50;
        cc.credentials.push(other);
        assert_eq!(cc.tgt("EXAMPLE.TEST", 0).unwrap().end_time, 0x6b14_8b9a + 100);
        cc.set_config("pa_type", Some(&Principal::krbtgt("EXAMPLE.TEST")), b"2");
        cc.set_config("pa_type", Some(&Principal::krbtgt("EXAMPLE.TEST")), b"138");
        assert_eq!(
            cc.config("pa_type", Some(&Principal::krbtgt("EXAMPLE.TEST"))),
            Some(&b"138"[..])
        );
        assert_eq!(cc.credentials.iter().filter(|c| is_config_entry(c)).count(), 2);
    }

    #[test]
    fn version_3_writes_the_enctype_twice_and_has_no_header() {
        let mut cc = CredentialCache::parse(&sample()).unwrap();
        cc.version = CcacheVersion::V3;
        let v3 = cc.to_bytes().unwrap();
        assert_eq!(&v3[..2], &[5, 3]);
        assert_eq!(v3.len(), sample().len() - 14 + 2 * 2, "no header; two keyblocks grow by 2");
        let back = CredentialCache::parse(&v3).unwrap();
        assert_eq!(back.version, CcacheVersion::V3);
        assert_eq!(back.kdc_time_offset, None);
        assert_eq!(back.to_bytes().unwrap(), v3);
        let tgt = back.tgt("EXAMPLE.TEST", 0).unwrap();
        assert_eq!(tgt.session_key.etype(), EncType::AES256_CTS_HMAC_SHA1_96);
        // Versions 1 and 2 are not written.
        cc.version = CcacheVersion::V2;
        assert!(matches!(cc.to_bytes(), Err(Error::CredentialCache(t)) if t.contains("V2")));
    }

    #[test]
    fn header_fields_offsets_and_unknown_tags() {
        let mut cc = CredentialCache::new(alice());
        cc.kdc_time_offset = Some(KdcTimeOffset { seconds: -5, microseconds: 250 });
        cc.other_header_fields.push((7, vec![1, 2, 3]));
        let bytes = cc.to_bytes().unwrap();
        assert_eq!(&bytes[..4], &[5, 4, 0, 12 + 7]);
        let back = CredentialCache::parse(&bytes).unwrap();
        assert_eq!(back.kdc_time_offset, cc.kdc_time_offset);
        assert_eq!(back.other_header_fields, [(7, vec![1, 2, 3])]);
        assert!(back.credentials.is_empty());
        // A time-offset field of the wrong length is kept as an unknown field.
        let odd = hex("0504 0006 0001 0002 abcd 00000001 00000001 00000001 52 00000001 61");
        let cc = CredentialCache::parse(&odd).unwrap();
        assert_eq!(cc.kdc_time_offset, None);
        assert_eq!(cc.other_header_fields, [(1, vec![0xab, 0xcd])]);
        assert_eq!(cc.default_principal.to_string(), "a@R");
    }

    #[test]
    fn reads_versions_1_and_2_in_native_order() {
        let n32 =
            |v: u32| if cfg!(target_endian = "big") { v.to_be_bytes() } else { v.to_le_bytes() };
        // Version 1: no name type, the count includes the realm.
        let mut b = vec![5, 1];
        b.extend_from_slice(&n32(2));
        b.extend_from_slice(&n32(1));
        b.push(b'R');
        b.extend_from_slice(&n32(3));
        b.extend_from_slice(b"bob");
        let cc = CredentialCache::parse(&b).unwrap();
        assert_eq!(
            (cc.version, cc.default_principal.to_string()),
            (CcacheVersion::V1, "bob@R".to_owned())
        );
        let mut b = vec![5, 2];
        b.extend_from_slice(&n32(1));
        b.extend_from_slice(&n32(1));
        b.extend_from_slice(&n32(1));
        b.push(b'R');
        b.extend_from_slice(&n32(3));
        b.extend_from_slice(b"bob");
        let cc = CredentialCache::parse(&b).unwrap();
        assert_eq!(cc.default_principal.name.name_type, NameType::PRINCIPAL);
        assert_eq!(cc.version, CcacheVersion::V2);
    }

    #[test]
    fn malformed_caches_are_refused_with_a_reason() {
        let bytes = sample();
        let cc = CredentialCache::parse(&bytes).unwrap();
        // The offsets where a cut leaves a complete file: after the default principal and
        // after each credential.
        let mut complete = Vec::new();
        let mut prefix = CredentialCache { credentials: Vec::new(), ..cc.clone() };
        complete.push(prefix.to_bytes().unwrap().len());
        for c in &cc.credentials {
            prefix.credentials.push(c.clone());
            complete.push(prefix.to_bytes().unwrap().len());
        }
        for cut in 0..bytes.len() {
            let r = CredentialCache::parse(&bytes[..cut]);
            assert_eq!(r.is_ok(), complete.contains(&cut), "cut at {cut}: {r:?}");
        }
        let err = |b: &[u8]| match CredentialCache::parse(b) {
            Err(Error::CredentialCache(t)) => t,
            other => panic!("expected an error, got {other:?}"),
        };
        assert!(err(&[5, 5]).contains("unknown credential cache version 0x0505"));
        assert!(err(&[4, 5]).contains("unknown"));
        // Huge lengths: header, realm, ticket, counts.
        let mut b = bytes.clone();
        b[2..4].copy_from_slice(&[0xff, 0xff]);
        assert!(err(&b).contains("truncated header"));
        let mut b = bytes.clone();
        b[24..28].copy_from_slice(&[0xff; 4]);
        assert!(err(&b).contains("truncated default principal"));
        let mut b = bytes.clone();
        b[20..24].copy_from_slice(&[0, 0, 0, 65]);
        assert!(err(&b).contains("65 components"));
        let mut b = bytes.clone();
        b[20..24].copy_from_slice(&[0xff; 4]);
        assert!(err(&b).contains("components"));
        // The last credential's ticket length, and an address count of 2^32 - 1.
        let mut b = bytes.clone();
        let ticket_len_at = b.len() - 4 - 5 - 4;
        b[ticket_len_at..ticket_len_at + 4].copy_from_slice(&[0x7f, 0xff, 0xff, 0xff]);
        assert!(err(&b).contains("truncated ticket"));
        let mut b = bytes.clone();
        let addr_count_at = ticket_len_at - (4 + 2 + 4 + 3) - (4 + 2 + 4 + 4);
        assert_eq!(b[addr_count_at..addr_count_at + 4], [0, 0, 0, 1]);
        b[addr_count_at..addr_count_at + 4].copy_from_slice(&[0xff; 4]);
        assert!(err(&b).contains("credential at offset"));
        let mut b = bytes.clone();
        b[32] = 0xc3; // the realm's first byte: not UTF-8 on its own
        assert!(err(&b).contains("not UTF-8"));
    }

    #[test]
    fn writer_refuses_what_the_format_cannot_hold() {
        let mut cc = CredentialCache::parse(&sample()).unwrap();
        cc.credentials[1].addresses[0].addr_type = -1;
        assert!(
            matches!(cc.to_bytes(), Err(Error::CredentialCache(t)) if t.contains("address type -1"))
        );
        cc.credentials[1].addresses[0].addr_type = 24;
        cc.credentials[1].auth_data[0].ad_type = 40_000;
        assert!(
            matches!(cc.to_bytes(), Err(Error::CredentialCache(t)) if t.contains("authdata type"))
        );
        cc.credentials[1].auth_data[0].ad_type = -2;
        let back = CredentialCache::parse(&cc.to_bytes().unwrap()).unwrap();
        assert_eq!(back.credentials[1].auth_data[0].ad_type, -2);
        cc.credentials[1].session_key = Key::new(EncType(1 << 20), &[]);
        assert!(
            matches!(cc.to_bytes(), Err(Error::CredentialCache(t)) if t.contains("credential 1: enctype"))
        );
    }

    /// Regression (found by `proptests::what_is_written_reads_back`): a principal of 65
    /// components was written, and the cache then refused by our own reader.
    #[test]
    fn writer_refuses_more_components_than_the_reader_takes() {
        let mut cc = CredentialCache::parse(&sample()).unwrap();
        cc.credentials[1].server.name.components = vec!["c".to_owned(); MAX_COMPONENTS];
        let back = CredentialCache::parse(&cc.to_bytes().unwrap()).unwrap();
        assert_eq!(back.credentials[1].server.name.components.len(), MAX_COMPONENTS);
        cc.credentials[1].server.name.components.push("c".to_owned());
        assert!(matches!(cc.to_bytes(),
            Err(Error::CredentialCache(t)) if t.contains("credential 1") && t.contains("65 components (at most 64)")));
    }

    #[test]
    fn default_name_from_the_environment() {
        let env = |value: Option<&'static str>| {
            move |name: &str| {
                assert_eq!(name, "KRB5CCNAME");
                value.map(str::to_owned)
            }
        };
        assert_eq!(
            default_ccache_path_from(env(None), Some(1000)).unwrap(),
            PathBuf::from("/tmp/krb5cc_1000")
        );
        assert!(
            matches!(default_ccache_path_from(env(None), None), Err(Error::CredentialCache(t)) if t.contains("KRB5CCNAME"))
        );
        assert_eq!(
            default_ccache_path_from(env(Some("FILE:/x/cc")), None).unwrap(),
            PathBuf::from("/x/cc")
        );
        assert_eq!(
            default_ccache_path_from(env(Some("/x/c:c")), None).unwrap(),
            PathBuf::from("/x/c:c")
        );
        assert_eq!(
            default_ccache_path_from(env(Some("")), Some(0)).unwrap(),
            PathBuf::from("/tmp/krb5cc_0")
        );
        for kind in ["DIR", "KEYRING", "KCM", "MEMORY", "API", "MSLSA", "XYZ"] {
            let name = format!("{kind}:residual");
            let value: &'static str = Box::leak(name.into_boxed_str());
            match default_ccache_path_from(env(Some(value)), Some(0)) {
                Err(Error::CredentialCache(t)) => {
                    assert!(t.contains(&format!("type {kind}:")), "{t}")
                }
                other => panic!("{kind}: {other:?}"),
            }
        }
        assert!(default_ccache_path_from(env(Some("FILE:")), None).is_err());
        #[cfg(target_os = "linux")]
        assert!(current_uid().is_some());
    }

    #[cfg(unix)]
    #[test]
    fn writes_atomically_and_owner_only() {
        use std::os::unix::fs::PermissionsExt;
        let dir = std::env::temp_dir().join(format!("sspi-emu-cc-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("cc");
        // Replacing a world-readable file leaves an owner-only one.
        std::fs::write(&path, b"old").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let cc = CredentialCache::parse(&sample()).unwrap();
        cc.write(&path).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        assert_eq!(CredentialCache::read(&path).unwrap().to_bytes().unwrap().to_vec(), sample());
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 1, "no temporary file left");
        let text = CredentialCache::read(dir.join("none")).unwrap_err().to_string();
        assert!(text.contains("none") && text.contains("cannot open"), "{text}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

/// Property tests: every cache the writer takes (versions 3 and 4) parses back to itself,
/// and bytes the writer made are written again identically. Caches are not canonical: a
/// reader takes versions 1 and 2, any non-zero `is_skey` byte as true, and the KDC time
/// offset anywhere among the header fields; the writer writes version 3 or 4, `is_skey` as
/// 0 or 1, and the offset first. So `to_bytes(parse(b)) == b` holds for the writer's bytes.
#[cfg(test)]
mod proptests {
    use super::*;
    use crate::kerberos::keytab::proptests::{key, principal};
    use proptest::collection::vec;
    use proptest::prelude::*;

    fn bytes(max: usize) -> impl Strategy<Value = Vec<u8>> {
        vec(any::<u8>(), 0..=max)
    }

    fn credential() -> impl Strategy<Value = Credential> {
        (
            (principal(0), principal(0), key()),
            any::<[u32; 4]>(),
            (any::<bool>(), any::<u32>()),
            vec((0..=i32::from(u16::MAX), bytes(16)), 0..3),
            vec((any::<i16>(), bytes(16)), 0..3),
            (bytes(64), bytes(16)),
        )
            .prop_map(
                |(
                    (client, server, session_key),
                    times,
                    (is_skey, ticket_flags),
                    addresses,
                    auth_data,
                    (ticket, second_ticket),
                )| {
                    let [auth_time, start_time, end_time, renew_till] = times;
                    Credential {
                        client,
                        server,
                        session_key,
                        auth_time,
                        start_time,
                        end_time,
                        renew_till,
                        is_skey,
                        ticket_flags,
                        addresses: addresses
                            .into_iter()
                            .map(|(addr_type, address)| HostAddress { addr_type, address })
                            .collect(),
                        auth_data: auth_data
                            .into_iter()
                            .map(|(t, data)| AuthData { ad_type: i32::from(t), data })
                            .collect(),
                        ticket,
                        second_ticket,
                    }
                },
            )
    }

    /// Header fields other than the KDC time offset. With no offset, a field of tag 1 and 8
    /// bytes would be read as the offset, so none is made then (the struct could hold one:
    /// it would not come back as written; such a cache is not one any reader produces).
    fn other_fields(has_offset: bool) -> impl Strategy<Value = Vec<(u16, Vec<u8>)>> {
        vec((any::<u16>(), bytes(12)), 0..3).prop_map(move |fields| {
            fields
                .into_iter()
                .filter(|(tag, value)| {
                    has_offset || !(*tag == TAG_KDC_TIME_OFFSET && value.len() == 8)
                })
                .collect()
        })
    }

    fn cache() -> impl Strategy<Value = CredentialCache> {
        (any::<bool>(), proptest::option::of(any::<(i32, i32)>()))
            .prop_flat_map(|(v3, offset)| {
                let offset = if v3 { None } else { offset };
                let others =
                    if v3 { Just(vec![]).boxed() } else { other_fields(offset.is_some()).boxed() };
                (Just(v3), Just(offset), others, principal(0), vec(credential(), 0..4))
            })
            .prop_map(|(v3, offset, other_header_fields, default_principal, credentials)| {
                CredentialCache {
                    version: if v3 { CcacheVersion::V3 } else { CcacheVersion::V4 },
                    kdc_time_offset: offset
                        .map(|(seconds, microseconds)| KdcTimeOffset { seconds, microseconds }),
                    other_header_fields,
                    default_principal,
                    credentials,
                }
            })
    }

    fn same(a: &CredentialCache, b: &CredentialCache) -> bool {
        a.version == b.version
            && a.kdc_time_offset == b.kdc_time_offset
            && a.other_header_fields == b.other_header_fields
            && a.default_principal == b.default_principal
            && a.credentials.len() == b.credentials.len()
            && a.credentials.iter().zip(&b.credentials).all(|(a, b)| {
                a.client == b.client
                    && a.server == b.server
                    && a.session_key.ct_eq(&b.session_key)
                    && (a.auth_time, a.start_time, a.end_time, a.renew_till)
                        == (b.auth_time, b.start_time, b.end_time, b.renew_till)
                    && (a.is_skey, a.ticket_flags) == (b.is_skey, b.ticket_flags)
                    && a.addresses == b.addresses
                    && a.auth_data == b.auth_data
                    && (&a.ticket, &a.second_ticket) == (&b.ticket, &b.second_ticket)
            })
    }

    proptest! {
        #[test]
        fn caches_round_trip(cc in cache()) {
            let bytes = cc.to_bytes().unwrap();
            let back = CredentialCache::parse(&bytes).unwrap();
            prop_assert!(same(&back, &cc), "{:?} != {:?}", back, cc);
            prop_assert_eq!(back.to_bytes().unwrap(), bytes);
        }

        /// Non-canonical forms MIT's reader takes too: an `is_skey` byte other than 0 and 1,
        /// and the time offset after other header fields. They parse to the same cache.
        #[test]
        fn loose_forms_parse_to_the_same_cache(
            cc in cache(),
            skey in 1u8..,
            offset_last: bool,
        ) {
            let canonical = cc.to_bytes().unwrap();
            // The header, rebuilt with the offset after the other fields.
            let mut bytes = canonical.clone();
            if offset_last
                && cc.version == CcacheVersion::V4
                && let Some(offset) = cc.kdc_time_offset
            {
                let len = usize::from(u16::from_be_bytes([bytes[2], bytes[3]]));
                let mut header = bytes[4 + 12..4 + len].to_vec();
                header.extend_from_slice(&bytes[4..4 + 12]);
                bytes.splice(4..4 + len, header);
                prop_assert_eq!(&bytes[4 + len - 12..4 + len - 8], &[0, 1, 0, 8][..]);
                prop_assert_eq!(
                    &bytes[4 + len - 8..4 + len - 4],
                    &offset.seconds.to_be_bytes()[..]
                );
            }
            // `is_skey` of every credential that has it set, written as `skey`: found by
            // writing the credential alone with it false and true.
            let mut at = bytes.len();
            for c in cc.credentials.iter().rev() {
                let mut one = SecretBytes::default();
                put_credential(&mut one, c, cc.version == CcacheVersion::V3).unwrap();
                at -= one.len();
                if c.is_skey {
                    let tail = 4 + c.ticket.len() + 4 + c.second_ticket.len()
                        + c.auth_data.iter().map(|a| 2 + 4 + a.data.len()).sum::<usize>() + 4
                        + c.addresses.iter().map(|a| 2 + 4 + a.address.len()).sum::<usize>() + 4
                        + 4;
                    let flag = at + one.len() - tail - 1;
                    prop_assert_eq!(bytes[flag], 1);
                    bytes[flag] = skey;
                }
            }
            let parsed = CredentialCache::parse(&bytes).unwrap();
            prop_assert!(same(&parsed, &cc), "{:?}", parsed);
            prop_assert_eq!(parsed.to_bytes().unwrap(), canonical);
        }

        /// What the writer writes, the reader reads back (see the keytab's property).
        #[test]
        fn what_is_written_reads_back(n in 60usize..70, cc in cache()) {
            let mut cc = cc;
            cc.default_principal.name.components = vec!["c".to_owned(); n];
            match cc.to_bytes() {
                Ok(bytes) => {
                    prop_assert!(n <= MAX_COMPONENTS);
                    prop_assert!(same(&CredentialCache::parse(&bytes).unwrap(), &cc));
                }
                Err(e) => prop_assert!(n > MAX_COMPONENTS, "{e}"),
            }
        }

        /// Cut short: an error, or, at the end of a credential, the credentials before it.
        #[test]
        fn truncated_caches_are_refused_or_shorter(cc in cache(), cut: prop::sample::Index) {
            let bytes = cc.to_bytes().unwrap();
            let cut = cut.index(bytes.len());
            if let Ok(short) = CredentialCache::parse(&bytes[..cut]) {
                prop_assert!(short.credentials.len() < cc.credentials.len());
                let mut prefix = cc.clone();
                prefix.credentials.truncate(short.credentials.len());
                prop_assert!(same(&short, &prefix));
                prop_assert_eq!(prefix.to_bytes().unwrap().len(), cut);
            }
        }
    }
}
