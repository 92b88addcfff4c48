//! A loopback IPP endpoint for the local-printer tests, in two modes: a CUPS scheduler
//! (CUPS-Get-Printers lists its queues; Get-Printer-Attributes on `/printers/NAME`), or one
//! printer as ipp-usb exposes it (Get-Printer-Attributes on `/ipp/print`). Attributes follow
//! what CUPS 2.4 and IPP Everywhere printers send (`marker-*`, `printer-supply`,
//! `printer-device-id`). Its encoding is checked against CUPS's own `ipptool` in the tests.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use cartouche_schema::ipp::{Attribute, Group, Message, Value, group, operation, tag};
use tokio::sync::oneshot;

/// One queue (CUPS) or printer (ipp-usb).
#[derive(Clone, Debug)]
pub struct SimQueue {
    pub name: String,
    pub device_uri: String,
    pub make_and_model: String,
    pub device_id: Option<String>,
    /// 3 idle, 4 processing, 5 stopped.
    pub state: i32,
    pub reasons: Vec<String>,
    /// CUPS markers: (name, type, colour, level, low, high).
    pub markers: Vec<(String, String, String, i32, i32, i32)>,
    /// PWG 5100.13 `printer-supply` values with their descriptions.
    pub supplies: Vec<(String, String)>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Cups,
    IppUsb,
    /// Answers every request with an HTML page (a web server that is not a print system).
    NotIpp,
}

pub struct IppEndpoint {
    pub address: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
}

impl Drop for IppEndpoint {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

struct Sim {
    mode: Mode,
    queues: Vec<SimQueue>,
    address: SocketAddr,
}

impl IppEndpoint {
    pub async fn start(mode: Mode, queues: Vec<SimQueue>) -> anyhow::Result<IppEndpoint> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let address = listener.local_addr()?;
        let sim = Arc::new(Sim { mode, queues, address });
        let app = Router::new().route("/", post(handle)).route("/{*path}", post(handle)).with_state(sim);
        let (stop, stopped) = oneshot::channel::<()>();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = stopped.await;
                })
                .await;
        });
        Ok(IppEndpoint { address, stop: Some(stop) })
    }

    /// The printer URI of an ipp-usb-style endpoint.
    pub fn printer_uri(&self) -> String {
        format!("ipp://{}/ipp/print", self.address)
    }
}

fn texts(value_tag: u8, values: impl IntoIterator<Item = impl AsRef<str>>) -> Vec<Value> {
    values.into_iter().map(|v| Value::text(value_tag, v.as_ref())).collect()
}

fn attributes(queue: &SimQueue, uri: &str) -> Group {
    let mut a = vec![
        Attribute::new("printer-name", texts(tag::NAME, [&queue.name])),
        Attribute::new("printer-uri-supported", texts(tag::URI, [uri])),
        Attribute::new("device-uri", texts(tag::URI, [&queue.device_uri])),
        Attribute::new("printer-make-and-model", texts(tag::TEXT, [&queue.make_and_model])),
        Attribute::new("printer-state", vec![Value::integer(tag::ENUM, queue.state)]),
        Attribute::new(
            "printer-state-reasons",
            texts(tag::KEYWORD, if queue.reasons.is_empty() { vec!["none".to_owned()] } else { queue.reasons.clone() }),
        ),
        Attribute::new("printer-is-accepting-jobs", vec![Value::new(tag::BOOLEAN, [1u8])]),
    ];
    if let Some(id) = &queue.device_id {
        a.push(Attribute::new("printer-device-id", texts(tag::TEXT, [id])));
    }
    if !queue.markers.is_empty() {
        let m = &queue.markers;
        a.push(Attribute::new("marker-names", texts(tag::NAME, m.iter().map(|x| &x.0))));
        a.push(Attribute::new("marker-types", texts(tag::KEYWORD, m.iter().map(|x| &x.1))));
        a.push(Attribute::new("marker-colors", texts(tag::NAME, m.iter().map(|x| &x.2))));
        a.push(Attribute::new("marker-levels", m.iter().map(|x| Value::integer(tag::INTEGER, x.3)).collect()));
        a.push(Attribute::new("marker-low-levels", m.iter().map(|x| Value::integer(tag::INTEGER, x.4)).collect()));
        a.push(Attribute::new("marker-high-levels", m.iter().map(|x| Value::integer(tag::INTEGER, x.5)).collect()));
    }
    if !queue.supplies.is_empty() {
        let s = &queue.supplies;
        a.push(Attribute::new("printer-supply", texts(tag::OCTET_STRING, s.iter().map(|x| &x.0))));
        a.push(Attribute::new("printer-supply-description", texts(tag::TEXT, s.iter().map(|x| &x.1))));
    }
    // A collection, as real printers send (media-col-ready): readers must step over it.
    let mut media = Value::new(tag::BEG_COLLECTION, Vec::<u8>::new());
    media.members = vec![
        (tag::MEMBER_ATTR_NAME, vec![], b"media-size-name".to_vec()),
        (tag::KEYWORD, vec![], b"iso_a4_210x297mm".to_vec()),
        (tag::END_COLLECTION, vec![], vec![]),
    ];
    a.push(Attribute::new("media-col-ready", vec![media]));
    Group { tag: group::PRINTER, attributes: a }
}

fn answer(request: &Message, status: u16, printers: Vec<Group>) -> Response {
    let operation_group = Group {
        tag: group::OPERATION,
        attributes: vec![
            Attribute::new("attributes-charset", texts(tag::CHARSET, ["utf-8"])),
            Attribute::new("attributes-natural-language", texts(tag::NATURAL_LANGUAGE, ["en"])),
        ],
    };
    let mut groups = vec![operation_group];
    groups.extend(printers);
    let message =
        Message { version: request.version, code: status, request_id: request.request_id, groups, data: vec![] };
    ([(header::CONTENT_TYPE, "application/ipp")], message.encode()).into_response()
}

async fn handle(State(sim): State<Arc<Sim>>, uri: axum::http::Uri, body: Bytes) -> Response {
    if sim.mode == Mode::NotIpp {
        return ([(header::CONTENT_TYPE, "text/html")], "<html><body>Router admin</body></html>").into_response();
    }
    let Ok(request) = Message::decode(&body) else {
        return (StatusCode::BAD_REQUEST, "not IPP").into_response();
    };
    let path = uri.path();
    match (sim.mode, request.code) {
        (Mode::Cups, operation::CUPS_GET_PRINTERS) => {
            let printers = sim
                .queues
                .iter()
                .map(|q| attributes(q, &format!("ipp://{}/printers/{}", sim.address, q.name)))
                .collect();
            answer(&request, 0, printers)
        }
        (Mode::Cups, operation::GET_PRINTER_ATTRIBUTES) => {
            let name = path.strip_prefix("/printers/").unwrap_or("");
            match sim.queues.iter().find(|q| q.name == name) {
                Some(q) => answer(&request, 0, vec![attributes(q, &format!("ipp://{}{path}", sim.address))]),
                // client-error-not-found
                None => answer(&request, 0x0406, vec![]),
            }
        }
        (Mode::IppUsb, operation::GET_PRINTER_ATTRIBUTES) if path == "/ipp/print" => match sim.queues.first() {
            Some(q) => answer(&request, 0, vec![attributes(q, &format!("ipp://{}/ipp/print", sim.address))]),
            None => answer(&request, 0x0406, vec![]),
        },
        // server-error-operation-not-supported
        _ => answer(&request, 0x0501, vec![]),
    }
}
