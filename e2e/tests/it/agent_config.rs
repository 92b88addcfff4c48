//! What the server tells agents: SNMP credentials (sealed at rest, write-only), discovery
//! ranges with schedules, pushed to the connected agent whenever they change, and "run now"
//! orders delivered once, even to an agent that connects after the order.

use std::time::Duration;

use cartouche_e2e::agent_socket::{self, Socket};
use cartouche_e2e::app::TestApp;
use cartouche_schema::domain::Role;
use cartouche_schema::schedule::Schedule;
use cartouche_schema::wire::{AgentConfig, CredentialConfig, Cycle, ServerMessage};
use serde_json::{Value, json};

/// Connects as the agent; returns the socket after the welcome.
async fn link(app: &TestApp, agent_id: &str, credential: &str) -> Socket {
    let (socket, first) = agent_socket::connect(app, agent_id, credential).await.unwrap();
    assert!(matches!(first, ServerMessage::Welcome { .. }), "{first:?}");
    socket
}

async fn next(socket: &mut Socket, wait: Duration) -> Option<ServerMessage> {
    agent_socket::next(socket, wait).await
}

async fn next_config(socket: &mut Socket) -> AgentConfig {
    loop {
        match next(socket, Duration::from_secs(10)).await {
            Some(ServerMessage::Config(config)) => return config,
            Some(ServerMessage::Heartbeat { .. }) => continue,
            other => panic!("expected a configuration, got {other:?}"),
        }
    }
}

const CREATE_RANGE: &str = "mutation($input: DiscoveryRangeInput!) { createDiscoveryRange(input: $input) {
    id name addressCount credentialIds agentId
    schedules { cycle kind days { weekday hours } once { weekday hour } } } }";

#[tokio::test(flavor = "multi_thread")]
async fn ranges_and_credentials_reach_the_agent_when_they_change_and_secrets_stay_sealed() {
    let app = TestApp::start().await.unwrap();
    let (tenant, admin, _) = app.tenant_with_enrollment_key("Acme").await.unwrap();
    let (site, key) = TestApp::site_with_enrollment_key(&admin, "Lyon").await.unwrap();
    let (agent_id, credential) = agent_socket::enrolled(&app, &key, "pc-lyon").await.unwrap();
    let mut socket = link(&app, &agent_id, &credential).await;
    let first = next_config(&mut socket).await;
    assert!(first.ranges.is_empty() && first.credentials.is_empty(), "{first:?}");
    assert_eq!(first.usb_interval_minutes, Some(30), "local printers default to every 30 minutes");

    // Credentials: checked field by field, with the field named.
    let create_credential = "mutation($input: SnmpCredentialInput!) { createSnmpCredential(input: $input) { id name version user authProtocol } }";
    for (input, field) in [
        (json!({ "name": "x", "version": "V2C" }), "community"),
        (json!({ "name": "x", "version": "V2C", "community": "" }), "community"),
        (
            json!({ "name": "x", "version": "V3", "user": "u", "authProtocol": "SHA256", "authPassword": "short" }),
            "authPassword",
        ),
        (
            json!({ "name": "x", "version": "V3", "user": "u", "privProtocol": "AES128", "privPassword": "long enough" }),
            "privProtocol",
        ),
        (json!({ "name": "x", "version": "V3", "community": "public" }), "community"),
        (json!({ "name": "x", "version": "V1", "community": "c", "user": "u" }), "user"),
    ] {
        let answer = admin.run(create_credential, json!({ "input": input })).await.unwrap();
        assert_eq!(answer.error_code(), Some("VALIDATION"), "{input}");
        assert_eq!(answer.error_field(), Some(field), "{input}: {:?}", answer.error_message());
    }
    let community = admin
        .data(
            create_credential,
            json!({ "input": { "name": "Office", "version": "V2C", "community": "s3cret-community" } }),
            "createSnmpCredential",
        )
        .await
        .unwrap();
    let v3 = admin
        .data(
            create_credential,
            json!({ "input": { "name": "Secure", "version": "V3", "user": "monitor", "authProtocol": "SHA256",
                "authPassword": "auth-passphrase", "privProtocol": "AES128", "privPassword": "priv-passphrase" } }),
            "createSnmpCredential",
        )
        .await
        .unwrap();
    assert_eq!(v3["authProtocol"], "SHA256");
    let duplicate = admin
        .run(create_credential, json!({ "input": { "name": "office", "version": "V1", "community": "x" } }))
        .await
        .unwrap();
    assert_eq!(duplicate.error_code(), Some("CONFLICT"));
    // At rest, the secrets are sealed.
    {
        use cartouche_schema::db::schema::snmp_credentials;
        use diesel::prelude::*;
        use diesel_async::RunQueryDsl;
        let mut conn = app.db.conn().await.unwrap();
        let sealed: Vec<Vec<u8>> =
            snmp_credentials::table.select(snmp_credentials::sealed).load(&mut conn).await.unwrap();
        assert_eq!(sealed.len(), 2);
        for bytes in sealed {
            for secret in [&b"s3cret"[..], b"passphrase"] {
                assert!(!bytes.windows(secret.len()).any(|w| w == secret), "a secret is stored in clear");
            }
        }
    }

    // Ranges: syntax, schedules and references checked, the field named.
    let base = |extra: Value| {
        let mut input = json!({ "siteId": site, "name": "Floor 1", "ranges": "10.1.0.0/24, 10.1.1.5-10.1.1.9" });
        input.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        json!({ "input": input })
    };
    for (extra, field) in [
        (json!({ "ranges": "10.1.0.0/33" }), "ranges"),
        (json!({ "ranges": "10.0.0.0/8" }), "ranges"),
        (
            json!({ "schedules": [{ "cycle": "COUNTERS", "schedule": { "once": { "weekday": "MON", "hour": 24 } } }] }),
            "schedules[0].schedule.once.hour",
        ),
        (json!({ "schedules": [{ "cycle": "ALERTS", "schedule": { "weekly": [] } }] }), "schedules[0].schedule"),
        (
            json!({ "schedules": [{ "cycle": "ALERTS", "schedule": { "disabled": true } }, { "cycle": "ALERTS", "schedule": { "disabled": true } }] }),
            "schedules[1].cycle",
        ),
        (json!({ "credentialIds": ["nope"] }), "credentialIds[0]"),
        (json!({ "credentialIds": [uuid::Uuid::new_v4().to_string()] }), "credentialIds"),
    ] {
        let answer = admin.run(CREATE_RANGE, base(extra.clone())).await.unwrap();
        assert_eq!(answer.error_code(), Some("VALIDATION"), "{extra}");
        assert_eq!(answer.error_field(), Some(field), "{extra}: {:?}", answer.error_message());
    }
    let range = admin
        .data(
            CREATE_RANGE,
            base(json!({
                "credentialIds": [v3["id"], community["id"]],
                "schedules": [
                    { "cycle": "DISCOVERY", "schedule": { "disabled": true } },
                    { "cycle": "ALERTS", "schedule": { "weekly": [{ "weekday": "MON", "hours": [8, 9] }] } }
                ]
            })),
            "createDiscoveryRange",
        )
        .await
        .unwrap();
    assert_eq!(range["addressCount"], 254 + 5, "a /24 without its network and broadcast addresses, and a span of 5");
    assert_eq!(range["schedules"][0], json!({ "cycle": "DISCOVERY", "kind": "DISABLED", "days": [], "once": null }));
    assert_eq!(range["schedules"][1]["kind"], "WEEKLY", "counters keep their default");
    assert_eq!(range["schedules"][2]["days"], json!([{ "weekday": "MON", "hours": [8, 9] }]));

    // The agent gets it at once: the range, its time zone, schedules, credentials in clear
    // (inside its link only), in order.
    let config = next_config(&mut socket).await;
    assert_eq!(config.ranges.len(), 1);
    let sent = &config.ranges[0];
    assert_eq!(sent.id, range["id"].as_str().unwrap());
    assert_eq!(sent.site_time_zone, "Europe/Paris");
    assert_eq!(
        sent.credentials,
        vec![v3["id"].as_str().unwrap().to_owned(), community["id"].as_str().unwrap().to_owned()]
    );
    assert_eq!(sent.schedules[&Cycle::Discovery], Schedule::Disabled);
    assert_eq!(sent.schedules[&Cycle::Alerts], Schedule::Weekly { hours: [0b11 << 8, 0, 0, 0, 0, 0, 0] });
    assert_eq!(sent.schedules[&Cycle::Counters], Cycle::Counters.default_schedule());
    assert_eq!(
        config.credentials[community["id"].as_str().unwrap()],
        CredentialConfig::V2c { community: "s3cret-community".into() }
    );
    let CredentialConfig::V3 { user, auth_protocol, auth_password, priv_protocol, priv_password, .. } =
        &config.credentials[v3["id"].as_str().unwrap()]
    else {
        panic!("v3 expected")
    };
    assert_eq!(
        (user.as_str(), auth_protocol.as_deref(), priv_protocol.as_deref()),
        ("monitor", Some("SHA-256"), Some("AES"))
    );
    assert_eq!(
        (auth_password.as_deref(), priv_password.as_deref()),
        (Some("auth-passphrase"), Some("priv-passphrase"))
    );

    // A new community (other secrets kept) reaches the agent too.
    admin
        .data(
            "mutation($id: ID!) { updateSnmpCredential(id: $id, input: { name: \"Office\", version: V2C, community: \"rotated\" }) { id } }",
            json!({ "id": community["id"] }),
            "updateSnmpCredential",
        )
        .await
        .unwrap();
    let config = next_config(&mut socket).await;
    assert_eq!(
        config.credentials[community["id"].as_str().unwrap()],
        CredentialConfig::V2c { community: "rotated".into() }
    );
    admin
        .data(
            "mutation($id: ID!) { updateSnmpCredential(id: $id, input: { name: \"Secure v2\", version: V3, user: \"monitor\", authProtocol: SHA512, privProtocol: AES128 }) { name } }",
            json!({ "id": v3["id"] }),
            "updateSnmpCredential",
        )
        .await
        .unwrap();
    let config = next_config(&mut socket).await;
    let CredentialConfig::V3 { auth_protocol, auth_password, .. } = &config.credentials[v3["id"].as_str().unwrap()]
    else {
        panic!()
    };
    assert_eq!(auth_protocol.as_deref(), Some("SHA-512"));
    assert_eq!(auth_password.as_deref(), Some("auth-passphrase"), "a secret left out is kept");

    // In use: the credential cannot be deleted, and the range is named.
    let answer = admin
        .run("mutation($id: ID!) { deleteSnmpCredential(id: $id) }", json!({ "id": community["id"] }))
        .await
        .unwrap();
    assert_eq!(answer.error_code(), Some("CONFLICT"));
    assert!(answer.error_message().unwrap().contains("Floor 1"), "{:?}", answer.error_message());

    // Local printers on the network schedule.
    admin
        .data(
            "mutation($id: ID!) { configureAgent(id: $id, input: { usbIntervalMinutes: null }) { usbIntervalMinutes } }",
            json!({ "id": agent_id }),
            "configureAgent",
        )
        .await
        .unwrap();
    assert_eq!(next_config(&mut socket).await.usb_interval_minutes, None);
    let bad = admin
        .run(
            "mutation($id: ID!) { configureAgent(id: $id, input: { usbIntervalMinutes: 1 }) { id } }",
            json!({ "id": agent_id }),
        )
        .await
        .unwrap();
    assert_eq!(bad.error_field(), Some("usbIntervalMinutes"));

    // Another tenant sees none of it; a viewer of this one changes none of it.
    let other = app.tenant("Other", None).await.unwrap();
    app.user(other.id, "eve@other.test", Role::Admin, "correct horse battery").await.unwrap();
    let eve = app.signed_in("eve@other.test", "correct horse battery").await.unwrap();
    let seen = eve
        .data(
            "{ snmpCredentials { edges { node { id } } } discoveryRanges { edges { node { id } } } }",
            json!({}),
            "snmpCredentials",
        )
        .await
        .unwrap();
    assert_eq!(seen["edges"], json!([]));
    for (query, vars) in [
        ("query($id: ID!) { discoveryRange(id: $id) { id } }", json!({ "id": range["id"] })),
        ("mutation($id: ID!) { deleteDiscoveryRange(id: $id) }", json!({ "id": range["id"] })),
        ("mutation($id: ID!) { deleteSnmpCredential(id: $id) }", json!({ "id": v3["id"] })),
        ("mutation($id: ID!) { runCycle(agentId: $id, cycle: COUNTERS) { id } }", json!({ "id": agent_id })),
    ] {
        assert_eq!(eve.run(query, vars).await.unwrap().error_code(), Some("NOT_FOUND"), "{query}");
    }
    let stolen = eve.run(CREATE_RANGE, base(json!({}))).await.unwrap();
    assert_eq!(stolen.error_code(), Some("NOT_FOUND"), "another tenant's site");
    app.user(tenant.id, "viewer@acme.test", Role::Viewer, "correct horse battery").await.unwrap();
    let viewer = app.signed_in("viewer@acme.test", "correct horse battery").await.unwrap();
    assert_eq!(
        viewer
            .run("mutation($id: ID!) { deleteDiscoveryRange(id: $id) }", json!({ "id": range["id"] }))
            .await
            .unwrap()
            .error_code(),
        Some("FORBIDDEN")
    );
    assert_eq!(
        viewer
            .run("mutation($id: ID!) { runCycle(agentId: $id, cycle: COUNTERS) { id } }", json!({ "id": agent_id }))
            .await
            .unwrap()
            .error_code(),
        Some("FORBIDDEN")
    );

    // Deleting the range takes it from the agent.
    admin
        .data(
            "mutation($id: ID!) { deleteDiscoveryRange(id: $id) }",
            json!({ "id": range["id"] }),
            "deleteDiscoveryRange",
        )
        .await
        .unwrap();
    assert!(next_config(&mut socket).await.ranges.is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn run_now_orders_are_delivered_once_including_to_an_agent_that_connects_later() {
    let app = TestApp::start().await.unwrap();
    let (_, admin, key) = app.tenant_with_enrollment_key("Acme").await.unwrap();
    let (agent_id, credential) = agent_socket::enrolled(&app, &key, "pc").await.unwrap();
    let run = "mutation($id: ID!, $cycle: CycleKind!) { runCycle(agentId: $id, cycle: $cycle) { id deliveredAt } }";

    // Ordered while the agent is away: it waits.
    let order = admin.data(run, json!({ "id": agent_id, "cycle": "DISCOVERY" }), "runCycle").await.unwrap();
    assert_eq!(order["deliveredAt"], Value::Null);
    let mut socket = link(&app, &agent_id, &credential).await;
    next_config(&mut socket).await;
    let message = next(&mut socket, Duration::from_secs(10)).await;
    assert_eq!(message, Some(ServerMessage::RunNow { cycle: Cycle::Discovery, range_id: None }));
    let delivered = admin
        .data("query($id: ID!) { agentCommand(id: $id) { deliveredAt } }", json!({ "id": order["id"] }), "agentCommand")
        .await
        .unwrap();
    assert!(delivered["deliveredAt"].is_string());
    // Another tenant cannot follow it, nor order one.
    let other = app.tenant("Other", None).await.unwrap();
    app.user(other.id, "eve@other.test", Role::Admin, "correct horse battery").await.unwrap();
    let eve = app.signed_in("eve@other.test", "correct horse battery").await.unwrap();
    let peek = eve
        .run("query($id: ID!) { agentCommand(id: $id) { deliveredAt } }", json!({ "id": order["id"] }))
        .await
        .unwrap();
    assert_eq!(peek.error_code(), Some("NOT_FOUND"));
    assert_eq!(
        eve.run(run, json!({ "id": agent_id, "cycle": "ALERTS" })).await.unwrap().error_code(),
        Some("NOT_FOUND")
    );

    // Ordered while connected: sent at once, and only once.
    admin.data(run, json!({ "id": agent_id, "cycle": "ALERTS" }), "runCycle").await.unwrap();
    let message = next(&mut socket, Duration::from_secs(10)).await;
    assert_eq!(message, Some(ServerMessage::RunNow { cycle: Cycle::Alerts, range_id: None }));
    drop(socket);
    let mut again = link(&app, &agent_id, &credential).await;
    next_config(&mut again).await;
    let quiet = next(&mut again, Duration::from_millis(800)).await;
    assert!(!matches!(quiet, Some(ServerMessage::RunNow { .. })), "an order was delivered twice: {quiet:?}");

    // A range the agent does not scan is refused by name.
    let answer = admin
        .run(
            "mutation($id: ID!, $range: ID!) { runCycle(agentId: $id, cycle: COUNTERS, rangeId: $range) { id } }",
            json!({ "id": agent_id, "range": uuid::Uuid::new_v4().to_string() }),
        )
        .await
        .unwrap();
    assert_eq!(answer.error_code(), Some("NOT_FOUND"));
}

const IMPORT: &str = "mutation($input: RangeImportInput!) { importDiscoveryRanges(input: $input) {
    lines addressCount errors { line message } created { name ranges addressCount site { name } } } }";

#[tokio::test(flavor = "multi_thread")]
async fn a_range_file_is_created_whole_or_every_bad_line_is_named_and_nothing_is_created() {
    let app = TestApp::start().await.unwrap();
    let (tenant, admin, _) = app.tenant_with_enrollment_key("Acme").await.unwrap();
    let (lyon, _) = TestApp::site_with_enrollment_key(&admin, "Lyon").await.unwrap();
    let (_, key) = TestApp::site_with_enrollment_key(&admin, "Paris").await.unwrap();
    let (agent_id, credential) = agent_socket::enrolled(&app, &key, "pc-paris").await.unwrap();
    let mut socket = link(&app, &agent_id, &credential).await;
    assert!(next_config(&mut socket).await.ranges.is_empty());
    let count = async || {
        admin
            .data("{ discoveryRanges { edges { node { id } } } }", json!({}), "discoveryRanges")
            .await
            .unwrap()["edges"]
            .as_array()
            .unwrap()
            .len()
    };

    // Three bad lines of five: all three named, nothing created.
    let file = "range,site,name\n10.1.0.0/24,Lyon,Floor 1\n10.1.1.0/33,Lyon\n# a comment\n10.2.0.1-20,paris,Copiers\n10.3.0.1,Nice\n10.0.0.0/8\n";
    let answer =
        admin.data(IMPORT, json!({ "input": { "siteId": lyon, "csv": file } }), "importDiscoveryRanges").await.unwrap();
    assert_eq!(answer["lines"], 5);
    assert_eq!(answer["created"], json!([]));
    let errors = answer["errors"].as_array().unwrap();
    assert_eq!(errors.iter().map(|e| e["line"].as_i64().unwrap()).collect::<Vec<_>>(), vec![3, 6, 7], "{errors:?}");
    assert!(errors[0]["message"].as_str().unwrap().contains("prefix length"), "{errors:?}");
    assert!(errors[1]["message"].as_str().unwrap().contains("no site named \"Nice\""), "{errors:?}");
    assert!(errors[2]["message"].as_str().unwrap().contains("at most 65536"), "{errors:?}");
    assert_eq!(count().await, 0, "nothing created while a line is wrong");

    // A dry run of the corrected file creates nothing either; the real run creates every line.
    let file = "range,site,name\n10.1.0.0/24,Lyon,Floor 1\n10.1.1.0/30,Lyon\n10.2.0.1-20,paris,Copiers\n";
    let dry = admin
        .data(IMPORT, json!({ "input": { "siteId": lyon, "csv": file, "dryRun": true } }), "importDiscoveryRanges")
        .await
        .unwrap();
    assert_eq!(
        (dry["errors"].clone(), dry["created"].clone(), dry["addressCount"].clone()),
        (json!([]), json!([]), json!(254 + 2 + 20))
    );
    assert_eq!(count().await, 0);
    let done =
        admin.data(IMPORT, json!({ "input": { "siteId": lyon, "csv": file } }), "importDiscoveryRanges").await.unwrap();
    assert_eq!(
        done["created"],
        json!([
            { "name": "Floor 1", "ranges": "10.1.0.0/24", "addressCount": 254, "site": { "name": "Lyon" } },
            { "name": "10.1.1.0/30", "ranges": "10.1.1.0/30", "addressCount": 2, "site": { "name": "Lyon" } },
            { "name": "Copiers", "ranges": "10.2.0.1-20", "addressCount": 20, "site": { "name": "Paris" } },
        ])
    );
    assert_eq!(count().await, 3);
    // The Paris agent gets its range (one push per created range; the last holds it).
    let mut ranges = Vec::new();
    loop {
        match next(&mut socket, Duration::from_secs(2)).await {
            Some(ServerMessage::Config(config)) => ranges = config.ranges,
            Some(_) => continue,
            None => break,
        }
    }
    assert_eq!(ranges.iter().map(|r| r.ranges.as_str()).collect::<Vec<_>>(), vec!["10.2.0.1-20"]);

    // A file of nothing, a file too large, another tenant's site, a viewer: refused, named.
    for (csv, needle) in [("# only a comment\n", "no range line"), (&"10.0.0.1\n".repeat(1_001)[..], "at most 1000")] {
        let answer = admin.run(IMPORT, json!({ "input": { "siteId": lyon, "csv": csv } })).await.unwrap();
        assert_eq!((answer.error_code(), answer.error_field()), (Some("VALIDATION"), Some("csv")));
        assert!(answer.error_message().unwrap().contains(needle), "{:?}", answer.error_message());
    }
    let other = app.tenant("Other", None).await.unwrap();
    app.user(other.id, "eve@other.test", Role::Admin, "correct horse battery").await.unwrap();
    let eve = app.signed_in("eve@other.test", "correct horse battery").await.unwrap();
    let stolen = eve.run(IMPORT, json!({ "input": { "siteId": lyon, "csv": "10.9.0.1" } })).await.unwrap();
    assert_eq!(stolen.error_code(), Some("NOT_FOUND"));
    app.user(tenant.id, "viewer@acme.test", Role::Viewer, "correct horse battery").await.unwrap();
    let viewer = app.signed_in("viewer@acme.test", "correct horse battery").await.unwrap();
    let refused = viewer.run(IMPORT, json!({ "input": { "siteId": lyon, "csv": "10.9.0.1" } })).await.unwrap();
    assert_eq!(refused.error_code(), Some("FORBIDDEN"));
    assert_eq!(count().await, 3);
}
