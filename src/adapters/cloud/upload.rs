//! Streaming multipart upload: a [`std::io::Write`] sink that cuts what it is given into
//! parts of `chunk_size` bytes and uploads them, up to `jobs` at once, from a worker thread
//! on the store's I/O runtime, so reading and compressing go on while parts travel. At most
//! `jobs + 2` parts are held in memory (the one being filled, one queued, `jobs` in
//! flight): a tar of any size streams through. `--max-bandwidth` is applied as Python's
//! `CloudTarUploader._throttle_upload` does: before a part is handed over, wait until the
//! previous part's size divided by the bandwidth has passed.

use super::{classify, CloudError, CloudStore};
use object_store::path::Path as StorePath;
use object_store::{ObjectStore, PutMultipartOptions, PutPayload};
use std::io::{self, Write};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How one object is uploaded.
#[derive(Debug, Clone)]
pub struct UploadOptions {
    /// Size of every part but the last.
    pub chunk_size: usize,
    /// Parts in flight at once (`-J/--jobs`).
    pub jobs: usize,
    /// Bytes per second, `None` for no limit (`--max-bandwidth`).
    pub max_bandwidth: Option<u64>,
    /// Object tags.
    pub tags: Vec<(String, String)>,
}

/// What a finished upload reports (Python's `FileUploadStatistics`).
#[derive(Debug, Clone)]
pub struct UploadStats {
    /// When the multipart upload was created.
    pub start: Instant,
    /// When it was completed.
    pub end: Instant,
    /// Sum of the time each part took.
    pub serialized: Duration,
    /// Parts uploaded.
    pub parts: usize,
}

/// The worker's end: the stats, or why it stopped.
type WorkerResult = Result<UploadStats, CloudError>;

/// What the writer hands the worker.
enum Message {
    /// The next part.
    Part(Vec<u8>),
    /// Every part was sent: complete the object. A channel closed without it (the writer
    /// dropped after a failure) aborts the upload, so no truncated object is ever stored.
    Done,
}

/// An object being uploaded part by part.
pub struct MultipartWriter {
    key: String,
    buffer: Vec<u8>,
    options: UploadOptions,
    sender: Option<tokio::sync::mpsc::Sender<Message>>,
    worker: Option<std::thread::JoinHandle<WorkerResult>>,
    last_part: Option<(Instant, usize)>,
    /// Bytes written so far (what Python's `CloudTarUploader.size` counts).
    pub written: u64,
}

impl CloudStore {
    /// Start uploading `key`; nothing is sent until the first part is full (or
    /// [`MultipartWriter::finish`]).
    pub fn upload(&self, key: &str, options: UploadOptions) -> MultipartWriter {
        let (sender, receiver) = tokio::sync::mpsc::channel(1);
        let store = Arc::clone(&self.store);
        let path = StorePath::from(key);
        let mut put = PutMultipartOptions::default();
        for (k, v) in &options.tags {
            put.tags.push(k, v);
        }
        let jobs = options.jobs.max(1);
        let runtime = Arc::clone(&self.runtime);
        let worker =
            std::thread::spawn(move || run_worker(&runtime, store, path, put, jobs, receiver));
        MultipartWriter {
            key: key.to_string(),
            buffer: Vec::with_capacity(options.chunk_size),
            options,
            sender: Some(sender),
            worker: Some(worker),
            last_part: None,
            written: 0,
        }
    }
}

impl MultipartWriter {
    /// The object's key.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// Hand the filled buffer to the worker.
    fn send_part(&mut self) -> io::Result<()> {
        let part = std::mem::replace(
            &mut self.buffer,
            Vec::with_capacity(self.options.chunk_size),
        );
        self.throttle(part.len());
        let sent = match &self.sender {
            Some(sender) => sender.blocking_send(Message::Part(part)).is_ok(),
            None => false,
        };
        if sent {
            return Ok(());
        }
        // The worker stopped: its error says why.
        self.sender = None;
        Err(io::Error::other(self.worker_error().to_string()))
    }

    /// Why the worker stopped.
    fn worker_error(&mut self) -> CloudError {
        match self.worker.take().map(std::thread::JoinHandle::join) {
            Some(Ok(Err(e))) => e,
            _ => CloudError::Other(format!("the upload of {} stopped", self.key)),
        }
    }

    /// Python's `_throttle_upload`: wait until the last part, at `max_bandwidth`, is paid.
    fn throttle(&mut self, size: usize) {
        let Some(bandwidth) = self.options.max_bandwidth.filter(|b| *b > 0) else {
            return;
        };
        if let Some((at, last_size)) = self.last_part {
            let needed = Duration::from_secs_f64(last_size as f64 / bandwidth as f64);
            let since = at.elapsed();
            if since < needed {
                tracing::info!(target: "barman.cloud", "Throttling upload by waiting for {} seconds", (needed - since).as_secs_f64());
                std::thread::sleep(needed - since);
            }
        }
        self.last_part = Some((Instant::now(), size));
    }

    /// Upload what is left and complete the object.
    pub fn finish(mut self) -> Result<UploadStats, CloudError> {
        if !self.buffer.is_empty() || self.last_part.is_none() {
            self.send_part()
                .map_err(|e| CloudError::Other(e.to_string()))?;
        }
        let done = self
            .sender
            .take()
            .is_some_and(|s| s.blocking_send(Message::Done).is_ok());
        if !done {
            return Err(self.worker_error());
        }
        match self.worker.take().map(std::thread::JoinHandle::join) {
            Some(Ok(result)) => result,
            _ => Err(CloudError::Other(format!(
                "the upload of {} stopped",
                self.key
            ))),
        }
    }
}

impl Write for MultipartWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let room = self
            .options
            .chunk_size
            .saturating_sub(self.buffer.len())
            .max(1);
        let n = room.min(buf.len());
        self.buffer.extend_from_slice(&buf[..n]);
        self.written += n as u64;
        if self.buffer.len() >= self.options.chunk_size {
            self.send_part()?;
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// The worker thread: create the multipart upload, upload parts as they come (at most
/// `jobs` at once), complete it when the writer says it is done; abort it on a failed part
/// or when the writer went away without saying so.
fn run_worker(
    runtime: &tokio::runtime::Runtime,
    store: Arc<dyn ObjectStore>,
    path: StorePath,
    options: PutMultipartOptions,
    jobs: usize,
    mut parts: tokio::sync::mpsc::Receiver<Message>,
) -> WorkerResult {
    // The store's current-thread runtime: several threads may `block_on` it at once, the
    // one holding its core drives the I/O of all (see `CloudStore::runtime`).
    runtime.block_on(async move {
        let start = Instant::now();
        let mut upload = store
            .put_multipart_opts(&path, options)
            .await
            .map_err(|e| classify("CreateMultipartUpload", e))?;
        let sent = send_parts(upload.as_mut(), jobs, &mut parts).await;
        let failure = match (sent.failure, sent.done) {
            (Some(e), _) => Some(e),
            (None, false) => Some(CloudError::Other(format!("upload of {path} abandoned"))),
            (None, true) => None,
        };
        if let Some(e) = failure {
            // Best effort: the parts already stored are not kept.
            if !e.is_connectivity() {
                let _ = upload.abort().await;
            }
            return Err(e);
        }
        upload
            .complete()
            .await
            .map_err(|e| classify("CompleteMultipartUpload", e))?;
        Ok(UploadStats {
            start,
            end: Instant::now(),
            serialized: sent.serialized,
            parts: sent.count,
        })
    })
}

/// How the parts went.
struct Sent {
    serialized: Duration,
    count: usize,
    failure: Option<CloudError>,
    done: bool,
}

/// Upload the parts the writer sends, `jobs` at a time, until it says done or a part
/// fails; every started part is waited for.
async fn send_parts(
    upload: &mut dyn object_store::MultipartUpload,
    jobs: usize,
    parts: &mut tokio::sync::mpsc::Receiver<Message>,
) -> Sent {
    let slots = Arc::new(tokio::sync::Semaphore::new(jobs));
    let mut running = tokio::task::JoinSet::new();
    let mut sent = Sent {
        serialized: Duration::ZERO,
        count: 0,
        failure: None,
        done: false,
    };
    let record =
        |sent: &mut Sent,
         done: Result<Result<Duration, object_store::Error>, tokio::task::JoinError>| {
            match done {
                Ok(Ok(took)) => sent.serialized += took,
                Ok(Err(e)) => {
                    sent.failure = sent.failure.take().or(Some(classify("UploadPart", e)))
                }
                Err(e) => {
                    sent.failure = sent
                        .failure
                        .take()
                        .or(Some(CloudError::Other(e.to_string())))
                }
            }
        };
    while let Some(message) = parts.recv().await {
        let Message::Part(part) = message else {
            sent.done = true;
            break;
        };
        let Ok(slot) = Arc::clone(&slots).acquire_owned().await else {
            break;
        };
        sent.count += 1;
        if injected_failure(sent.count) {
            sent.failure = Some(CloudError::Other(format!(
                "injected failure of part {}",
                sent.count
            )));
            break;
        }
        let future = upload.put_part(PutPayload::from(part));
        running.spawn(async move {
            let began = Instant::now();
            let result = future.await;
            drop(slot);
            result.map(|()| began.elapsed())
        });
        while let Some(done) = running.try_join_next() {
            record(&mut sent, done);
        }
        if sent.failure.is_some() {
            break;
        }
    }
    // Stop taking parts: a writer blocked on the channel sees it closed.
    parts.close();
    while let Some(done) = running.join_next().await {
        record(&mut sent, done);
    }
    sent
}

/// With the `failpoints` feature and `BARMAN_FAILPOINT=cloud-upload-part-2`, the second
/// part of every upload fails (the fault tests use it to cut a backup short while the
/// server stays up). Always false in normal builds.
fn injected_failure(part: usize) -> bool {
    #[cfg(feature = "failpoints")]
    if part == 2 && std::env::var("BARMAN_FAILPOINT").is_ok_and(|w| w == "cloud-upload-part-2") {
        return true;
    }
    let _ = part;
    false
}
