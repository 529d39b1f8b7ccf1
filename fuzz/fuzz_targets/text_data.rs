//! Bytes as a user's text data set. The first byte picks the loader: bit 0 CSV or JSONL
//! through `TextDataset::parse`, bit 1 `TextDataset::from_bytes` (format from the name and
//! content), bit 2 a `.tsv` name; the rest is the file. `tests/fuzz_regressions.rs` reads
//! crash inputs the same way.
#![no_main]

use downstream::textdata::{TextColumns, TextDataset, TextFormat};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&sel, file)) = data.split_first() else {
        return;
    };
    let columns = TextColumns::default();
    let name = if sel & 4 != 0 {
        "fuzz.tsv"
    } else if sel & 1 != 0 {
        "fuzz.jsonl"
    } else {
        "fuzz.csv"
    };
    let loaded = if sel & 2 != 0 {
        TextDataset::from_bytes(file, "fuzz", &columns)
    } else {
        let format = if sel & 1 != 0 {
            TextFormat::Jsonl
        } else {
            TextFormat::Csv
        };
        TextDataset::parse(file, name, format, &columns)
    };
    if let Ok(d) = loaded {
        let _ = (d.counts(), d.info());
    }
});
