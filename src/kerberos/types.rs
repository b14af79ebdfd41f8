//! Types shared by every part of the Kerberos package.

use crate::crypto::SecretBytes;
use crate::error::{Error, Result};
use core::fmt;
use subtle::ConstantTimeEq;

/// A Kerberos encryption type number (RFC 3961 section 8; the IANA "Kerberos Encryption Type
/// Numbers" registry). A newtype, so unknown numbers (from a keytab or a KDC) survive.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EncType(pub i32);

impl EncType {
    /// `aes128-cts-hmac-sha1-96` (RFC 3962).
    pub const AES128_CTS_HMAC_SHA1_96: Self = Self(17);
    /// `aes256-cts-hmac-sha1-96` (RFC 3962).
    pub const AES256_CTS_HMAC_SHA1_96: Self = Self(18);
    /// `aes128-cts-hmac-sha256-128` (RFC 8009).
    pub const AES128_CTS_HMAC_SHA256_128: Self = Self(19);
    /// `aes256-cts-hmac-sha384-192` (RFC 8009).
    pub const AES256_CTS_HMAC_SHA384_192: Self = Self(20);
    /// `rc4-hmac` (RFC 4757), for older Active Directory.
    pub const RC4_HMAC: Self = Self(23);

    /// The name MIT uses in `krb5.conf` and `klist -e`, for the types sspi-emu implements.
    pub fn name(self) -> Option<&'static str> {
        Some(match self {
            Self::AES128_CTS_HMAC_SHA1_96 => "aes128-cts-hmac-sha1-96",
            Self::AES256_CTS_HMAC_SHA1_96 => "aes256-cts-hmac-sha1-96",
            Self::AES128_CTS_HMAC_SHA256_128 => "aes128-cts-hmac-sha256-128",
            Self::AES256_CTS_HMAC_SHA384_192 => "aes256-cts-hmac-sha384-192",
            Self::RC4_HMAC => "arcfour-hmac",
            _ => return None,
        })
    }
}

impl fmt::Debug for EncType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(name) => write!(f, "{name}({})", self.0),
            None => write!(f, "EncType({})", self.0),
        }
    }
}

/// A Kerberos key: an encryption type and the key bytes (a long-term key from a password or a
/// keytab, or a session key). Secret: wiped on drop, no `Debug` of the bytes, no `PartialEq`
/// (compare with [`Key::ct_eq`]).
#[derive(Clone)]
pub struct Key {
    etype: EncType,
    bytes: SecretBytes,
}

impl Key {
    /// A key of `etype` with these bytes. The length is checked against the enctype when the
    /// key is used (a keytab may hold keys of types sspi-emu does not implement; they are kept).
    pub fn new(etype: EncType, bytes: &[u8]) -> Self {
        let mut secret = SecretBytes(Vec::with_capacity(bytes.len()));
        secret.extend_from_slice(bytes);
        Self { etype, bytes: secret }
    }

    /// The encryption type.
    pub fn etype(&self) -> EncType {
        self.etype
    }

    /// The key bytes. Handing out key material is dangerous: the caller must keep it secret
    /// and wipe any copy.
    pub fn dangerous_bytes(&self) -> &[u8] {
        &self.bytes
    }

    #[allow(dead_code)] // kerberos::crypto uses it
    pub(crate) fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// Constant-time comparison of type and bytes (the length is not secret).
    pub fn ct_eq(&self, other: &Key) -> bool {
        self.etype == other.etype
            && self.bytes.len() == other.bytes.len()
            && bool::from(self.bytes.as_slice().ct_eq(other.bytes.as_slice()))
    }
}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Key({:?}, <redacted>)", self.etype)
    }
}

/// A principal name type (RFC 4120 section 6.2). A newtype: unknown values survive.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct NameType(pub i32);

impl NameType {
    /// `NT-UNKNOWN`.
    pub const UNKNOWN: Self = Self(0);
    /// `NT-PRINCIPAL`: a user or a plain service name.
    pub const PRINCIPAL: Self = Self(1);
    /// `NT-SRV-INST`: a service and an instance (`krbtgt/REALM`).
    pub const SRV_INST: Self = Self(2);
    /// `NT-SRV-HST`: a service and a host name (`HTTP/web.example.test`).
    pub const SRV_HST: Self = Self(3);
    /// `NT-ENTERPRISE` (RFC 6806): `user@upn.suffix` as one component.
    pub const ENTERPRISE: Self = Self(10);
}

/// A principal name without its realm (RFC 4120 section 5.2.2).
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub struct PrincipalName {
    /// The name type.
    pub name_type: NameType,
    /// The components (`["HTTP", "web.example.test"]`).
    pub components: Vec<String>,
}

/// A principal: a name and its realm.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub struct Principal {
    /// The name.
    pub name: PrincipalName,
    /// The realm (`EXAMPLE.TEST`).
    pub realm: String,
}

impl Principal {
    /// A principal from its components and realm.
    pub fn new(name_type: NameType, components: &[&str], realm: &str) -> Self {
        Self {
            name: PrincipalName {
                name_type,
                components: components.iter().map(|c| (*c).to_owned()).collect(),
            },
            realm: realm.to_owned(),
        }
    }

    /// Parses MIT's text form `comp1/comp2@REALM` (backslash escapes `\/`, `\@`, `\\`). Without a
    /// realm, `default_realm` is used. The name type is `NT-PRINCIPAL` for one component,
    /// `NT-SRV-INST` for `krbtgt/...`, else `NT-SRV-HST` for two components and `NT-PRINCIPAL`
    /// otherwise.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for an empty name or component, a trailing backslash, or no
    /// realm at all.
    pub fn parse(text: &str, default_realm: Option<&str>) -> Result<Self> {
        let mut components = Vec::new();
        let mut current = String::new();
        let mut realm: Option<String> = None;
        let mut chars = text.chars();
        while let Some(c) = chars.next() {
            let in_realm = realm.is_some();
            let c = match c {
                '\\' => match chars.next() {
                    Some('n') => '\n',
                    Some('t') => '\t',
                    Some('b') => '\u{8}',
                    Some('0') => '\0',
                    Some(other) => other,
                    None => return Err(Error::InvalidParameter("principal name ends in '\\'")),
                },
                '/' if !in_realm => {
                    components.push(core::mem::take(&mut current));
                    continue;
                }
                '@' if !in_realm => {
                    components.push(core::mem::take(&mut current));
                    realm = Some(String::new());
                    continue;
                }
                c => c,
            };
            match realm.as_mut() {
                Some(realm) => realm.push(c),
                None => current.push(c),
            }
        }
        if realm.is_none() {
            components.push(current);
        }
        if components.iter().any(String::is_empty) {
            return Err(Error::InvalidParameter("empty principal name component"));
        }
        let realm = match realm {
            Some(realm) if !realm.is_empty() => realm,
            Some(_) => return Err(Error::InvalidParameter("empty realm in principal name")),
            None => default_realm
                .filter(|r| !r.is_empty())
                .ok_or(Error::InvalidParameter(
                    "principal name has no realm and there is no default realm",
                ))?
                .to_owned(),
        };
        let name_type = match components.as_slice() {
            [_] => NameType::PRINCIPAL,
            [first, _] if first == "krbtgt" => NameType::SRV_INST,
            [_, _] => NameType::SRV_HST,
            _ => NameType::PRINCIPAL,
        };
        Ok(Self { name: PrincipalName { name_type, components }, realm })
    }

    /// The ticket-granting service of `realm` (`krbtgt/REALM@REALM`).
    pub fn krbtgt(realm: &str) -> Self {
        Self::new(NameType::SRV_INST, &["krbtgt", realm], realm)
    }
}

impl fmt::Display for Principal {
    /// MIT's text form, with `/` and `@` inside a component escaped.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fn escaped(f: &mut fmt::Formatter<'_>, s: &str) -> fmt::Result {
            for c in s.chars() {
                match c {
                    '/' | '@' | '\\' => write!(f, "\\{c}")?,
                    c => write!(f, "{c}")?,
                }
            }
            Ok(())
        }
        for (i, component) in self.name.components.iter().enumerate() {
            if i > 0 {
                f.write_str("/")?;
            }
            escaped(f, component)?;
        }
        f.write_str("@")?;
        escaped(f, &self.realm)
    }
}

/// A host address (RFC 4120 section 5.2.5), as carried in tickets and credential caches.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct HostAddress {
    /// The address type (2: IPv4, 24: IPv6, ...).
    pub addr_type: i32,
    /// The address bytes.
    pub address: Vec<u8>,
}

/// An authorization-data element (RFC 4120 section 5.2.6).
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct AuthData {
    /// The type (1: AD-IF-RELEVANT, 128: AD-WIN2K-PAC, ...).
    pub ad_type: i32,
    /// The contents.
    pub data: Vec<u8>,
}

/// A ticket and what the client knows about it: what a credential cache holds and what the
/// AS and TGS exchanges produce. Times are seconds since the Unix epoch, as in a ccache; 0
/// means absent.
#[derive(Clone, Debug)]
pub struct Credential {
    /// Who the ticket is for (the client).
    pub client: Principal,
    /// The service the ticket is for.
    pub server: Principal,
    /// The session key shared with `server`.
    pub session_key: Key,
    /// When the client first authenticated.
    pub auth_time: u32,
    /// When the ticket becomes valid (0: from `auth_time`).
    pub start_time: u32,
    /// When the ticket expires.
    pub end_time: u32,
    /// Until when it can be renewed (0: not renewable).
    pub renew_till: u32,
    /// Whether this is a user-to-user ticket encrypted in a session key.
    pub is_skey: bool,
    /// The ticket flags (RFC 4120 section 5.3), as a 32-bit big-endian bit string read as
    /// a number (bit 0, `reserved`, is the most significant).
    pub ticket_flags: u32,
    /// The addresses the ticket is bound to (usually none).
    pub addresses: Vec<HostAddress>,
    /// Authorization data.
    pub auth_data: Vec<AuthData>,
    /// The ticket, DER-encoded (`Ticket ::= [APPLICATION 1] ...`).
    pub ticket: Vec<u8>,
    /// The second ticket (user-to-user), DER-encoded, usually empty.
    pub second_ticket: Vec<u8>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn principals_parse_and_print() {
        let p = Principal::parse("HTTP/web.example.test@EXAMPLE.TEST", None).unwrap();
        assert_eq!(p.name.components, ["HTTP", "web.example.test"]);
        assert_eq!(p.name.name_type, NameType::SRV_HST);
        assert_eq!(p.realm, "EXAMPLE.TEST");
        assert_eq!(p.to_string(), "HTTP/web.example.test@EXAMPLE.TEST");
        let alice = Principal::parse("alice", Some("EXAMPLE.TEST")).unwrap();
        assert_eq!(alice, Principal::new(NameType::PRINCIPAL, &["alice"], "EXAMPLE.TEST"));
        assert_eq!(Principal::parse("krbtgt/A@A", None).unwrap(), Principal::krbtgt("A"));
        let odd = Principal::parse(r"a\/b\@c@R", None).unwrap();
        assert_eq!(odd.name.components, ["a/b@c"]);
        assert_eq!(odd.to_string(), r"a\/b\@c@R");
        for bad in ["", "alice@", "/x@R", "a//b@R", "a\\"] {
            assert!(Principal::parse(bad, Some("R")).is_err(), "{bad:?}");
        }
        assert!(Principal::parse("alice", None).is_err());
    }

    #[test]
    fn keys_compare_in_constant_time_and_never_print() {
        let a = Key::new(EncType::AES128_CTS_HMAC_SHA1_96, &[7; 16]);
        let b = Key::new(EncType::AES128_CTS_HMAC_SHA1_96, &[7; 16]);
        let c = Key::new(EncType::AES128_CTS_HMAC_SHA1_96, &[8; 16]);
        assert!(a.ct_eq(&b) && !a.ct_eq(&c));
        assert!(!a.ct_eq(&Key::new(EncType::RC4_HMAC, &[7; 16])));
        assert_eq!(format!("{a:?}"), "Key(aes128-cts-hmac-sha1-96(17), <redacted>)");
    }
}
