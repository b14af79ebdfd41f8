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
//! Fixed-size byte arrays are `Bytes`: on the wire, serde's tuple of `N` bytes, which postcard
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
///
/// Keys pass through it on import: wiped on drop, as is the decoded state that holds it.
// Test builds only: `Debug` and `PartialEq` on these wire views, for the property tests'
// `decode(encode(x)) == x`. Never in a release build: they hold secrets (STYLE.md 6).
#[cfg_attr(test, derive(Debug, PartialEq))]
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
#[cfg_attr(test, derive(Debug, PartialEq))]
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
#[cfg_attr(test, derive(Debug, PartialEq))]
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
#[cfg_attr(test, derive(Debug, PartialEq))]
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
#[cfg_attr(test, derive(Debug, PartialEq))]
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
#[cfg_attr(test, derive(Debug, PartialEq))]
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
#[cfg_attr(test, derive(Debug, PartialEq))]
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
#[cfg_attr(test, derive(Debug, PartialEq))]
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
#[cfg_attr(test, derive(Debug, PartialEq))]
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

/// Property tests of the frozen encoding, and the generator of arbitrary states that the
/// import property tests (`crate::ntlm::export`) share.
///
/// The encoding is postcard's, which is **not canonical**: its decoder takes an overlong
/// varint (`0x80 0x00` for 0) as the number it spells. So `encode(decode(b)) == b` holds for
/// bytes `encode` wrote, not for every `b` that decodes. That costs nothing here: a blob's
/// state is authenticated before it is decoded, so only bytes sspi-emu wrote reach the
/// decoder, and an unprotected blob is forgeable anyway (`overlong_varints_decode` pins the
/// behaviour down, so that a stricter postcard is noticed).
#[cfg(test)]
pub(crate) mod proptests {
    use super::*;
    use proptest::collection::vec;
    use proptest::prelude::*;

    /// Channel bindings: the two address types and addresses, and the application data.
    pub(crate) type OwnedBindings = (u32, Vec<u8>, u32, Vec<u8>, Vec<u8>);

    /// The owned parts a [`Context`] view borrows, and its numbers.
    #[derive(Debug, Clone)]
    pub(crate) struct Owned {
        pub(crate) server: bool,
        /// 0: initial, 1: waiting for the peer's second message, 2: established.
        pub(crate) stage: u8,
        /// Client: user, domain, workstation, target name; server: NetBIOS and DNS names.
        pub(crate) names: [String; 4],
        pub(crate) has_target_name: bool,
        /// NT hash, exported session key, send and receive signing keys.
        pub(crate) keys: [[u8; 16]; 4],
        pub(crate) version: Option<[u8; 8]>,
        pub(crate) bindings: Option<OwnedBindings>,
        pub(crate) requested: u32,
        pub(crate) accepted_targets: Vec<String>,
        pub(crate) max_clock_skew_ms: u64,
        pub(crate) negotiate: Vec<u8>,
        pub(crate) challenge: Vec<u8>,
        pub(crate) server_challenge: [u8; 8],
        pub(crate) flags: u32,
        /// The established identity; an initiator's must be its own names, so for one this
        /// is used only when `own_identity` is false.
        pub(crate) identity: [String; 3],
        pub(crate) own_identity: bool,
        pub(crate) detect_sequence: bool,
        pub(crate) attributes: u32,
        pub(crate) logon_time: u64,
        /// RC4 state bytes (256 for a real one), i, j, sequence number; send then receive.
        pub(crate) directions: [(Vec<u8>, u8, u8, u32); 2],
    }

    impl Owned {
        fn direction(&self, n: usize) -> Direction<'_> {
            let (s, i, j, seq) = &self.directions[n];
            Direction {
                sign_key: Bytes(self.keys[2 + n]),
                rc4_s: s,
                rc4_i: *i,
                rc4_j: *j,
                seq: *seq,
            }
        }

        fn established<'a>(&'a self, own: Option<[&'a str; 3]>) -> Established<'a> {
            let [user, domain, workstation] = own.unwrap_or_else(|| {
                let [u, d, w] = &self.identity;
                [u.as_str(), d.as_str(), w.as_str()]
            });
            Established {
                flags: self.flags,
                exported_session_key: Bytes(self.keys[1]),
                detect_sequence: self.detect_sequence,
                send: self.direction(0),
                recv: self.direction(1),
                user,
                domain,
                workstation,
                attributes: self.attributes,
                logon_time: self.logon_time,
            }
        }

        /// The view of these parts.
        pub(crate) fn view(&self) -> Context<'_> {
            let bindings = self.bindings.as_ref().map(|(it, ia, at, aa, data)| ChannelBindings {
                initiator_addrtype: *it,
                initiator_address: ia,
                acceptor_addrtype: *at,
                acceptor_address: aa,
                application_data: data,
            });
            let [a, b, c, d] = &self.names;
            if self.server {
                let state = match self.stage {
                    0 => ServerState::Initial,
                    1 => ServerState::WaitAuthenticate {
                        negotiate: &self.negotiate,
                        challenge: &self.challenge,
                        server_challenge: Bytes(self.server_challenge),
                        flags: self.flags,
                    },
                    _ => ServerState::Established(self.established(None)),
                };
                let config = ServerConfig {
                    nb_computer: a,
                    nb_domain: b,
                    dns_computer: c,
                    dns_domain: d,
                    version: self.version.map(Bytes),
                    requested: self.requested,
                    channel_bindings: bindings,
                    accepted_targets: self.accepted_targets.iter().map(String::as_str).collect(),
                    max_clock_skew_ms: self.max_clock_skew_ms,
                };
                Context::NtlmServer { config, state }
            } else {
                let own = self.own_identity.then_some([a.as_str(), b.as_str(), c.as_str()]);
                let state = match self.stage {
                    0 => ClientState::Initial,
                    1 => {
                        ClientState::WaitChallenge { negotiate: &self.negotiate, flags: self.flags }
                    }
                    _ => ClientState::Established(self.established(own)),
                };
                let config = ClientConfig {
                    user: a,
                    domain: b,
                    nt_hash: Bytes(self.keys[0]),
                    workstation: c,
                    version: self.version.map(Bytes),
                    target_name: self.has_target_name.then_some(d.as_str()),
                    channel_bindings: bindings,
                    requested: self.requested,
                };
                Context::NtlmClient { config, state }
            }
        }
    }

    fn bytes(max: usize) -> impl Strategy<Value = Vec<u8>> {
        vec(any::<u8>(), 0..=max)
    }

    /// Names: mostly short, some past 127 bytes (two-byte length prefixes), any Unicode.
    fn name() -> impl Strategy<Value = String> {
        prop_oneof![4 => ".{0,12}", 1 => ".{100,140}"]
    }

    /// A state of either role at any stage. Mostly what import accepts (a 256-byte RC4
    /// state, a NEGOTIATE of at most 40 bytes, an initiator established as itself, no
    /// unsupported request flag); sometimes not.
    pub(crate) fn owned() -> impl Strategy<Value = Owned> {
        let direction = || {
            (
                prop_oneof![9 => vec(any::<u8>(), 256), 1 => bytes(300)],
                any::<u8>(),
                any::<u8>(),
                any::<u32>(),
            )
        };
        let requested = (any::<u32>(), any::<bool>())
            .prop_map(|(r, clean)| if clean { r & !(0x400 | 0x4_0000) } else { r });
        (
            (
                any::<bool>(),
                0u8..3,
                [name(), name(), name(), name()],
                any::<bool>(),
                any::<[[u8; 16]; 4]>(),
            ),
            (
                proptest::option::of(any::<[u8; 8]>()),
                proptest::option::of((any::<u32>(), bytes(20), any::<u32>(), bytes(20), bytes(60))),
                requested,
                vec(name(), 0..4),
                any::<u64>(),
            ),
            (
                prop_oneof![9 => bytes(40), 1 => bytes(80)],
                bytes(300),
                any::<[u8; 8]>(),
                any::<u32>(),
            ),
            (
                [name(), name(), name()],
                prop::bool::weighted(0.9),
                any::<bool>(),
                any::<u32>(),
                any::<u64>(),
            ),
            [direction(), direction()],
        )
            .prop_map(|(a, b, c, d, directions)| Owned {
                server: a.0,
                stage: a.1,
                names: a.2,
                has_target_name: a.3,
                keys: a.4,
                version: b.0,
                bindings: b.1,
                requested: b.2,
                accepted_targets: b.3,
                max_clock_skew_ms: b.4,
                negotiate: c.0,
                challenge: c.1,
                server_challenge: c.2,
                flags: c.3,
                identity: d.0,
                own_identity: d.1,
                detect_sequence: d.2,
                attributes: d.3,
                logon_time: d.4,
                directions,
            })
    }

    pub(crate) fn options() -> impl Strategy<Value = super::super::v2::Options> {
        let page =
            prop_oneof![9 => prop::sample::select(vec![437u16, 850, 852, 866]), 1 => any::<u16>()];
        (page, any::<bool>()).prop_map(|(oem_code_page, require_mic)| super::super::v2::Options {
            oem_code_page,
            require_mic,
        })
    }

    proptest! {
        /// Every state of both roles: decoded as encoded, in format version 1 and 2 (the
        /// latter with its options); bytes that `encode` wrote encode again to themselves.
        #[test]
        fn states_round_trip(owned in owned(), extra in options()) {
            let state = owned.view();
            let v1 = postcard::to_allocvec(&state).unwrap();
            let (decoded, implied) = super::super::decode(1, &v1).unwrap();
            prop_assert_eq!(&decoded, &state);
            prop_assert_eq!(implied, super::super::v2::Options::IMPLIED_BY_V1);
            prop_assert_eq!(postcard::to_allocvec(&decoded).unwrap(), v1.clone());
            prop_assert!(state.size_hint() >= v1.len());

            let v2 = postcard::to_allocvec(&(&state, extra)).unwrap();
            let (decoded, options) = super::super::decode(2, &v2).unwrap();
            prop_assert_eq!(&decoded, &state);
            prop_assert_eq!(options, extra);
            prop_assert_eq!(postcard::to_allocvec(&(&decoded, options)).unwrap(), v2.clone());
            // A version-1 reading of a version-2 state has trailing bytes: refused.
            prop_assert!(super::super::decode(1, &v2).is_err());
        }

        /// A state cut short never decodes.
        #[test]
        fn truncated_states_are_refused(owned in owned(), cut: prop::sample::Index) {
            let bytes = postcard::to_allocvec(&owned.view()).unwrap();
            let cut = cut.index(bytes.len());
            prop_assert!(super::super::decode(1, &bytes[..cut]).is_err());
        }
    }

    #[test]
    fn overlong_varints_decode() {
        // Options { oem_code_page: 437, require_mic: false }: 437 is 0xb5 0x03; spelled
        // with a needless third byte, postcard still reads 437.
        let canonical: super::super::v2::Options = postcard::from_bytes(&[0xb5, 0x03, 0]).unwrap();
        let overlong: super::super::v2::Options =
            postcard::from_bytes(&[0xb5, 0x83, 0x00, 0]).unwrap();
        assert_eq!(canonical, overlong);
        assert_eq!(canonical, super::super::v2::Options::IMPLIED_BY_V1);
    }
}
