#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod api;
pub mod bindings;
mod codec;
pub mod crypto;
pub mod env;
pub mod error;
pub mod export;
pub mod flags;
pub mod manual;
pub mod ntlm;
pub mod sspi;
pub mod status;

#[doc(hidden)]
pub mod fuzzing;

pub use api::{
    AcceptorOptions, Credentials, InitiatorOptions, PackageInfo, SecurityContext, Sizes, Step,
};
pub use bindings::ChannelBindings;
pub use crypto::{NtHash, Password};
pub use env::{Environment, FileTime};
pub use error::{Error, Result};
pub use status::SecurityStatus;
