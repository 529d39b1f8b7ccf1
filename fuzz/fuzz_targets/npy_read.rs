//! `.npy` bytes as a user's array file: `npy::read`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = downstream::npy::read(data, "fuzz.npy");
});
