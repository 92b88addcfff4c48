//! The EN / FR switch, on the sign-in page and in the shell.

use yew::prelude::*;

use crate::i18n::{Lang, Text};

#[derive(Properties, PartialEq)]
pub struct LangSwitchProps {
    pub lang: Lang,
    pub set_lang: Callback<Lang>,
}

#[function_component(LangSwitch)]
pub fn lang_switch(props: &LangSwitchProps) -> Html {
    let button = |lang: Lang, label: &'static str, class: &'static str| {
        let set = props.set_lang.clone();
        let current = props.lang == lang;
        html! {
            <button type="button" class={classes!("lang", class, current.then_some("current"))}
                aria-pressed={current.to_string()} onclick={Callback::from(move |_| set.emit(lang))}>
                { label }
            </button>
        }
    };
    html! {
        <div class="langs" role="group" aria-label={props.lang.t(Text::Language)}>
            { button(Lang::En, "EN", "lang-en") }
            { button(Lang::Fr, "FR", "lang-fr") }
        </div>
    }
}
