#![no_main]
//! Fuzz target: see `sspi_emu::fuzzing::channel_bindings`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| sspi_emu::fuzzing::channel_bindings(data));
