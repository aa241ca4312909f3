//! Single-core throughput of each WAL codec on WAL-like data, for scripts/bench-wal.
//! Usage: cargo run --release --example codec_throughput -- [MiB]
#![allow(clippy::unwrap_used)]

use barman::adapters::codec::Codec;
use std::time::Instant;

fn main() {
    let mib: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(64);
    // Real WAL from a busy cluster compresses about 3-5x: mix random-ish records with zeros.
    let mut data = vec![0u8; mib << 20];
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    for chunk in data.chunks_mut(8192) {
        for b in chunk.iter_mut().take(2600) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            *b = (x % 64) as u8;
        }
    }
    println!("codec\tlevel\tcompress_MBps\tdecompress_MBps\tratio");
    for (name, codec) in [
        ("gzip", Codec::Gzip),
        ("bzip2", Codec::Bzip2),
        ("xz", Codec::Xz),
        ("zstd", Codec::Zstd),
        ("lz4", Codec::Lz4),
        ("snappy", Codec::Snappy),
    ] {
        let levels: Vec<(&str, i32)> = match name {
            "gzip" => vec![("6", 6), ("1", 1)],
            "zstd" => vec![("1", 1), ("4", 4)],
            _ => vec![("medium", codec.level("medium"))],
        };
        for (label, level) in levels {
            let start = Instant::now();
            let mut packed = Vec::new();
            codec
                .compress(level, &mut data.as_slice(), &mut packed)
                .unwrap();
            let c = start.elapsed().as_secs_f64();
            let start = Instant::now();
            let mut plain = Vec::with_capacity(data.len());
            codec
                .decompress(&mut packed.as_slice(), &mut plain)
                .unwrap();
            let d = start.elapsed().as_secs_f64();
            assert!(plain == data);
            let mb = data.len() as f64 / 1e6;
            println!(
                "{name}\t{label}\t{:.0}\t{:.0}\t{:.2}",
                mb / c,
                mb / d,
                data.len() as f64 / packed.len() as f64
            );
        }
    }
}
