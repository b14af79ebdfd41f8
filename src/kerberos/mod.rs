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
//! - [`gss`]: the GSS-API framing of the handshake tokens and the authenticator checksum
//!   (RFC 2743, RFC 4121 section 4.1).
//! - [`ap`]: the AP exchange (AP-REQ, AP-REP) and its checks, sans-IO.
//! - [`message`]: the RFC 4121 MIC and Wrap tokens of established contexts.
//! - [`replay`]: the acceptor's replay cache.
//! - `context`: the initiator and acceptor security contexts (used through
//!   [`crate::SecurityContext`]).
//!
//! The types every one of them shares live in this module: [`EncType`], [`Key`],
//! [`PrincipalName`], [`Principal`] and [`Credential`] (a ticket with its session key).

pub mod ap;
pub mod ccache;
pub mod config;
pub(crate) mod context;
pub mod cred;
pub mod credentials;
pub mod crypto;
pub(crate) mod export;
pub mod gss;
pub mod kdc;
pub mod keytab;
pub mod message;
pub mod pac;
pub mod replay;
#[doc(hidden)]
pub mod testing;
pub mod transport;
mod types;

pub use types::{
    AuthData, Credential, EncType, HostAddress, Key, NameType, Principal, PrincipalName,
};
