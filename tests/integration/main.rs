//! The integration test binary: one binary, one module per area.
#![allow(unreachable_pub)]

mod driver;
mod export;
mod gss_ntlmssp;
mod handoff;
mod handshake;
mod sspi_crate;
mod sspi_layer;
mod vectors;
