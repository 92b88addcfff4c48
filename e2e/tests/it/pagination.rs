use cartouche_e2e::app::TestApp;
use cartouche_schema::domain::Role;
use serde_json::json;

const PAGE: &str = "query($first: Int, $after: String) { sites(first: $first, after: $after) { \
    edges { cursor node { name } } pageInfo { hasNextPage endCursor } } }";

#[tokio::test(flavor = "multi_thread")]
async fn sites_page_by_name_with_cursors() -> anyhow::Result<()> {
    let app = TestApp::start().await?;
    let tenant = app.tenant("Acme", None).await?;
    app.user(tenant.id, "admin@acme.test", Role::Admin, "correct horse battery").await?;
    let admin = app.signed_in("admin@acme.test", "correct horse battery").await?;
    let names = ["delta", "Alpha", "charlie", "Echo", "bravo", "golf", "foxtrot"];
    for name in names {
        admin
            .data(
                "mutation($n: String!) { createSite(input: { name: $n, timeZone: \"UTC\" }) { id } }",
                json!({ "n": name }),
                "createSite",
            )
            .await?;
    }
    let mut seen = Vec::new();
    let mut after: Option<String> = None;
    let mut pages = 0;
    loop {
        let page = admin.data(PAGE, json!({ "first": 3, "after": after }), "sites").await?;
        pages += 1;
        for edge in page["edges"].as_array().unwrap() {
            seen.push(edge["node"]["name"].as_str().unwrap().to_owned());
        }
        if page["pageInfo"]["hasNextPage"] == false {
            break;
        }
        after = page["pageInfo"]["endCursor"].as_str().map(str::to_owned);
    }
    assert_eq!(pages, 3);
    assert_eq!(seen, ["Alpha", "bravo", "charlie", "delta", "Echo", "foxtrot", "golf"]);

    let bad = admin.run(PAGE, json!({ "first": 3, "after": "not-a-cursor" })).await?;
    assert_eq!(bad.error_code(), Some("VALIDATION"));
    assert_eq!(bad.error_field(), Some("after"));
    let too_many = admin.run(PAGE, json!({ "first": 201 })).await?;
    assert_eq!(too_many.error_field(), Some("first"));
    Ok(())
}
