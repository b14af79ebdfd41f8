//! The Kerberos package, part 1: what the security contexts stand on.
//!
//! - [`crypto`]: the RFC 3961 framework and its encryption types (RFC 3962, RFC 8009, RFC 4757).
//! - [`keytab`]: MIT keytab files (format v2), read and written.
//! - [`ccache`]: FILE credential caches (versions 3 and 4), read and written.
//! - [`config`]: the `krb5.conf` file (MIT profile syntax).
//! - [`kdc`]: the AS and TGS exchanges, sans-IO (request bytes out, reply bytes in).
//! - [`transport`]: a blocking TCP/UDP transport to the KDC, with timeouts, and
//!   [`transport::KdcClient`], which gets tickets with it.
//! - [`credentials`]: initiator credentials (a password, a client keytab, or the user's
//!   credential cache) and the tickets they obtain: what `AcquireCredentialsHandle` for
//!   Kerberos outbound returns.
//!
//! Kerberos security contexts (AP-REQ/AP-REP, message security, export) are not in this
//! build yet: an initiator or acceptor context of Kerberos credentials is
//! `SEC_E_UNSUPPORTED_FUNCTION`.
//!
//! The types every one of them shares live in this module: [`EncType`], [`Key`],
//! [`PrincipalName`], [`Principal`] and [`Credential`] (a ticket with its session key).

pub mod ccache;
pub mod config;
pub mod credentials;
pub mod crypto;
pub mod kdc;
pub mod keytab;
pub mod transport;
mod types;

pub use types::{
    AuthData, Credential, EncType, HostAddress, Key, NameType, Principal, PrincipalName,
};

use crate::status::SecurityStatus;

/// The status a KRB-ERROR code from the KDC maps to (RFC 4120 section 7.5.9 codes; the
/// mapping follows what Windows' Kerberos SSP returns). Called by [`crate::status`] only.
pub(crate) fn kdc_error_status(code: i32) -> SecurityStatus {
    match code {
        // KDC_ERR_C_PRINCIPAL_UNKNOWN, KDC_ERR_PREAUTH_FAILED, KRB_AP_ERR_BAD_INTEGRITY,
        // KDC_ERR_CLIENT_REVOKED, KDC_ERR_KEY_EXPIRED
        6 | 24 | 31 | 18 | 23 => SecurityStatus::SEC_E_LOGON_DENIED,
        // KDC_ERR_S_PRINCIPAL_UNKNOWN
        7 => SecurityStatus::SEC_E_TARGET_UNKNOWN,
        // KRB_AP_ERR_SKEW
        37 => SecurityStatus::SEC_E_TIME_SKEW,
        // KDC_ERR_ETYPE_NOSUPP
        14 => SecurityStatus::SEC_E_UNSUPPORTED_FUNCTION,
        _ => SecurityStatus::SEC_E_INTERNAL_ERROR,
    }
}
