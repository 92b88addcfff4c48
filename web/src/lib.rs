#![doc = include_str!("../README.md")]

mod api;
mod app;
mod components;
mod context;
mod i18n;
mod live;
mod pages;
mod queries;
mod route;

use wasm_bindgen::prelude::wasm_bindgen;

/// Entry point: mounts the console on `<body>`.
#[wasm_bindgen(start)]
pub fn start() {
    yew::Renderer::<app::App>::new().render();
}
