#![no_main]
//! Fuzz target: see `sspi_emu::fuzzing::krb_message`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| sspi_emu::fuzzing::krb_message(data));
