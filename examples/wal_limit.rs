//! The machine's limit for archiving a WAL backlog with compression, for scripts/bench-wal:
//! every core compresses the backlog's files at the given level, and each compressed file
//! is written and fsynced, with nothing else (no catalog, no checksum, no renames). Prints
//! two wall times in seconds, tab-separated: compression alone (into memory), then
//! compression plus the fsync'd writes.
//! Usage: cargo run --release --example wal_limit -- CODEC LEVEL OUT_DIR FILE...
#![allow(clippy::unwrap_used)]

use barman::adapters::codec::Codec;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let codec = Codec::from_name(&args[0], None, None).unwrap();
    let level = codec.level(&args[1]);
    let out = PathBuf::from(&args[2]);
    let files: Vec<PathBuf> = args[3..].iter().map(PathBuf::from).collect();
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let alone = run(&codec, level, &files, cores, None);
    std::fs::create_dir_all(&out).unwrap();
    let written = run(&codec, level, &files, cores, Some(&out));
    println!("{alone:.3}\t{written:.3}");
}

/// Compress every file on `cores` threads; into `out` (each file fsynced) when given.
fn run(codec: &Codec, level: i32, files: &[PathBuf], cores: usize, out: Option<&Path>) -> f64 {
    let next = AtomicUsize::new(0);
    let start = Instant::now();
    std::thread::scope(|scope| {
        for _ in 0..cores {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                let Some(file) = files.get(i) else { break };
                let data = std::fs::read(file).unwrap();
                let mut packed = Vec::with_capacity(data.len() / 2);
                codec
                    .compress(level, &mut data.as_slice(), &mut packed)
                    .unwrap();
                if let Some(dir) = out {
                    let mut f = std::fs::File::create(dir.join(file.file_name().unwrap())).unwrap();
                    f.write_all(&packed).unwrap();
                    f.sync_all().unwrap();
                }
            });
        }
    });
    if let Some(dir) = out {
        std::fs::File::open(dir).unwrap().sync_all().unwrap();
    }
    start.elapsed().as_secs_f64()
}
