use cartouche_api::auth::tokens::AccessTokens;
use cartouche_e2e::app::{JWT_SECRET, TestApp};
use cartouche_schema::domain::Role;
use chrono::Utc;
use secrecy::SecretString;
use serde_json::json;

const PASSWORD: &str = "correct horse battery";

const ME: &str = "{ me { id email role kind tenant { id name } } }";

async fn app_with_admin() -> anyhow::Result<(TestApp, uuid::Uuid)> {
    let app = TestApp::start().await?;
    let tenant = app.tenant("Acme Print", None).await?;
    app.user(tenant.id, "ada@acme.test", Role::Admin, PASSWORD).await?;
    Ok((app, tenant.id))
}

#[tokio::test(flavor = "multi_thread")]
async fn login_then_me_shows_user_and_tenant() -> anyhow::Result<()> {
    let (app, tenant) = app_with_admin().await?;
    let client = app.signed_in("Ada@Acme.test", PASSWORD).await?;
    let me = client.data(ME, json!({}), "me").await?;
    assert_eq!(me["email"], "ada@acme.test");
    assert_eq!(me["role"], "ADMIN");
    assert_eq!(me["kind"], "USER");
    assert_eq!(me["tenant"]["id"], tenant.to_string());
    assert_eq!(me["tenant"]["name"], "Acme Print");
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn wrong_password_and_unknown_email_read_the_same() -> anyhow::Result<()> {
    let (app, _) = app_with_admin().await?;
    let query = "mutation($e: String!, $p: String!) { login(email: $e, password: $p) { accessToken } }";
    let wrong_password = app.anonymous().run(query, json!({ "e": "ada@acme.test", "p": "not the password" })).await?;
    let unknown_email = app.anonymous().run(query, json!({ "e": "nobody@acme.test", "p": PASSWORD })).await?;
    assert_eq!(wrong_password.error_code(), Some("UNAUTHENTICATED"));
    assert_eq!(unknown_email.error_code(), Some("UNAUTHENTICATED"));
    assert_eq!(wrong_password.error_message(), unknown_email.error_message());
    assert_eq!(wrong_password.error_message(), Some("wrong e-mail or password"));
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn repeated_failures_are_throttled_even_with_the_right_password() -> anyhow::Result<()> {
    let (app, _) = app_with_admin().await?;
    let query = "mutation($e: String!, $p: String!) { login(email: $e, password: $p) { accessToken } }";
    for attempt in 1..=5 {
        let r = app.anonymous().run(query, json!({ "e": "ada@acme.test", "p": format!("wrong {attempt}") })).await?;
        assert_eq!(r.error_code(), Some("UNAUTHENTICATED"), "attempt {attempt}");
    }
    let locked = app.anonymous().run(query, json!({ "e": "ADA@acme.test", "p": PASSWORD })).await?;
    assert_eq!(locked.error_code(), Some("RATE_LIMITED"));
    let retry = locked.body.pointer("/errors/0/extensions/retryAfterSeconds").and_then(|v| v.as_i64());
    assert!(retry.is_some_and(|s| (1..=30).contains(&s)), "{:?}", locked.body);
    // Another address is not affected.
    let other = app.anonymous().run(query, json!({ "e": "someone@acme.test", "p": "x" })).await?;
    assert_eq!(other.error_code(), Some("UNAUTHENTICATED"));
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn refresh_rotates_and_a_replayed_refresh_token_revokes_the_session() -> anyhow::Result<()> {
    let (app, _) = app_with_admin().await?;
    let first = app.login("ada@acme.test", PASSWORD).await?;
    let refresh = "mutation($t: String!) { refresh(refreshToken: $t) { accessToken refreshToken } }";
    let second = app.anonymous().data(refresh, json!({ "t": first["refreshToken"] }), "refresh").await?;
    assert_ne!(second["refreshToken"], first["refreshToken"]);
    let access = second["accessToken"].as_str().unwrap().to_owned();
    app.client(&access).data(ME, json!({}), "me").await?;

    // The first refresh token again: only a thief would do that.
    let replay = app.anonymous().run(refresh, json!({ "t": first["refreshToken"] })).await?;
    assert_eq!(replay.error_code(), Some("UNAUTHENTICATED"));
    // The whole session is gone: the new access token and refresh token are dead too.
    let me = app.client(&access).run(ME, json!({})).await?;
    assert_eq!(me.error_code(), Some("UNAUTHENTICATED"));
    let again = app.anonymous().run(refresh, json!({ "t": second["refreshToken"] })).await?;
    assert_eq!(again.error_code(), Some("UNAUTHENTICATED"));
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn logout_ends_the_session_at_once() -> anyhow::Result<()> {
    let (app, _) = app_with_admin().await?;
    let payload = app.login("ada@acme.test", PASSWORD).await?;
    let client = app.client(payload["accessToken"].as_str().unwrap());
    assert_eq!(client.data("mutation { logout }", json!({}), "logout").await?, true);
    let me = client.run(ME, json!({})).await?;
    assert_eq!(me.error_code(), Some("UNAUTHENTICATED"));
    let refresh = app
        .anonymous()
        .run(
            "mutation($t: String!) { refresh(refreshToken: $t) { accessToken } }",
            json!({ "t": payload["refreshToken"] }),
        )
        .await?;
    assert_eq!(refresh.error_code(), Some("UNAUTHENTICATED"));
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn expired_tampered_and_foreign_access_tokens_are_unauthenticated() -> anyhow::Result<()> {
    let (app, tenant) = app_with_admin().await?;
    let payload = app.login("ada@acme.test", PASSWORD).await?;
    let access = payload["accessToken"].as_str().unwrap();
    let claims = AccessTokens::new(&SecretString::from(JWT_SECRET.to_owned()), std::time::Duration::from_secs(60))
        .verify(access)?;

    let ours = AccessTokens::new(&SecretString::from(JWT_SECRET.to_owned()), std::time::Duration::from_secs(60));
    let (expired, _) = ours.issue(claims.sub, claims.sid, tenant, Utc::now() - chrono::Duration::minutes(10))?;
    let foreign = AccessTokens::new(&SecretString::from("x".repeat(40)), std::time::Duration::from_secs(60));
    let (forged, _) = foreign.issue(claims.sub, claims.sid, tenant, Utc::now())?;
    let mut tampered = access.to_owned();
    tampered.insert(tampered.len() - 3, 'x');

    for (what, token) in
        [("expired", expired.as_str()), ("forged", &forged), ("tampered", &tampered), ("garbage", "abc")]
    {
        let r = app.client(token).run(ME, json!({})).await?;
        assert_eq!(r.error_code(), Some("UNAUTHENTICATED"), "{what}: {:?}", r.body);
    }
    let anonymous = app.anonymous().run(ME, json!({})).await?;
    assert_eq!(anonymous.error_code(), Some("UNAUTHENTICATED"));
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn api_tokens_work_until_revoked_and_show_their_secret_once() -> anyhow::Result<()> {
    let (app, _) = app_with_admin().await?;
    let admin = app.signed_in("ada@acme.test", PASSWORD).await?;
    let created = admin
        .data(
            "mutation { createApiToken(input: { name: \"ERP\", role: VIEWER, expiresInDays: 30 }) { secret token { id name role active } } }",
            json!({}),
            "createApiToken",
        )
        .await?;
    let secret = created["secret"].as_str().unwrap();
    assert!(secret.starts_with("cat_"));
    let erp = app.client(secret);
    let me = erp.data(ME, json!({}), "me").await?;
    assert_eq!(me["kind"], "API_TOKEN");
    assert_eq!(me["role"], "VIEWER");
    assert!(me["email"].is_null());

    // A viewer token cannot write.
    let write = erp.run("mutation { createSite(input: { name: \"X\", timeZone: \"UTC\" }) { id } }", json!({})).await?;
    assert_eq!(write.error_code(), Some("FORBIDDEN"));

    // Listing never shows the secret again.
    let listed = admin.data("{ apiTokens { nodes { id name active } } }", json!({}), "apiTokens").await?;
    assert!(!listed.to_string().contains(secret));

    admin
        .data(
            "mutation($id: ID!) { revokeApiToken(id: $id) { active revokedAt } }",
            json!({ "id": created["token"]["id"] }),
            "revokeApiToken",
        )
        .await?;
    let after = erp.run(ME, json!({})).await?;
    assert_eq!(after.error_code(), Some("UNAUTHENTICATED"));
    assert!(after.error_message().unwrap().contains("revoked"));
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn api_token_input_errors_name_the_field() -> anyhow::Result<()> {
    let (app, _) = app_with_admin().await?;
    let admin = app.signed_in("ada@acme.test", PASSWORD).await?;
    let r = admin
        .run("mutation { createApiToken(input: { name: \"T\", role: ADMIN, expiresInDays: 0 }) { secret } }", json!({}))
        .await?;
    assert_eq!(r.error_code(), Some("VALIDATION"));
    assert_eq!(r.error_field(), Some("expiresInDays"));
    let r =
        admin.run("mutation { createApiToken(input: { name: \"  \", role: VIEWER }) { secret } }", json!({})).await?;
    assert_eq!(r.error_code(), Some("VALIDATION"));
    assert_eq!(r.error_field(), Some("name"));
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn disabling_a_user_ends_their_sessions() -> anyhow::Result<()> {
    let (app, tenant) = app_with_admin().await?;
    let bob = app.user(tenant, "bob@acme.test", Role::Technician, PASSWORD).await?;
    let admin = app.signed_in("ada@acme.test", PASSWORD).await?;
    let bob_client = app.signed_in("bob@acme.test", PASSWORD).await?;
    bob_client.data(ME, json!({}), "me").await?;
    admin
        .data(
            "mutation($id: ID!) { updateUser(id: $id, input: { disabled: true }) { disabled } }",
            json!({ "id": bob.id }),
            "updateUser",
        )
        .await?;
    assert_eq!(bob_client.run(ME, json!({})).await?.error_code(), Some("UNAUTHENTICATED"));
    let relogin = app
        .anonymous()
        .run(
            "mutation { login(email: \"bob@acme.test\", password: \"correct horse battery\") { accessToken } }",
            json!({}),
        )
        .await?;
    assert_eq!(relogin.error_code(), Some("UNAUTHENTICATED"));
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn the_last_admin_cannot_demote_itself() -> anyhow::Result<()> {
    let (app, _) = app_with_admin().await?;
    let admin = app.signed_in("ada@acme.test", PASSWORD).await?;
    let me = admin.data(ME, json!({}), "me").await?;
    let r = admin
        .run("mutation($id: ID!) { updateUser(id: $id, input: { role: VIEWER }) { role } }", json!({ "id": me["id"] }))
        .await?;
    assert_eq!(r.error_code(), Some("VALIDATION"));
    assert_eq!(r.error_field(), Some("role"));
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn change_password_keeps_this_session_and_ends_the_others() -> anyhow::Result<()> {
    let (app, _) = app_with_admin().await?;
    let here = app.signed_in("ada@acme.test", PASSWORD).await?;
    let elsewhere = app.signed_in("ada@acme.test", PASSWORD).await?;
    let wrong = here
        .run("mutation { changePassword(currentPassword: \"nope\", newPassword: \"a brand new secret\") }", json!({}))
        .await?;
    assert_eq!(wrong.error_field(), Some("currentPassword"));
    here.data(
        "mutation { changePassword(currentPassword: \"correct horse battery\", newPassword: \"a brand new secret\") }",
        json!({}),
        "changePassword",
    )
    .await?;
    here.data(ME, json!({}), "me").await?;
    assert_eq!(elsewhere.run(ME, json!({})).await?.error_code(), Some("UNAUTHENTICATED"));
    app.signed_in("ada@acme.test", "a brand new secret").await?;
    Ok(())
}
