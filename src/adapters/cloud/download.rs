//! Streaming GET: an object read as a `std::io::Read`, chunk by chunk as the server sends
//! it, so a backup tar of any size goes from the socket to the untar without being held
//! whole in memory or on disk (barman-cloud's `remote_open`).

use super::{classify, CloudError, CloudStore};
use bytes::Bytes;
use futures_util::stream::BoxStream;
use futures_util::StreamExt;
use object_store::path::Path as StorePath;
use object_store::ObjectStoreExt;
use std::io::{self, Read};

/// An object being downloaded. Each `read` that finds its buffer empty waits for the next
/// chunk on the store's runtime; several readers may do so from several threads at once
/// (a current-thread runtime lets concurrent `block_on` calls share its I/O driver).
pub struct ObjectReader<'a> {
    store: &'a CloudStore,
    stream: BoxStream<'static, object_store::Result<Bytes>>,
    chunk: Bytes,
    /// The object's size as the server announced it: a shorter body is an error.
    size: u64,
    read: u64,
}

impl CloudStore {
    /// Start downloading `key`; `None` when there is no such object.
    pub fn open_read(&self, key: &str) -> Result<Option<ObjectReader<'_>>, CloudError> {
        let path = StorePath::from(key);
        match self
            .runtime
            .block_on(self.store.get(&path))
            .map_err(|e| classify("GetObject", e))
        {
            Ok(got) => Ok(Some(ObjectReader {
                store: self,
                size: got.meta.size,
                stream: got.into_stream(),
                chunk: Bytes::new(),
                read: 0,
            })),
            Err(CloudError::NotFound(_)) => Ok(None),
            Err(e) => Err(e),
        }
    }
}

impl ObjectReader<'_> {
    /// The object's size in bytes.
    pub fn size(&self) -> u64 {
        self.size
    }
}

impl Read for ObjectReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.chunk.is_empty() {
            match self.store.runtime.block_on(self.stream.next()) {
                Some(Ok(chunk)) => self.chunk = chunk,
                Some(Err(e)) => return Err(io::Error::other(classify("GetObject", e).to_string())),
                None if self.read < self.size => {
                    return Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        format!(
                            "the download ended after {} of {} bytes",
                            self.read, self.size
                        ),
                    ))
                }
                None => return Ok(0),
            }
        }
        let n = buf.len().min(self.chunk.len());
        buf[..n].copy_from_slice(&self.chunk.split_to(n));
        self.read += n as u64;
        Ok(n)
    }
}
