//! The security packages, as data: their names, `SecPkgInfo` and `SecPkgContext_Sizes`.
//!
//! Plain data below every package, so that each package describes itself here without
//! importing from the layer that dispatches to it ([`crate::api`]).

use crate::error::{Error, Result};

/// A security package sspi-emu implements.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Package {
    /// NTLM (MS-NLMP): credentials and security contexts.
    Ntlm,
    /// Kerberos (RFC 4120, RFC 4121, MS-KILE): credentials (tickets from a KDC, keytabs,
    /// credential caches) and security contexts.
    Kerberos,
}

impl Package {
    /// Every package of this build.
    pub const ALL: [Package; 2] = [Package::Ntlm, Package::Kerberos];

    /// The package's name, as `AcquireCredentialsHandle` takes it.
    pub const fn name(self) -> &'static str {
        match self {
            Package::Ntlm => "NTLM",
            Package::Kerberos => "Kerberos",
        }
    }

    /// The package of that name (compared ignoring ASCII case, as Windows does).
    ///
    /// # Errors
    /// [`Error::PackageNotFound`] (`SEC_E_SECPKG_NOT_FOUND`) for any other name.
    pub fn from_name(name: &str) -> Result<Package> {
        Package::ALL
            .into_iter()
            .find(|p| p.name().eq_ignore_ascii_case(name))
            .ok_or_else(|| Error::PackageNotFound(name.to_owned()))
    }

    /// Whether security contexts of this package exist in this build (what
    /// `EnumerateSecurityPackages` lists).
    pub fn has_contexts(self) -> bool {
        matches!(self, Package::Ntlm | Package::Kerberos)
    }

    /// The packages whose security contexts exist in this build.
    pub fn with_contexts() -> impl Iterator<Item = Package> {
        Package::ALL.into_iter().filter(|p| p.has_contexts())
    }

    /// `SecPkgInfo` of the package.
    pub fn info(self) -> PackageInfo {
        match self {
            Package::Ntlm => PackageInfo::ntlm(),
            Package::Kerberos => PackageInfo::kerberos(),
        }
    }
}

/// `SecPkgInfo`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackageInfo {
    /// `fCapabilities` (`SECPKG_FLAG_*`).
    pub capabilities: u32,
    /// `wVersion`.
    pub version: u16,
    /// `wRPCID`.
    pub rpc_id: u16,
    /// `cbMaxToken`.
    pub max_token: u32,
    /// `Name`.
    pub name: &'static str,
    /// `Comment`.
    pub comment: &'static str,
}

impl PackageInfo {
    /// The NTLM package.
    pub fn ntlm() -> Self {
        // SECPKG_FLAG_INTEGRITY | PRIVACY | TOKEN_ONLY | CONNECTION | MULTI_REQUIRED |
        // IMPERSONATION | ACCEPT_WIN32_NAME | NEGOTIABLE | LOGON | RESTRICTED_TOKENS |
        // APPCONTAINER_CHECKS, as Windows reports for NTLM.
        Self {
            capabilities: 0x0008_2B37,
            version: 1,
            rpc_id: 10, // RPC_C_AUTHN_WINNT
            max_token: 2888,
            name: Package::Ntlm.name(),
            comment: "NTLM Security Package",
        }
    }

    /// The Kerberos package, with the values Windows 10 and later report.
    pub fn kerberos() -> Self {
        // SECPKG_FLAG_INTEGRITY | PRIVACY | TOKEN_ONLY | DATAGRAM | CONNECTION |
        // MULTI_REQUIRED | EXTENDED_ERROR | IMPERSONATION | ACCEPT_WIN32_NAME | NEGOTIABLE |
        // GSS_COMPATIBLE | LOGON | MUTUAL_AUTH | DELEGATION | READONLY_WITH_CHECKSUM |
        // RESTRICTED_TOKENS.
        Self {
            capabilities: 0x000F_3BBF,
            version: 1,
            rpc_id: 16, // RPC_C_AUTHN_GSS_KERBEROS
            max_token: 48_000,
            name: Package::Kerberos.name(),
            comment: "Microsoft Kerberos V1.0",
        }
    }
}

/// `SecPkgContext_Sizes`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sizes {
    /// Largest token of the handshake.
    pub max_token: u32,
    /// Size of a signature (`make_signature`).
    pub max_signature: u32,
    /// Block size of the cipher (0: RC4 is a stream cipher).
    pub block_size: u32,
    /// Size of the security trailer of a sealed message.
    pub security_trailer: u32,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packages_are_found_by_name_ignoring_case() {
        assert_eq!(Package::from_name("ntlm"), Ok(Package::Ntlm));
        assert_eq!(Package::from_name("KERBEROS"), Ok(Package::Kerberos));
        assert_eq!(
            Package::from_name("Negotiate"),
            Err(Error::PackageNotFound("Negotiate".into()))
        );
        for p in Package::ALL {
            assert_eq!(p.info().name, p.name());
        }
        assert_eq!(
            Package::with_contexts().collect::<Vec<_>>(),
            [Package::Ntlm, Package::Kerberos]
        );
    }

    #[test]
    fn ntlm_info_matches_the_package() {
        assert_eq!(usize::try_from(PackageInfo::ntlm().max_token), Ok(crate::ntlm::MAX_TOKEN_SIZE));
        assert_eq!(PackageInfo::ntlm().name, crate::ntlm::PACKAGE_NAME);
    }
}
