//! A small HTTP/1.1 client for printers' embedded web servers: GET a page, plain HTTP,
//! `Connection: close`, chunked bodies decoded, a size cap and a deadline. Embedded servers
//! are fragile: one request at a time, nothing fancy.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The largest page kept (LEDM pages are a few KiB).
pub const MAX_BODY: usize = 1 << 20;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum HttpError {
    #[error("cannot connect: {0}")]
    Connect(String),
    #[error("no answer in time")]
    Timeout,
    #[error("the answer is not HTTP")]
    Malformed,
    #[error("HTTP status {0}")]
    Status(u16),
    #[error("the page is larger than {MAX_BODY} bytes")]
    TooLarge,
}

/// GETs `path` from `address`; the body of a 200 answer.
pub async fn get(address: SocketAddr, path: &str, deadline: Duration) -> Result<Vec<u8>, HttpError> {
    tokio::time::timeout(deadline, exchange(address, path)).await.map_err(|_| HttpError::Timeout)?
}

async fn exchange(address: SocketAddr, path: &str) -> Result<Vec<u8>, HttpError> {
    let mut stream = TcpStream::connect(address).await.map_err(|e| HttpError::Connect(e.to_string()))?;
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: {}\r\nUser-Agent: cartouche-agent\r\nAccept: */*\r\nConnection: close\r\n\r\n",
        address.ip()
    );
    stream.write_all(request.as_bytes()).await.map_err(|e| HttpError::Connect(e.to_string()))?;
    let mut raw = Vec::new();
    let mut chunk = [0u8; 8192];
    loop {
        let n = stream.read(&mut chunk).await.map_err(|_| HttpError::Malformed)?;
        if n == 0 {
            break;
        }
        raw.extend_from_slice(&chunk[..n]);
        if raw.len() > MAX_BODY + 16 * 1024 {
            return Err(HttpError::TooLarge);
        }
    }
    parse(&raw)
}

/// Status, headers and body of a complete HTTP/1.x answer.
pub fn parse(raw: &[u8]) -> Result<Vec<u8>, HttpError> {
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n").ok_or(HttpError::Malformed)?;
    let head = std::str::from_utf8(&raw[..split]).map_err(|_| HttpError::Malformed)?;
    let body = &raw[split + 4..];
    let mut lines = head.split("\r\n");
    let status: u16 = lines
        .next()
        .filter(|l| l.starts_with("HTTP/1."))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .ok_or(HttpError::Malformed)?;
    if status != 200 {
        return Err(HttpError::Status(status));
    }
    let chunked = lines.any(|l| {
        let lower = l.to_ascii_lowercase();
        lower.starts_with("transfer-encoding:") && lower.contains("chunked")
    });
    if chunked { dechunk(body) } else { Ok(body.to_vec()) }
}

fn dechunk(mut body: &[u8]) -> Result<Vec<u8>, HttpError> {
    let mut out = Vec::new();
    loop {
        let end = body.windows(2).position(|w| w == b"\r\n").ok_or(HttpError::Malformed)?;
        let size_text = std::str::from_utf8(&body[..end]).map_err(|_| HttpError::Malformed)?;
        let size = usize::from_str_radix(size_text.split(';').next().unwrap_or("").trim(), 16)
            .map_err(|_| HttpError::Malformed)?;
        body = &body[end + 2..];
        if size == 0 {
            return Ok(out);
        }
        if body.len() < size || out.len() + size > MAX_BODY {
            return Err(if body.len() < size { HttpError::Malformed } else { HttpError::TooLarge });
        }
        out.extend_from_slice(&body[..size]);
        body = body.get(size + 2..).ok_or(HttpError::Malformed)?;
    }
}

/// Whether something accepts TCP connections at `address` (NPAP's port 9300): the device
/// speaks NPAP there or not; its frames (IEEE 1284.1) are not public, so only presence is told.
pub async fn answers_tcp(address: SocketAddr, deadline: Duration) -> bool {
    matches!(tokio::time::timeout(deadline, TcpStream::connect(address)).await, Ok(Ok(_)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_and_chunked_answers_parse() {
        assert_eq!(parse(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello").unwrap(), b"hello");
        let chunked = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n";
        assert_eq!(parse(chunked).unwrap(), b"hello world");
        assert_eq!(parse(b"HTTP/1.1 404 Not Found\r\n\r\n"), Err(HttpError::Status(404)));
        assert_eq!(parse(b"garbage"), Err(HttpError::Malformed));
        assert_eq!(parse(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"), Err(HttpError::Malformed));
    }
}
