//! NTLM negotiate flags (MS-NLMP 2.2.2.5).

use core::fmt;
use core::ops::{BitAnd, BitOr, BitOrAssign, Not};

/// The `NegotiateFlags` field. A newtype, so unknown bits survive a round trip.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct NegotiateFlags(pub u32);

macro_rules! flags {
    ($($(#[$doc:meta])* $name:ident = $value:expr;)*) => {
        impl NegotiateFlags {
            $($(#[$doc])* pub const $name: NegotiateFlags = NegotiateFlags($value);)*
            const NAMES: &'static [(&'static str, u32)] = &[$((stringify!($name), $value)),*];
        }
    };
}

flags! {
    /// `NTLMSSP_NEGOTIATE_UNICODE` (A).
    UNICODE = 0x0000_0001;
    /// `NTLM_NEGOTIATE_OEM` (B).
    OEM = 0x0000_0002;
    /// `NTLMSSP_REQUEST_TARGET` (C).
    REQUEST_TARGET = 0x0000_0004;
    /// `NTLMSSP_NEGOTIATE_SIGN` (D).
    SIGN = 0x0000_0010;
    /// `NTLMSSP_NEGOTIATE_SEAL` (E).
    SEAL = 0x0000_0020;
    /// `NTLMSSP_NEGOTIATE_DATAGRAM` (F).
    DATAGRAM = 0x0000_0040;
    /// `NTLMSSP_NEGOTIATE_LM_KEY` (G).
    LM_KEY = 0x0000_0080;
    /// `NTLMSSP_NEGOTIATE_NTLM` (H).
    NTLM = 0x0000_0200;
    /// Anonymous connection (J).
    ANONYMOUS = 0x0000_0800;
    /// `NTLMSSP_NEGOTIATE_OEM_DOMAIN_SUPPLIED` (K).
    OEM_DOMAIN_SUPPLIED = 0x0000_1000;
    /// `NTLMSSP_NEGOTIATE_OEM_WORKSTATION_SUPPLIED` (L).
    OEM_WORKSTATION_SUPPLIED = 0x0000_2000;
    /// `NTLMSSP_NEGOTIATE_ALWAYS_SIGN` (M).
    ALWAYS_SIGN = 0x0000_8000;
    /// `NTLMSSP_TARGET_TYPE_DOMAIN` (N).
    TARGET_TYPE_DOMAIN = 0x0001_0000;
    /// `NTLMSSP_TARGET_TYPE_SERVER` (O).
    TARGET_TYPE_SERVER = 0x0002_0000;
    /// `NTLMSSP_NEGOTIATE_EXTENDED_SESSIONSECURITY` (P).
    EXTENDED_SESSION_SECURITY = 0x0008_0000;
    /// `NTLMSSP_NEGOTIATE_IDENTIFY` (Q).
    IDENTIFY = 0x0010_0000;
    /// `NTLMSSP_REQUEST_NON_NT_SESSION_KEY` (R).
    REQUEST_NON_NT_SESSION_KEY = 0x0040_0000;
    /// `NTLMSSP_NEGOTIATE_TARGET_INFO` (S).
    TARGET_INFO = 0x0080_0000;
    /// `NTLMSSP_NEGOTIATE_VERSION` (T).
    VERSION = 0x0200_0000;
    /// `NTLMSSP_NEGOTIATE_128` (U).
    NEGOTIATE_128 = 0x2000_0000;
    /// `NTLMSSP_NEGOTIATE_KEY_EXCH` (V).
    KEY_EXCH = 0x4000_0000;
    /// `NTLMSSP_NEGOTIATE_56` (W).
    NEGOTIATE_56 = 0x8000_0000;
}

impl NegotiateFlags {
    /// No flags.
    pub const EMPTY: NegotiateFlags = NegotiateFlags(0);

    /// Whether every bit of `other` is set.
    pub const fn contains(self, other: NegotiateFlags) -> bool {
        self.0 & other.0 == other.0
    }

    /// Whether any bit of `other` is set.
    pub const fn intersects(self, other: NegotiateFlags) -> bool {
        self.0 & other.0 != 0
    }
}

impl BitOr for NegotiateFlags {
    type Output = Self;
    fn bitor(self, rhs: Self) -> Self {
        Self(self.0 | rhs.0)
    }
}

impl BitOrAssign for NegotiateFlags {
    fn bitor_assign(&mut self, rhs: Self) {
        self.0 |= rhs.0;
    }
}

impl BitAnd for NegotiateFlags {
    type Output = Self;
    fn bitand(self, rhs: Self) -> Self {
        Self(self.0 & rhs.0)
    }
}

impl Not for NegotiateFlags {
    type Output = Self;
    fn not(self) -> Self {
        Self(!self.0)
    }
}

impl fmt::Debug for NegotiateFlags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "NegotiateFlags(0x{:08X}", self.0)?;
        let mut rest = self.0;
        for (name, bit) in Self::NAMES {
            if self.0 & bit != 0 {
                write!(f, " {name}")?;
                rest &= !bit;
            }
        }
        if rest != 0 {
            write!(f, " 0x{rest:X}")?;
        }
        f.write_str(")")
    }
}
