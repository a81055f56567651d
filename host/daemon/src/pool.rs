//! A small pool of daemon connections, so concurrent guests share a few connections instead of
//! paying a handshake (and a daemon worker process) each. A connection comes back to the pool
//! only if its last request completed cleanly: a broken one (protocol error, cancelled request,
//! upload cut short) is dropped, and the next caller opens a fresh one.

use std::ops::{Deref, DerefMut};
use std::sync::Mutex;

use tokio::sync::{Semaphore, SemaphorePermit};

use crate::client::{ClientOptions, DaemonClient};
use crate::error::Result;
use crate::transport::Transport;

/// Connections to one daemon, at most `max` at a time.
#[derive(Debug)]
pub struct Pool {
    transport: Transport,
    opts: ClientOptions,
    idle: Mutex<Vec<DaemonClient>>,
    permits: Semaphore,
}

/// A connection borrowed from a [`Pool`]; returned on drop unless broken.
#[derive(Debug)]
pub struct PooledClient<'a> {
    client: Option<DaemonClient>,
    pool: &'a Pool,
    _permit: SemaphorePermit<'a>,
}

impl Pool {
    /// A pool of at most `max` (at least 1) connections.
    pub fn new(transport: Transport, opts: ClientOptions, max: usize) -> Self {
        Self {
            transport,
            opts,
            idle: Mutex::new(Vec::new()),
            permits: Semaphore::new(max.max(1)),
        }
    }

    /// Where the connections go.
    pub fn transport(&self) -> &Transport {
        &self.transport
    }

    /// The options new connections are made with.
    pub fn options(&self) -> &ClientOptions {
        &self.opts
    }

    /// Opens a connection outside the pool (for a long-lived purpose such as temp roots).
    pub async fn connect(&self) -> Result<DaemonClient> {
        self.transport.connect(self.opts.clone()).await
    }

    /// Waits for a free slot and returns an idle connection or a new one.
    pub async fn get(&self) -> Result<PooledClient<'_>> {
        let permit = self
            .permits
            .acquire()
            .await
            .map_err(|_| std::io::Error::other("connection pool closed"))?;
        let idle = self.idle.lock().unwrap_or_else(|e| e.into_inner()).pop();
        let client = match idle {
            Some(c) => c,
            None => self.connect().await?,
        };
        Ok(PooledClient {
            client: Some(client),
            pool: self,
            _permit: permit,
        })
    }

    /// Number of idle connections (for tests).
    pub fn idle_count(&self) -> usize {
        self.idle.lock().unwrap_or_else(|e| e.into_inner()).len()
    }
}

impl Deref for PooledClient<'_> {
    type Target = DaemonClient;
    fn deref(&self) -> &DaemonClient {
        self.client.as_ref().expect("present until drop")
    }
}

impl DerefMut for PooledClient<'_> {
    fn deref_mut(&mut self) -> &mut DaemonClient {
        self.client.as_mut().expect("present until drop")
    }
}

impl Drop for PooledClient<'_> {
    fn drop(&mut self) {
        if let Some(c) = self.client.take()
            && !c.is_broken()
        {
            self.pool
                .idle
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(c);
        }
    }
}
