//! Early writeback of a folder another process is filling (rsync or pg_basebackup copying a
//! backup). A backup's copy is fsynced file by file once it is complete, as Barman does
//! (pg_basebackup fsyncs its own); until then the
//! kernel keeps the copied bytes in the page cache (a machine with 20 GiB of memory starts
//! background writeback only past ~2 GiB dirty), so the disk idles during the copy and the
//! fsync then waits for all of it (~1 s for 1.5 GiB here). [`BackgroundWriteback`], started
//! for the copy, walks the folder every so often and starts the writeback of what each file
//! gained since the last pass (`sync_file_range(SYNC_FILE_RANGE_WRITE)`), so the disk works
//! while the network and rsync do. Advisory only: a file that cannot be read or is gone is
//! skipped, and the fsync that follows is what makes the copy durable. The passes run on a
//! thread of their own: `sync_file_range` waits while the disk's queue is full (up to
//! ~0.13 s a call here), which in the copy's own loop delayed noticing that the copy had
//! ended.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The shortest pause between two passes.
const MIN_PAUSE: Duration = Duration::from_millis(250);
/// A pass over a large tree (many stat calls) waits this many times its own length before
/// the next, so walking never takes more than a tenth of one core.
const PAUSE_FACTOR: u32 = 10;

/// How often the background thread asks for a pass (each waits its pause, see `tick`).
const TICK: Duration = Duration::from_millis(50);

/// A [`TreeWriteback`] ticked by a thread of its own until this is dropped. The thread is
/// not waited for: dropping only asks it to stop after its current pass, so the end of the
/// copy is never held up by a pass waiting on the disk.
pub struct BackgroundWriteback {
    stop: Arc<AtomicBool>,
}

impl BackgroundWriteback {
    /// Start the thread (none if the system refuses one: the writeback is advisory).
    pub fn start(root: &Path) -> BackgroundWriteback {
        let stop = Arc::new(AtomicBool::new(false));
        let asked = Arc::clone(&stop);
        let mut writeback = TreeWriteback::new(root);
        let _ = std::thread::Builder::new()
            .name("writeback".into())
            .spawn(move || {
                while !asked.load(Ordering::Relaxed) {
                    writeback.tick();
                    std::thread::sleep(TICK);
                }
            });
        BackgroundWriteback { stop }
    }
}

impl Drop for BackgroundWriteback {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// The writeback state of one tree: how many bytes of each file were handed to the disk.
struct TreeWriteback {
    root: PathBuf,
    started: HashMap<PathBuf, u64>,
    next_pass: Instant,
}

impl TreeWriteback {
    /// Nothing is done until the first [`Self::tick`].
    fn new(root: &Path) -> TreeWriteback {
        TreeWriteback {
            root: root.to_path_buf(),
            started: HashMap::new(),
            next_pass: Instant::now() + MIN_PAUSE,
        }
    }

    /// Walk the tree if the pause since the last pass is over.
    fn tick(&mut self) {
        let now = Instant::now();
        if now < self.next_pass {
            return;
        }
        let root = self.root.clone();
        self.pass(&root);
        let took = now.elapsed();
        self.next_pass = Instant::now() + (took * PAUSE_FACTOR).max(MIN_PAUSE);
    }

    fn pass(&mut self, dir: &Path) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            let Ok(kind) = entry.file_type() else {
                continue;
            };
            let path = entry.path();
            if kind.is_dir() {
                self.pass(&path);
            } else if kind.is_file() {
                let Ok(size) = entry.metadata().map(|m| m.len()) else {
                    continue;
                };
                let done = self.started.get(&path).copied().unwrap_or(0);
                if size > done {
                    if let Ok(file) = std::fs::File::open(&path) {
                        super::durable::start_writeback(&file, done, size - done);
                    }
                    self.started.insert(path, size);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pass_records_each_file_once_and_again_when_it_grows() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("base")).unwrap();
        let file = dir.path().join("base/1");
        std::fs::write(&file, vec![1u8; 8192]).unwrap();
        std::fs::write(dir.path().join("PG_VERSION"), b"15\n").unwrap();
        let mut writeback = TreeWriteback::new(dir.path());
        writeback.pass(dir.path());
        assert_eq!(writeback.started.get(&file), Some(&8192));
        assert_eq!(writeback.started.len(), 2);
        std::fs::write(&file, vec![1u8; 16384]).unwrap();
        writeback.pass(dir.path());
        assert_eq!(writeback.started.get(&file), Some(&16384));
        // A folder that is gone is no error.
        let mut gone = TreeWriteback::new(&dir.path().join("missing"));
        gone.pass(&dir.path().join("missing"));
        assert!(gone.started.is_empty());
    }
}
