//! WAL compression formats and their detection from a file's first bytes, as Barman's
//! `CompressionManager.identify_compression` does (`barman/compression.py`).

/// Magic bytes of each format Barman recognises, with the name it records.
const MAGICS: [(&[u8], &str); 6] = [
    (b"\x1f\x8b\x08", "gzip"),
    (b"BZh", "bzip2"),
    (b"\xfd7zXZ\x00", "xz"),
    (b"(\xb5/\xfd", "zstd"),
    (b"\x04\x22\x4d\x18", "lz4"),
    (b"\xff\x06\x00\x00sNaPpY", "snappy"),
];

/// The compression of a file starting with `head`, or `None` for a plain file.
pub fn identify(head: &[u8]) -> Option<&'static str> {
    MAGICS
        .iter()
        .find(|(magic, _)| head.starts_with(magic))
        .map(|(_, name)| *name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compression_identified_by_magic() {
        assert_eq!(identify(b"\x1f\x8b\x08\x00"), Some("gzip"));
        assert_eq!(identify(b"BZh91AY&SY"), Some("bzip2"));
        assert_eq!(identify(b"\xfd7zXZ\x00\x00"), Some("xz"));
        assert_eq!(identify(b"(\xb5/\xfd\x00"), Some("zstd"));
        assert_eq!(identify(b"\x04\x22\x4d\x18"), Some("lz4"));
        assert_eq!(identify(b"\xff\x06\x00\x00sNaPpY"), Some("snappy"));
        assert_eq!(identify(b"\xd1\x00\x02\x00"), None);
        assert_eq!(identify(b""), None);
    }
}
