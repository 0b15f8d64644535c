//! A response's bytes held under its request's permit until they are written, and a
//! connection that gives up on a client that reads none of them for `--timeout`.
//!
//! Why: a response is up to twice `--max-body-mb` (`super::RESPONSE_BODIES`). Handed to
//! hyper whole, it left the concurrency limit at once and waited in memory for its
//! reader: clients that stop reading (one per connection, up to `--max-connections`)
//! could hold far more than the machine has. Here it is given a frame at a time, which
//! hyper takes only as the earlier ones are written, and it keeps the permit until the
//! last is taken; a reader that stalls for `--timeout` has its connection closed, which
//! drops the rest and the permit.

use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::Bytes;
use hyper::body::{Body, Frame, SizeHint};
use tokio::sync::OwnedSemaphorePermit;

/// Bytes of a frame.
const FRAME: usize = 64 << 10;

/// A response body that holds `permit` until its last frame is taken or it is dropped.
pub struct Held {
    bytes: Bytes,
    permit: Option<OwnedSemaphorePermit>,
}

impl Held {
    pub fn new(bytes: Vec<u8>, permit: OwnedSemaphorePermit) -> Held {
        Held { bytes: Bytes::from(bytes), permit: Some(permit) }
    }
}

impl Body for Held {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        let n = self.bytes.len().min(FRAME);
        if n == 0 {
            self.permit = None;
            return Poll::Ready(None);
        }
        let frame = self.bytes.split_to(n);
        if self.bytes.is_empty() {
            self.permit = None;
        }
        Poll::Ready(Some(Ok(Frame::data(frame))))
    }

    fn is_end_stream(&self) -> bool {
        self.bytes.is_empty()
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.bytes.len() as u64)
    }
}

/// A connection's I/O whose writes fail when none of them could proceed for `limit`
/// (the client reads nothing): hyper then closes the connection.
pub struct Stall<T> {
    io: T,
    limit: Duration,
    since: Option<Pin<Box<tokio::time::Sleep>>>,
}

impl<T> Stall<T> {
    pub fn new(io: T, limit: Duration) -> Stall<T> {
        Stall { io, limit, since: None }
    }

    /// `polled`, with the limit: progress clears the timer; a write still waiting once
    /// the limit has passed since the first of the writes that waited in a row fails
    /// (the timer wakes the task when it passes).
    fn watch<R>(&mut self, cx: &mut Context<'_>, polled: Poll<io::Result<R>>) -> Poll<io::Result<R>> {
        if polled.is_ready() {
            self.since = None;
            return polled;
        }
        let limit = self.limit;
        let sleep = self.since.get_or_insert_with(|| Box::pin(tokio::time::sleep(limit)));
        match sleep.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!("the client read nothing of the response for {limit:?} (--timeout)"),
            ))),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl<T: hyper::rt::Read + Unpin> hyper::rt::Read for Stall<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: hyper::rt::ReadBufCursor<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_read(cx, buf)
    }
}

impl<T: hyper::rt::Write + Unpin> hyper::rt::Write for Stall<T> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.io).poll_write(cx, buf);
        self.watch(cx, polled)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.io).poll_write_vectored(cx, bufs);
        self.watch(cx, polled)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let polled = Pin::new(&mut self.io).poll_flush(cx);
        self.watch(cx, polled)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let polled = Pin::new(&mut self.io).poll_shutdown(cx);
        self.watch(cx, polled)
    }
}
