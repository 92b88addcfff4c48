//! A TCP relay on loopback standing for the network between an agent and the server: `cut`
//! closes every connection and refuses new ones until `restore`; `point_to` sends new
//! connections to another upstream (a restarted server on another port).

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinSet;

pub struct Relay {
    pub address: SocketAddr,
    up: watch::Sender<bool>,
    upstream: Arc<Mutex<SocketAddr>>,
}

impl Relay {
    pub async fn start(upstream: SocketAddr) -> anyhow::Result<Relay> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let address = listener.local_addr()?;
        let (up, _) = watch::channel(true);
        let state = up.clone();
        let upstream = Arc::new(Mutex::new(upstream));
        let target = upstream.clone();
        tokio::spawn(async move {
            let mut connections = JoinSet::new();
            loop {
                let Ok((mut inbound, _)) = listener.accept().await else { return };
                if !*state.borrow() {
                    drop(inbound);
                    continue;
                }
                let mut down = state.subscribe();
                let to = *target.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                connections.spawn(async move {
                    let Ok(mut outbound) = TcpStream::connect(to).await else { return };
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound) => {}
                        _ = down.wait_for(|up| !*up) => {}
                    }
                });
            }
        });
        Ok(Relay { address, up, upstream })
    }

    pub fn cut(&self) {
        self.up.send_replace(false);
    }

    pub fn restore(&self) {
        self.up.send_replace(true);
    }

    pub fn point_to(&self, upstream: SocketAddr) {
        *self.upstream.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = upstream;
    }
}
