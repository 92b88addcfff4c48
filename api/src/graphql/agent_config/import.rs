//! Discovery ranges from a CSV file (`range,site,name`): every line checked, every bad line
//! named with its number, and nothing created unless every line is good.

use async_graphql::{Context, ID, InputObject, Object, SimpleObject};
use cartouche_schema::db::agent_config::{DiscoveryRangeRow, DiscoveryRangeValues};
use cartouche_schema::db::sites::Site;
use cartouche_schema::domain::{DisplayName, Role};
use cartouche_schema::ranges::{self, Range};
use diesel_async::AsyncConnection;

use crate::error::ApiError;
use crate::events::{ChangeKind, Entity, Event};
use crate::graphql::{actor, conn, parse_id};

use super::ranges::{DiscoveryRangeNode, MAX_RANGES_CHARS, credentials_of};
use super::schedules::{CycleScheduleInput, schedules_input};

/// The most lines one file may create.
const MAX_LINES: usize = 1_000;
/// The largest file taken.
const MAX_BYTES: usize = 1 << 20;

#[derive(InputObject)]
pub struct RangeImportInput {
    /// The site of lines that name none; every line's site must be of this site's tenant.
    pub site_id: ID,
    /// One range per line: `range,site,name`. `site` (a site's name) and `name` are optional;
    /// a range cell may hold a quoted list (`"10.0.0.1, 10.0.0.9"`); `;` separates as well as
    /// `,`; `#` starts a comment line; a first line starting with `range` is a header.
    pub csv: String,
    /// SNMP credentials every created range tries, in order; empty: v2c "public".
    #[graphql(default)]
    pub credential_ids: Vec<ID>,
    /// Schedules of every created range (cycles not listed keep their defaults).
    #[graphql(default)]
    pub schedules: Vec<CycleScheduleInput>,
    /// Checks the file only; creates nothing.
    #[graphql(default)]
    pub dry_run: bool,
}

/// What is wrong with one line of the file.
#[derive(SimpleObject, Clone, Debug, PartialEq)]
pub struct CsvLineError {
    /// 1-based, as an editor counts.
    pub line: i32,
    pub message: String,
}

/// The outcome of a range file: the ranges created, or every bad line and nothing created.
#[derive(SimpleObject)]
pub struct RangeImport {
    /// Empty on a dry run or when a line is wrong.
    pub created: Vec<DiscoveryRangeNode>,
    /// Range lines read (comments, blank lines and the header left out).
    pub lines: i32,
    /// Addresses the good lines cover.
    pub address_count: u64,
    pub errors: Vec<CsvLineError>,
}

/// One good line, ready to insert.
struct Line {
    site: Site,
    name: DisplayName,
    ranges: String,
}

#[derive(Default)]
pub struct ImportMutation;

#[Object]
impl ImportMutation {
    /// Creates discovery ranges from a CSV file, all or none. Managers and admins.
    async fn import_discovery_ranges(
        &self,
        ctx: &Context<'_>,
        mut input: RangeImportInput,
    ) -> async_graphql::Result<RangeImport> {
        let actor = actor(ctx)?;
        actor.require(Role::Manager, "importing discovery ranges")?;
        if input.csv.len() > MAX_BYTES {
            return Err(ApiError::validation("csv", "at most 1 MiB; split the file").into());
        }
        let schedules = schedules_input(std::mem::take(&mut input.schedules))?;
        let mut conn = conn(ctx).await?;
        let site_id = parse_id("siteId", &input.site_id)?;
        let default_site =
            Site::find(&mut conn, &actor.scope, site_id).await.map_err(|e| ApiError::from_db("site", e))?;
        let credentials = credentials_of(&mut conn, default_site.tenant_id, &input.credential_ids).await?;
        let sites = Site::of_tenant(&mut conn, &actor.scope, default_site.tenant_id)
            .await
            .map_err(|e| ApiError::from_db("site", e))?;
        let (lines, mut errors) = check_file(&input.csv, &default_site, &sites);
        if lines.len() + errors.len() > MAX_LINES {
            return Err(ApiError::validation("csv", format!("at most {MAX_LINES} ranges per file")).into());
        }
        if lines.is_empty() && errors.is_empty() {
            return Err(ApiError::validation("csv", "the file has no range line").into());
        }
        errors.sort_by_key(|e| e.line);
        let address_count =
            lines.iter().filter_map(|l| Range::parse_list(&l.ranges).ok()).flatten().map(|r| r.len()).sum();
        let read = i32::try_from(lines.len() + errors.len()).unwrap_or(i32::MAX);
        if !errors.is_empty() || input.dry_run {
            return Ok(RangeImport { created: Vec::new(), lines: read, address_count, errors });
        }
        let credential_ids: Vec<_> = credentials.into_iter().map(Some).collect();
        let rows = conn
            .transaction(async |conn| {
                let mut rows = Vec::with_capacity(lines.len());
                for line in &lines {
                    let values = DiscoveryRangeValues {
                        tenant_id: line.site.tenant_id,
                        site_id: line.site.id,
                        agent_id: None,
                        name: line.name.as_str(),
                        ranges: &line.ranges,
                        credential_ids: credential_ids.clone(),
                        schedules: schedules.clone(),
                    };
                    let row = DiscoveryRangeRow::create(conn, &actor.scope, values).await?;
                    let event = Event::new(Entity::Range, ChangeKind::Created, row.tenant_id, row.id);
                    crate::events::publish(conn, &event).await?;
                    rows.push(row);
                }
                Ok::<_, diesel::result::Error>(rows)
            })
            .await
            .map_err(|e| ApiError::from_db("discovery range", e))?;
        Ok(RangeImport {
            created: rows.into_iter().map(DiscoveryRangeNode).collect(),
            lines: read,
            address_count,
            errors,
        })
    }
}

/// Every line of the file checked: its ranges, its site (by name, in the tenant), its name.
fn check_file(csv: &str, default_site: &Site, sites: &[Site]) -> (Vec<Line>, Vec<CsvLineError>) {
    let mut lines = Vec::new();
    let mut errors = Vec::new();
    // The good lines are checked further even when others are bad: one pass shows every mistake.
    let (parsed, bad) = ranges::parse_csv(csv);
    errors.extend(bad.iter().map(|e| CsvLineError { line: line_number(e.line), message: e.error.to_string() }));
    for entry in parsed {
        let error = |message: String| CsvLineError { line: line_number(entry.line), message };
        if entry.text.len() > MAX_RANGES_CHARS {
            errors.push(error(format!("the range cell has over {MAX_RANGES_CHARS} characters")));
            continue;
        }
        let site = match &entry.site {
            None => default_site,
            Some(name) => match sites.iter().find(|s| s.name.eq_ignore_ascii_case(name.trim())) {
                Some(site) => site,
                None => {
                    errors.push(error(format!("no site named {name:?} in this tenant")));
                    continue;
                }
            },
        };
        let name = entry.name.clone().unwrap_or_else(|| default_name(&entry.text));
        match DisplayName::parse(&name) {
            Ok(name) => lines.push(Line { site: site.clone(), name, ranges: entry.text }),
            Err(e) => errors.push(error(format!("name: {e}"))),
        }
    }
    (lines, errors)
}

/// A range without a name is called by what it covers, shortened to a display name's length.
fn default_name(text: &str) -> String {
    let max = DisplayName::MAX_CHARS - 1;
    if text.chars().count() <= DisplayName::MAX_CHARS {
        text.to_owned()
    } else {
        text.chars().take(max).chain(std::iter::once('…')).collect()
    }
}

fn line_number(line: usize) -> i32 {
    i32::try_from(line).unwrap_or(i32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn site(name: &str) -> Site {
        let now = chrono::Utc::now();
        Site {
            id: uuid::Uuid::new_v4(),
            tenant_id: uuid::Uuid::nil(),
            name: name.into(),
            time_zone: "Europe/Paris".into(),
            address: None,
            lead_time_days: 5,
            created_at: now,
            updated_at: now,
        }
    }

    #[test]
    fn every_bad_line_is_named_and_good_lines_resolve_their_site() {
        let (lyon, paris) = (site("Lyon"), site("Paris"));
        let sites = [lyon.clone(), paris.clone()];
        let csv = "range,site,name\n10.1.0.0/24,paris,Floor 1\n10.1.0.0/33\n10.2.0.1,Nice\n10.3.0.1\n";
        let (lines, errors) = check_file(csv, &lyon, &sites);
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0].site.id, paris.id);
        assert_eq!(lines[0].name.as_str(), "Floor 1");
        assert_eq!(lines[1].site.id, lyon.id);
        assert_eq!(lines[1].name.as_str(), "10.3.0.1");
        let mut errors = errors;
        errors.sort_by_key(|e| e.line);
        assert_eq!(errors.iter().map(|e| e.line).collect::<Vec<_>>(), vec![3, 4]);
        assert!(errors[0].message.contains("prefix"), "{errors:?}");
        assert!(errors[1].message.contains("no site named \"Nice\""), "{errors:?}");
    }

    #[test]
    fn a_long_range_is_named_by_a_shortened_text() {
        let text: String = (1..=60).map(|i| format!("10.0.0.{i}")).collect::<Vec<_>>().join(",");
        let name = default_name(&text);
        assert_eq!(name.chars().count(), DisplayName::MAX_CHARS);
        assert!(DisplayName::parse(&name).is_ok());
    }
}
