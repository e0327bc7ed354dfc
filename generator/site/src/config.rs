//! Reads `campaign.yaml`.

use crate::diagnostic::Diagnostic;
use estrade_domain::CampaignConfig;
use std::path::Path;

pub const FILE: &str = "campaign.yaml";

pub fn load(root: &Path) -> Result<CampaignConfig, Vec<Diagnostic>> {
    let path = root.join(FILE);
    let text = std::fs::read_to_string(&path).map_err(|e| {
        let d = Diagnostic::new(FILE, format!("cannot read it: {e}"));
        vec![if e.kind() == std::io::ErrorKind::NotFound {
            d.hint(format!(
                "is `{}` a campaign's folder? `estrade new DIR` creates one",
                root.display()
            ))
        } else {
            d
        }]
    })?;
    let config: CampaignConfig = crate::yaml::parse(&text).map_err(|e| {
        let mut d = Diagnostic::new(FILE, e.message);
        if let (Some(l), Some(c)) = (e.line, e.column) {
            d = d.at(l, c);
        }
        if let Some(hint) = e.hint {
            d = d.hint(hint);
        }
        vec![d]
    })?;
    let problems: Vec<Diagnostic> = config
        .validate()
        .into_iter()
        .map(|(key, message)| {
            let line = text
                .lines()
                .position(|l| l.starts_with(&format!("{key}:")))
                .map_or(1, |i| i + 1);
            Diagnostic::new(FILE, format!("{key}: {message}")).at_line(line)
        })
        .collect();
    if problems.is_empty() {
        Ok(config)
    } else {
        Err(problems)
    }
}
