//! The packed state of a Kerberos context: package 2, from format version 2. **Frozen**: these
//! structs never change; a change is a new format version with a new module.
//!
//! In postcard terms (varints for integers, a length before every byte string, string and
//! sequence, `Option` as 0 or 1 then the value, an enum as its variant index then its fields):
//!
//! ```text
//! Context       = Initiator { config: InitiatorConfig, state: InitiatorState }       (0)
//!               | Acceptor  { config: AcceptorConfig,  state: AcceptorState }        (1)
//! InitiatorConfig = target: Option<str>, requested: u32 (ISC_REQ_*),
//!                   channel_bindings: Option<ChannelBindings (as v1)>,
//!                   client: Principal (whose credentials made it; checked on import)
//! AcceptorConfig  = requested: u32 (ASC_REQ_*), channel_bindings: Option<ChannelBindings>,
//!                   max_skew_secs: u32,
//!                   service: Option<Principal> (of the credentials; checked on import)
//! InitiatorState  = Start (0) | AwaitingApRep(AwaitingApRep) (1) | Established(Established) (2)
//! AcceptorState   = Start (0) | Established(Established) (1)
//! AwaitingApRep   = session_key: Key, subkey: Key, seq_number: u32, ctime: i64, cusec: i32,
//!                   gss_flags: u32, client: Principal, server: Principal, end_time: u32
//! Established     = key: Key, acceptor_subkey: bool, send_seq: u64,
//!                   recv_base: u64, recv_next: u64, recv_seen: u64,
//!                   gss_flags: u32, attributes: u32, client: Principal, server: Principal,
//!                   end_time: u32, delegated: Option<bytes>, logon_time: u64 (FILETIME),
//!                   pac: Option<bytes> (MS-PAC, as the ticket carried it)
//! Key             = etype: i32, bytes: bytes
//! Principal       = name_type: i32, components: seq<str>, realm: str
//! ```
//! Credentials never travel: an acceptor imported before its AP-REQ, and an initiator before
//! its first token, need theirs in the import options (the keys stay in the keytab, the
//! replay cache stays with the credentials the importing process shares among its contexts).

use super::v1::ChannelBindings;
use serde::{Deserialize, Serialize};

/// A Kerberos key.
#[derive(Serialize, Deserialize)]
#[cfg_attr(test, derive(Debug, PartialEq))]
pub(crate) struct Key<'a> {
    pub(crate) etype: i32,
    #[serde(with = "serde_bytes")]
    pub(crate) bytes: &'a [u8],
}

/// A principal name with its realm.
#[derive(Serialize, Deserialize)]
#[cfg_attr(test, derive(Debug, PartialEq))]
pub(crate) struct Principal<'a> {
    pub(crate) name_type: i32,
    #[serde(borrow)]
    pub(crate) components: Vec<&'a str>,
    pub(crate) realm: &'a str,
}

/// What an initiator was made with.
#[derive(Serialize, Deserialize)]
#[cfg_attr(test, derive(Debug, PartialEq))]
pub(crate) struct InitiatorConfig<'a> {
    #[serde(borrow)]
    pub(crate) target: Option<&'a str>,
    pub(crate) requested: u32,
    #[serde(borrow)]
    pub(crate) channel_bindings: Option<ChannelBindings<'a>>,
    #[serde(borrow)]
    pub(crate) client: Principal<'a>,
}

/// What an acceptor was made with.
#[derive(Serialize, Deserialize)]
#[cfg_attr(test, derive(Debug, PartialEq))]
pub(crate) struct AcceptorConfig<'a> {
    pub(crate) requested: u32,
    #[serde(borrow)]
    pub(crate) channel_bindings: Option<ChannelBindings<'a>>,
    pub(crate) max_skew_secs: u32,
    #[serde(borrow)]
    pub(crate) service: Option<Principal<'a>>,
}

/// The initiator waiting for the AP-REP.
#[derive(Serialize, Deserialize)]
#[cfg_attr(test, derive(Debug, PartialEq))]
pub(crate) struct AwaitingApRep<'a> {
    #[serde(borrow)]
    pub(crate) session_key: Key<'a>,
    #[serde(borrow)]
    pub(crate) subkey: Key<'a>,
    pub(crate) seq_number: u32,
    pub(crate) ctime: i64,
    pub(crate) cusec: i32,
    pub(crate) gss_flags: u32,
    #[serde(borrow)]
    pub(crate) client: Principal<'a>,
    #[serde(borrow)]
    pub(crate) server: Principal<'a>,
    pub(crate) end_time: u32,
}

/// An established context (either role).
#[derive(Serialize, Deserialize)]
#[cfg_attr(test, derive(Debug, PartialEq))]
pub(crate) struct Established<'a> {
    #[serde(borrow)]
    pub(crate) key: Key<'a>,
    pub(crate) acceptor_subkey: bool,
    pub(crate) send_seq: u64,
    pub(crate) recv_base: u64,
    pub(crate) recv_next: u64,
    pub(crate) recv_seen: u64,
    pub(crate) gss_flags: u32,
    pub(crate) attributes: u32,
    #[serde(borrow)]
    pub(crate) client: Principal<'a>,
    #[serde(borrow)]
    pub(crate) server: Principal<'a>,
    pub(crate) end_time: u32,
    #[serde(borrow, with = "serde_bytes")]
    pub(crate) delegated: Option<&'a [u8]>,
    pub(crate) logon_time: u64,
    /// The ticket's PAC as received (verified on accept; parsed again on import).
    #[serde(borrow, with = "serde_bytes")]
    pub(crate) pac: Option<&'a [u8]>,
}

/// An initiator's state. (The variants' sizes differ; these borrow the live context and
/// exist only while it is packed or unpacked.)
#[allow(clippy::large_enum_variant)]
#[derive(Serialize, Deserialize)]
#[cfg_attr(test, derive(Debug, PartialEq))]
pub(crate) enum InitiatorState<'a> {
    Start,
    #[serde(borrow)]
    AwaitingApRep(AwaitingApRep<'a>),
    #[serde(borrow)]
    Established(Established<'a>),
}

/// An acceptor's state.
#[allow(clippy::large_enum_variant)]
#[derive(Serialize, Deserialize)]
#[cfg_attr(test, derive(Debug, PartialEq))]
pub(crate) enum AcceptorState<'a> {
    Start,
    #[serde(borrow)]
    Established(Established<'a>),
}

/// A Kerberos context.
#[derive(Serialize, Deserialize)]
#[cfg_attr(test, derive(Debug, PartialEq))]
pub(crate) enum Context<'a> {
    Initiator {
        #[serde(borrow)]
        config: InitiatorConfig<'a>,
        #[serde(borrow)]
        state: InitiatorState<'a>,
    },
    Acceptor {
        #[serde(borrow)]
        config: AcceptorConfig<'a>,
        #[serde(borrow)]
        state: AcceptorState<'a>,
    },
}
