//! The guest's stdout and stderr: streams to the user's terminal (or to memory) that share
//! one byte budget, so a guest printing forever is stopped with a clear message instead of
//! filling a disk.
//!
//! A write past the budget traps the guest with [`LimitExceeded::Output`]. The streams report
//! that they are not terminals whatever the host's are, so a guest cannot behave differently
//! depending on how evalbox was started.

use std::io::Write;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use bytes::Bytes;
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};
use wasmtime_wasi::p2::{OutputStream, Pollable, StreamError};

use super::limits::LimitExceeded;

/// Largest chunk the guest is invited to write at once.
const WRITE_PERMIT: usize = 1 << 20;

/// Where a stream's bytes go.
#[derive(Debug, Clone)]
pub enum OutputTarget {
    /// The host process's stdout.
    Stdout,
    /// The host process's stderr.
    Stderr,
    /// An in-memory buffer (tests, benchmarks, embedders).
    Buffer(Arc<Mutex<Vec<u8>>>),
    /// Nowhere.
    Discard,
    /// A function called with each chunk the guest writes (a host reading the guest's output
    /// as it comes, as `eval-jobs` reads its workers' answers).
    Callback(OutputCallback),
}

/// A function taking each chunk of output.
pub type OutputFn = dyn Fn(&[u8]) -> std::io::Result<()> + Send + Sync;

/// What [`OutputTarget::Callback`] calls; an error fails the guest's write.
#[derive(Clone)]
pub struct OutputCallback(pub Arc<OutputFn>);

impl std::fmt::Debug for OutputCallback {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("OutputCallback(..)")
    }
}

impl OutputTarget {
    /// Writes `bytes` there.
    pub fn write_all(&self, bytes: &[u8]) -> std::io::Result<()> {
        match self {
            OutputTarget::Stdout => std::io::stdout().lock().write_all(bytes),
            OutputTarget::Stderr => std::io::stderr().lock().write_all(bytes),
            OutputTarget::Buffer(buffer) => {
                buffer
                    .lock()
                    .unwrap_or_else(|poisoned| poisoned.into_inner())
                    .extend_from_slice(bytes);
                Ok(())
            }
            OutputTarget::Discard => Ok(()),
            OutputTarget::Callback(f) => (f.0)(bytes),
        }
    }

    fn flush(&self) -> std::io::Result<()> {
        match self {
            OutputTarget::Stdout => std::io::stdout().lock().flush(),
            OutputTarget::Stderr => std::io::stderr().lock().flush(),
            OutputTarget::Buffer(_) | OutputTarget::Discard | OutputTarget::Callback(_) => Ok(()),
        }
    }
}

/// The byte budget shared by a guest's stdout and stderr.
#[derive(Debug, Clone)]
pub struct OutputBudget {
    limit: u64,
    used: Arc<AtomicU64>,
}

impl OutputBudget {
    /// A budget of `limit` bytes.
    pub fn new(limit: u64) -> Self {
        OutputBudget {
            limit,
            used: Arc::new(AtomicU64::new(0)),
        }
    }

    /// Takes `n` bytes from the budget, or reports the limit.
    fn charge(&self, n: u64) -> Result<(), LimitExceeded> {
        let previous = self.used.fetch_add(n, Ordering::Relaxed);
        if previous.saturating_add(n) > self.limit {
            Err(LimitExceeded::Output { limit: self.limit })
        } else {
            Ok(())
        }
    }
}

/// One capped output stream (the guest's stdout or stderr).
#[derive(Debug, Clone)]
pub struct CappedOutput {
    target: OutputTarget,
    budget: OutputBudget,
}

impl CappedOutput {
    /// A stream to `target` drawing on `budget`.
    pub fn new(target: OutputTarget, budget: OutputBudget) -> Self {
        CappedOutput { target, budget }
    }

    fn write_bytes(&self, bytes: &[u8]) -> Result<(), StreamError> {
        self.budget
            .charge(bytes.len() as u64)
            .map_err(|limit| StreamError::Trap(wasmtime::Error::new(limit)))?;
        self.target
            .write_all(bytes)
            .map_err(|e| StreamError::LastOperationFailed(wasmtime::Error::new(e)))
    }
}

/// A guest learns whether its output goes to a terminal that wants colour (to colour
/// messages, as programs do), and nothing else about it. The usual conventions apply: a
/// `TERM=dumb` terminal, or `NO_COLOR`/`NOCOLOR` set, count as no terminal.
impl IsTerminal for CappedOutput {
    fn is_terminal(&self) -> bool {
        let tty = match self.target {
            OutputTarget::Stdout => std::io::IsTerminal::is_terminal(&std::io::stdout()),
            OutputTarget::Stderr => std::io::IsTerminal::is_terminal(&std::io::stderr()),
            OutputTarget::Buffer(_) | OutputTarget::Discard | OutputTarget::Callback(_) => false,
        };
        tty && std::env::var("TERM").is_ok_and(|t| t != "dumb")
            && std::env::var_os("NO_COLOR").is_none()
            && std::env::var_os("NOCOLOR").is_none()
    }
}

impl StdoutStream for CappedOutput {
    fn p2_stream(&self) -> Box<dyn OutputStream> {
        Box::new(self.clone())
    }

    fn async_stream(&self) -> Box<dyn tokio::io::AsyncWrite + Send + Sync> {
        Box::new(self.clone())
    }
}

#[async_trait::async_trait]
impl Pollable for CappedOutput {
    async fn ready(&mut self) {}
}

impl OutputStream for CappedOutput {
    fn write(&mut self, bytes: Bytes) -> Result<(), StreamError> {
        self.write_bytes(&bytes)
    }

    fn flush(&mut self) -> Result<(), StreamError> {
        self.target
            .flush()
            .map_err(|e| StreamError::LastOperationFailed(wasmtime::Error::new(e)))
    }

    fn check_write(&mut self) -> Result<usize, StreamError> {
        Ok(WRITE_PERMIT)
    }
}

impl tokio::io::AsyncWrite for CappedOutput {
    fn poll_write(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let result = self
            .budget
            .charge(buf.len() as u64)
            .map_err(std::io::Error::other)
            .and_then(|()| self.target.write_all(buf));
        Poll::Ready(result.map(|()| buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(self.target.flush())
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn budget_is_shared_and_enforced() {
        let buffer = Arc::new(Mutex::new(Vec::new()));
        let budget = OutputBudget::new(10);
        let mut out = CappedOutput::new(OutputTarget::Buffer(buffer.clone()), budget.clone());
        let mut err = CappedOutput::new(OutputTarget::Discard, budget);
        out.write(Bytes::from_static(b"hello")).unwrap();
        err.write(Bytes::from_static(b"world")).unwrap();
        match out.write(Bytes::from_static(b"!")) {
            Err(StreamError::Trap(e)) => assert_eq!(
                e.downcast_ref::<LimitExceeded>(),
                Some(&LimitExceeded::Output { limit: 10 })
            ),
            other => panic!("expected an output-limit trap, got {other:?}"),
        }
        assert_eq!(&*buffer.lock().unwrap(), b"hello");
    }
}
