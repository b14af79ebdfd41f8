#![no_main]
//! Fuzz target: Kerberos decryption (RFC 3961/3962/8009/4757) of arbitrary bytes under each
//! enctype with fixed keys and several usages, and the encrypt/decrypt round trip of the
//! input as plaintext (`sspi_emu::fuzzing::krb_decrypt`).
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    sspi_emu::fuzzing::krb_decrypt(data);
});
