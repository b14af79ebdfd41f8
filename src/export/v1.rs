//! Format version 1 of the packed state. **Frozen**: these structs are the wire format of
//! every version-1 blob ever written, encoded with postcard (whose format is specified and
//! stable). Never change a field, its type or its order; a change is a new module (as
//! [`super::v2`] is), and this one keeps decoding forever (the golden blobs under
//! `tests/data/v1` check it).
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
//! Fixed-size byte arrays are [`Bytes`]: on the wire, serde's tuple of `N` bytes, which postcard
//! writes as the `N` bytes themselves, as serde's own `[u8; N]` did.
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

use serde::de::{self, SeqAccess, Visitor};
use serde::ser::SerializeTuple;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use zeroize::Zeroize;

/// A fixed-size byte array with the wire form of serde's `[u8; N]` (a tuple of `N` `u8`s),
/// (de)serialized by a loop. serde's own array impls are unrolled, one call with its error
/// path per element: for the six arrays here that was about 2 KiB of code on each side,
/// which export and import run once each and mostly pay for in instruction-cache misses.
/// Keys pass through it on import: wiped on drop, as is the decoded state that holds it.
pub(crate) struct Bytes<const N: usize>(pub(crate) [u8; N]);

impl<const N: usize> Drop for Bytes<N> {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.0);
    }
}

impl<const N: usize> Serialize for Bytes<N> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut tuple = serializer.serialize_tuple(N)?;
        for byte in &self.0 {
            tuple.serialize_element(byte)?;
        }
        tuple.end()
    }
}

impl<'de, const N: usize> Deserialize<'de> for Bytes<N> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct BytesVisitor<const N: usize>;

        impl<'de, const N: usize> Visitor<'de> for BytesVisitor<N> {
            type Value = Bytes<N>;

            fn expecting(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                write!(f, "{N} bytes")
            }

            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Bytes<N>, A::Error> {
                let mut out = Bytes([0u8; N]);
                for (i, byte) in out.0.iter_mut().enumerate() {
                    *byte =
                        seq.next_element()?.ok_or_else(|| de::Error::invalid_length(i, &self))?;
                }
                Ok(out)
            }
        }

        deserializer.deserialize_tuple(N, BytesVisitor::<N>)
    }
}

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
    pub(crate) nt_hash: Bytes<16>,
    pub(crate) workstation: &'a str,
    pub(crate) version: Option<Bytes<8>>,
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
    pub(crate) version: Option<Bytes<8>>,
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
        server_challenge: Bytes<8>,
        flags: u32,
    },
    Established(#[serde(borrow)] Established<'a>),
}

#[derive(Serialize, Deserialize)]
pub(crate) struct Established<'a> {
    pub(crate) flags: u32,
    pub(crate) exported_session_key: Bytes<16>,
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
    pub(crate) sign_key: Bytes<16>,
    #[serde(with = "serde_bytes")]
    pub(crate) rc4_s: &'a [u8],
    pub(crate) rc4_i: u8,
    pub(crate) rc4_j: u8,
    pub(crate) seq: u32,
}

/// Room for every fixed-size field, length prefix and enum tag of any one context: with
/// every option present and every number at its longest, at most 141 bytes with one-byte
/// length prefixes and 161 with three-byte ones (fields up to 2 MiB; the test below).
const FIXED_FIELDS_BOUND: usize = 192;

impl Context<'_> {
    /// About how many bytes the encoding takes: the borrowed strings and byte strings plus
    /// [`FIXED_FIELDS_BOUND`]. Export sizes its buffer with it so that encoding is one pass
    /// (postcard's exact `serialized_size` would be a second pass through a second copy of
    /// the serializer code); a low guess only costs the buffer a move.
    pub(crate) fn size_hint(&self) -> usize {
        let strs = |s: &[&str]| s.iter().map(|s| s.len()).sum::<usize>();
        let bindings = |cb: &Option<ChannelBindings<'_>>| {
            cb.as_ref().map_or(0, |cb| {
                cb.initiator_address.len() + cb.acceptor_address.len() + cb.application_data.len()
            })
        };
        let established = |e: &Established<'_>| {
            e.send.rc4_s.len() + e.recv.rc4_s.len() + strs(&[e.user, e.domain, e.workstation])
        };
        let variable = match self {
            Context::NtlmClient { config: c, state } => {
                strs(&[c.user, c.domain, c.workstation, c.target_name.unwrap_or_default()])
                    + bindings(&c.channel_bindings)
                    + match state {
                        ClientState::Initial => 0,
                        ClientState::WaitChallenge { negotiate, .. } => negotiate.len(),
                        ClientState::Established(e) => established(e),
                    }
            }
            Context::NtlmServer { config: c, state } => {
                strs(&[c.nb_computer, c.nb_domain, c.dns_computer, c.dns_domain])
                    + strs(&c.accepted_targets)
                    + 5 * c.accepted_targets.len()
                    + bindings(&c.channel_bindings)
                    + match state {
                        ServerState::Initial => 0,
                        ServerState::WaitAuthenticate { negotiate, challenge, .. } => {
                            negotiate.len() + challenge.len()
                        }
                        ServerState::Established(e) => established(e),
                    }
            }
        };
        variable.saturating_add(FIXED_FIELDS_BOUND)
    }
}

// The secrets held by value. (Byte arrays through the slice: one `memset` and a barrier;
// `Zeroize` on an array writes each byte on its own.)
impl Drop for ClientConfig<'_> {
    fn drop(&mut self) {
        self.nt_hash.0.as_mut_slice().zeroize();
    }
}

impl Drop for Established<'_> {
    fn drop(&mut self) {
        self.exported_session_key.0.as_mut_slice().zeroize();
    }
}

impl Drop for Direction<'_> {
    fn drop(&mut self) {
        self.sign_key.0.as_mut_slice().zeroize();
        self.rc4_i.zeroize();
        self.rc4_j.zeroize();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bindings(data: &[u8]) -> Option<ChannelBindings<'_>> {
        Some(ChannelBindings {
            initiator_addrtype: u32::MAX,
            initiator_address: data,
            acceptor_addrtype: u32::MAX,
            acceptor_address: data,
            application_data: data,
        })
    }

    fn established<'a>(s: &'a str, rc4: &'a [u8]) -> Established<'a> {
        let direction = || Direction {
            sign_key: Bytes([0xff; 16]),
            rc4_s: rc4,
            rc4_i: 0xff,
            rc4_j: 0xff,
            seq: u32::MAX,
        };
        Established {
            flags: u32::MAX,
            exported_session_key: Bytes([0xff; 16]),
            detect_sequence: true,
            send: direction(),
            recv: direction(),
            user: s,
            domain: s,
            workstation: s,
            attributes: u32::MAX,
            logon_time: u64::MAX,
        }
    }

    /// Every state of both roles, with every number at its longest encoding and every
    /// option present, and the strings and byte strings `s` and `b`.
    fn all_states<'a>(s: &'a str, b: &'a [u8], rc4: &'a [u8]) -> Vec<Context<'a>> {
        let client = || ClientConfig {
            user: s,
            domain: s,
            nt_hash: Bytes([0xff; 16]),
            workstation: s,
            version: Some(Bytes([0xff; 8])),
            target_name: Some(s),
            channel_bindings: bindings(b),
            requested: u32::MAX,
        };
        let server = || ServerConfig {
            nb_computer: s,
            nb_domain: s,
            dns_computer: s,
            dns_domain: s,
            version: Some(Bytes([0xff; 8])),
            requested: u32::MAX,
            channel_bindings: bindings(b),
            accepted_targets: vec![s, s, s],
            max_clock_skew_ms: u64::MAX,
        };
        vec![
            Context::NtlmClient { config: client(), state: ClientState::Initial },
            Context::NtlmClient {
                config: client(),
                state: ClientState::WaitChallenge { negotiate: b, flags: u32::MAX },
            },
            Context::NtlmClient {
                config: client(),
                state: ClientState::Established(established(s, rc4)),
            },
            Context::NtlmServer { config: server(), state: ServerState::Initial },
            Context::NtlmServer {
                config: server(),
                state: ServerState::WaitAuthenticate {
                    negotiate: b,
                    challenge: b,
                    server_challenge: Bytes([0xff; 8]),
                    flags: u32::MAX,
                },
            },
            Context::NtlmServer {
                config: server(),
                state: ServerState::Established(established(s, rc4)),
            },
        ]
    }

    /// The size hint is never short (export never has to move its buffer) and never more
    /// than `FIXED_FIELDS_BOUND` over, for short fields (one-byte length prefixes) and long
    /// ones (three-byte prefixes).
    #[test]
    fn size_hint_bounds_the_encoding() {
        let rc4 = [0u8; 256];
        for len in [0usize, 5, 100, 20_000] {
            let s = "x".repeat(len);
            let b = vec![0xa5u8; len];
            for state in all_states(&s, &b, &rc4) {
                let exact = postcard::experimental::serialized_size(&state).unwrap();
                let hint = state.size_hint();
                assert!(hint >= exact, "hint {hint} < {exact} bytes (fields of {len})");
                assert!(hint - exact <= FIXED_FIELDS_BOUND, "hint {hint}, {exact} bytes");
            }
        }
    }
}
