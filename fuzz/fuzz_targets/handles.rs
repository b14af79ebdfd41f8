#![no_main]
//! Fuzz target: see `sspi_emu::fuzzing::handles`.

libfuzzer_sys::fuzz_target!(
    init: {
        // The calls that read the process environment (export_security_context and
        // import_security_context without `_ex`, which use the per-host key file, and
        // inbound credentials without auth data, which read NTLM_USER_FILE) get files of
        // their own in a directory of this process, never the user's: the target makes these
        // calls only when the variables are set.
        let dir = std::env::temp_dir().join(format!("sspi-emu-fuzz-handles-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("a temporary directory");
        let users = dir.join("users");
        std::fs::write(&users, "EXAMPLE:alice:pw\n:bob:pw2\n").expect("the user file");
        // SAFETY: set before the first input, while this process has one thread.
        unsafe {
            std::env::set_var("SSPI_EMU_EXPORT_KEY_FILE", dir.join("export.key"));
            std::env::set_var("NTLM_USER_FILE", users);
        }
    },
    |data: &[u8]| sspi_emu::fuzzing::handles(data)
);
