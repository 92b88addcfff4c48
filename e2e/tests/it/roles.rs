//! Every mutation of the schema, present and future, called by each role with well-formed
//! arguments made from the schema itself: viewers change nothing, technicians only run
//! cycles, managers set up sites, agents, ranges and credentials but do not manage users,
//! tenants, API tokens or reinterpretation. A new mutation that forgets its role check fails
//! here without anyone writing a test for it.

use cartouche_e2e::app::TestApp;
use cartouche_e2e::graphql::GraphqlClient;
use cartouche_schema::domain::Role;
use serde_json::{Map, Value, json};

const INTROSPECTION: &str = r#"{ __schema { mutationType { fields { name args { name type { ...T } } } }
  types { name kind inputFields { name type { ...T } } enumValues { name } } } }
  fragment T on __Type { kind name ofType { kind name ofType { kind name ofType { kind name } } } }"#;

/// Mutations anyone signed in may call (their own session).
const SESSION: &[&str] = &["login", "refresh", "logout", "changePassword"];

/// A well-formed value of `ty` (required fields of input objects filled in, recursively).
fn sample(ty: &Value, types: &[Value], depth: usize) -> Value {
    match ty["kind"].as_str() {
        Some("NON_NULL") => sample(&ty["ofType"], types, depth),
        Some("LIST") => json!([sample(&ty["ofType"], types, depth)]),
        Some("ENUM") => {
            let name = ty["name"].as_str().unwrap_or_default();
            let found = types.iter().find(|t| t["name"] == name).expect("the enum is in the schema");
            found["enumValues"][0]["name"].clone()
        }
        Some("INPUT_OBJECT") => {
            let name = ty["name"].as_str().unwrap_or_default();
            let found = types.iter().find(|t| t["name"] == name).expect("the input is in the schema");
            let mut object = Map::new();
            // A oneOf input (no required field) gets its first field.
            let fields = found["inputFields"].as_array().cloned().unwrap_or_default();
            let required: Vec<&Value> = fields.iter().filter(|f| f["type"]["kind"] == "NON_NULL").collect();
            let chosen: Vec<&Value> = if required.is_empty() { fields.iter().take(1).collect() } else { required };
            if depth < 6 {
                for field in chosen {
                    object.insert(field["name"].as_str().unwrap().to_owned(), sample(&field["type"], types, depth + 1));
                }
            }
            Value::Object(object)
        }
        _ => match ty["name"].as_str() {
            Some("ID") => json!(uuid::Uuid::new_v4().to_string()),
            Some("Int") => json!(1),
            Some("Float") => json!(1.0),
            Some("Boolean") => json!(true),
            Some("DateTime") => json!("2026-01-01T00:00:00Z"),
            Some("NaiveDate") => json!("2026-01-01"),
            _ => json!("x"),
        },
    }
}

/// The type's name as GraphQL writes it (`[ID!]!`).
fn written(ty: &Value) -> String {
    match ty["kind"].as_str() {
        Some("NON_NULL") => format!("{}!", written(&ty["ofType"])),
        Some("LIST") => format!("[{}]", written(&ty["ofType"])),
        _ => ty["name"].as_str().unwrap_or_default().to_owned(),
    }
}

/// Calls every mutation (but the session ones) and returns (name, error code).
async fn call_all(client: &GraphqlClient, fields: &[Value], types: &[Value]) -> Vec<(String, Option<String>)> {
    let mut out = Vec::new();
    for field in fields {
        let name = field["name"].as_str().unwrap().to_owned();
        if SESSION.contains(&name.as_str()) {
            continue;
        }
        let args = field["args"].as_array().cloned().unwrap_or_default();
        let declared: Vec<String> =
            args.iter().map(|a| format!("${}: {}", a["name"].as_str().unwrap(), written(&a["type"]))).collect();
        let passed: Vec<String> = args.iter().map(|a| format!("{0}: ${0}", a["name"].as_str().unwrap())).collect();
        let mut variables = Map::new();
        for arg in &args {
            if arg["type"]["kind"] == "NON_NULL" {
                variables.insert(arg["name"].as_str().unwrap().to_owned(), sample(&arg["type"], types, 0));
            }
        }
        let vars = if declared.is_empty() { String::new() } else { format!("({})", declared.join(", ")) };
        let call = if passed.is_empty() { String::new() } else { format!("({})", passed.join(", ")) };
        let query = format!("mutation{vars} {{ {name}{call} {{ __typename }} }}");
        // Scalars have no selection.
        let query = if client
            .run(&query, Value::Object(variables.clone()))
            .await
            .unwrap()
            .error_message()
            .is_some_and(|m| m.contains("must not have a selection"))
        {
            format!("mutation{vars} {{ {name}{call} }}")
        } else {
            query
        };
        let answer = client.run(&query, Value::Object(variables)).await.unwrap();
        out.push((name, answer.error_code().map(str::to_owned)));
    }
    out
}

#[tokio::test(flavor = "multi_thread")]
async fn every_mutation_checks_the_callers_role() {
    let app = TestApp::start().await.unwrap();
    let acme = app.tenant("Acme", None).await.unwrap();
    let password = "correct horse battery";
    for (email, role) in
        [("viewer@acme.test", Role::Viewer), ("tech@acme.test", Role::Technician), ("manager@acme.test", Role::Manager)]
    {
        app.user(acme.id, email, role, password).await.unwrap();
    }
    let viewer = app.signed_in("viewer@acme.test", password).await.unwrap();
    let schema = viewer.data(INTROSPECTION, json!({}), "__schema").await.unwrap();
    let fields = schema["mutationType"]["fields"].as_array().unwrap().clone();
    let types = schema["types"].as_array().unwrap().clone();
    assert!(fields.len() >= 20, "the mutations are listed");

    let forbidden = |results: Vec<(String, Option<String>)>, allowed: &[&str]| {
        for (name, code) in results {
            if allowed.contains(&name.as_str()) {
                assert_ne!(code.as_deref(), Some("FORBIDDEN"), "{name} is allowed to this role");
            } else {
                assert_eq!(code.as_deref(), Some("FORBIDDEN"), "{name} must be refused to this role");
            }
        }
    };
    // Anyone who sees a customer may ask for its report; technicians work on work orders.
    // and everyone sets what they receive by e-mail.
    forbidden(call_all(&viewer, &fields, &types).await, &["requestReport", "setNotificationPreferences"]);
    let tech = app.signed_in("tech@acme.test", password).await.unwrap();
    forbidden(
        call_all(&tech, &fields, &types).await,
        &["runCycle", "openWorkOrder", "updateWorkOrder", "requestReport", "setNotificationPreferences"],
    );
    let manager = app.signed_in("manager@acme.test", password).await.unwrap();
    let managers: Vec<&str> = fields
        .iter()
        .filter_map(|f| f["name"].as_str())
        .filter(|n| {
            !SESSION.contains(n)
                && ![
                    "createTenant",
                    "updateTenant",
                    "createUser",
                    "updateUser",
                    "createApiToken",
                    "revokeApiToken",
                    "reinterpretDevices",
                    "setTenantNotificationSettings",
                ]
                .contains(n)
        })
        .collect();
    forbidden(call_all(&manager, &fields, &types).await, &managers);
}
