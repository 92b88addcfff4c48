//! The printer simulator: serves `.snmprec` recordings over SNMP v1/v2c on many loopback
//! addresses at once, with living values and injectable faults per device.

pub mod device;
pub mod scenario;

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, UdpSocket};
use tokio::sync::Mutex;
use tokio::task::JoinSet;

pub use device::{Device, Event, Faults};
pub use scenario::Scenario;

/// Cycle options for reading simulated devices on `port`: short timeouts (loopback answers
/// at once; silence means no device), no HTTP or NPAP.
pub fn cycle_options(port: u16) -> cartouche_agent::cycles::CycleOptions {
    use std::time::Duration;

    use cartouche_agent::discovery::SweepConfig;
    use cartouche_agent::read::ReadOptions;
    use cartouche_agent::snmp::EngineConfig;

    let engine = EngineConfig { first_timeout: Duration::from_millis(400), retries: 2, ..EngineConfig::default() };
    cartouche_agent::cycles::CycleOptions {
        sweep: SweepConfig {
            port,
            timeout: Duration::from_millis(400),
            retries: 1,
            rate: 5_000,
            concurrency: 8,
            read: ReadOptions {
                http_port: None,
                npap_port: None,
                ..ReadOptions::new(engine.walk_cap, engine.max_repetitions)
            },
            keep_raw: false,
        },
        engine,
        local: None,
    }
}

/// Running simulated devices; they stop when this is dropped.
pub struct Simulator {
    tasks: JoinSet<()>,
    pub addresses: Vec<SocketAddr>,
    devices: Vec<Arc<Mutex<Device>>>,
}

/// Ports of the devices' other services (off by default).
#[derive(Clone, Copy, Debug, Default)]
pub struct Services {
    /// Serve each device's `pages` over HTTP on this port.
    pub http_port: Option<u16>,
    /// Accept TCP connections on this port for devices with `npap`.
    pub npap_port: Option<u16>,
}

impl Simulator {
    /// Binds every device to its address and starts answering SNMP.
    pub async fn start(devices: Vec<(SocketAddr, Device)>) -> anyhow::Result<Simulator> {
        Self::start_with(devices, Services::default()).await
    }

    /// Binds every device to its address and starts answering SNMP, and HTTP and NPAP on
    /// the ports given for the devices that have them.
    pub async fn start_with(devices: Vec<(SocketAddr, Device)>, services: Services) -> anyhow::Result<Simulator> {
        let mut tasks = JoinSet::new();
        let mut addresses = Vec::with_capacity(devices.len());
        let mut shared = Vec::with_capacity(devices.len());
        for (address, device) in devices {
            let socket = UdpSocket::bind(address)
                .await
                .map_err(|e| anyhow::anyhow!("binding a simulated device to {address}: {e}"))?;
            let address = socket.local_addr()?;
            if let Some(port) = services.http_port
                && !device.pages.is_empty()
            {
                let listener = TcpListener::bind((address.ip(), port)).await?;
                tasks.spawn(serve_http(listener, device.pages.clone()));
            }
            if let Some(port) = services.npap_port
                && device.npap
            {
                let listener = TcpListener::bind((address.ip(), port)).await?;
                tasks.spawn(async move {
                    // Presence only: accept and close (NPAP frames are not public).
                    while let Ok((stream, _)) = listener.accept().await {
                        drop(stream);
                    }
                });
            }
            let device = Arc::new(Mutex::new(device));
            addresses.push(address);
            shared.push(device.clone());
            tasks.spawn(serve(socket, device));
        }
        Ok(Simulator { tasks, addresses, devices: shared })
    }

    /// The device at position `i` (to change its values or faults while it runs).
    pub fn device(&self, i: usize) -> Arc<Mutex<Device>> {
        self.devices[i].clone()
    }

    pub fn len(&self) -> usize {
        self.addresses.len()
    }

    pub fn is_empty(&self) -> bool {
        self.addresses.is_empty()
    }
}

impl Drop for Simulator {
    fn drop(&mut self) {
        self.tasks.abort_all();
    }
}

async fn serve(socket: UdpSocket, device: Arc<Mutex<Device>>) {
    let socket = Arc::new(socket);
    let mut buf = vec![0u8; 65_536];
    loop {
        let Ok((len, peer)) = socket.recv_from(&mut buf).await else { continue };
        let (reply, delay) = {
            let mut device = device.lock().await;
            (device.answer(&buf[..len]), device.faults.slow)
        };
        let Some(reply) = reply else { continue };
        match delay {
            // Answer later without holding up the next request, as a busy device does.
            Some(delay) => {
                let socket = socket.clone();
                tokio::spawn(async move {
                    tokio::time::sleep(delay).await;
                    let _ = socket.send_to(&reply, peer).await;
                });
            }
            None => {
                let _ = socket.send_to(&reply, peer).await;
            }
        }
    }
}

/// A tiny embedded web server: GET of a known path answers 200 with the page, else 404.
async fn serve_http(listener: TcpListener, pages: std::collections::BTreeMap<String, Vec<u8>>) {
    let pages = Arc::new(pages);
    while let Ok((mut stream, _)) = listener.accept().await {
        let pages = pages.clone();
        tokio::spawn(async move {
            let mut request = Vec::new();
            let mut buf = [0u8; 2048];
            while !request.windows(4).any(|w| w == b"\r\n\r\n") && request.len() < 16_384 {
                match stream.read(&mut buf).await {
                    Ok(0) | Err(_) => return,
                    Ok(n) => request.extend_from_slice(&buf[..n]),
                }
            }
            let line = String::from_utf8_lossy(&request);
            let path = line.split_whitespace().nth(1).unwrap_or("/").to_owned();
            let response = match pages.get(&path) {
                Some(body) => {
                    let mut r = format!(
                        "HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                        body.len()
                    )
                    .into_bytes();
                    r.extend_from_slice(body);
                    r
                }
                None => b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".to_vec(),
            };
            let _ = stream.write_all(&response).await;
        });
    }
}
