//! Format version 2 of the packed state. **Frozen**, like [`super::v1`].
//!
//! A version-2 state is a version-1 state followed by the options version 1 had no room
//! for, in postcard terms:
//!
//! ```text
//! State   = Context (exactly as in version 1), Options
//! Options = oem_code_page: u16 (a Windows code page number: 437, 850, 852 or 866);
//!           require_mic: bool (an acceptor's MIC policy; always false for an initiator)
//! ```
//!
//! Export writes the oldest version that holds a context: version 1 when the options are
//! what a version-1 blob means (code page 437, no MIC required), so builds that read only
//! version 1 keep importing those blobs (workers of a farm upgraded one at a time).

use serde::{Deserialize, Serialize};

/// What version 2 adds to a context.
#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Options {
    pub(crate) oem_code_page: u16,
    pub(crate) require_mic: bool,
}

impl Options {
    /// The options of every version-1 blob: OEM code page 437, no MIC required beyond what
    /// the client announces.
    pub(crate) const IMPLIED_BY_V1: Self = Self { oem_code_page: 437, require_mic: false };

    /// The most bytes [`Options`] takes: a three-byte varint and a bool.
    pub(crate) const SIZE_BOUND: usize = 4;
}

#[cfg(test)]
mod tests {
    use super::Options;

    #[test]
    fn options_encode_within_their_bound_and_as_documented() {
        let widest = Options { oem_code_page: u16::MAX, require_mic: true };
        let bytes = postcard::to_allocvec(&widest).unwrap();
        assert_eq!(bytes.len(), Options::SIZE_BOUND);
        // 850 as a varint (0xd2 0x06), then `true`.
        let cp850 = Options { oem_code_page: 850, require_mic: true };
        assert_eq!(postcard::to_allocvec(&cp850).unwrap(), [0xd2, 0x06, 0x01]);
    }
}
