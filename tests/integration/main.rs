//! The integration test binary: one binary, one module per area.
#![allow(unreachable_pub)]

mod curl;
mod driver;
mod export;
mod export_props;
mod gss_ntlmssp;
mod handoff;
mod handshake;
mod kdc;
mod kerberos_context;
mod kerberos_credentials;
mod kerberos_golden;
mod krb5_files;
mod krb5_realm;
mod krb_crypto;
mod mit_gss;
mod pac;
mod real_clients;
mod sspi_crate;
mod sspi_layer;
mod vectors;
