//! Our WAL compression and Python Barman's read each other's files, codec by codec.

use crate::harness::python_barman;
use crate::require;
use barman::adapters::codec::Codec;
use std::process::Command;

const PYTHON: &str = "import sys, types\n\
from barman.compression import compression_registry\n\
mode, name, src, dst = sys.argv[1:5]\n\
config = types.SimpleNamespace(compression=name, compression_level='medium',\n\
    custom_compression_filter=None, custom_decompression_filter=None, custom_compression_magic=None)\n\
compressor = compression_registry[name](config, name)\n\
(compressor.compress if mode == 'c' else compressor.decompress)(src, dst)\n";

fn python(mode: &str, name: &str, src: &std::path::Path, dst: &std::path::Path) {
    let python = python_barman::path().unwrap().with_file_name("python");
    let out = Command::new(python)
        .args(["-c", PYTHON, mode, name])
        .arg(src)
        .arg(dst)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{name} {mode}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn wal_like() -> Vec<u8> {
    let mut data = vec![0u8; 4 << 20];
    for (i, b) in data.iter_mut().enumerate().step_by(13) {
        *b = (i / 13 % 256) as u8;
    }
    data
}

#[test]
fn codecs_interoperate_with_python_barman() {
    require!(
        "Python Barman (scripts/python-barman)",
        python_barman::available()
    );
    let dir = tempfile::tempdir().unwrap();
    let plain = dir.path().join("plain");
    let data = wal_like();
    std::fs::write(&plain, &data).unwrap();
    for name in [
        "gzip", "pygzip", "pigz", "bzip2", "pybzip2", "xz", "zstd", "lz4", "snappy",
    ] {
        let codec = Codec::from_name(name, None, None).unwrap();
        // Ours → Python.
        let ours = dir.path().join(format!("{name}.ours"));
        let mut packed = Vec::new();
        codec
            .compress(codec.level("medium"), &mut data.as_slice(), &mut packed)
            .unwrap();
        std::fs::write(&ours, &packed).unwrap();
        let back = dir.path().join(format!("{name}.ours.plain"));
        python("d", name, &ours, &back);
        assert!(
            std::fs::read(&back).unwrap() == data,
            "{name}: Python read back different bytes"
        );
        // Python → ours, detected by magic.
        let theirs = dir.path().join(format!("{name}.theirs"));
        python("c", name, &plain, &theirs);
        let packed = std::fs::read(&theirs).unwrap();
        let detected =
            Codec::detect(&packed).unwrap_or_else(|| panic!("{name}: magic not recognised"));
        let mut unpacked = Vec::new();
        detected
            .decompress(&mut packed.as_slice(), &mut unpacked)
            .unwrap();
        assert!(unpacked == data, "{name}: we read back different bytes");
    }
}
