//! WAL compression codecs, streaming, as Barman 3.20 names and tunes them
//! (`barman/compression.py`): gzip/pygzip and pigz (gzip format), bzip2/pybzip2, xz, zstd,
//! lz4 (frame format), snappy (framed format) and `custom` filters run through the shell.
//! Reading detects the format from the magic bytes, so what Python Barman wrote we read, and
//! the other way round.

use crate::core::compression;
use std::io::{self, Read, Write};
use std::process::Stdio;

/// A configured WAL compression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Codec {
    /// gzip format through flate2 (`gzip`, `pygzip`).
    Gzip,
    /// gzip format through the `pigz` program.
    Pigz,
    /// bzip2 (`bzip2`, `pybzip2`).
    Bzip2,
    /// xz (LZMA2).
    Xz,
    /// Zstandard.
    Zstd,
    /// LZ4 frame format.
    Lz4,
    /// Snappy framed format.
    Snappy,
    /// `custom_compression_filter` / `custom_decompression_filter` shell commands.
    Custom {
        /// Command reading plain data on stdin, writing compressed data on stdout.
        compress: String,
        /// The reverse.
        decompress: String,
    },
}

/// Level bounds and the `low`/`medium`/`high` mapping of each algorithm (Barman's
/// `LEVEL_MIN`, `LEVEL_MAX`, `LEVEL_LOW`, `LEVEL_MEDIUM`, `LEVEL_HIGH`).
struct Levels {
    min: i32,
    max: i32,
    low: i32,
    medium: i32,
    high: i32,
}

impl Codec {
    /// The codec for a `compression` value (`None` for an unknown name).
    pub fn from_name(
        name: &str,
        custom_compress: Option<&str>,
        custom_decompress: Option<&str>,
    ) -> Option<Codec> {
        Some(match name {
            "gzip" | "pygzip" => Codec::Gzip,
            "pigz" => Codec::Pigz,
            "bzip2" | "pybzip2" => Codec::Bzip2,
            "xz" => Codec::Xz,
            "zstd" => Codec::Zstd,
            "lz4" => Codec::Lz4,
            "snappy" => Codec::Snappy,
            "custom" => Codec::Custom {
                compress: custom_compress?.to_string(),
                decompress: custom_decompress?.to_string(),
            },
            _ => return None,
        })
    }

    /// The codec that reads a file starting with `head`, `None` for a plain file.
    pub fn detect(head: &[u8]) -> Option<Codec> {
        Some(match compression::identify(head)? {
            "gzip" => Codec::Gzip,
            "bzip2" => Codec::Bzip2,
            "xz" => Codec::Xz,
            "zstd" => Codec::Zstd,
            "lz4" => Codec::Lz4,
            _ => Codec::Snappy,
        })
    }

    fn levels(&self) -> Option<Levels> {
        let l = |min, max, low, medium, high| {
            Some(Levels {
                min,
                max,
                low,
                medium,
                high,
            })
        };
        match self {
            Codec::Gzip | Codec::Pigz => l(1, 9, 1, 6, 9),
            Codec::Bzip2 => l(1, 9, 1, 5, 9),
            Codec::Xz => l(1, 9, 1, 3, 5),
            Codec::Zstd => l(-22, 22, 1, 4, 9),
            Codec::Lz4 => l(0, 16, 0, 6, 10),
            Codec::Snappy | Codec::Custom { .. } => None,
        }
    }

    /// The level Barman uses for `compression_level` (`low`/`medium`/`high` or an integer,
    /// clamped to the algorithm's range).
    pub fn level(&self, compression_level: &str) -> i32 {
        let Some(levels) = self.levels() else {
            return 0;
        };
        match compression_level {
            "low" => levels.low,
            "high" => levels.high,
            other => other
                .parse::<i32>()
                .map_or(levels.medium, |n| n.clamp(levels.min, levels.max)),
        }
    }

    /// Compress `input` into `output` at `level`.
    pub fn compress(
        &self,
        level: i32,
        input: &mut dyn Read,
        output: &mut dyn Write,
    ) -> io::Result<u64> {
        match self {
            Codec::Gzip => {
                let mut encoder = flate2::write::GzEncoder::new(
                    output,
                    flate2::Compression::new(level.clamp(0, 9) as u32),
                );
                let n = io::copy(input, &mut encoder)?;
                encoder.finish()?;
                Ok(n)
            }
            Codec::Bzip2 => {
                let mut encoder = bzip2::write::BzEncoder::new(
                    output,
                    bzip2::Compression::new(level.clamp(1, 9) as u32),
                );
                let n = io::copy(input, &mut encoder)?;
                encoder.finish()?;
                Ok(n)
            }
            Codec::Xz => {
                let mut encoder = liblzma::write::XzEncoder::new(output, level.clamp(0, 9) as u32);
                let n = io::copy(input, &mut encoder)?;
                encoder.finish()?;
                Ok(n)
            }
            Codec::Zstd => {
                let mut encoder = zstd::stream::write::Encoder::new(output, level)?;
                let n = io::copy(input, &mut encoder)?;
                encoder.finish()?;
                Ok(n)
            }
            Codec::Lz4 => {
                // lz4_flex has one (fast) level; the frame it writes is standard LZ4.
                let mut encoder = lz4_flex::frame::FrameEncoder::new(output);
                let n = io::copy(input, &mut encoder)?;
                encoder.finish().map_err(io::Error::other)?;
                Ok(n)
            }
            Codec::Snappy => {
                let mut encoder = snap::write::FrameEncoder::new(output);
                let n = io::copy(input, &mut encoder)?;
                encoder.flush()?;
                Ok(n)
            }
            Codec::Pigz => filter(&format!("pigz -c -{}", level.clamp(1, 9)), input, output),
            Codec::Custom { compress, .. } => filter(compress, input, output),
        }
    }

    /// Decompress `input` into `output`.
    pub fn decompress(&self, input: &mut dyn Read, output: &mut dyn Write) -> io::Result<u64> {
        match self {
            Codec::Gzip | Codec::Pigz => {
                io::copy(&mut flate2::read::MultiGzDecoder::new(input), output)
            }
            Codec::Bzip2 => io::copy(&mut bzip2::read::MultiBzDecoder::new(input), output),
            Codec::Xz => io::copy(
                &mut liblzma::read::XzDecoder::new_multi_decoder(input),
                output,
            ),
            Codec::Zstd => io::copy(&mut zstd::stream::read::Decoder::new(input)?, output),
            Codec::Lz4 => io::copy(&mut lz4_flex::frame::FrameDecoder::new(input), output),
            Codec::Snappy => io::copy(&mut snap::read::FrameDecoder::new(input), output),
            Codec::Custom { decompress, .. } => filter(decompress, input, output),
        }
    }
}

/// Run a shell filter: `input` on its stdin, its stdout into `output`.
fn filter(command: &str, input: &mut dyn Read, output: &mut dyn Write) -> io::Result<u64> {
    let mut cmd = super::spawn::child_command("sh");
    cmd.args(["-c", command]);
    super::spawn::log_command(&cmd);
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    let mut stdin = child
        .stdin
        .take()
        .ok_or_else(|| io::Error::other("filter stdin"))?;
    let mut stdout = child
        .stdout
        .take()
        .ok_or_else(|| io::Error::other("filter stdout"))?;
    // Feed stdin from a thread so a filter that writes before reading everything cannot
    // deadlock against us.
    let mut data = Vec::new();
    input.read_to_end(&mut data)?;
    let feeder = std::thread::spawn(move || stdin.write_all(&data));
    let n = io::copy(&mut stdout, output)?;
    feeder
        .join()
        .map_err(|_| io::Error::other("filter feeder panicked"))??;
    let result = child.wait_with_output()?;
    if !result.status.success() {
        return Err(io::Error::other(format!(
            "'{command}' failed ({}): {}",
            result.status,
            String::from_utf8_lossy(&result.stderr).trim()
        )));
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Vec<u8> {
        // WAL-like: mostly zeros with some structure.
        let mut data = vec![0u8; 1 << 20];
        for (i, b) in data.iter_mut().enumerate().step_by(97) {
            *b = (i % 251) as u8;
        }
        data
    }

    #[test]
    fn codec_round_trips_and_is_detected_by_magic() {
        let data = sample();
        for codec in [
            Codec::Gzip,
            Codec::Bzip2,
            Codec::Xz,
            Codec::Zstd,
            Codec::Lz4,
            Codec::Snappy,
        ] {
            let mut packed = Vec::new();
            codec
                .compress(codec.level("medium"), &mut data.as_slice(), &mut packed)
                .unwrap();
            assert!(packed.len() < data.len() / 4, "{codec:?} did not compress");
            assert_eq!(
                Codec::detect(&packed),
                Some(if codec == Codec::Gzip {
                    Codec::Gzip
                } else {
                    codec.clone()
                })
            );
            let mut unpacked = Vec::new();
            codec
                .decompress(&mut packed.as_slice(), &mut unpacked)
                .unwrap();
            assert_eq!(unpacked, data, "{codec:?}");
        }
    }

    #[test]
    fn codec_custom_filters_run_through_the_shell() {
        let codec = Codec::from_name("custom", Some("gzip -c"), Some("gzip -dc")).unwrap();
        let data = sample();
        let mut packed = Vec::new();
        codec
            .compress(0, &mut data.as_slice(), &mut packed)
            .unwrap();
        assert_eq!(Codec::detect(&packed), Some(Codec::Gzip));
        let mut unpacked = Vec::new();
        codec
            .decompress(&mut packed.as_slice(), &mut unpacked)
            .unwrap();
        assert_eq!(unpacked, data);
        let broken = Codec::from_name("custom", Some("exit 3"), Some("cat")).unwrap();
        assert!(broken
            .compress(0, &mut data.as_slice(), &mut Vec::new())
            .is_err());
    }

    #[test]
    fn codec_levels_follow_barman() {
        assert_eq!(Codec::Gzip.level("medium"), 6);
        assert_eq!(Codec::Bzip2.level("medium"), 5);
        assert_eq!(Codec::Xz.level("high"), 5);
        assert_eq!(Codec::Zstd.level("low"), 1);
        assert_eq!(Codec::Zstd.level("-5"), -5);
        assert_eq!(Codec::Gzip.level("42"), 9);
        assert_eq!(Codec::Lz4.level("medium"), 6);
        assert_eq!(Codec::from_name("pybzip2", None, None), Some(Codec::Bzip2));
        assert_eq!(Codec::from_name("custom", None, None), None);
        assert_eq!(Codec::from_name("rar", None, None), None);
    }
}
