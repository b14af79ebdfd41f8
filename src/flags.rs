//! Context requirement and attribute flags, with the values of Windows' `ISC_REQ_*`,
//! `ISC_RET_*`, `ASC_REQ_*` and `ASC_RET_*` (`sspi.h`).
//!
//! The initiator and acceptor sets differ in places (`ISC_REQ_INTEGRITY` is `0x10000`,
//! `ASC_REQ_INTEGRITY` is `0x20000`), so each is its own type.

use core::fmt;
use core::ops::{BitAnd, BitOr, BitOrAssign};

macro_rules! flag_type {
    ($(#[$tdoc:meta])* $ty:ident { $($(#[$doc:meta])* $name:ident = $value:expr;)* }) => {
        $(#[$tdoc])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
        pub struct $ty(pub u32);

        impl $ty {
            $($(#[$doc])* pub const $name: $ty = $ty($value);)*

            /// No flags.
            pub const EMPTY: $ty = $ty(0);

            /// Whether every bit of `other` is set.
            pub const fn contains(self, other: $ty) -> bool {
                self.0 & other.0 == other.0
            }
        }

        impl BitOr for $ty {
            type Output = Self;
            fn bitor(self, rhs: Self) -> Self {
                Self(self.0 | rhs.0)
            }
        }

        impl BitOrAssign for $ty {
            fn bitor_assign(&mut self, rhs: Self) {
                self.0 |= rhs.0;
            }
        }

        impl BitAnd for $ty {
            type Output = Self;
            fn bitand(self, rhs: Self) -> Self {
                Self(self.0 & rhs.0)
            }
        }

        impl fmt::Debug for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}(0x{:X}", stringify!($ty), self.0)?;
                $(if $value != 0 && self.0 & $value == $value {
                    write!(f, " {}", stringify!($name))?;
                })*
                f.write_str(")")
            }
        }
    };
}

flag_type! {
    /// `ISC_REQ_*`: what an initiator asks for.
    IscReq {
        /// `ISC_REQ_DELEGATE`.
        DELEGATE = 0x1;
        /// `ISC_REQ_MUTUAL_AUTH` (NTLM cannot provide it).
        MUTUAL_AUTH = 0x2;
        /// `ISC_REQ_REPLAY_DETECT`.
        REPLAY_DETECT = 0x4;
        /// `ISC_REQ_SEQUENCE_DETECT`.
        SEQUENCE_DETECT = 0x8;
        /// `ISC_REQ_CONFIDENTIALITY`.
        CONFIDENTIALITY = 0x10;
        /// `ISC_REQ_USE_SESSION_KEY`.
        USE_SESSION_KEY = 0x20;
        /// `ISC_REQ_ALLOCATE_MEMORY`: the provider allocates output tokens.
        ALLOCATE_MEMORY = 0x100;
        /// `ISC_REQ_DATAGRAM` (not supported).
        DATAGRAM = 0x400;
        /// `ISC_REQ_CONNECTION`.
        CONNECTION = 0x800;
        /// `ISC_REQ_STREAM`.
        STREAM = 0x8000;
        /// `ISC_REQ_INTEGRITY`.
        INTEGRITY = 0x1_0000;
        /// `ISC_REQ_IDENTIFY`.
        IDENTIFY = 0x2_0000;
        /// `ISC_REQ_NULL_SESSION` (anonymous; not supported).
        NULL_SESSION = 0x4_0000;
    }
}

flag_type! {
    /// `ISC_RET_*`: what an initiator's context provides.
    IscRet {
        /// `ISC_RET_DELEGATE`.
        DELEGATE = 0x1;
        /// `ISC_RET_MUTUAL_AUTH`.
        MUTUAL_AUTH = 0x2;
        /// `ISC_RET_REPLAY_DETECT`.
        REPLAY_DETECT = 0x4;
        /// `ISC_RET_SEQUENCE_DETECT`.
        SEQUENCE_DETECT = 0x8;
        /// `ISC_RET_CONFIDENTIALITY`.
        CONFIDENTIALITY = 0x10;
        /// `ISC_RET_USED_SUPPLIED_CREDS`.
        USED_SUPPLIED_CREDS = 0x80;
        /// `ISC_RET_ALLOCATED_MEMORY`.
        ALLOCATED_MEMORY = 0x100;
        /// `ISC_RET_CONNECTION`.
        CONNECTION = 0x800;
        /// `ISC_RET_INTEGRITY`.
        INTEGRITY = 0x1_0000;
        /// `ISC_RET_IDENTIFY`.
        IDENTIFY = 0x2_0000;
    }
}

flag_type! {
    /// `ASC_REQ_*`: what an acceptor asks for.
    AscReq {
        /// `ASC_REQ_DELEGATE`.
        DELEGATE = 0x1;
        /// `ASC_REQ_MUTUAL_AUTH`.
        MUTUAL_AUTH = 0x2;
        /// `ASC_REQ_REPLAY_DETECT`.
        REPLAY_DETECT = 0x4;
        /// `ASC_REQ_SEQUENCE_DETECT`.
        SEQUENCE_DETECT = 0x8;
        /// `ASC_REQ_CONFIDENTIALITY`.
        CONFIDENTIALITY = 0x10;
        /// `ASC_REQ_USE_SESSION_KEY`.
        USE_SESSION_KEY = 0x20;
        /// `ASC_REQ_ALLOCATE_MEMORY`.
        ALLOCATE_MEMORY = 0x100;
        /// `ASC_REQ_DATAGRAM` (not supported).
        DATAGRAM = 0x400;
        /// `ASC_REQ_CONNECTION`.
        CONNECTION = 0x800;
        /// `ASC_REQ_STREAM`.
        STREAM = 0x1_0000;
        /// `ASC_REQ_INTEGRITY`.
        INTEGRITY = 0x2_0000;
        /// `ASC_REQ_IDENTIFY`.
        IDENTIFY = 0x8_0000;
        /// `ASC_REQ_ALLOW_NULL_SESSION` (not supported).
        ALLOW_NULL_SESSION = 0x10_0000;
    }
}

flag_type! {
    /// `ASC_RET_*`: what an acceptor's context provides.
    AscRet {
        /// `ASC_RET_DELEGATE`.
        DELEGATE = 0x1;
        /// `ASC_RET_MUTUAL_AUTH`.
        MUTUAL_AUTH = 0x2;
        /// `ASC_RET_REPLAY_DETECT`.
        REPLAY_DETECT = 0x4;
        /// `ASC_RET_SEQUENCE_DETECT`.
        SEQUENCE_DETECT = 0x8;
        /// `ASC_RET_CONFIDENTIALITY`.
        CONFIDENTIALITY = 0x10;
        /// `ASC_RET_ALLOCATED_MEMORY`.
        ALLOCATED_MEMORY = 0x100;
        /// `ASC_RET_CONNECTION`.
        CONNECTION = 0x800;
        /// `ASC_RET_INTEGRITY`.
        INTEGRITY = 0x2_0000;
        /// `ASC_RET_IDENTIFY`.
        IDENTIFY = 0x8_0000;
    }
}
