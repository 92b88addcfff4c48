use std::time::Duration;

use cartouche_e2e::app::TestApp;
use cartouche_e2e::ws::{Init, Subscriber};
use cartouche_schema::domain::Role;
use serde_json::json;

const PASSWORD: &str = "correct horse battery";
const SITE_CHANGED: &str =
    "subscription($t: ID) { siteChanged(tenantId: $t) { kind siteId tenantId site { name timeZone } } }";
const WAIT: Duration = Duration::from_secs(10);

#[tokio::test(flavor = "multi_thread")]
async fn site_changes_reach_subscribers_of_the_same_tenant_only() -> anyhow::Result<()> {
    let app = TestApp::start().await?;
    let acme = app.tenant("Acme", None).await?;
    let globex = app.tenant("Globex", None).await?;
    app.user(acme.id, "admin@acme.test", Role::Admin, PASSWORD).await?;
    app.user(globex.id, "viewer@globex.test", Role::Viewer, PASSWORD).await?;
    app.user(globex.id, "admin@globex.test", Role::Admin, PASSWORD).await?;
    let acme_admin = app.signed_in("admin@acme.test", PASSWORD).await?;
    let globex_admin = app.signed_in("admin@globex.test", PASSWORD).await?;
    let globex_viewer = app.signed_in("viewer@globex.test", PASSWORD).await?;

    let mut acme_feed = Subscriber::authenticated(&app.ws_url(), acme_admin.bearer().unwrap()).await?;
    acme_feed.subscribe("1", SITE_CHANGED, json!({})).await?;
    let mut globex_feed = Subscriber::authenticated(&app.ws_url(), globex_viewer.bearer().unwrap()).await?;
    globex_feed.subscribe("1", SITE_CHANGED, json!({})).await?;
    // Let both subscriptions register before the change.
    tokio::time::sleep(Duration::from_millis(1000)).await;

    let site = acme_admin
        .data(
            "mutation { createSite(input: { name: \"Lyon\", timeZone: \"Europe/Paris\" }) { id } }",
            json!({}),
            "createSite",
        )
        .await?;
    let event = acme_feed.next_event("1", WAIT).await?;
    assert_eq!(event["data"]["siteChanged"]["kind"], "CREATED");
    assert_eq!(event["data"]["siteChanged"]["siteId"], site["id"]);
    assert_eq!(event["data"]["siteChanged"]["site"]["name"], "Lyon");

    acme_admin.data("mutation($id: ID!) { deleteSite(id: $id) }", json!({ "id": site["id"] }), "deleteSite").await?;
    let event = acme_feed.next_event("1", WAIT).await?;
    assert_eq!(event["data"]["siteChanged"]["kind"], "DELETED");
    assert!(event["data"]["siteChanged"]["site"].is_null());

    // Globex's first event is its own change: Acme's two never reached it.
    globex_admin
        .data(
            "mutation { createSite(input: { name: \"Berlin\", timeZone: \"Europe/Berlin\" }) { id } }",
            json!({}),
            "createSite",
        )
        .await?;
    let event = globex_feed.next_event("1", WAIT).await?;
    assert_eq!(event["data"]["siteChanged"]["site"]["name"], "Berlin");
    assert_eq!(event["data"]["siteChanged"]["tenantId"], globex.id.to_string());
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn subscribing_needs_valid_credentials_and_a_visible_tenant() -> anyhow::Result<()> {
    let app = TestApp::start().await?;
    let acme = app.tenant("Acme", None).await?;
    let globex = app.tenant("Globex", None).await?;
    app.user(acme.id, "admin@acme.test", Role::Admin, PASSWORD).await?;
    let admin = app.signed_in("admin@acme.test", PASSWORD).await?;

    for payload in [json!({}), json!({ "authorization": "Bearer not-a-token" })] {
        match Subscriber::connect(&app.ws_url(), payload.clone()).await? {
            Init::Acknowledged(_) => panic!("{payload} was accepted"),
            Init::Refused(why) => assert!(!why.is_empty()),
        }
    }

    let mut feed = Subscriber::authenticated(&app.ws_url(), admin.bearer().unwrap()).await?;
    feed.subscribe("x", SITE_CHANGED, json!({ "t": globex.id })).await?;
    let message = feed.next_message(WAIT).await?.expect("an answer");
    assert_eq!(message["payload"]["errors"][0]["extensions"]["code"], "NOT_FOUND", "{message}");
    assert!(message["payload"]["data"].is_null());
    Ok(())
}
