//! Integration tests: the real `shipfront` binary against the moto S3 emulator, through the real
//! AWS SDK. `scripts/test` installs the emulator; the harness starts it.

mod bad_input;
mod deploy;
mod faults;
mod harness;
