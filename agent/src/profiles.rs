//! The profiles the agent interprets with: the shipped ones, overlaid with a technician's folder.

use std::path::Path;

use anyhow::Context as _;
use cartouche_schema::profiles::ProfileSet;

/// The shipped profiles, plus every `*.toml` in `dir` (a file with a known `id` replaces the
/// shipped profile). Any error names the file and line.
pub fn load(dir: Option<&Path>) -> anyhow::Result<ProfileSet> {
    let mut extra = Vec::new();
    if let Some(dir) = dir {
        let entries =
            std::fs::read_dir(dir).with_context(|| format!("reading the profile folder {}", dir.display()))?;
        let mut paths: Vec<_> = entries
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "toml"))
            .collect();
        paths.sort();
        for path in paths {
            let text = std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
            extra.push((path.display().to_string(), text));
        }
    }
    Ok(ProfileSet::builtin_with(extra)?)
}
