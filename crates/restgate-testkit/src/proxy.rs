//! A TCP forwarder to put between a pool and its database server, so a
//! test can take the server away and bring it back.
//!
//! ```ignore
//! let mut proxy = TcpForwarder::start("127.0.0.1:5432").await?;
//! // … connect the backend to 127.0.0.1:{proxy.port()} …
//! proxy.stop().await; // listener closed (new connections refused), open ones cut
//! proxy.restart().await?; // the same port forwards again
//! ```

use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};

use tokio::net::{TcpListener, TcpStream};
use tokio::task::{JoinHandle, JoinSet};

/// Forwards the connections made to a local port to a server, until stopped.
#[derive(Debug)]
pub struct TcpForwarder {
    local: SocketAddr,
    server: String,
    accept: Option<JoinHandle<()>>,
    conns: Arc<Mutex<JoinSet<()>>>,
}

impl TcpForwarder {
    /// Listens on an ephemeral port of 127.0.0.1 and forwards every
    /// connection to `server` (`host:port`).
    pub async fn start(server: impl Into<String>) -> io::Result<Self> {
        let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
        let mut forwarder = TcpForwarder {
            local: listener.local_addr()?,
            server: server.into(),
            accept: None,
            conns: Arc::new(Mutex::new(JoinSet::new())),
        };
        forwarder.serve(listener);
        Ok(forwarder)
    }

    /// The local port clients connect to.
    pub fn port(&self) -> u16 {
        self.local.port()
    }

    fn serve(&mut self, listener: TcpListener) {
        let server = self.server.clone();
        let conns = Arc::clone(&self.conns);
        self.accept = Some(tokio::spawn(async move {
            loop {
                let mut client = match listener.accept().await {
                    Ok((client, _)) => client,
                    Err(_) => {
                        // Out of file descriptors or the like: don't spin.
                        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                        continue;
                    }
                };
                let server = server.clone();
                let mut conns = conns.lock().unwrap_or_else(PoisonError::into_inner);
                while conns.try_join_next().is_some() {}
                conns.spawn(async move {
                    // A refused upstream closes the client's connection.
                    if let Ok(mut upstream) = TcpStream::connect(&server).await {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
                    }
                });
            }
        }));
    }

    /// Stops listening (new connections are refused) and cuts every
    /// forwarded connection: as far as clients can tell, the server is gone.
    pub async fn stop(&mut self) {
        if let Some(accept) = self.accept.take() {
            accept.abort();
            // The listener is closed once the task is gone.
            let _ = accept.await;
        }
        let mut conns = std::mem::take(&mut *self.conns.lock().unwrap_or_else(PoisonError::into_inner));
        conns.abort_all();
        while conns.join_next().await.is_some() {}
    }

    /// Listens on the same port again (after [`stop`](Self::stop)).
    pub async fn restart(&mut self) -> io::Result<()> {
        if self.accept.is_none() {
            let listener = TcpListener::bind(self.local).await?;
            self.serve(listener);
        }
        Ok(())
    }
}

impl Drop for TcpForwarder {
    fn drop(&mut self) {
        if let Some(accept) = self.accept.take() {
            accept.abort();
        }
        self.conns.lock().unwrap_or_else(PoisonError::into_inner).abort_all();
    }
}
