//! `SECURITY_STATUS` codes and the one mapping from [`Error`] to them.

use crate::error::Error;
use core::fmt;

/// A Windows `SECURITY_STATUS` (an `HRESULT`-shaped 32-bit code).
///
/// Unknown values survive: this is a newtype, not an enum.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct SecurityStatus(pub u32);

macro_rules! statuses {
    ($($(#[$doc:meta])* $name:ident = $value:expr;)*) => {
        impl SecurityStatus {
            $($(#[$doc])* pub const $name: SecurityStatus = SecurityStatus($value);)*

            /// The symbolic name of a known code, as in `sspi.h` / `winerror.h`.
            pub fn name(self) -> Option<&'static str> {
                match self.0 {
                    $($value => Some(stringify!($name)),)*
                    _ => None,
                }
            }
        }
    };
}

statuses! {
    /// The call completed.
    SEC_E_OK = 0x0000_0000;
    /// The handshake needs another leg: send the output token and call again with the reply.
    SEC_I_CONTINUE_NEEDED = 0x0009_0312;
    /// `complete_auth_token` must be called (never returned by NTLM here).
    SEC_I_COMPLETE_NEEDED = 0x0009_0313;
    /// Both of the above (never returned by NTLM here).
    SEC_I_COMPLETE_AND_CONTINUE = 0x0009_0314;
    /// Not enough memory.
    SEC_E_INSUFFICIENT_MEMORY = 0x8009_0300;
    /// The handle was never issued or was deleted.
    SEC_E_INVALID_HANDLE = 0x8009_0301;
    /// The function or option is not supported. `sspi.h` defines `SEC_E_NOT_SUPPORTED` as this
    /// same value.
    SEC_E_UNSUPPORTED_FUNCTION = 0x8009_0302;
    /// An internal error.
    SEC_E_INTERNAL_ERROR = 0x8009_0304;
    /// No security package of that name.
    SEC_E_SECPKG_NOT_FOUND = 0x8009_0305;
    /// The token is malformed or not the one expected.
    SEC_E_INVALID_TOKEN = 0x8009_0308;
    /// The quality of protection is not supported.
    SEC_E_QOP_NOT_SUPPORTED = 0x8009_030A;
    /// The logon attempt failed.
    SEC_E_LOGON_DENIED = 0x8009_030C;
    /// The credentials are not recognised / not usable for this call.
    SEC_E_UNKNOWN_CREDENTIALS = 0x8009_030D;
    /// No credentials are available.
    SEC_E_NO_CREDENTIALS = 0x8009_030E;
    /// A message or signature failed its integrity check.
    SEC_E_MESSAGE_ALTERED = 0x8009_030F;
    /// A message arrived out of sequence.
    SEC_E_OUT_OF_SEQUENCE = 0x8009_0310;
    /// The context has expired.
    SEC_E_CONTEXT_EXPIRED = 0x8009_0317;
    /// The supplied message is incomplete.
    SEC_E_INCOMPLETE_MESSAGE = 0x8009_0318;
    /// A supplied buffer is too small.
    SEC_E_BUFFER_TOO_SMALL = 0x8009_0321;
    /// The target principal name is incorrect.
    SEC_E_WRONG_PRINCIPAL = 0x8009_0322;
    /// The clocks of client and server differ too much.
    SEC_E_TIME_SKEW = 0x8009_0324;
    /// The channel bindings do not match.
    SEC_E_BAD_BINDINGS = 0x8009_0346;
    /// Decryption failed (here: a packed context sealed with another key).
    SEC_E_DECRYPT_FAILURE = 0x8009_0330;
    /// A parameter is invalid.
    SEC_E_INVALID_PARAMETER = 0x8009_035D;
    /// The target (service principal) is unknown.
    SEC_E_TARGET_UNKNOWN = 0x8009_0303;
    /// No authority (KDC) could be contacted.
    SEC_E_NO_AUTHORITY = 0x8009_0311;
}

impl SecurityStatus {
    /// `SEC_E_NOT_SUPPORTED`: an alias of [`SecurityStatus::SEC_E_UNSUPPORTED_FUNCTION`], as in
    /// `sspi.h`.
    pub const SEC_E_NOT_SUPPORTED: SecurityStatus = SecurityStatus::SEC_E_UNSUPPORTED_FUNCTION;

    /// Whether this is a success code (`SEC_E_OK` or an informational `SEC_I_*`).
    pub fn is_success(self) -> bool {
        self.0 & 0x8000_0000 == 0
    }
}

impl fmt::Debug for SecurityStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(name) => write!(f, "{name}(0x{:08X})", self.0),
            None => write!(f, "SecurityStatus(0x{:08X})", self.0),
        }
    }
}

impl fmt::Display for SecurityStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

/// The single mapping from an [`Error`] to the status a Windows caller sees.
impl From<&Error> for SecurityStatus {
    fn from(error: &Error) -> Self {
        match error {
            Error::InvalidToken(_) => Self::SEC_E_INVALID_TOKEN,
            Error::LogonDenied => Self::SEC_E_LOGON_DENIED,
            Error::MessageAltered => Self::SEC_E_MESSAGE_ALTERED,
            Error::OutOfSequence { .. } | Error::WrongState(_) => Self::SEC_E_OUT_OF_SEQUENCE,
            Error::InvalidHandle => Self::SEC_E_INVALID_HANDLE,
            Error::NotSupported(_) => Self::SEC_E_UNSUPPORTED_FUNCTION,
            Error::PackageNotFound(_) => Self::SEC_E_SECPKG_NOT_FOUND,
            Error::TimeSkew => Self::SEC_E_TIME_SKEW,
            Error::WrongPrincipal => Self::SEC_E_WRONG_PRINCIPAL,
            Error::BadBindings => Self::SEC_E_BAD_BINDINGS,
            Error::BufferTooSmall { .. } => Self::SEC_E_BUFFER_TOO_SMALL,
            Error::InvalidParameter(_) => Self::SEC_E_INVALID_PARAMETER,
            Error::UnknownCredentials(_) => Self::SEC_E_UNKNOWN_CREDENTIALS,
            Error::RandomSource => Self::SEC_E_INTERNAL_ERROR,
            Error::UserFile(_) => Self::SEC_E_NO_CREDENTIALS,
            Error::UnsupportedVersion { .. } => Self::SEC_E_UNSUPPORTED_FUNCTION,
            Error::WrongKey => Self::SEC_E_DECRYPT_FAILURE,
            Error::QopNotSupported => Self::SEC_E_QOP_NOT_SUPPORTED,
            Error::CorruptContext(_) | Error::WrongPackage { .. } => Self::SEC_E_INVALID_TOKEN,
            Error::KeyFile(_) => Self::SEC_E_NO_CREDENTIALS,
            Error::Keytab(_) | Error::CredentialCache(_) => Self::SEC_E_NO_CREDENTIALS,
            Error::Krb5Config(_) | Error::NoAuthority(_) => Self::SEC_E_NO_AUTHORITY,
            Error::Kdc { code, .. } => kdc_error_status(*code),
            Error::TargetUnknown(_) => Self::SEC_E_TARGET_UNKNOWN,
            Error::ContextExpired => Self::SEC_E_CONTEXT_EXPIRED,
            Error::Replay => Self::SEC_E_LOGON_DENIED,
            Error::ReplayCacheFull => Self::SEC_E_INSUFFICIENT_MEMORY,
            Error::ReplayCacheFile(_) => Self::SEC_E_NO_CREDENTIALS,
        }
    }
}

/// The status of a KRB-ERROR code from the KDC (RFC 4120 section 7.5.9 codes), following
/// what Windows' Kerberos SSP returns.
fn kdc_error_status(code: i32) -> SecurityStatus {
    match code {
        // KDC_ERR_C_PRINCIPAL_UNKNOWN, KDC_ERR_CLIENT_REVOKED, KDC_ERR_KEY_EXPIRED,
        // KDC_ERR_PREAUTH_FAILED, KRB_AP_ERR_BAD_INTEGRITY
        6 | 18 | 23 | 24 | 31 => SecurityStatus::SEC_E_LOGON_DENIED,
        // KDC_ERR_S_PRINCIPAL_UNKNOWN
        7 => SecurityStatus::SEC_E_TARGET_UNKNOWN,
        // KRB_AP_ERR_SKEW
        37 => SecurityStatus::SEC_E_TIME_SKEW,
        // KDC_ERR_ETYPE_NOSUPP
        14 => SecurityStatus::SEC_E_UNSUPPORTED_FUNCTION,
        _ => SecurityStatus::SEC_E_INTERNAL_ERROR,
    }
}

impl From<Error> for SecurityStatus {
    fn from(error: Error) -> Self {
        Self::from(&error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_error_maps_to_its_status() {
        let table: &[(Error, SecurityStatus)] = &[
            (Error::InvalidToken("x"), SecurityStatus::SEC_E_INVALID_TOKEN),
            (Error::LogonDenied, SecurityStatus::SEC_E_LOGON_DENIED),
            (Error::MessageAltered, SecurityStatus::SEC_E_MESSAGE_ALTERED),
            (Error::OutOfSequence { expected: 1, found: 0 }, SecurityStatus::SEC_E_OUT_OF_SEQUENCE),
            (Error::WrongState("x"), SecurityStatus::SEC_E_OUT_OF_SEQUENCE),
            (Error::InvalidHandle, SecurityStatus::SEC_E_INVALID_HANDLE),
            (Error::NotSupported("x"), SecurityStatus::SEC_E_NOT_SUPPORTED),
            (Error::PackageNotFound("x".into()), SecurityStatus::SEC_E_SECPKG_NOT_FOUND),
            (Error::TimeSkew, SecurityStatus::SEC_E_TIME_SKEW),
            (Error::WrongPrincipal, SecurityStatus::SEC_E_WRONG_PRINCIPAL),
            (Error::BadBindings, SecurityStatus::SEC_E_BAD_BINDINGS),
            (Error::BufferTooSmall { needed: 16 }, SecurityStatus::SEC_E_BUFFER_TOO_SMALL),
            (Error::InvalidParameter("x"), SecurityStatus::SEC_E_INVALID_PARAMETER),
            (Error::UnknownCredentials("x"), SecurityStatus::SEC_E_UNKNOWN_CREDENTIALS),
            (Error::RandomSource, SecurityStatus::SEC_E_INTERNAL_ERROR),
            (Error::UserFile("x".into()), SecurityStatus::SEC_E_NO_CREDENTIALS),
            (Error::Keytab("x".into()), SecurityStatus::SEC_E_NO_CREDENTIALS),
            (Error::CredentialCache("x".into()), SecurityStatus::SEC_E_NO_CREDENTIALS),
            (Error::Krb5Config("x".into()), SecurityStatus::SEC_E_NO_AUTHORITY),
            (Error::NoAuthority("x".into()), SecurityStatus::SEC_E_NO_AUTHORITY),
            (Error::TargetUnknown("x".into()), SecurityStatus::SEC_E_TARGET_UNKNOWN),
            (Error::ContextExpired, SecurityStatus::SEC_E_CONTEXT_EXPIRED),
            (Error::Replay, SecurityStatus::SEC_E_LOGON_DENIED),
            (Error::ReplayCacheFull, SecurityStatus::SEC_E_INSUFFICIENT_MEMORY),
            (Error::ReplayCacheFile("x".into()), SecurityStatus::SEC_E_NO_CREDENTIALS),
            (Error::Kdc { code: 24, message: "x".into() }, SecurityStatus::SEC_E_LOGON_DENIED),
            (Error::Kdc { code: 6, message: "x".into() }, SecurityStatus::SEC_E_LOGON_DENIED),
            (Error::Kdc { code: 7, message: "x".into() }, SecurityStatus::SEC_E_TARGET_UNKNOWN),
            (Error::Kdc { code: 37, message: "x".into() }, SecurityStatus::SEC_E_TIME_SKEW),
            (
                Error::Kdc { code: 14, message: "x".into() },
                SecurityStatus::SEC_E_UNSUPPORTED_FUNCTION,
            ),
            (Error::Kdc { code: 60, message: "x".into() }, SecurityStatus::SEC_E_INTERNAL_ERROR),
        ];
        for (error, status) in table {
            assert_eq!(SecurityStatus::from(error), *status, "{error:?}");
            assert!(!status.is_success());
        }
    }

    #[test]
    fn codes_match_winerror_h() {
        // Values from winerror.h.
        assert_eq!(SecurityStatus::SEC_E_LOGON_DENIED.0, 0x8009030C);
        assert_eq!(SecurityStatus::SEC_E_MESSAGE_ALTERED.0, 0x8009030F);
        assert_eq!(SecurityStatus::SEC_I_CONTINUE_NEEDED.0, 0x00090312);
        assert_eq!(SecurityStatus::SEC_E_BAD_BINDINGS.0, 0x80090346);
        assert!(SecurityStatus::SEC_I_CONTINUE_NEEDED.is_success());
        assert_eq!(format!("{:?}", SecurityStatus(0x8009030C)), "SEC_E_LOGON_DENIED(0x8009030C)");
        assert_eq!(format!("{:?}", SecurityStatus(0x1234)), "SecurityStatus(0x00001234)");
    }
}
