#![no_main]
//! Fuzz target: see `sspi_emu::fuzzing::replay_file`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| sspi_emu::fuzzing::replay_file(data));
