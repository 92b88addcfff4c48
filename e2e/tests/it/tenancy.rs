//! A user must never reach another tenant's data: every query and mutation that takes an id
//! is tried across tenants and must answer NOT_FOUND, as if the object did not exist.

use cartouche_e2e::app::TestApp;
use cartouche_e2e::graphql::GraphqlClient;
use cartouche_schema::domain::Role;
use serde_json::{Value, json};

const PASSWORD: &str = "correct horse battery";

/// One tenant's objects, created through the API as its admin.
struct Owned {
    tenant: String,
    site: String,
    user: String,
    token: String,
}

async fn populate(admin: &GraphqlClient, tenant_id: &str, tag: &str) -> anyhow::Result<Owned> {
    let site = admin
        .data(
            "mutation($t: ID!, $n: String!) { createSite(input: { tenantId: $t, name: $n, timeZone: \"Europe/Paris\" }) { id } }",
            json!({ "t": tenant_id, "n": format!("{tag} HQ") }),
            "createSite",
        )
        .await?;
    let user = admin
        .data(
            "mutation($t: ID!, $e: String!) { createUser(input: { tenantId: $t, email: $e, role: VIEWER, password: \"viewer password\" }) { id } }",
            json!({ "t": tenant_id, "e": format!("viewer@{tag}.test") }),
            "createUser",
        )
        .await?;
    let token = admin
        .data(
            "mutation($t: ID!) { createApiToken(input: { tenantId: $t, name: \"ERP\", role: VIEWER }) { token { id } } }",
            json!({ "t": tenant_id }),
            "createApiToken",
        )
        .await?;
    Ok(Owned {
        tenant: tenant_id.to_owned(),
        site: site["id"].as_str().unwrap().to_owned(),
        user: user["id"].as_str().unwrap().to_owned(),
        token: token["token"]["id"].as_str().unwrap().to_owned(),
    })
}

/// Every operation that takes an id, aimed at `target`.
fn operations(target: &Owned) -> Vec<(&'static str, &'static str, Value)> {
    vec![
        ("tenant", "query($id: ID!) { tenant(id: $id) { id name } }", json!({ "id": target.tenant })),
        ("site", "query($id: ID!) { site(id: $id) { id name } }", json!({ "id": target.site })),
        ("user", "query($id: ID!) { user(id: $id) { id email } }", json!({ "id": target.user })),
        (
            "sites(tenantId)",
            "query($id: ID!) { sites(tenantId: $id) { nodes { id } } }",
            json!({ "id": target.tenant }),
        ),
        (
            "users(tenantId)",
            "query($id: ID!) { users(tenantId: $id) { nodes { id } } }",
            json!({ "id": target.tenant }),
        ),
        (
            "apiTokens(tenantId)",
            "query($id: ID!) { apiTokens(tenantId: $id) { nodes { id } } }",
            json!({ "id": target.tenant }),
        ),
        (
            "updateTenant",
            "mutation($id: ID!) { updateTenant(id: $id, input: { name: \"Pwned\" }) { id } }",
            json!({ "id": target.tenant }),
        ),
        (
            "createTenant(parentId)",
            "mutation($id: ID!) { createTenant(input: { parentId: $id, name: \"Sneaky\" }) { id } }",
            json!({ "id": target.tenant }),
        ),
        (
            "updateSite",
            "mutation($id: ID!) { updateSite(id: $id, input: { name: \"Pwned\" }) { id } }",
            json!({ "id": target.site }),
        ),
        ("deleteSite", "mutation($id: ID!) { deleteSite(id: $id) }", json!({ "id": target.site })),
        (
            "createSite(tenantId)",
            "mutation($id: ID!) { createSite(input: { tenantId: $id, name: \"Sneaky\", timeZone: \"UTC\" }) { id } }",
            json!({ "id": target.tenant }),
        ),
        (
            "updateUser",
            "mutation($id: ID!) { updateUser(id: $id, input: { role: ADMIN }) { id } }",
            json!({ "id": target.user }),
        ),
        (
            "createUser(tenantId)",
            "mutation($id: ID!) { createUser(input: { tenantId: $id, email: \"mole@x.test\", role: ADMIN, password: \"mole password\" }) { id } }",
            json!({ "id": target.tenant }),
        ),
        ("revokeApiToken", "mutation($id: ID!) { revokeApiToken(id: $id) { id } }", json!({ "id": target.token })),
        (
            "createApiToken(tenantId)",
            "mutation($id: ID!) { createApiToken(input: { tenantId: $id, name: \"Sneaky\", role: VIEWER }) { secret } }",
            json!({ "id": target.tenant }),
        ),
    ]
}

struct World {
    app: TestApp,
    dealer_admin: GraphqlClient,
    customer_admin: GraphqlClient,
    stranger_admin: GraphqlClient,
    dealer: Owned,
    customer: Owned,
    stranger: Owned,
}

async fn world() -> anyhow::Result<World> {
    let app = TestApp::start().await?;
    let dealer = app.tenant("Dealer", None).await?;
    let customer = app.tenant("Customer", Some(dealer.id)).await?;
    let stranger = app.tenant("Stranger", None).await?;
    app.user(dealer.id, "admin@dealer.test", Role::Admin, PASSWORD).await?;
    app.user(customer.id, "admin@customer.test", Role::Admin, PASSWORD).await?;
    app.user(stranger.id, "admin@stranger.test", Role::Admin, PASSWORD).await?;
    let dealer_admin = app.signed_in("admin@dealer.test", PASSWORD).await?;
    let customer_admin = app.signed_in("admin@customer.test", PASSWORD).await?;
    let stranger_admin = app.signed_in("admin@stranger.test", PASSWORD).await?;
    let dealer = populate(&dealer_admin, &dealer.id.to_string(), "dealer").await?;
    let customer = populate(&customer_admin, &customer.id.to_string(), "customer").await?;
    let stranger = populate(&stranger_admin, &stranger.id.to_string(), "stranger").await?;
    Ok(World { app, dealer_admin, customer_admin, stranger_admin, dealer, customer, stranger })
}

async fn assert_all_not_found(who: &str, client: &GraphqlClient, target: &Owned) -> anyhow::Result<()> {
    for (name, query, vars) in operations(target) {
        let r = client.run(query, vars).await?;
        assert_eq!(r.error_code(), Some("NOT_FOUND"), "{who} → {name}: {}", r.body);
        assert!(r.body.pointer("/data").is_none_or(|d| d.is_null() || !d.to_string().contains(&target.tenant)));
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn another_tenants_objects_are_not_found_by_any_operation() -> anyhow::Result<()> {
    let w = world().await?;
    assert_all_not_found("stranger on dealer", &w.stranger_admin, &w.dealer).await?;
    assert_all_not_found("stranger on customer", &w.stranger_admin, &w.customer).await?;
    assert_all_not_found("dealer on stranger", &w.dealer_admin, &w.stranger).await?;
    // A customer never sees its dealer.
    assert_all_not_found("customer on dealer", &w.customer_admin, &w.dealer).await?;
    // Nothing was changed by the attempts.
    let site = w
        .dealer_admin
        .data("query($id: ID!) { site(id: $id) { name } }", json!({ "id": w.dealer.site }), "site")
        .await?;
    assert_eq!(site["name"], "dealer HQ");
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_dealer_sees_and_manages_its_customers() -> anyhow::Result<()> {
    let w = world().await?;
    let c = &w.customer;
    let tenant = w
        .dealer_admin
        .data("query($id: ID!) { tenant(id: $id) { name parent { name } } }", json!({ "id": c.tenant }), "tenant")
        .await?;
    assert_eq!(tenant["name"], "Customer");
    assert_eq!(tenant["parent"]["name"], "Dealer");
    let site = w
        .dealer_admin
        .data(
            "mutation($id: ID!) { updateSite(id: $id, input: { name: \"Customer HQ\" }) { name tenant { name } } }",
            json!({ "id": c.site }),
            "updateSite",
        )
        .await?;
    assert_eq!(site["tenant"]["name"], "Customer");
    w.dealer_admin.data("query($id: ID!) { user(id: $id) { email } }", json!({ "id": c.user }), "user").await?;
    // The dealer's lists include its customer's rows; the customer's do not include the dealer's.
    let tenants = w.dealer_admin.data("{ tenants { nodes { name } } }", json!({}), "tenants").await?;
    assert_eq!(tenants["nodes"], json!([{ "name": "Customer" }, { "name": "Dealer" }]));
    let tenants = w.customer_admin.data("{ tenants { nodes { name } } }", json!({}), "tenants").await?;
    assert_eq!(tenants["nodes"], json!([{ "name": "Customer" }]));
    // The customer sees itself, but its parent is out of sight.
    let own = w
        .customer_admin
        .data("query($id: ID!) { tenant(id: $id) { parent { name } } }", json!({ "id": c.tenant }), "tenant")
        .await?;
    assert!(own["parent"].is_null());
    let sites = w.customer_admin.data("{ sites { nodes { name } } }", json!({}), "sites").await?;
    assert_eq!(sites["nodes"], json!([{ "name": "Customer HQ" }]));
    // A dealer creates a customer of its own.
    let created = w
        .dealer_admin
        .data(
            "mutation { createTenant(input: { name: \"Second customer\" }) { parent { name } } }",
            json!({}),
            "createTenant",
        )
        .await?;
    assert_eq!(created["parent"]["name"], "Dealer");
    drop(w.app);
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn roles_limit_what_a_user_may_change() -> anyhow::Result<()> {
    let app = TestApp::start().await?;
    let tenant = app.tenant("Acme", None).await?;
    for (email, role) in
        [("viewer@acme.test", Role::Viewer), ("tech@acme.test", Role::Technician), ("manager@acme.test", Role::Manager)]
    {
        app.user(tenant.id, email, role, PASSWORD).await?;
    }
    let create_site = "mutation { createSite(input: { name: \"Lyon\", timeZone: \"Europe/Paris\" }) { id } }";
    let create_user = "mutation { createUser(input: { email: \"new@acme.test\", role: VIEWER, password: \"new user password\" }) { id } }";
    let create_token = "mutation { createApiToken(input: { name: \"T\", role: VIEWER }) { secret } }";
    let create_tenant = "mutation { createTenant(input: { name: \"C\" }) { id } }";

    let viewer = app.signed_in("viewer@acme.test", PASSWORD).await?;
    for query in [create_site, create_user, create_token, create_tenant] {
        assert_eq!(viewer.run(query, json!({})).await?.error_code(), Some("FORBIDDEN"), "viewer: {query}");
    }
    let tech = app.signed_in("tech@acme.test", PASSWORD).await?;
    for query in [create_site, create_user, create_token, create_tenant] {
        assert_eq!(tech.run(query, json!({})).await?.error_code(), Some("FORBIDDEN"), "technician: {query}");
    }
    let users = tech.run("{ users { nodes { email } } }", json!({})).await?;
    assert!(users.error_code().is_none(), "technicians may read users");
    let manager = app.signed_in("manager@acme.test", PASSWORD).await?;
    manager.data(create_site, json!({}), "createSite").await?;
    for query in [create_user, create_token, create_tenant] {
        assert_eq!(manager.run(query, json!({})).await?.error_code(), Some("FORBIDDEN"), "manager: {query}");
    }
    let forbidden = manager.run(create_user, json!({})).await?;
    assert!(forbidden.error_message().unwrap().contains("admin"), "{:?}", forbidden.body);
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn duplicates_are_conflicts_and_bad_input_names_its_field() -> anyhow::Result<()> {
    let app = TestApp::start().await?;
    let tenant = app.tenant("Acme", None).await?;
    app.user(tenant.id, "admin@acme.test", Role::Admin, PASSWORD).await?;
    let admin = app.signed_in("admin@acme.test", PASSWORD).await?;
    let dup = admin
        .run(
            "mutation { createUser(input: { email: \"ADMIN@acme.test\", role: VIEWER, password: \"long enough pw\" }) { id } }",
            json!({}),
        )
        .await?;
    assert_eq!(dup.error_code(), Some("CONFLICT"), "{:?}", dup.body);

    let site = "mutation($n: String!, $z: String!) { createSite(input: { name: $n, timeZone: $z }) { id } }";
    admin.data(site, json!({ "n": "Lyon", "z": "Europe/Paris" }), "createSite").await?;
    let dup = admin.run(site, json!({ "n": "lyon", "z": "Europe/Paris" })).await?;
    assert_eq!(dup.error_code(), Some("CONFLICT"));

    for (vars, field) in
        [(json!({ "n": "Nice", "z": "Europe/Nice" }), "timeZone"), (json!({ "n": "   ", "z": "UTC" }), "name")]
    {
        let r = admin.run(site, vars).await?;
        assert_eq!(r.error_code(), Some("VALIDATION"));
        assert_eq!(r.error_field(), Some(field));
    }
    let bad_email = admin
        .run(
            "mutation { createUser(input: { email: \"not-an-address\", role: VIEWER, password: \"long enough pw\" }) { id } }",
            json!({}),
        )
        .await?;
    assert_eq!(bad_email.error_field(), Some("email"));
    let short = admin
        .run(
            "mutation { createUser(input: { email: \"x@acme.test\", role: VIEWER, password: \"short\" }) { id } }",
            json!({}),
        )
        .await?;
    assert_eq!(short.error_field(), Some("password"));
    let bad_id = admin.run("{ site(id: \"42\") { id } }", json!({})).await?;
    assert_eq!(bad_id.error_code(), Some("VALIDATION"));
    Ok(())
}
