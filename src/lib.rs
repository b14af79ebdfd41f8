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
pub mod kerberos;
pub mod manual;
pub mod ntlm;
pub mod package;
pub mod sspi;
pub mod status;

#[doc(hidden)]
pub mod fuzzing;

/// The raw primitives, for the benchmarks' "floor" (what an ideal implementation must
/// compute). Not part of the API.
#[doc(hidden)]
pub mod primitives {
    pub use crate::crypto::{HmacMd5, Rc4, ct_eq_words};
    pub use md4::Md4;
    pub use md5::{Digest, Md5};

    /// MD5 of two messages of 56 to 119 bytes side by side (`None` for other lengths): how
    /// sspi-emu derives the four NTLM direction keys, two at a time.
    pub fn md5_pair(messages: [&[&[u8]]; 2]) -> Option<[[u8; 16]; 2]> {
        crate::crypto::md5_pair(messages)
    }

    /// The export blobs' XChaCha20-Poly1305: encrypts `buf` in place, returns the tag.
    pub fn xchacha20poly1305_seal(
        key: &[u8; 32],
        nonce: &[u8; 24],
        aad: &[u8],
        buf: &mut [u8],
    ) -> [u8; 16] {
        crate::crypto::aead::seal(key, nonce, aad, buf)
    }

    /// Opens what [`xchacha20poly1305_seal`] made (`false`: tag mismatch, `buf` untouched).
    #[must_use]
    pub fn xchacha20poly1305_open(
        key: &[u8; 32],
        nonce: &[u8; 24],
        aad: &[u8],
        buf: &mut [u8],
        tag: &[u8; 16],
    ) -> bool {
        crate::crypto::aead::open(key, nonce, aad, buf, tag)
    }
}

pub use api::{
    AcceptorOptions, Credentials, ImportOptions, InitiatorOptions, SecurityContext, Signature, Step,
};
pub use bindings::ChannelBindings;
pub use crypto::{NtHash, Password};
pub use env::{Environment, FileTime};
pub use error::{Error, Result};
pub use ntlm::OemCodePage;
pub use package::{Package, PackageInfo, Sizes};
pub use status::SecurityStatus;
