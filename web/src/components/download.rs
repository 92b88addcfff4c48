//! Files behind the bearer token (CSV exports, reports): fetched with the session's token and
//! handed to the browser as a download, bytes as they came.

use wasm_bindgen::JsCast;

/// Fetches `url` with the bearer `token` and saves it as `name`; the server's message when it
/// refuses.
pub async fn download(url: &str, token: &str, name: &str) -> Result<(), String> {
    let response = gloo_net::http::Request::get(url)
        .header("Authorization", &format!("Bearer {token}"))
        .send()
        .await
        .map_err(|e| e.to_string())?;
    if !response.ok() {
        return Err(response.text().await.unwrap_or_else(|_| format!("HTTP {}", response.status())));
    }
    let kind = response.headers().get("content-type").unwrap_or_else(|| "application/octet-stream".into());
    let bytes = response.binary().await.map_err(|e| e.to_string())?;
    let array = js_sys::Uint8Array::from(bytes.as_slice());
    let parts = js_sys::Array::of1(&array.into());
    let options = web_sys::BlobPropertyBag::new();
    options.set_type(&kind);
    let blob =
        web_sys::Blob::new_with_u8_array_sequence_and_options(&parts, &options).map_err(|_| "no blob".to_owned())?;
    let href = web_sys::Url::create_object_url_with_blob(&blob).map_err(|_| "no object URL".to_owned())?;
    let document = web_sys::window().and_then(|w| w.document()).ok_or("no document")?;
    let link: web_sys::HtmlAnchorElement =
        document.create_element("a").map_err(|_| "no link".to_owned())?.dyn_into().map_err(|_| "no link".to_owned())?;
    link.set_href(&href);
    link.set_download(name);
    link.click();
    let _ = web_sys::Url::revoke_object_url(&href);
    Ok(())
}
