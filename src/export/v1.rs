//! Format version 1 of the packed state. **Frozen**: these structs are the wire format of
//! every version-1 blob ever written, encoded with postcard (whose format is specified and
//! stable). Never change a field, its type or its order; a change is a new module `v2.rs`,
//! and this one keeps decoding forever (the golden blobs under `tests/data/v1` check it).
//!
//! Layout, in postcard terms (varints for integers, length-prefixed strings and byte
//! strings, a varint tag for each enum):
//!
//! ```text
//! Context = NtlmClient { config: ClientConfig, state: ClientState }     tag 0
//!         | NtlmServer { config: ServerConfig, state: ServerState }     tag 1
//! ClientConfig = user, domain: String; nt_hash: [u8; 16]; workstation: String;
//!                version: Option<[u8; 8]>; target_name: Option<String>;
//!                channel_bindings: Option<ChannelBindings>; requested: u32 (ISC_REQ_*)
//! ServerConfig = nb_computer, nb_domain, dns_computer, dns_domain: String;
//!                version: Option<[u8; 8]>; requested: u32 (ASC_REQ_*);
//!                channel_bindings: Option<ChannelBindings>; accepted_targets: Vec<String>;
//!                max_clock_skew_ms: u64
//! ChannelBindings = initiator_addrtype: u32, initiator_address: bytes,
//!                   acceptor_addrtype: u32, acceptor_address: bytes, application_data: bytes
//! ClientState = Initial                                              tag 0
//!             | WaitChallenge { negotiate: bytes, flags: u32 }         tag 1
//!             | Established(Established)                             tag 2
//! ServerState = Initial                                              tag 0
//!             | WaitAuthenticate { negotiate, challenge: bytes,
//!                                  server_challenge: [u8; 8], flags: u32 }  tag 1
//!             | Established(Established)                             tag 2
//! Established = flags: u32 (NTLM NegotiateFlags); exported_session_key: [u8; 16];
//!               detect_sequence: bool; send, recv: Direction;
//!               user, domain, workstation: String; attributes: u32 (ISC_RET_/ASC_RET_);
//!               logon_time: u64 (FILETIME)
//! Direction = sign_key: [u8; 16]; rc4_s: bytes (exactly 256); rc4_i, rc4_j: u8; seq: u32
//! ```
//!
//! Byte strings are (de)serialized as postcard byte arrays (`serde_bytes`): the same bytes on
//! the wire as a sequence of `u8`, but the decoder checks the length against the input before
//! it allocates.
//!
//! These structs are views: their strings and byte strings borrow from the live context
//! (export) or from the decrypted state bytes (import), so encoding and decoding copy and
//! allocate nothing but the wire bytes; the serde types `&str` and `&[u8]` (as bytes) put the
//! same bytes on the wire as `String` and `Vec<u8>` did. The fixed-size secrets they hold by
//! value (NT hash, keys) are wiped when they are dropped; what they borrow is wiped with the
//! buffer it lives in.

use serde::{Deserialize, Serialize};
use zeroize::Zeroize;

#[derive(Serialize, Deserialize)]
pub(crate) enum Context<'a> {
    NtlmClient {
        #[serde(borrow)]
        config: ClientConfig<'a>,
        #[serde(borrow)]
        state: ClientState<'a>,
    },
    NtlmServer {
        #[serde(borrow)]
        config: ServerConfig<'a>,
        #[serde(borrow)]
        state: ServerState<'a>,
    },
}

#[derive(Serialize, Deserialize)]
pub(crate) struct ClientConfig<'a> {
    pub(crate) user: &'a str,
    pub(crate) domain: &'a str,
    pub(crate) nt_hash: [u8; 16],
    pub(crate) workstation: &'a str,
    pub(crate) version: Option<[u8; 8]>,
    #[serde(borrow)]
    pub(crate) target_name: Option<&'a str>,
    #[serde(borrow)]
    pub(crate) channel_bindings: Option<ChannelBindings<'a>>,
    pub(crate) requested: u32,
}

#[derive(Serialize, Deserialize)]
pub(crate) struct ServerConfig<'a> {
    pub(crate) nb_computer: &'a str,
    pub(crate) nb_domain: &'a str,
    pub(crate) dns_computer: &'a str,
    pub(crate) dns_domain: &'a str,
    pub(crate) version: Option<[u8; 8]>,
    pub(crate) requested: u32,
    #[serde(borrow)]
    pub(crate) channel_bindings: Option<ChannelBindings<'a>>,
    #[serde(borrow)]
    pub(crate) accepted_targets: Vec<&'a str>,
    pub(crate) max_clock_skew_ms: u64,
}

#[derive(Serialize, Deserialize)]
pub(crate) struct ChannelBindings<'a> {
    pub(crate) initiator_addrtype: u32,
    #[serde(with = "serde_bytes")]
    pub(crate) initiator_address: &'a [u8],
    pub(crate) acceptor_addrtype: u32,
    #[serde(with = "serde_bytes")]
    pub(crate) acceptor_address: &'a [u8],
    #[serde(with = "serde_bytes")]
    pub(crate) application_data: &'a [u8],
}

#[derive(Serialize, Deserialize)]
pub(crate) enum ClientState<'a> {
    Initial,
    WaitChallenge {
        #[serde(with = "serde_bytes")]
        negotiate: &'a [u8],
        flags: u32,
    },
    Established(#[serde(borrow)] Established<'a>),
}

#[derive(Serialize, Deserialize)]
pub(crate) enum ServerState<'a> {
    Initial,
    WaitAuthenticate {
        #[serde(with = "serde_bytes")]
        negotiate: &'a [u8],
        #[serde(with = "serde_bytes")]
        challenge: &'a [u8],
        server_challenge: [u8; 8],
        flags: u32,
    },
    Established(#[serde(borrow)] Established<'a>),
}

#[derive(Serialize, Deserialize)]
pub(crate) struct Established<'a> {
    pub(crate) flags: u32,
    pub(crate) exported_session_key: [u8; 16],
    pub(crate) detect_sequence: bool,
    #[serde(borrow)]
    pub(crate) send: Direction<'a>,
    #[serde(borrow)]
    pub(crate) recv: Direction<'a>,
    pub(crate) user: &'a str,
    pub(crate) domain: &'a str,
    pub(crate) workstation: &'a str,
    pub(crate) attributes: u32,
    pub(crate) logon_time: u64,
}

#[derive(Serialize, Deserialize)]
pub(crate) struct Direction<'a> {
    pub(crate) sign_key: [u8; 16],
    #[serde(with = "serde_bytes")]
    pub(crate) rc4_s: &'a [u8],
    pub(crate) rc4_i: u8,
    pub(crate) rc4_j: u8,
    pub(crate) seq: u32,
}

// The secrets held by value. (Byte arrays through the slice: one `memset` and a barrier;
// `Zeroize` on an array writes each byte on its own.)
impl Drop for ClientConfig<'_> {
    fn drop(&mut self) {
        self.nt_hash.as_mut_slice().zeroize();
    }
}

impl Drop for Established<'_> {
    fn drop(&mut self) {
        self.exported_session_key.as_mut_slice().zeroize();
    }
}

impl Drop for Direction<'_> {
    fn drop(&mut self) {
        self.sign_key.as_mut_slice().zeroize();
        self.rc4_i.zeroize();
        self.rc4_j.zeroize();
    }
}
