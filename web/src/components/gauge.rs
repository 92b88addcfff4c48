//! A supply's level as a small upright gauge.

use yew::prelude::*;

/// `color` and `kind` name it (black toner, waste toner…); `percent` is what remains (for a
/// receptacle, the room left), `None` when the device does not measure it; `state` is the
/// API's word (ok, low, empty, full, some_remaining, …).
pub fn supply_gauge(color: Option<&str>, kind: &str, percent: Option<f64>, state: &str) -> Html {
    let name = [color, Some(kind)].into_iter().flatten().collect::<Vec<_>>().join(" ");
    let percent = percent.map(|p| p.clamp(0.0, 100.0));
    let label = match percent {
        Some(p) => format!("{name} {p:.0}\u{a0}%"),
        None => format!("{name}: {state}"),
    };
    // Low, empty or a full receptacle needs someone; a level the device does not measure is
    // shown as such, not as empty.
    let attention = matches!(state, "low" | "empty" | "full");
    html! {
        <span class={classes!("gauge", color.map(str::to_owned), attention.then_some("attention"),
                percent.is_none().then_some("unmeasured"))}
            role="img" aria-label={label.clone()} title={label}>
            if let Some(percent) = percent {
                <span class="level" style={format!("height: {percent:.0}%")}></span>
            }
        </span>
    }
}
