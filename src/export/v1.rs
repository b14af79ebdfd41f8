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
//! Every secret (NT hash, keys, RC4 states) is zeroized when these values are dropped.

use serde::{Deserialize, Serialize};
use zeroize::{Zeroize, ZeroizeOnDrop};

#[derive(Serialize, Deserialize, Zeroize, ZeroizeOnDrop)]
pub(crate) enum Context {
    NtlmClient { config: ClientConfig, state: ClientState },
    NtlmServer { config: ServerConfig, state: ServerState },
}

#[derive(Serialize, Deserialize, Zeroize, ZeroizeOnDrop)]
pub(crate) struct ClientConfig {
    pub(crate) user: String,
    pub(crate) domain: String,
    pub(crate) nt_hash: [u8; 16],
    pub(crate) workstation: String,
    pub(crate) version: Option<[u8; 8]>,
    pub(crate) target_name: Option<String>,
    pub(crate) channel_bindings: Option<ChannelBindings>,
    pub(crate) requested: u32,
}

#[derive(Serialize, Deserialize, Zeroize, ZeroizeOnDrop)]
pub(crate) struct ServerConfig {
    pub(crate) nb_computer: String,
    pub(crate) nb_domain: String,
    pub(crate) dns_computer: String,
    pub(crate) dns_domain: String,
    pub(crate) version: Option<[u8; 8]>,
    pub(crate) requested: u32,
    pub(crate) channel_bindings: Option<ChannelBindings>,
    pub(crate) accepted_targets: Vec<String>,
    pub(crate) max_clock_skew_ms: u64,
}

#[derive(Serialize, Deserialize, Zeroize, ZeroizeOnDrop)]
pub(crate) struct ChannelBindings {
    pub(crate) initiator_addrtype: u32,
    #[serde(with = "serde_bytes")]
    pub(crate) initiator_address: Vec<u8>,
    pub(crate) acceptor_addrtype: u32,
    #[serde(with = "serde_bytes")]
    pub(crate) acceptor_address: Vec<u8>,
    #[serde(with = "serde_bytes")]
    pub(crate) application_data: Vec<u8>,
}

#[derive(Serialize, Deserialize, Zeroize, ZeroizeOnDrop)]
pub(crate) enum ClientState {
    Initial,
    WaitChallenge {
        #[serde(with = "serde_bytes")]
        negotiate: Vec<u8>,
        flags: u32,
    },
    Established(Established),
}

#[derive(Serialize, Deserialize, Zeroize, ZeroizeOnDrop)]
pub(crate) enum ServerState {
    Initial,
    WaitAuthenticate {
        #[serde(with = "serde_bytes")]
        negotiate: Vec<u8>,
        #[serde(with = "serde_bytes")]
        challenge: Vec<u8>,
        server_challenge: [u8; 8],
        flags: u32,
    },
    Established(Established),
}

#[derive(Serialize, Deserialize, Zeroize, ZeroizeOnDrop)]
pub(crate) struct Established {
    pub(crate) flags: u32,
    pub(crate) exported_session_key: [u8; 16],
    pub(crate) detect_sequence: bool,
    pub(crate) send: Direction,
    pub(crate) recv: Direction,
    pub(crate) user: String,
    pub(crate) domain: String,
    pub(crate) workstation: String,
    pub(crate) attributes: u32,
    pub(crate) logon_time: u64,
}

#[derive(Serialize, Deserialize, Zeroize, ZeroizeOnDrop)]
pub(crate) struct Direction {
    pub(crate) sign_key: [u8; 16],
    #[serde(with = "serde_bytes")]
    pub(crate) rc4_s: Vec<u8>,
    pub(crate) rc4_i: u8,
    pub(crate) rc4_j: u8,
    pub(crate) seq: u32,
}
