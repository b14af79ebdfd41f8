//! `SecBuffer` lists, borrowing the caller's memory as SSPI does.

use crate::error::{Error, Result};
use crate::ntlm::{MessageParts, Part};

/// `SECBUFFER_EMPTY`.
pub const SECBUFFER_EMPTY: u32 = 0;
/// `SECBUFFER_DATA`: message data.
pub const SECBUFFER_DATA: u32 = 1;
/// `SECBUFFER_TOKEN`: a handshake token or a signature.
pub const SECBUFFER_TOKEN: u32 = 2;
/// `SECBUFFER_PADDING`.
pub const SECBUFFER_PADDING: u32 = 9;
/// `SECBUFFER_STREAM`: a whole sealed message (signature and data) to decrypt.
pub const SECBUFFER_STREAM: u32 = 10;
/// `SECBUFFER_CHANNEL_BINDINGS`: a `SEC_CHANNEL_BINDINGS` structure.
pub const SECBUFFER_CHANNEL_BINDINGS: u32 = 14;
/// `SECBUFFER_ATTRMASK`: the flag bits of a buffer type.
pub const SECBUFFER_ATTRMASK: u32 = 0xF000_0000;
/// `SECBUFFER_READONLY`: signed, not encrypted, not written.
pub const SECBUFFER_READONLY: u32 = 0x8000_0000;
/// `SECBUFFER_READONLY_WITH_CHECKSUM`: signed, not encrypted, not written.
pub const SECBUFFER_READONLY_WITH_CHECKSUM: u32 = 0x1000_0000;

/// Memory the provider allocated (`ISC_REQ_ALLOCATE_MEMORY`): give it back with
/// [`super::free_context_buffer`]. Zeroized when dropped.
#[derive(PartialEq, Eq)]
pub struct ContextBuffer(pub(crate) Vec<u8>);

impl ContextBuffer {
    /// The bytes.
    pub fn as_slice(&self) -> &[u8] {
        &self.0
    }
}

impl Drop for ContextBuffer {
    fn drop(&mut self) {
        drop(crate::crypto::SecretBytes(core::mem::take(&mut self.0)));
    }
}

impl core::fmt::Debug for ContextBuffer {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "ContextBuffer({} bytes)", self.0.len())
    }
}

/// The memory behind a [`SecBuffer`].
#[derive(Debug, Default)]
pub enum SecBufferData<'a> {
    /// No memory (`pvBuffer == NULL`).
    #[default]
    Empty,
    /// Caller memory the provider may write; after a call it is narrowed to what was
    /// written (`cbBuffer` updated).
    Borrowed(&'a mut [u8]),
    /// Caller memory the provider only reads.
    ReadOnly(&'a [u8]),
    /// Memory the provider allocated.
    Allocated(ContextBuffer),
}

/// A `SecBuffer`: a type and the memory it describes.
#[derive(Debug)]
pub struct SecBuffer<'a> {
    /// `BufferType`, flag bits included.
    pub buffer_type: u32,
    /// The memory.
    pub data: SecBufferData<'a>,
}

impl<'a> SecBuffer<'a> {
    /// A writable buffer over caller memory.
    pub fn new(buffer_type: u32, data: &'a mut [u8]) -> Self {
        Self { buffer_type, data: SecBufferData::Borrowed(data) }
    }

    /// A read-only buffer over caller memory.
    pub fn read_only(buffer_type: u32, data: &'a [u8]) -> Self {
        Self { buffer_type, data: SecBufferData::ReadOnly(data) }
    }

    /// A buffer with no memory, for the provider to fill (`ISC_REQ_ALLOCATE_MEMORY`).
    pub fn empty(buffer_type: u32) -> Self {
        Self { buffer_type, data: SecBufferData::Empty }
    }

    /// The base type, flag bits removed.
    pub fn base_type(&self) -> u32 {
        self.buffer_type & !SECBUFFER_ATTRMASK
    }

    /// The bytes (`pvBuffer`, `cbBuffer`).
    pub fn as_slice(&self) -> &[u8] {
        match &self.data {
            SecBufferData::Empty => &[],
            SecBufferData::Borrowed(b) => b,
            SecBufferData::ReadOnly(b) => b,
            SecBufferData::Allocated(b) => b.as_slice(),
        }
    }

    /// `cbBuffer`.
    pub fn len(&self) -> usize {
        self.as_slice().len()
    }

    /// Whether `cbBuffer` is 0.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Takes the provider-allocated memory out of the buffer, if any.
    pub fn take_allocated(&mut self) -> Option<ContextBuffer> {
        match core::mem::take(&mut self.data) {
            SecBufferData::Allocated(b) => Some(b),
            other => {
                self.data = other;
                None
            }
        }
    }

    pub(crate) fn is_read_only(&self) -> bool {
        self.buffer_type & (SECBUFFER_READONLY | SECBUFFER_READONLY_WITH_CHECKSUM) != 0
            || matches!(self.data, SecBufferData::ReadOnly(_))
    }

    /// Takes the writable memory out (leaving the buffer empty).
    pub(crate) fn take_mut(&mut self) -> Result<&'a mut [u8]> {
        match core::mem::take(&mut self.data) {
            SecBufferData::Borrowed(b) => Ok(b),
            other => {
                self.data = other;
                Err(Error::InvalidParameter(
                    "a buffer the provider must write is read-only or empty",
                ))
            }
        }
    }

    /// Writes `bytes` into the buffer: into the caller's memory (narrowing it), or into a new
    /// allocation when `allocate` is set.
    pub(crate) fn write(&mut self, bytes: Vec<u8>, allocate: bool) -> Result<()> {
        if allocate {
            self.data = SecBufferData::Allocated(ContextBuffer(bytes));
            return Ok(());
        }
        self.write_slice(&bytes)
    }

    /// Writes `bytes` into the caller's memory and narrows the buffer to them.
    pub(crate) fn write_slice(&mut self, bytes: &[u8]) -> Result<()> {
        let target = self.take_mut()?;
        if target.len() < bytes.len() {
            self.data = SecBufferData::Borrowed(target);
            return Err(Error::BufferTooSmall { needed: bytes.len() });
        }
        let (head, _) = target.split_at_mut(bytes.len());
        head.copy_from_slice(bytes);
        self.data = SecBufferData::Borrowed(head);
        Ok(())
    }
}

/// The data buffers of a message, as [`MessageParts`]: every `SECBUFFER_DATA`, writable ones
/// sealed, read-only ones only signed. Other buffer types are skipped.
pub(crate) struct DataBuffers<'m, 'a>(pub(crate) &'m mut [SecBuffer<'a>]);

impl DataBuffers<'_, '_> {
    /// Checks every data buffer can be used (writable ones are caller memory).
    pub(crate) fn check(&self) -> Result<()> {
        for buf in self.0.iter().filter(|b| b.base_type() == SECBUFFER_DATA) {
            if !buf.is_read_only() && matches!(buf.data, SecBufferData::Allocated(_)) {
                return Err(Error::InvalidParameter("a data buffer is not caller memory"));
            }
        }
        Ok(())
    }
}

impl MessageParts for DataBuffers<'_, '_> {
    fn for_each_signed(&self, mut f: impl FnMut(&[u8])) {
        for buf in self.0.iter().filter(|b| b.base_type() == SECBUFFER_DATA) {
            f(buf.as_slice());
        }
    }

    fn for_each_part(&mut self, mut f: impl FnMut(Part<'_>)) {
        for buf in self.0.iter_mut().filter(|b| b.base_type() == SECBUFFER_DATA) {
            let read_only = buf.is_read_only();
            match &mut buf.data {
                SecBufferData::Borrowed(data) if !read_only => f(Part::Seal(data)),
                other => f(Part::SignOnly(match other {
                    SecBufferData::Borrowed(d) => d,
                    SecBufferData::ReadOnly(d) => d,
                    SecBufferData::Allocated(d) => d.as_slice(),
                    SecBufferData::Empty => &[],
                })),
            }
        }
    }
}
