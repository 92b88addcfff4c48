//! Form fields that show the server's VALIDATION message next to the field it names.

use web_sys::HtmlInputElement;
use yew::prelude::*;

use crate::api::ApiError;

#[derive(Properties, PartialEq)]
pub struct FieldProps {
    /// The GraphQL input field name; errors naming it show here.
    pub name: AttrValue,
    pub label: AttrValue,
    pub value: AttrValue,
    pub oninput: Callback<String>,
    #[prop_or_default]
    pub error: Option<ApiError>,
    #[prop_or(AttrValue::Static("text"))]
    pub kind: AttrValue,
    #[prop_or_default]
    pub required: bool,
    #[prop_or_default]
    pub list: Option<AttrValue>,
    #[prop_or_default]
    pub autocomplete: Option<AttrValue>,
}

#[function_component(Field)]
pub fn field(props: &FieldProps) -> Html {
    let id = format!("field-{}", props.name);
    let message = props.error.as_ref().and_then(|e| e.for_field(&props.name)).map(str::to_owned);
    let oninput = {
        let cb = props.oninput.clone();
        Callback::from(move |e: InputEvent| cb.emit(e.target_unchecked_into::<HtmlInputElement>().value()))
    };
    let error_id = format!("{id}-error");
    html! {
        <div class={classes!("field", message.is_some().then_some("invalid"))}>
            <label for={id.clone()}>{ &props.label }</label>
            <input id={id} name={props.name.clone()} type={props.kind.clone()} value={props.value.clone()}
                required={props.required} list={props.list.clone()} autocomplete={props.autocomplete.clone()}
                aria-invalid={message.is_some().to_string()}
                aria-describedby={message.as_ref().map(|_| error_id.clone())} {oninput} />
            if let Some(message) = message {
                <p class="field-error" id={error_id} role="alert">{ message }</p>
            }
        </div>
    }
}

/// An error that names no field of the form (or a network failure), shown above it.
#[derive(Properties, PartialEq)]
pub struct FormErrorProps {
    pub error: Option<ApiError>,
    /// Field names the form shows inline; errors about them are not repeated here.
    #[prop_or_default]
    pub fields: Vec<&'static str>,
}

#[function_component(FormError)]
pub fn form_error(props: &FormErrorProps) -> Html {
    match &props.error {
        Some(err) if !err.field.as_deref().is_some_and(|f| props.fields.contains(&f)) => html! {
            <p class="form-error" role="alert">{ &err.message }</p>
        },
        _ => html! {},
    }
}
