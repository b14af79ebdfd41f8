//! The one error type of the crate.
//!
//! Every fallible operation returns [`Error`]. Its mapping to a Windows `SECURITY_STATUS` lives
//! in exactly one place, [`crate::status`], and is tested there.

/// Everything that can go wrong in sspi-emu.
///
/// Integrity failures (a bad signature, MIC or sealed message) are deliberately detail-free:
/// they are all [`Error::MessageAltered`], so an attacker learns nothing from the error about
/// which check failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A token could not be parsed, or is not the message expected at this point of the
    /// handshake. The text says what was wrong with it (never anything secret).
    #[error("invalid token: {0}")]
    InvalidToken(&'static str),
    /// The peer's proof of the password (NTLMv2 NTProofStr) did not verify, or the user is
    /// unknown. The two cases are not told apart, on purpose.
    #[error("logon denied")]
    LogonDenied,
    /// A signature, MIC, checksum or sealed message failed its integrity check.
    #[error("message altered")]
    MessageAltered,
    /// A message carries a sequence number other than the one expected (a replayed, dropped or
    /// reordered message) and sequence or replay detection was requested.
    #[error("message out of sequence: expected sequence number {expected}, got {found}")]
    OutOfSequence {
        /// The sequence number the context expected next.
        expected: u32,
        /// The sequence number the message carried.
        found: u32,
    },
    /// The call does not fit the state the context is in (for example a message call before
    /// the handshake completed, or a token after it did).
    #[error("call out of sequence: {0}")]
    WrongState(&'static str),
    /// The handle was never issued, or was already deleted.
    #[error("invalid handle")]
    InvalidHandle,
    /// The peer or the caller asked for something sspi-emu deliberately does not do (LM,
    /// NTLMv1, anonymous logon, 40/56-bit keys, ...). The text says what and why.
    #[error("not supported: {0}")]
    NotSupported(&'static str),
    /// No security package of that name exists.
    #[error("security package not found: {0:?}")]
    PackageNotFound(String),
    /// The client's AV_PAIR timestamp is outside the accepted window.
    #[error("time skew: the client's timestamp is too far from the server's clock")]
    TimeSkew,
    /// The client authenticated to a different target (service principal name) than the server
    /// requires.
    #[error("wrong principal: the client's target name is not one this server accepts")]
    WrongPrincipal,
    /// The channel bindings of the client do not match the server's.
    #[error("channel bindings do not match")]
    BadBindings,
    /// A caller-supplied output buffer is too small.
    #[error("buffer too small: {needed} bytes needed")]
    BufferTooSmall {
        /// How many bytes the output needs.
        needed: usize,
    },
    /// A caller-supplied argument is invalid. The text names it.
    #[error("invalid parameter: {0}")]
    InvalidParameter(&'static str),
    /// The credentials cannot be used for this operation (for example initiator credentials
    /// given to an acceptor).
    #[error("unknown credentials: {0}")]
    UnknownCredentials(&'static str),
    /// The operating system's random source failed.
    #[error("random source failed")]
    RandomSource,
    /// A quality of protection other than 0 was asked for.
    #[error("quality of protection not supported")]
    QopNotSupported,
    /// A packed context was written by a newer sspi-emu whose format this build cannot read.
    #[error(
        "packed context format version {found} is newer than this build reads (newest {newest})"
    )]
    UnsupportedVersion {
        /// The version in the blob.
        found: u16,
        /// The newest version this build reads.
        newest: u16,
    },
    /// A packed context was sealed with another key.
    #[error("the packed context was protected with another key")]
    WrongKey,
    /// A packed context is damaged (or forged): the text says which check failed.
    #[error("damaged packed context: {0}")]
    CorruptContext(&'static str),
    /// A packed context belongs to another package than the one importing it.
    #[error("the packed context is a {found} context, not {expected}")]
    WrongPackage {
        /// The importing package.
        expected: &'static str,
        /// The package in the blob.
        found: &'static str,
    },
    /// The export key file cannot be used.
    #[error("export key file: {0}")]
    KeyFile(String),
    /// Reading a user file failed.
    #[error("cannot read user file: {0}")]
    UserFile(String),
    /// A keytab file cannot be read, written or parsed; the text says which file and why.
    #[error("keytab: {0}")]
    Keytab(String),
    /// A credential cache cannot be read, written or parsed; the text says which and why.
    #[error("credential cache: {0}")]
    CredentialCache(String),
    /// `krb5.conf` cannot be read or is malformed; the text names the file and line.
    #[error("krb5.conf: {0}")]
    Krb5Config(String),
    /// No KDC could be reached (none configured, unreachable, or silent past the timeout); the
    /// text says which realm and address.
    #[error("no authority could be contacted: {0}")]
    NoAuthority(String),
    /// The KDC answered with a KRB-ERROR (RFC 4120 section 7.5.9). `code` is the error code;
    /// the text explains it (and carries the KDC's e-text, if any).
    #[error("KDC error {code}: {message}")]
    Kdc {
        /// The KRB-ERROR error-code.
        code: i32,
        /// What it means, for a human.
        message: String,
    },
    /// The target service principal is unknown to the KDC.
    #[error("target unknown: {0}")]
    TargetUnknown(String),
    /// A Kerberos ticket (or the context it made) is out of its validity.
    #[error("the ticket or context has expired")]
    ContextExpired,
    /// A Kerberos AP-REQ that this credential accepted before (a replay).
    #[error("replayed authenticator")]
    Replay,
    /// The replay cache is full of entries that have not expired: new authentications are
    /// refused rather than letting a replay through (see `manual`, "Replay cache").
    #[error("replay cache full")]
    ReplayCacheFull,
    /// The replay cache file cannot be created, opened, locked, read or written, or is
    /// refused (a symbolic link, another user's, open to others, or not in the documented
    /// format); the text says which file and why.
    #[error("replay cache file: {0}")]
    ReplayCacheFile(String),
}

/// Shorthand for `Result<T, sspi_emu::Error>`.
pub type Result<T, E = Error> = core::result::Result<T, E>;
