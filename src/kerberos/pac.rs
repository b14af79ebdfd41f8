//! The Microsoft Privilege Attribute Certificate (MS-PAC) in Kerberos tickets: found in the
//! ticket's authorization data, parsed, its server signature verified, and the identity it
//! carries (user and group SIDs, names) exposed.
//!
//! ```text
//! EncTicketPart.authorization-data
//!   └─ AD-IF-RELEVANT (1)                    RFC 4120 5.2.6.1, DER AuthorizationData
//!        └─ AD-WIN2K-PAC (128)               MS-PAC 2.1 (MS-KILE 3.3.5.6.3)
//!             PACTYPE                        MS-PAC 2.3: cBuffers, Version 0, buffers
//!               PAC_INFO_BUFFER[cBuffers]    MS-PAC 2.4: ulType, cbBufferSize, Offset
//!               1  KERB_VALIDATION_INFO      MS-PAC 2.5, NDR (MS-RPCE 2.2.6 type serialization)
//!               10 PAC_CLIENT_INFO           MS-PAC 2.7
//!               6  server signature          MS-PAC 2.8.1 (service key)
//!               7  KDC signature             MS-PAC 2.8.2 (krbtgt key)
//!               16 ticket signature, 19 extended KDC signature, others: kept, not read
//! ```
//!
//! # Why not picky-krb's `pac` module
//! picky-krb 0.13.1 has `picky_krb::pac` with the PACTYPE framing only. It is not usable on
//! hostile input: `Vec::with_capacity(c_buffers)` allocates from the declared count before
//! any check, `offset as usize + cb_buffer_size` can overflow, unknown buffer types (any type
//! Microsoft adds) fail the whole parse, and its range check (`to >= len`) refuses a last
//! buffer that ends exactly at the end of the PAC, as every PAC without trailing padding
//! does. The framing is hand-written here over the crate's bounded `crate::codec::Reader`.
//!
//! # Why a hand-written NDR reader
//! KERB_VALIDATION_INFO is an NDR (C706 chapter 14, MS-RPCE 2.2.6 type serialization v1)
//! structure and no well-kept Rust crate decodes NDR. `Ndr` below is the minimal, strict,
//! bounded reader for exactly what MS-PAC 2.5 needs: little-endian integers with their
//! alignment, unique pointers (a non-zero referent id; the pointee follows, deferred, in
//! pointer order), conformant arrays and conformant varying strings, and SIDs. Every count
//! read from the input is checked against the bytes left before anything is allocated.
//!
//! # What is verified, and what cannot be
//! A service verifies the server signature with its own key
//! ([`Pac::verify_server_checksum`]) and the client info against the ticket
//! ([`Pac::check_client_info`]). The KDC signature needs the krbtgt key: a service cannot
//! verify it (Windows asks the DC to, through `KERB_VERIFY_PAC` over Netlogon, only for
//! services not running as SYSTEM; sspi-emu has no DC to ask and does not).
//! [`Pac::verify_kdc_checksum`] exists for a caller that holds the krbtgt key (tests, a KDC).
//! The ticket signature (MS-PAC 2.8.3) and extended KDC signature (2.8.5) are also keyed with
//! the krbtgt key, and are left alone.
//!
//! # Bounds
//! A PAC above [`MAX_PAC_LEN`] (64 KiB) or with more than [`MAX_BUFFERS`] buffers is refused;
//! NDR arrays and strings are bounded by the bytes left in their buffer.

use crate::codec::Reader;
use crate::error::{Error, Result};
use crate::kerberos::crypto::{
    DerivedKeys, KeyUsage, checksum_type, make_checksum, verify_checksum,
};
use crate::kerberos::kdc::der::{read_only, read_tlv};
use crate::kerberos::{AuthData, Key};
use core::fmt;
use core::str::FromStr;

/// The largest PAC accepted: 64 KiB. Windows PACs of users in very many groups reach a few
/// KiB (the default MaxTokenSize is 48,000 bytes since Windows 8, and the whole ticket must fit
/// in it).
pub const MAX_PAC_LEN: usize = 64 * 1024;

/// The most buffers a PAC may declare. Windows writes at most a dozen types (MS-PAC 2.4).
pub const MAX_BUFFERS: usize = 64;

/// `AD-IF-RELEVANT` (RFC 4120 section 5.2.6.1).
pub const AD_IF_RELEVANT: i32 = 1;
/// `AD-WIN2K-PAC` (RFC 4120 section 7.5.4, MS-PAC 2.1).
pub const AD_WIN2K_PAC: i32 = 128;

/// PAC buffer types (MS-PAC 2.4 `ulType`).
pub mod buffer_type {
    /// Logon information (KERB_VALIDATION_INFO, MS-PAC 2.5).
    pub const LOGON_INFO: u32 = 1;
    /// Credentials information (MS-PAC 2.6), encrypted; not read.
    pub const CREDENTIALS_INFO: u32 = 2;
    /// Server signature (MS-PAC 2.8).
    pub const SERVER_CHECKSUM: u32 = 6;
    /// KDC (privilege server) signature (MS-PAC 2.8).
    pub const KDC_CHECKSUM: u32 = 7;
    /// Client name and ticket information (MS-PAC 2.7).
    pub const CLIENT_INFO: u32 = 10;
    /// Constrained delegation information (MS-PAC 2.9).
    pub const DELEGATION_INFO: u32 = 11;
    /// UPN and DNS information (MS-PAC 2.10).
    pub const UPN_DNS_INFO: u32 = 12;
    /// Client claims (MS-PAC 2.11).
    pub const CLIENT_CLAIMS: u32 = 13;
    /// Device information (MS-PAC 2.12).
    pub const DEVICE_INFO: u32 = 14;
    /// Device claims (MS-PAC 2.13).
    pub const DEVICE_CLAIMS: u32 = 15;
    /// Ticket signature (MS-PAC 2.8.3).
    pub const TICKET_CHECKSUM: u32 = 16;
    /// PAC attributes (MS-PAC 2.14).
    pub const ATTRIBUTES_INFO: u32 = 17;
    /// PAC requestor (MS-PAC 2.15).
    pub const REQUESTOR: u32 = 18;
    /// Extended KDC signature (MS-PAC 2.8.5; MIT's `KRB5_PAC_FULL_CHECKSUM`).
    pub const FULL_CHECKSUM: u32 = 19;

    /// The types MS-PAC 2.4 defines: each may appear once (a PAC with two is refused).
    pub const KNOWN: [u32; 14] = [
        LOGON_INFO,
        CREDENTIALS_INFO,
        SERVER_CHECKSUM,
        KDC_CHECKSUM,
        CLIENT_INFO,
        DELEGATION_INFO,
        UPN_DNS_INFO,
        CLIENT_CLAIMS,
        DEVICE_INFO,
        DEVICE_CLAIMS,
        TICKET_CHECKSUM,
        ATTRIBUTES_INFO,
        REQUESTOR,
        FULL_CHECKSUM,
    ];
}

/// `UserFlags` bit D, `LOGON_EXTRA_SIDS` (MS-PAC 2.5): `ExtraSids` is meaningful.
pub const LOGON_EXTRA_SIDS: u32 = 0x20;
/// `UserFlags` bit H, `LOGON_RESOURCE_GROUPS` (MS-PAC 2.5): `ResourceGroupDomainSid` and
/// `ResourceGroupIds` are meaningful.
pub const LOGON_RESOURCE_GROUPS: u32 = 0x200;

/// The most sub-authorities a SID has (MS-DTYP 2.4.2).
const MAX_SUB_AUTHORITIES: usize = 15;

/// The key usage of PAC signatures: 17, `KERB_NON_KERB_CKSUM_SALT` (MS-PAC 2.8; RFC 4757
/// section 3 and RFC 3961 apply it like any usage).
pub const PAC_CHECKSUM_USAGE: KeyUsage = KeyUsage(17);

/// FILETIME of the Unix epoch, in seconds (1601-01-01 to 1970-01-01).
const UNIX_EPOCH_SECONDS: u64 = 11_644_473_600;

// ---------------------------------------------------------------------------------------
// SIDs
// ---------------------------------------------------------------------------------------

/// A security identifier (MS-DTYP 2.4.2): revision 1, a 48-bit identifier authority and up
/// to 15 sub-authorities. Printed and parsed in the string form of MS-DTYP 2.4.2.1
/// (`S-1-5-21-…`); serialized as that string.
#[derive(Clone, PartialEq, Eq, Hash, Debug, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Sid {
    authority: u64,
    sub_authorities: Vec<u32>,
}

impl Sid {
    /// A SID from its identifier authority (48 bits) and sub-authorities (at most 15).
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for an authority above 2^48 - 1 or more than 15
    /// sub-authorities.
    pub fn new(authority: u64, sub_authorities: &[u32]) -> Result<Self> {
        if authority >> 48 != 0 {
            return Err(Error::InvalidParameter("SID identifier authority above 48 bits"));
        }
        if sub_authorities.len() > MAX_SUB_AUTHORITIES {
            return Err(Error::InvalidParameter("SID with more than 15 sub-authorities"));
        }
        Ok(Self { authority, sub_authorities: sub_authorities.to_vec() })
    }

    /// The identifier authority (5 for `SECURITY_NT_AUTHORITY`).
    pub fn authority(&self) -> u64 {
        self.authority
    }

    /// The sub-authorities; the last one of an account or group SID is its RID.
    pub fn sub_authorities(&self) -> &[u32] {
        &self.sub_authorities
    }

    /// This (domain) SID followed by `rid`: how MS-PAC 2.5 composes user and group SIDs
    /// (`LogonDomainId` + `UserId`, + `GroupIds[i].RelativeId`, ...).
    ///
    /// # Errors
    /// [`Error::InvalidToken`] if the domain SID already has 15 sub-authorities.
    pub fn with_rid(&self, rid: u32) -> Result<Self> {
        if self.sub_authorities.len() >= MAX_SUB_AUTHORITIES {
            return Err(Error::InvalidToken("PAC: domain SID has no room for a RID"));
        }
        let mut sub_authorities = Vec::with_capacity(self.sub_authorities.len() + 1);
        sub_authorities.extend_from_slice(&self.sub_authorities);
        sub_authorities.push(rid);
        Ok(Self { authority: self.authority, sub_authorities })
    }

    /// The SID without its last sub-authority and that sub-authority (the domain and the RID),
    /// `None` for a SID without sub-authorities.
    pub fn split_rid(&self) -> Option<(Self, u32)> {
        let (rid, domain) = self.sub_authorities.split_last()?;
        Some((Self { authority: self.authority, sub_authorities: domain.to_vec() }, *rid))
    }

    /// The NDR-independent binary form (MS-DTYP 2.4.2.2): revision, count, authority
    /// (big-endian, 6 bytes), sub-authorities (little-endian).
    fn write_body(&self, out: &mut Vec<u8>) {
        out.push(1);
        // At most 15 sub-authorities (checked on construction).
        out.push(u8::try_from(self.sub_authorities.len()).unwrap_or(u8::MAX));
        out.extend_from_slice(&self.authority.to_be_bytes()[2..]);
        for s in &self.sub_authorities {
            out.extend_from_slice(&s.to_le_bytes());
        }
    }
}

impl fmt::Display for Sid {
    /// MS-DTYP 2.4.2.1: the authority in decimal below 2^32, else as 12 hex digits with `0x`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.authority >> 32 == 0 {
            write!(f, "S-1-{}", self.authority)?;
        } else {
            write!(f, "S-1-0x{:012X}", self.authority)?;
        }
        for s in &self.sub_authorities {
            write!(f, "-{s}")?;
        }
        Ok(())
    }
}

impl FromStr for Sid {
    type Err = Error;

    /// MS-DTYP 2.4.2.1: `S-1-` then the authority (decimal, or `0x` and 12 hex digits), then
    /// 0 to 15 decimal sub-authorities. `S` may be lower case; nothing else is tolerated.
    fn from_str(s: &str) -> Result<Self> {
        const BAD: Error = Error::InvalidParameter("not a SID string (S-1-...)");
        let rest = s.strip_prefix("S-1-").or_else(|| s.strip_prefix("s-1-")).ok_or(BAD)?;
        let mut parts = rest.split('-');
        let auth = parts.next().ok_or(BAD)?;
        let decimal =
            |p: &str| !p.is_empty() && p.len() <= 20 && p.bytes().all(|b| b.is_ascii_digit());
        let authority =
            if let Some(hex) = auth.strip_prefix("0x").or_else(|| auth.strip_prefix("0X")) {
                if hex.len() != 12 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
                    return Err(BAD);
                }
                u64::from_str_radix(hex, 16).map_err(|_| BAD)?
            } else if decimal(auth) {
                auth.parse::<u64>().map_err(|_| BAD)?
            } else {
                return Err(BAD);
            };
        let mut subs = Vec::new();
        for p in parts {
            if !decimal(p) || subs.len() >= MAX_SUB_AUTHORITIES {
                return Err(BAD);
            }
            subs.push(p.parse::<u32>().map_err(|_| BAD)?);
        }
        Self::new(authority, &subs).map_err(|_| BAD)
    }
}

impl TryFrom<String> for Sid {
    type Error = Error;
    fn try_from(s: String) -> Result<Self> {
        s.parse()
    }
}

impl From<Sid> for String {
    fn from(sid: Sid) -> String {
        sid.to_string()
    }
}

// ---------------------------------------------------------------------------------------
// Finding the PAC
// ---------------------------------------------------------------------------------------

/// The PAC in a ticket's authorization data: the data of the `AD-WIN2K-PAC` (128) element
/// inside a top-level `AD-IF-RELEVANT` (1) element (MS-KILE 3.3.5.6.3, MS-PAC 2.1). `None`
/// if there is none (MIT KDCs without the PAC plugin, Heimdal without `windows`).
///
/// Only top-level `AD-IF-RELEVANT` containers are searched, as Windows places the PAC; other
/// elements (and containers nested deeper) are ignored.
///
/// # Errors
/// [`Error::InvalidToken`] for an `AD-IF-RELEVANT` whose DER does not parse, a PAC outside
/// `AD-IF-RELEVANT`, or more than one PAC (which one would be meant?).
pub fn find_pac(auth_data: &[AuthData]) -> Result<Option<Vec<u8>>> {
    let mut found: Option<Vec<u8>> = None;
    for element in auth_data {
        match element.ad_type {
            AD_WIN2K_PAC => return Err(Error::InvalidToken("PAC outside AD-IF-RELEVANT")),
            AD_IF_RELEVANT => {
                for (ad_type, data) in read_authorization_data(&element.data)? {
                    if ad_type == AD_WIN2K_PAC {
                        if found.is_some() {
                            return Err(Error::InvalidToken("more than one PAC in the ticket"));
                        }
                        found = Some(data.to_vec());
                    }
                }
            }
            _ => {}
        }
    }
    Ok(found)
}

/// `AuthorizationData ::= SEQUENCE OF SEQUENCE { ad-type [0] Int32, ad-data [1] OCTET
/// STRING }` (RFC 4120 section 5.2.6), strict DER.
fn read_authorization_data(der: &[u8]) -> Result<Vec<(i32, &[u8])>> {
    const BAD: Error = Error::InvalidToken("AD-IF-RELEVANT: malformed AuthorizationData");
    let seq = read_only(der)?;
    if seq.tag != 0x30 {
        return Err(BAD);
    }
    let mut out = Vec::new();
    let mut rest = seq.content;
    while !rest.is_empty() {
        let (element, after) = read_tlv(rest)?;
        rest = after;
        if element.tag != 0x30 {
            return Err(BAD);
        }
        let (ad_type, after) = read_tlv(element.content)?;
        let (ad_data, after) = read_tlv(after)?;
        if !after.is_empty() || ad_type.tag != 0xa0 || ad_data.tag != 0xa1 {
            return Err(BAD);
        }
        let int = read_only(ad_type.content)?;
        let octets = read_only(ad_data.content)?;
        if int.tag != 0x02 || octets.tag != 0x04 {
            return Err(BAD);
        }
        out.push((der_int32(int.content).ok_or(BAD)?, octets.content));
    }
    Ok(out)
}

/// A DER INTEGER's content as an Int32: 1 to 4 octets, minimal (X.690 8.3.2).
fn der_int32(content: &[u8]) -> Option<i32> {
    let (&first, _) = content.split_first()?;
    if content.len() > 4 {
        return None;
    }
    if let Some(&second) = content.get(1)
        && ((first == 0 && second & 0x80 == 0) || (first == 0xff && second & 0x80 != 0))
    {
        return None;
    }
    let fill = if first & 0x80 != 0 { 0xff } else { 0 };
    let mut bytes = [fill; 4];
    bytes.get_mut(4 - content.len()..)?.copy_from_slice(content);
    Some(i32::from_be_bytes(bytes))
}

// ---------------------------------------------------------------------------------------
// The PAC
// ---------------------------------------------------------------------------------------

/// One PAC_INFO_BUFFER (MS-PAC 2.4), its range checked against the PAC.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PacBuffer {
    /// `ulType` (see [`buffer_type`]).
    pub buffer_type: u32,
    /// `Offset`, from the start of the PAC (8-byte aligned).
    pub offset: usize,
    /// `cbBufferSize`.
    pub len: usize,
}

/// A parsed PAC (MS-PAC 2.3): its buffers, the logon and client information read from them,
/// and the raw bytes (the signatures are over them).
#[derive(Clone, Debug)]
pub struct Pac {
    raw: Vec<u8>,
    buffers: Vec<PacBuffer>,
    logon_info: Option<LogonInfo>,
    client_info: Option<ClientInfo>,
}

/// PAC_CLIENT_INFO (MS-PAC 2.7).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientInfo {
    /// `ClientId`: the ticket's authtime, as a FILETIME.
    pub client_id: u64,
    /// `Name`: the client's name (no realm, for a ticket of the client's own realm).
    pub name: String,
}

/// The identity in the logon information (KERB_VALIDATION_INFO, MS-PAC 2.5), SIDs composed
/// from the domain SID and the RIDs as MS-PAC 2.5 says. The `*_attributes` vectors hold the
/// `Attributes` of the SIDs of the same index (SE_GROUP_* bits, MS-PAC 2.2.1).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct LogonInfo {
    /// `EffectiveName`: the account name (sAMAccountName).
    pub user_name: String,
    /// `FullName`.
    pub full_name: String,
    /// `LogonDomainName`: the NetBIOS domain name.
    pub domain_name: String,
    /// `LogonServer`: the DC that authenticated the user.
    pub logon_server: String,
    /// `LogonDomainId`.
    pub domain_sid: Sid,
    /// `LogonDomainId` + `UserId`.
    pub user_sid: Sid,
    /// `LogonDomainId` + `PrimaryGroupId`.
    pub primary_group_sid: Sid,
    /// `LogonDomainId` + each `GroupIds[i].RelativeId`.
    pub group_sids: Vec<Sid>,
    /// `GroupIds[i].Attributes`.
    pub group_attributes: Vec<u32>,
    /// `ExtraSids[i].Sid`, when `UserFlags` has [`LOGON_EXTRA_SIDS`] (else empty).
    pub extra_sids: Vec<Sid>,
    /// `ExtraSids[i].Attributes`.
    pub extra_sid_attributes: Vec<u32>,
    /// `ResourceGroupDomainSid` + each `ResourceGroupIds[i].RelativeId`, when `UserFlags` has
    /// [`LOGON_RESOURCE_GROUPS`] (else empty).
    pub resource_group_sids: Vec<Sid>,
    /// `ResourceGroupIds[i].Attributes`.
    pub resource_group_attributes: Vec<u32>,
    /// `LogonTime` (FILETIME).
    pub logon_time: u64,
    /// `UserFlags`.
    pub user_flags: u32,
}

impl Pac {
    /// Parses a PAC (MS-PAC 2.3, 2.4): version 0, at most [`MAX_BUFFERS`] buffers, each inside
    /// the PAC, after the header, 8-byte aligned (MS-PAC 2.3: "all PAC elements MUST be placed
    /// on an 8-byte boundary") and overlapping no other; no known buffer type twice (Heimdal
    /// refuses duplicates too: which copy would be meant?). The logon information (2.5) and
    /// client information (2.7) are decoded if present; other types are kept undecoded.
    ///
    /// # Errors
    /// [`Error::InvalidToken`] for anything malformed, a PAC above [`MAX_PAC_LEN`] included.
    pub fn parse(bytes: &[u8]) -> Result<Self> {
        if bytes.len() > MAX_PAC_LEN {
            return Err(Error::InvalidToken("PAC longer than 64 KiB"));
        }
        let mut r = Reader::new(bytes);
        let count = r.u32("PAC cBuffers")?;
        if r.u32("PAC Version")? != 0 {
            return Err(Error::InvalidToken("PAC version is not 0"));
        }
        let count = usize::try_from(count).map_err(|_| Error::InvalidToken("PAC cBuffers"))?;
        if count > MAX_BUFFERS {
            return Err(Error::InvalidToken("PAC has too many buffers"));
        }
        let header_end = 8 + 16 * count;
        if header_end > bytes.len() {
            return Err(Error::InvalidToken("PAC shorter than its buffer list"));
        }
        let mut buffers = Vec::with_capacity(count);
        for _ in 0..count {
            let buffer_type = r.u32("PAC ulType")?;
            let len = usize::try_from(r.u32("PAC cbBufferSize")?)
                .map_err(|_| Error::InvalidToken("PAC cbBufferSize"))?;
            let offset = usize::try_from(r.u64("PAC Offset")?)
                .map_err(|_| Error::InvalidToken("PAC buffer outside the PAC"))?;
            if offset % 8 != 0 {
                return Err(Error::InvalidToken("PAC buffer not 8-byte aligned"));
            }
            if offset < header_end {
                return Err(Error::InvalidToken("PAC buffer inside the PAC header"));
            }
            match offset.checked_add(len) {
                Some(end) if end <= bytes.len() => {}
                _ => return Err(Error::InvalidToken("PAC buffer outside the PAC")),
            }
            let known = buffer_type::KNOWN.contains(&buffer_type);
            if known && buffers.iter().any(|b: &PacBuffer| b.buffer_type == buffer_type) {
                return Err(Error::InvalidToken("PAC has a buffer type twice"));
            }
            buffers.push(PacBuffer { buffer_type, offset, len });
        }
        let mut sorted: Vec<&PacBuffer> = buffers.iter().collect();
        sorted.sort_by_key(|b| b.offset);
        for pair in sorted.windows(2) {
            if let [a, b] = pair
                && a.offset + a.len > b.offset
            {
                return Err(Error::InvalidToken("PAC buffers overlap"));
            }
        }
        let mut pac = Self { raw: bytes.to_vec(), buffers, logon_info: None, client_info: None };
        if let Some(data) = pac.buffer(buffer_type::LOGON_INFO) {
            pac.logon_info = Some(read_logon_info(data)?);
        }
        if let Some(data) = pac.buffer(buffer_type::CLIENT_INFO) {
            pac.client_info = Some(read_client_info(data)?);
        }
        Ok(pac)
    }

    /// [`find_pac`] then [`Pac::parse`]: the ticket's PAC, if it has one.
    ///
    /// # Errors
    /// As [`find_pac`] and [`Pac::parse`] ([`Error::InvalidToken`]).
    pub fn from_auth_data(auth_data: &[AuthData]) -> Result<Option<Self>> {
        find_pac(auth_data)?.map(|bytes| Self::parse(&bytes)).transpose()
    }

    /// The PAC as received.
    pub fn as_bytes(&self) -> &[u8] {
        &self.raw
    }

    /// The buffers, in the order of the PAC's list.
    pub fn buffers(&self) -> &[PacBuffer] {
        &self.buffers
    }

    /// The contents of the buffer of type `buffer_type` (the first, for an unknown type that
    /// appears more than once).
    pub fn buffer(&self, buffer_type: u32) -> Option<&[u8]> {
        let b = self.buffers.iter().find(|b| b.buffer_type == buffer_type)?;
        self.raw.get(b.offset..b.offset + b.len)
    }

    /// The logon information, if the PAC has one (MIT KDCs write none).
    pub fn logon_info(&self) -> Option<&LogonInfo> {
        self.logon_info.as_ref()
    }

    /// The client information, if the PAC has one.
    pub fn client_info(&self) -> Option<&ClientInfo> {
        self.client_info.as_ref()
    }

    /// Checks PAC_CLIENT_INFO against the ticket (MS-KILE 3.4.5.3, MS-PAC 2.7): `ClientId`
    /// must be the ticket's `authtime` and `Name` the client principal's name without realm
    /// (components joined with `/`; MIT's `krb5_pac_sign_ext` writes `name@REALM` when asked
    /// `with_realm`, for clients of another realm, and the caller then passes that).
    ///
    /// Times are compared in whole seconds, as MIT (`k5_pac_validate_client`) and Heimdal
    /// (`verify_logonname`) do: KerberosTime has no fraction. Names are compared ignoring
    /// case (simple Unicode case folding): Active Directory account names are
    /// case-insensitive and a Windows KDC may write the account's stored spelling while the
    /// ticket carries the one the client asked for; MIT and Heimdal compare exactly, which
    /// this also accepts. The check is about a PAC cut from another ticket, whose name
    /// differs by more than case.
    ///
    /// # Errors
    /// [`Error::InvalidToken`] if the PAC has no client info; [`Error::MessageAltered`] if it
    /// does not match (MIT answers `KRB5KRB_AP_WRONG_PRINC`, Heimdal
    /// `KRB5KRB_AP_ERR_MODIFIED`; both are a PAC not made for this ticket).
    pub fn check_client_info(&self, client_name: &str, auth_time_unix: u32) -> Result<()> {
        let info =
            self.client_info.as_ref().ok_or(Error::InvalidToken("PAC has no client info"))?;
        let seconds = (info.client_id / 10_000_000).checked_sub(UNIX_EPOCH_SECONDS);
        if seconds != Some(u64::from(auth_time_unix)) {
            return Err(Error::MessageAltered);
        }
        let fold = |s: &str| s.chars().flat_map(char::to_lowercase).collect::<String>();
        if info.name != client_name && fold(&info.name) != fold(client_name) {
            return Err(Error::MessageAltered);
        }
        Ok(())
    }

    /// Verifies the server signature (MS-PAC 2.8.1) with the service's long-term key (the key
    /// the ticket is encrypted with): the checksum of the key's enctype (15 or 16 for the
    /// RFC 3962 AES enctypes, -138 HMAC-MD5 for rc4-hmac, RFC 4757) with key usage 17, over
    /// the whole PAC with the server and KDC signature buffers zeroed after their
    /// `SignatureType` (the RODCIdentifier included, as MIT and Heimdal zero it). The ticket
    /// signature (2.8.3) and extended KDC signature (2.8.5) are made before the server
    /// signature and stay as they are.
    ///
    /// # Errors
    /// [`Error::InvalidToken`] if the PAC lacks the server or KDC signature buffer or they are
    /// too short; [`Error::MessageAltered`] if the signature does not verify, its type is not
    /// the one of the key's enctype, or its length is wrong; [`Error::NotSupported`] or
    /// [`Error::InvalidParameter`] for a key sspi-emu cannot use.
    pub fn verify_server_checksum(&self, service_key: &Key) -> Result<()> {
        let server = self.signature_buffer(buffer_type::SERVER_CHECKSUM)?;
        let kdc = self.signature_buffer(buffer_type::KDC_CHECKSUM)?;
        let (sig, rodc) = self.signature(server, service_key)?;
        if rodc.is_some() {
            return Err(Error::MessageAltered);
        }
        let mut zeroed = self.raw.clone();
        for b in [server, kdc] {
            if let Some(area) = zeroed.get_mut(b.offset + 4..b.offset + b.len) {
                area.fill(0);
            }
        }
        verify_checksum(service_key, PAC_CHECKSUM_USAGE, &zeroed, sig)
    }

    /// Verifies the KDC signature (MS-PAC 2.8.2): the checksum, with the krbtgt key, of the
    /// server signature's `Signature` field. Only a holder of the krbtgt key can (a KDC, or a
    /// test); a service cannot, see the module documentation.
    ///
    /// # Errors
    /// As [`Pac::verify_server_checksum`].
    pub fn verify_kdc_checksum(&self, krbtgt_key: &Key) -> Result<()> {
        let server = self.signature_buffer(buffer_type::SERVER_CHECKSUM)?;
        let kdc = self.signature_buffer(buffer_type::KDC_CHECKSUM)?;
        let server_sig = self.raw.get(server.offset + 4..server.offset + server.len);
        let server_sig = server_sig.ok_or(Error::InvalidToken("PAC server signature"))?;
        let (sig, _rodc) = self.signature(kdc, krbtgt_key)?;
        verify_checksum(krbtgt_key, PAC_CHECKSUM_USAGE, server_sig, sig)
    }

    fn signature_buffer(&self, buffer_type: u32) -> Result<PacBuffer> {
        let b = self
            .buffers
            .iter()
            .find(|b| b.buffer_type == buffer_type)
            .ok_or(Error::InvalidToken("PAC has no server or KDC signature"))?;
        if b.len < 4 {
            return Err(Error::InvalidToken("PAC signature buffer too short"));
        }
        Ok(*b)
    }

    /// PAC_SIGNATURE_DATA (MS-PAC 2.8): `SignatureType` must be the checksum of `key`'s
    /// enctype; returns the `Signature` and the RODCIdentifier if the two bytes follow.
    fn signature(&self, b: PacBuffer, key: &Key) -> Result<(&[u8], Option<u16>)> {
        let data = self.raw.get(b.offset..b.offset + b.len);
        let mut r = Reader::new(data.ok_or(Error::InvalidToken("PAC signature buffer"))?);
        let sig_type = i32::from_le_bytes(r.array("PAC SignatureType")?);
        let expected = checksum_type(key.etype())
            .ok_or(Error::NotSupported("PAC signature with a key of an unimplemented enctype"))?;
        if sig_type != expected {
            return Err(Error::MessageAltered);
        }
        let len = DerivedKeys::new(key, PAC_CHECKSUM_USAGE)?.checksum_len();
        let sig = r.take(len, "PAC Signature").map_err(|_| Error::MessageAltered)?;
        match r.remaining() {
            0 => Ok((sig, None)),
            2 => Ok((sig, Some(r.u16("PAC RODCIdentifier")?))),
            _ => Err(Error::MessageAltered),
        }
    }
}

/// PAC_CLIENT_INFO (MS-PAC 2.7): `ClientId`, `NameLength` (bytes), `Name` (UTF-16LE), and
/// nothing after it.
fn read_client_info(data: &[u8]) -> Result<ClientInfo> {
    let mut r = Reader::new(data);
    let client_id = r.u64("PAC ClientId")?;
    let len = usize::from(r.u16("PAC NameLength")?);
    if len % 2 != 0 || len != r.remaining() {
        return Err(Error::InvalidToken("PAC client info: bad name length"));
    }
    let name = utf16(r.take(len, "PAC client name")?)?;
    Ok(ClientInfo { client_id, name })
}

fn utf16(bytes: &[u8]) -> Result<String> {
    // The callers check the length is even; an odd byte would be dropped, never read.
    let units = bytes.chunks_exact(2).map(|c| u16::from_le_bytes([c[0], c[1]]));
    char::decode_utf16(units)
        .collect::<core::result::Result<String, _>>()
        .map_err(|_| Error::InvalidToken("PAC: a name is not valid UTF-16"))
}

// ---------------------------------------------------------------------------------------
// NDR (MS-RPCE 2.2.6 type serialization version 1, C706 chapter 14), as MS-PAC 2.5 needs it
// ---------------------------------------------------------------------------------------

/// A strict, bounded NDR reader over one serialized object: little-endian (the common
/// header says so), alignment relative to the object's start (the headers are 16 bytes, so
/// relative to the buffer too). Padding bytes are not checked (C706 14.2.2: their value is
/// unspecified).
struct Ndr<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Ndr<'a> {
    fn align(&mut self, n: usize) -> Result<()> {
        let pad = (n - self.pos % n) % n;
        if pad > self.remaining() {
            return Err(Error::InvalidToken("PAC logon info: truncated"));
        }
        self.pos += pad;
        Ok(())
    }

    fn remaining(&self) -> usize {
        self.buf.len().saturating_sub(self.pos)
    }

    fn bytes(&mut self, n: usize) -> Result<&'a [u8]> {
        let out = self
            .pos
            .checked_add(n)
            .and_then(|end| self.buf.get(self.pos..end))
            .ok_or(Error::InvalidToken("PAC logon info: truncated"))?;
        self.pos += n;
        Ok(out)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N]> {
        <[u8; N]>::try_from(self.bytes(N)?)
            .map_err(|_| Error::InvalidToken("PAC logon info: truncated"))
    }

    fn u8(&mut self) -> Result<u8> {
        let [b] = self.array()?;
        Ok(b)
    }

    fn u16(&mut self) -> Result<u16> {
        self.align(2)?;
        Ok(u16::from_le_bytes(self.array()?))
    }

    fn u32(&mut self) -> Result<u32> {
        self.align(4)?;
        Ok(u32::from_le_bytes(self.array()?))
    }

    /// A FILETIME: two DWORDs (alignment 4), low first.
    fn filetime(&mut self) -> Result<u64> {
        let low = self.u32()?;
        let high = self.u32()?;
        Ok(u64::from(high) << 32 | u64::from(low))
    }

    /// A unique pointer's referent id: whether the pointee follows (deferred).
    fn pointer(&mut self) -> Result<bool> {
        Ok(self.u32()? != 0)
    }

    fn count(&mut self) -> Result<usize> {
        usize::try_from(self.u32()?).map_err(|_| Error::InvalidToken("PAC logon info: count"))
    }

    /// The conformance of an array of `count` elements of `size` bytes: the `MaximumCount`
    /// must equal `count` and the elements must fit in what is left (checked before anything
    /// is allocated from it).
    fn conformant(&mut self, count: usize, size: usize) -> Result<()> {
        if self.count()? != count {
            return Err(Error::InvalidToken("PAC logon info: array count mismatch"));
        }
        if count.checked_mul(size).is_none_or(|n| n > self.remaining()) {
            return Err(Error::InvalidToken("PAC logon info: array longer than the buffer"));
        }
        Ok(())
    }

    /// An RPC_SID (MS-DTYP 2.4.2.3) as a pointee: the conformance (`SubAuthorityCount`),
    /// `Revision` 1, `SubAuthorityCount` (at most 15), `IdentifierAuthority` (6 bytes,
    /// big-endian), `SubAuthority[]`.
    fn sid(&mut self) -> Result<Sid> {
        let max = self.count()?;
        let revision = self.u8()?;
        let count = usize::from(self.u8()?);
        if revision != 1 || count != max || count > MAX_SUB_AUTHORITIES {
            return Err(Error::InvalidToken("PAC logon info: malformed SID"));
        }
        let auth = self.bytes(6)?;
        let authority = auth.iter().fold(0u64, |acc, b| acc << 8 | u64::from(*b));
        let mut subs = Vec::with_capacity(count);
        for _ in 0..count {
            subs.push(self.u32()?);
        }
        Ok(Sid { authority, sub_authorities: subs })
    }
}

/// The fixed part of an RPC_UNICODE_STRING (MS-DTYP 2.3.10): `Length`, `MaximumLength` (in
/// bytes) and whether the buffer pointer is non-null.
#[derive(Clone, Copy)]
struct UnicodeString {
    len: u16,
    max: u16,
    present: bool,
}

impl UnicodeString {
    fn read(n: &mut Ndr<'_>) -> Result<Self> {
        let len = n.u16()?;
        let max = n.u16()?;
        let present = n.pointer()?;
        if len % 2 != 0 || len > max || (!present && len != 0) {
            return Err(Error::InvalidToken("PAC logon info: malformed string"));
        }
        Ok(Self { len, max, present })
    }

    /// The deferred buffer: a conformant varying array of WCHAR whose `MaximumCount`,
    /// `Offset` and `ActualCount` must agree with the fixed part.
    fn read_deferred(self, n: &mut Ndr<'_>) -> Result<String> {
        if !self.present {
            return Ok(String::new());
        }
        let max = n.count()?;
        let offset = n.u32()?;
        let actual = n.count()?;
        if max != usize::from(self.max / 2) || offset != 0 || actual != usize::from(self.len / 2) {
            return Err(Error::InvalidToken("PAC logon info: string counts mismatch"));
        }
        utf16(n.bytes(usize::from(self.len))?)
    }
}

/// KERB_VALIDATION_INFO (MS-PAC 2.5) inside its type serialization headers (MS-RPCE
/// 2.2.6.1 common header: version 1, little-endian 0x10, length 8, filler; 2.2.6.2 private
/// header: `ObjectBufferLength`, a multiple of 8, and filler), then the top-level referent
/// id and the structure, its pointees deferred in field order.
fn read_logon_info(data: &[u8]) -> Result<LogonInfo> {
    let mut r = Reader::new(data);
    let [version, endian] = r.array("PAC logon info header")?;
    if version != 1 || endian != 0x10 || r.u16("PAC logon info header")? != 8 {
        return Err(Error::InvalidToken("PAC logon info: not NDR type serialization v1 LE"));
    }
    r.u32("PAC logon info header")?;
    let object_len = usize::try_from(r.u32("PAC logon info ObjectBufferLength")?)
        .map_err(|_| Error::InvalidToken("PAC logon info: object length"))?;
    r.u32("PAC logon info header")?;
    if object_len % 8 != 0 || object_len > r.remaining() || r.remaining() - object_len >= 8 {
        return Err(Error::InvalidToken("PAC logon info: bad object buffer length"));
    }
    let object = r.take(object_len, "PAC logon info")?;
    let mut n = Ndr { buf: object, pos: 0 };
    if !n.pointer()? {
        return Err(Error::InvalidToken("PAC logon info: null top-level pointer"));
    }

    let logon_time = n.filetime()?;
    for _ in 0..5 {
        n.filetime()?; // LogoffTime .. PasswordMustChange
    }
    let effective_name = UnicodeString::read(&mut n)?;
    let full_name = UnicodeString::read(&mut n)?;
    let mut unread = [UnicodeString { len: 0, max: 0, present: false }; 4];
    for s in &mut unread {
        *s = UnicodeString::read(&mut n)?; // LogonScript .. HomeDirectoryDrive
    }
    n.u16()?; // LogonCount
    n.u16()?; // BadPasswordCount
    let user_id = n.u32()?;
    let primary_group_id = n.u32()?;
    let group_count = n.count()?;
    let groups_present = n.pointer()?;
    let user_flags = n.u32()?;
    n.bytes(16)?; // UserSessionKey
    let logon_server = UnicodeString::read(&mut n)?;
    let domain_name = UnicodeString::read(&mut n)?;
    let domain_sid_present = n.pointer()?;
    n.u32()?; // Reserved1[0]
    n.u32()?; // Reserved1[1]
    n.u32()?; // UserAccountControl
    n.u32()?; // SubAuthStatus
    n.filetime()?; // LastSuccessfulILogon
    n.filetime()?; // LastFailedILogon
    n.u32()?; // FailedILogonCount
    n.u32()?; // Reserved3
    let sid_count = n.count()?;
    let extra_present = n.pointer()?;
    let resource_domain_present = n.pointer()?;
    let resource_count = n.count()?;
    let resource_present = n.pointer()?;

    // Deferred pointees, in the order of their pointers.
    let user_name = effective_name.read_deferred(&mut n)?;
    let full_name = full_name.read_deferred(&mut n)?;
    for s in unread {
        s.read_deferred(&mut n)?;
    }
    let groups = read_group_memberships(&mut n, groups_present, group_count)?;
    let logon_server = logon_server.read_deferred(&mut n)?;
    let domain_name = domain_name.read_deferred(&mut n)?;
    if !domain_sid_present {
        return Err(Error::InvalidToken("PAC logon info: no LogonDomainId"));
    }
    let domain_sid = n.sid()?;
    let extra = read_extra_sids(&mut n, extra_present, sid_count)?;
    let resource_domain = if resource_domain_present { Some(n.sid()?) } else { None };
    let resources = read_group_memberships(&mut n, resource_present, resource_count)?;
    if n.remaining() >= 8 {
        return Err(Error::InvalidToken("PAC logon info: trailing bytes"));
    }

    let user_sid = domain_sid.with_rid(user_id)?;
    let primary_group_sid = domain_sid.with_rid(primary_group_id)?;
    let mut group_sids = Vec::with_capacity(groups.len());
    let mut group_attributes = Vec::with_capacity(groups.len());
    for (rid, attributes) in groups {
        group_sids.push(domain_sid.with_rid(rid)?);
        group_attributes.push(attributes);
    }
    let (extra_sids, extra_sid_attributes) = if user_flags & LOGON_EXTRA_SIDS != 0 {
        extra.into_iter().unzip()
    } else {
        (Vec::new(), Vec::new())
    };
    let mut resource_group_sids = Vec::new();
    let mut resource_group_attributes = Vec::new();
    if user_flags & LOGON_RESOURCE_GROUPS != 0 {
        if let Some(domain) = &resource_domain {
            for (rid, attributes) in resources {
                resource_group_sids.push(domain.with_rid(rid)?);
                resource_group_attributes.push(attributes);
            }
        } else if !resources.is_empty() {
            return Err(Error::InvalidToken("PAC logon info: resource groups without domain"));
        }
    }
    Ok(LogonInfo {
        user_name,
        full_name,
        domain_name,
        logon_server,
        domain_sid,
        user_sid,
        primary_group_sid,
        group_sids,
        group_attributes,
        extra_sids,
        extra_sid_attributes,
        resource_group_sids,
        resource_group_attributes,
        logon_time,
        user_flags,
    })
}

/// A deferred array of GROUP_MEMBERSHIP (MS-PAC 2.2.2: `RelativeId`, `Attributes`). A null
/// pointer requires a zero count.
fn read_group_memberships(n: &mut Ndr<'_>, present: bool, count: usize) -> Result<Vec<(u32, u32)>> {
    if !present {
        if count != 0 {
            return Err(Error::InvalidToken("PAC logon info: group count without groups"));
        }
        return Ok(Vec::new());
    }
    n.conformant(count, 8)?;
    let mut out = Vec::with_capacity(count);
    for _ in 0..count {
        let rid = n.u32()?;
        out.push((rid, n.u32()?));
    }
    Ok(out)
}

/// A deferred array of KERB_SID_AND_ATTRIBUTES (MS-PAC 2.2.1: `Sid` pointer, `Attributes`),
/// then the SIDs, deferred in array order. A null SID pointer is refused.
fn read_extra_sids(n: &mut Ndr<'_>, present: bool, count: usize) -> Result<Vec<(Sid, u32)>> {
    if !present {
        if count != 0 {
            return Err(Error::InvalidToken("PAC logon info: SidCount without ExtraSids"));
        }
        return Ok(Vec::new());
    }
    n.conformant(count, 8)?;
    let mut attributes = Vec::with_capacity(count);
    for _ in 0..count {
        if !n.pointer()? {
            return Err(Error::InvalidToken("PAC logon info: null extra SID"));
        }
        attributes.push(n.u32()?);
    }
    // Each SID takes at least 12 bytes: bounded by what is left, as the array was.
    let mut out = Vec::with_capacity(count.min(n.remaining() / 12));
    for a in attributes {
        out.push((n.sid()?, a));
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------
// Building a PAC (for tests)
// ---------------------------------------------------------------------------------------

/// An NDR writer mirroring [`Ndr`], for [`dangerous_build_for_tests`].
struct NdrOut {
    buf: Vec<u8>,
    referent: u32,
}

impl NdrOut {
    fn align(&mut self, n: usize) {
        while !self.buf.len().is_multiple_of(n) {
            self.buf.push(0);
        }
    }
    fn u16(&mut self, v: u16) {
        self.align(2);
        self.buf.extend_from_slice(&v.to_le_bytes());
    }
    fn u32(&mut self, v: u32) {
        self.align(4);
        self.buf.extend_from_slice(&v.to_le_bytes());
    }
    fn filetime(&mut self, v: u64) {
        let [a, b, c, d, e, f, g, h] = v.to_le_bytes();
        self.u32(u32::from_le_bytes([a, b, c, d]));
        self.u32(u32::from_le_bytes([e, f, g, h]));
    }
    /// Windows numbers referents 0x00020000, 0x00020004, ...
    fn pointer(&mut self, present: bool) {
        if present {
            self.referent += 4;
            let r = self.referent;
            self.u32(r);
        } else {
            self.u32(0);
        }
    }
    fn count(&mut self, n: usize) -> Result<()> {
        self.u32(u32::try_from(n).map_err(|_| Error::InvalidParameter("count"))?);
        Ok(())
    }
    fn string_header(&mut self, s: &[u16]) -> Result<()> {
        let bytes = u16::try_from(s.len() * 2).map_err(|_| Error::InvalidParameter("name"))?;
        self.u16(bytes);
        self.u16(bytes);
        self.pointer(true);
        Ok(())
    }
    fn string_deferred(&mut self, s: &[u16]) -> Result<()> {
        self.count(s.len())?;
        self.u32(0);
        self.count(s.len())?;
        for c in s {
            self.u16(*c);
        }
        Ok(())
    }
    fn sid(&mut self, sid: &Sid) -> Result<()> {
        self.count(sid.sub_authorities.len())?;
        sid.write_body(&mut self.buf);
        Ok(())
    }
}

fn split_domain<'a>(sids: impl IntoIterator<Item = &'a Sid>) -> Result<(Option<Sid>, Vec<u32>)> {
    let mut domain: Option<Sid> = None;
    let mut rids = Vec::new();
    for sid in sids {
        let (d, rid) = sid.split_rid().ok_or(Error::InvalidParameter("SID without a RID"))?;
        match &domain {
            Some(known) if *known != d => {
                return Err(Error::InvalidParameter("group SIDs of different domains"));
            }
            _ => domain = Some(d),
        }
        rids.push(rid);
    }
    Ok((domain, rids))
}

/// The KERB_VALIDATION_INFO buffer (with its serialization headers) for `info`: the fields
/// MS-PAC 2.5 names and [`LogonInfo`] has, every other one zero, empty or "never".
fn write_logon_info(info: &LogonInfo) -> Result<Vec<u8>> {
    let attrs_match = info.group_sids.len() == info.group_attributes.len()
        && info.extra_sids.len() == info.extra_sid_attributes.len()
        && info.resource_group_sids.len() == info.resource_group_attributes.len();
    if !attrs_match {
        return Err(Error::InvalidParameter("SIDs and attributes of different lengths"));
    }
    let (user_domain, user_rid) =
        info.user_sid.split_rid().ok_or(Error::InvalidParameter("user SID without a RID"))?;
    let (_, primary_rid) =
        info.primary_group_sid.split_rid().ok_or(Error::InvalidParameter("group SID"))?;
    let (group_domain, group_rids) = split_domain(&info.group_sids)?;
    let same = |d: &Sid| *d == info.domain_sid;
    let primary_domain = info.primary_group_sid.split_rid().map(|(d, _)| d);
    if !same(&user_domain)
        || !primary_domain.as_ref().is_some_and(same)
        || !group_domain.as_ref().is_none_or(same)
    {
        return Err(Error::InvalidParameter("user and groups must be in the logon domain"));
    }
    let (resource_domain, resource_rids) = split_domain(&info.resource_group_sids)?;
    let mut flags = info.user_flags & !(LOGON_EXTRA_SIDS | LOGON_RESOURCE_GROUPS);
    if !info.extra_sids.is_empty() {
        flags |= LOGON_EXTRA_SIDS;
    }
    if resource_domain.is_some() {
        flags |= LOGON_RESOURCE_GROUPS;
    }
    let wide = |s: &str| s.encode_utf16().collect::<Vec<u16>>();
    let (user, full, server, domain) = (
        wide(&info.user_name),
        wide(&info.full_name),
        wide(&info.logon_server),
        wide(&info.domain_name),
    );
    const NEVER: u64 = 0x7fff_ffff_ffff_ffff;
    let mut n = NdrOut { buf: Vec::new(), referent: 0x0001_fffc };
    n.pointer(true);
    for t in [info.logon_time, NEVER, NEVER, 0, 0, NEVER] {
        n.filetime(t);
    }
    n.string_header(&user)?;
    n.string_header(&full)?;
    for _ in 0..4 {
        n.string_header(&[])?;
    }
    n.u16(0);
    n.u16(0);
    n.u32(user_rid);
    n.u32(primary_rid);
    n.count(group_rids.len())?;
    n.pointer(true);
    n.u32(flags);
    n.buf.extend_from_slice(&[0; 16]);
    n.string_header(&server)?;
    n.string_header(&domain)?;
    n.pointer(true);
    n.u32(0);
    n.u32(0);
    n.u32(0x10); // USER_NORMAL_ACCOUNT
    n.u32(0);
    n.filetime(0);
    n.filetime(0);
    n.u32(0);
    n.u32(0);
    n.count(info.extra_sids.len())?;
    n.pointer(!info.extra_sids.is_empty());
    n.pointer(resource_domain.is_some());
    n.count(resource_rids.len())?;
    n.pointer(resource_domain.is_some());

    n.string_deferred(&user)?;
    n.string_deferred(&full)?;
    for _ in 0..4 {
        n.string_deferred(&[])?;
    }
    n.count(group_rids.len())?;
    for (rid, a) in group_rids.iter().zip(&info.group_attributes) {
        n.u32(*rid);
        n.u32(*a);
    }
    n.string_deferred(&server)?;
    n.string_deferred(&domain)?;
    n.sid(&info.domain_sid)?;
    if !info.extra_sids.is_empty() {
        n.count(info.extra_sids.len())?;
        for a in &info.extra_sid_attributes {
            n.pointer(true);
            n.u32(*a);
        }
        for sid in &info.extra_sids {
            n.sid(sid)?;
        }
    }
    if let Some(domain) = &resource_domain {
        n.sid(domain)?;
        n.count(resource_rids.len())?;
        for (rid, a) in resource_rids.iter().zip(&info.resource_group_attributes) {
            n.u32(*rid);
            n.u32(*a);
        }
    }
    n.align(8);
    let object_len = u32::try_from(n.buf.len()).map_err(|_| Error::InvalidParameter("size"))?;
    let mut out = vec![1, 0x10, 8, 0, 0xcc, 0xcc, 0xcc, 0xcc];
    out.extend_from_slice(&object_len.to_le_bytes());
    out.extend_from_slice(&[0; 4]);
    out.extend_from_slice(&n.buf);
    Ok(out)
}

/// Builds a signed PAC for tests: the logon info of `logon` (if any), a PAC_CLIENT_INFO
/// for `client_name` and `auth_time_unix`, and the server and KDC signatures made with
/// `server_key` and `krbtgt_key` (MS-PAC 2.8.1, 2.8.2), in the layout Windows uses (logon
/// info, client info, server signature, KDC signature, each 8-byte aligned). For the lead's
/// acceptor tests and the fuzz seeds; a real PAC comes from the KDC.
///
/// # Errors
/// [`Error::InvalidParameter`] for SIDs that do not fit the logon info's shape (user and
/// groups outside `domain_sid`, resource groups of several domains, attribute vectors of
/// other lengths) or names too long; the key errors of [`make_checksum`].
#[doc(hidden)]
pub fn dangerous_build_for_tests(
    logon: Option<&LogonInfo>,
    client_name: &str,
    auth_time_unix: u32,
    server_key: &Key,
    krbtgt_key: &Key,
) -> Result<Vec<u8>> {
    let sig_buffer = |key: &Key| -> Result<Vec<u8>> {
        let t = checksum_type(key.etype()).ok_or(Error::NotSupported("enctype"))?;
        let len = DerivedKeys::new(key, PAC_CHECKSUM_USAGE)?.checksum_len();
        let mut b = t.to_le_bytes().to_vec();
        b.resize(4 + len, 0);
        Ok(b)
    };
    let mut client =
        ((u64::from(auth_time_unix) + UNIX_EPOCH_SECONDS) * 10_000_000).to_le_bytes().to_vec();
    let name: Vec<u8> = client_name.encode_utf16().flat_map(u16::to_le_bytes).collect();
    client.extend_from_slice(
        &u16::try_from(name.len()).map_err(|_| Error::InvalidParameter("name"))?.to_le_bytes(),
    );
    client.extend_from_slice(&name);
    let mut buffers = Vec::new();
    if let Some(info) = logon {
        buffers.push((buffer_type::LOGON_INFO, write_logon_info(info)?));
    }
    buffers.push((buffer_type::CLIENT_INFO, client));
    buffers.push((buffer_type::SERVER_CHECKSUM, sig_buffer(server_key)?));
    buffers.push((buffer_type::KDC_CHECKSUM, sig_buffer(krbtgt_key)?));

    let count = u32::try_from(buffers.len()).map_err(|_| Error::InvalidParameter("count"))?;
    let mut pac = Vec::new();
    pac.extend_from_slice(&count.to_le_bytes());
    pac.extend_from_slice(&0u32.to_le_bytes());
    let mut offset = 8 + 16 * buffers.len();
    let mut placed = Vec::new();
    for (t, data) in &buffers {
        pac.extend_from_slice(&t.to_le_bytes());
        let len = u32::try_from(data.len()).map_err(|_| Error::InvalidParameter("size"))?;
        pac.extend_from_slice(&len.to_le_bytes());
        let wide_offset = u64::try_from(offset).map_err(|_| Error::InvalidParameter("size"))?;
        pac.extend_from_slice(&wide_offset.to_le_bytes());
        placed.push((*t, offset, data.len()));
        offset += data.len().div_ceil(8) * 8;
    }
    for (_, data) in &buffers {
        pac.extend_from_slice(data);
        pac.resize(pac.len().div_ceil(8) * 8, 0);
    }
    let range =
        |want: u32| placed.iter().find(|(t, ..)| *t == want).map(|(_, o, l)| (o + 4)..(o + l));
    let server = range(buffer_type::SERVER_CHECKSUM).ok_or(Error::InvalidParameter("layout"))?;
    let kdc = range(buffer_type::KDC_CHECKSUM).ok_or(Error::InvalidParameter("layout"))?;
    let server_sig = make_checksum(server_key, PAC_CHECKSUM_USAGE, &pac)?;
    pac.get_mut(server.clone())
        .ok_or(Error::InvalidParameter("layout"))?
        .copy_from_slice(&server_sig);
    let kdc_sig = make_checksum(krbtgt_key, PAC_CHECKSUM_USAGE, &server_sig)?;
    pac.get_mut(kdc).ok_or(Error::InvalidParameter("layout"))?.copy_from_slice(&kdc_sig);
    Ok(pac)
}

/// `pac` wrapped as a ticket carries it: an `AD-IF-RELEVANT` element whose data is the DER
/// `AuthorizationData` holding one `AD-WIN2K-PAC` element (what [`find_pac`] looks for).
#[doc(hidden)]
pub fn dangerous_if_relevant_for_tests(pac: &[u8]) -> AuthData {
    fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
        let mut out = vec![tag];
        match u8::try_from(content.len()) {
            Ok(len) if len < 0x80 => out.push(len),
            _ => {
                // A PAC is below 64 KiB; any usize fits 8 length octets.
                let bytes = content.len().to_be_bytes();
                let skip = bytes.iter().take_while(|b| **b == 0).count();
                let octets = bytes.get(skip..).unwrap_or_default();
                out.push(0x80 | u8::try_from(octets.len()).unwrap_or(0));
                out.extend_from_slice(octets);
            }
        }
        out.extend_from_slice(content);
        out
    }
    // ad-type 128 as a minimal DER INTEGER: 02 02 00 80.
    let element = [tlv(0xa0, &tlv(0x02, &[0x00, 0x80])), tlv(0xa1, &tlv(0x04, pac))].concat();
    AuthData { ad_type: AD_IF_RELEVANT, data: tlv(0x30, &tlv(0x30, &element)) }
}

#[cfg(test)]
mod tests;
