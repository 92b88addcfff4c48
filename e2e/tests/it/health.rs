use cartouche_e2e::app::TestApp;

#[tokio::test(flavor = "multi_thread")]
async fn health_and_readiness_answer() -> anyhow::Result<()> {
    let app = TestApp::start().await?;
    let health = app.http.get(format!("{}/healthz", app.base_url)).send().await?;
    assert_eq!(health.status(), 200);
    assert_eq!(health.text().await?, "ok");
    let ready: serde_json::Value = app.http.get(format!("{}/readyz", app.base_url)).send().await?.json().await?;
    assert_eq!(ready["ready"], true);
    assert_eq!(ready["database"], "ok");
    assert_eq!(ready["events"], "listening");
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn graphiql_is_served_on_get_and_queries_are_depth_limited() -> anyhow::Result<()> {
    let app = TestApp::start().await?;
    let page = app.http.get(format!("{}/graphql", app.base_url)).send().await?.text().await?;
    assert!(page.contains("graphiql"), "GraphiQL page expected");
    let deep = format!("{{ me {{ tenant {}{} }} }}", "{ parent ".repeat(15), "{ id }".to_owned() + &" }".repeat(15));
    let r = app.anonymous().run(&deep, serde_json::json!({})).await?;
    let message = r.error_message().unwrap_or_default().to_owned();
    assert!(message.contains("nested too deep") || message.contains("depth"), "{message}");
    Ok(())
}
