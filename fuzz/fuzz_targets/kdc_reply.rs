#![no_main]
//! Fuzz target: see `sspi_emu::fuzzing::kdc_reply`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| sspi_emu::fuzzing::kdc_reply(data));
