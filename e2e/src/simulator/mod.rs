//! The printer simulator: serves `.snmprec` recordings over SNMP v1/v2c on many loopback
//! addresses at once, with living values and injectable faults per device.

pub mod device;
pub mod scenario;

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::UdpSocket;
use tokio::sync::Mutex;
use tokio::task::JoinSet;

pub use device::{Device, Event, Faults};
pub use scenario::Scenario;

/// Running simulated devices; they stop when this is dropped.
pub struct Simulator {
    tasks: JoinSet<()>,
    pub addresses: Vec<SocketAddr>,
    devices: Vec<Arc<Mutex<Device>>>,
}

impl Simulator {
    /// Binds every device to its address and starts answering.
    pub async fn start(devices: Vec<(SocketAddr, Device)>) -> anyhow::Result<Simulator> {
        let mut tasks = JoinSet::new();
        let mut addresses = Vec::with_capacity(devices.len());
        let mut shared = Vec::with_capacity(devices.len());
        for (address, device) in devices {
            let socket = UdpSocket::bind(address)
                .await
                .map_err(|e| anyhow::anyhow!("binding a simulated device to {address}: {e}"))?;
            let address = socket.local_addr()?;
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
