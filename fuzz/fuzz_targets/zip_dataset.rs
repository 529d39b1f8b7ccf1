//! Zip bytes as a user's data set: `Dataset::from_zip`, then its summary.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(d) = downstream::data::Dataset::from_zip(data, "fuzz.zip") {
        let _ = d.info();
    }
});
