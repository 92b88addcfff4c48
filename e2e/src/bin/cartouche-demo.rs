//! `cartouche-demo`: the living demo `./dev up` runs beside the api and the workers. It serves
//! the demo scenario's simulated printers (real recordings, living counters and toner, jams, a
//! cartridge swap, a fuser failure), sets up a dealer's customer the first time (sites, labour
//! rates, a repair rule, a contract, a shipment, an enrollment key and a discovery range), runs
//! an enrolled agent on them, and asks it for counters and alerts every minute. Its state (the
//! agent's enrollment and spool) is kept in `--state`, so a restart continues the same fleet.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use cartouche_agent::link::{self, Enrollment, LinkOptions};
use cartouche_agent::service::run_agent;
use cartouche_agent::spool::{FullPolicy, Spool};
use cartouche_e2e::graphql::GraphqlClient;
use cartouche_e2e::simulator::{Scenario, Simulator};
use cartouche_schema::profiles::ProfileSet;
use clap::Parser;
use serde_json::{Value, json};

#[derive(Parser)]
#[command(name = "cartouche-demo", about = "The living demo fleet of ./dev up")]
struct Cli {
    /// The api's base URL.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    api: String,
    #[arg(long)]
    email: String,
    #[arg(long, env = "CARTOUCHE_DEMO_PASSWORD")]
    password: String,
    /// The scenario of simulated printers.
    #[arg(long)]
    scenario: PathBuf,
    /// Where the demo keeps its agent (enrollment, spool) between runs.
    #[arg(long)]
    state: PathBuf,
    /// How often the agent is asked for counters and alerts.
    #[arg(long, default_value_t = 60)]
    every_seconds: u64,
}

async fn signed_in(http: &reqwest::Client, cli: &Cli) -> anyhow::Result<GraphqlClient> {
    let anonymous = GraphqlClient::new(http.clone(), format!("{}/graphql", cli.api), None);
    let payload = anonymous
        .data(
            "mutation($e: String!, $p: String!) { login(email: $e, password: $p) { accessToken } }",
            json!({ "e": cli.email, "p": cli.password }),
            "login",
        )
        .await
        .context("signing in as the demo admin")?;
    let token = payload["accessToken"].as_str().context("no access token")?.to_owned();
    Ok(GraphqlClient::new(http.clone(), format!("{}/graphql", cli.api), Some(token)))
}

async fn id(admin: &GraphqlClient, query: &str, variables: Value, field: &str) -> anyhow::Result<String> {
    let data = admin.data(query, variables, field).await.with_context(|| format!("demo set-up: {field}"))?;
    Ok(data["id"].as_str().or_else(|| data["key"]["id"].as_str()).unwrap_or_default().to_owned())
}

/// The first object of `list` (a JSON array) whose `name` is `name`, by id.
fn named(list: &Value, name: &str) -> Option<String> {
    list.as_array()?.iter().find(|o| o["name"] == name).and_then(|o| o["id"].as_str()).map(str::to_owned)
}

/// The customer, its sites and contract, the dealer's rates and rule, a shipment, and an
/// enrollment key for the customer's Lyon site (returned with Lyon's id). Safe to run again
/// after a set-up that stopped half-way: what exists is found by name and kept.
async fn set_up(admin: &GraphqlClient) -> anyhow::Result<(String, String)> {
    let tenants = admin.data("{ tenants(first: 200) { nodes { id name } } }", json!({}), "tenants").await?;
    let customer = match named(&tenants["nodes"], "Demo customer") {
        Some(id) => id,
        None => {
            id(admin, "mutation { createTenant(input: { name: \"Demo customer\" }) { id } }", json!({}), "createTenant")
                .await?
        }
    };
    let mut site_ids = Vec::new();
    for (tenant, name) in [(None, "Head office"), (Some(&customer), "Lyon"), (Some(&customer), "Paris")] {
        let sites = admin
            .data(
                "query($t: ID) { sites(tenantId: $t, first: 200) { nodes { id name } } }",
                json!({ "t": tenant }),
                "sites",
            )
            .await?;
        let site = match named(&sites["nodes"], name) {
            Some(id) => id,
            None => {
                id(
                    admin,
                    "mutation($i: CreateSiteInput!) { createSite(input: $i) { id } }",
                    json!({ "i": { "tenantId": tenant, "name": name, "timeZone": "Europe/Paris" } }),
                    "createSite",
                )
                .await?
            }
        };
        site_ids.push(site);
    }
    let lyon = site_ids[1].clone();
    for (skill, rate) in [("USER", "35"), ("TRAINED_USER", "55"), ("FIELD_TECHNICIAN", "90")] {
        admin
            .data(
                "mutation($s: Skill!, $r: String) { setLabourRate(skill: $s, hourlyRate: $r) { skill } }",
                json!({ "s": skill, "r": rate }),
                "setLabourRate",
            )
            .await?;
    }
    let rules = admin.data("{ workOrderRules { id name } }", json!({}), "workOrderRules").await?;
    if named(&rules, "Repairs").is_none() {
        admin
            .data(
                "mutation { createWorkOrderRule(input: { name: \"Repairs\", minSeverity: \"critical\", closeWhenCleared: true }) { id } }",
                json!({}),
                "createWorkOrderRule",
            )
            .await?;
    }
    let plans = admin
        .data("query($t: ID) { pricePlans(tenantId: $t) { id name } }", json!({ "t": customer }), "pricePlans")
        .await?;
    if named(&plans, "Demo customer all-in").is_none() {
        let month_start = chrono::Utc::now().date_naive().format("%Y-%m-01").to_string();
        admin
            .data(
                "mutation($i: PricePlanInput!) { createPricePlan(input: $i) { id } }",
                json!({ "i": { "tenantId": customer, "name": "Demo customer all-in", "monoPrice": "0.008", "colorPrice": "0.06",
                    "includedMono": 20000, "minimumCharge": "150", "validFrom": month_start } }),
                "createPricePlan",
            )
            .await?;
    }
    let models = admin.data("{ supplyModels { id name: partNumber } }", json!({}), "supplyModels").await?;
    if named(&models, "TN-3280").is_none() {
        admin
            .data(
                "mutation($t: ID!) { createSupplyModel(input: { tenantId: $t, partNumber: \"TN-3280\", name: \"Brother toner\", kind: \"toner\", ratedYield: 8000, unitCost: \"45\" }) { id } }",
                json!({ "t": customer }),
                "createSupplyModel",
            )
            .await?;
        admin
            .data(
                "mutation($i: ShipmentInput!) { recordShipment(input: $i) { id } }",
                json!({ "i": { "siteId": lyon, "partNumber": "TN-3280", "quantity": 1, "serials": ["DEMO-TN-0001"],
                    "shippedOn": chrono::Utc::now().date_naive().to_string() } }),
                "recordShipment",
            )
            .await?;
    }
    let key = admin
        .data(
            "mutation($i: CreateEnrollmentKeyInput!) { createEnrollmentKey(input: $i) { secret } }",
            json!({ "i": { "tenantId": customer, "siteId": lyon, "name": "Demo agent key", "expiresInHours": 1 } }),
            "createEnrollmentKey",
        )
        .await?["secret"]
        .as_str()
        .context("no enrollment secret")?
        .to_owned();
    Ok((key, lyon))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let text = std::fs::read_to_string(&cli.scenario).with_context(|| format!("{}", cli.scenario.display()))?;
    let scenario = Scenario::parse(&text)?;
    let port = scenario.port;
    let base = cli.scenario.parent().map(PathBuf::from).unwrap_or_default();
    let simulator = Simulator::start_with(scenario.devices(&base)?, scenario.services()).await?;
    let (first, last) = (simulator.addresses[0].ip(), simulator.addresses[simulator.len() - 1].ip());
    println!("demo: {} simulated printers on {first} … {last} (SNMP port {port})", simulator.len());

    let http = reqwest::Client::builder().timeout(Duration::from_secs(30)).build()?;
    std::fs::create_dir_all(&cli.state)?;
    let saved = cli.state.join("enrollment.json");
    let enrollment = if saved.exists() {
        Enrollment::load(&saved)?
    } else {
        let admin = signed_in(&http, &cli).await?;
        let (key, lyon) = set_up(&admin).await?;
        let enrollment = link::enroll(&cli.api, &key, "demo-agent", None).await?;
        enrollment.save(&saved)?;
        cartouche_e2e::running_agent::hourly_discovery_range(
            &admin,
            &lyon,
            "Demo printers",
            to_v4(first)?,
            to_v4(last)?,
        )
        .await?;
        println!("demo: customer, sites, contract, shipment, repair rule and agent set up");
        enrollment
    };
    let spool = Spool::open(&cli.state.join("spool.db"), 256 << 20, FullPolicy::DropOldest)?;
    let agent_id = enrollment.agent_id.clone();
    let agent = tokio::spawn(run_agent(
        enrollment,
        Arc::new(ProfileSet::builtin()?),
        spool,
        cartouche_e2e::simulator::cycle_options(port),
        LinkOptions::default(),
        async {
            let _ = tokio::signal::ctrl_c().await;
        },
    ));
    // Counters and alerts every minute (the range's own schedule discovers every hour).
    let mut reported = false;
    let mut tick = tokio::time::interval(Duration::from_secs(cli.every_seconds.max(10)));
    loop {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => break,
            _ = tick.tick() => {
                let Ok(admin) = signed_in(&http, &cli).await else { continue };
                for cycle in ["COUNTERS", "ALERTS"] {
                    let _ = admin
                        .run("mutation($a: ID!, $c: CycleKind!) { runCycle(agentId: $a, cycle: $c) { id } }", json!({ "a": agent_id, "c": cycle }))
                        .await;
                }
                if !reported {
                    reported = request_report(&admin).await.unwrap_or(false);
                }
            }
        }
    }
    agent.await??;
    drop(simulator);
    Ok(())
}

/// Asks once for this month's cost report of the demo customer, when it has devices.
async fn request_report(admin: &GraphqlClient) -> anyhow::Result<bool> {
    let devices = admin.data("{ devices(first: 1) { nodes { id } } }", json!({}), "devices").await?;
    if devices["nodes"].as_array().is_none_or(Vec::is_empty) {
        return Ok(false);
    }
    let tenants = admin.data("{ tenants(first: 200) { nodes { id name } } }", json!({}), "tenants").await?;
    let Some(tenant) = named(&tenants["nodes"], "Demo customer") else { return Ok(false) };
    let existing = admin.data("{ reports { id } }", json!({}), "reports").await?;
    if existing.as_array().is_some_and(|r| !r.is_empty()) {
        return Ok(true);
    }
    let today = chrono::Utc::now().date_naive();
    admin
        .data(
            "mutation($i: ReportInput!) { requestReport(input: $i) { id } }",
            json!({ "i": { "tenantId": tenant, "from": today.format("%Y-%m-01").to_string(),
                "to": (today + chrono::Duration::days(1)).to_string(), "format": "PDF" } }),
            "requestReport",
        )
        .await?;
    Ok(true)
}

fn to_v4(ip: std::net::IpAddr) -> anyhow::Result<std::net::Ipv4Addr> {
    match ip {
        std::net::IpAddr::V4(v4) => Ok(v4),
        std::net::IpAddr::V6(_) => anyhow::bail!("the demo's printers are on IPv4 loopback"),
    }
}
