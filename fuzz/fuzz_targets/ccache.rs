#![no_main]
//! Fuzz target: see `sspi_emu::fuzzing::ccache`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| sspi_emu::fuzzing::ccache(data));
