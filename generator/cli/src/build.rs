//! `estrade build` and `estrade check`.

use clap::Args;
use estrade_site::output::{DiskOutput, NullOutput, Output};
use estrade_site::{Progress, Site, SiteOptions};
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

#[derive(Args)]
pub struct BuildArgs {
    /// The campaign's folder, holding campaign.yaml.
    #[arg(long, default_value = ".")]
    pub root: PathBuf,
    /// Where to write the site (default: ROOT/public).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Publish pages marked `draft: true` too.
    #[arg(long)]
    pub drafts: bool,
}

#[derive(Args)]
pub struct CheckArgs {
    /// The campaign's folder, holding campaign.yaml.
    #[arg(long, default_value = ".")]
    pub root: PathBuf,
    /// Check pages marked `draft: true` too.
    #[arg(long)]
    pub drafts: bool,
}

pub fn build(args: &BuildArgs) -> Result<(), String> {
    let started = Instant::now();
    let options = SiteOptions {
        drafts: args.drafts,
        ..SiteOptions::default()
    };
    let site = Site::load(&args.root, options).map_err(|r| r.to_string())?;
    if !site.content_problems.is_empty() {
        // Write nothing, but still list every problem, links included.
        return site
            .render(&NullOutput, None)
            .map(|_| ())
            .map_err(|r| r.to_string());
    }
    let out_dir = args.out.clone().unwrap_or_else(|| args.root.join("public"));
    let out = DiskOutput::prepare(&out_dir).map_err(|e| format!("error: {e}"))?;
    let stats = render_with_progress(&site, &out)?;
    println!(
        "Built {} pages and {} sections ({} files) into {} in {} ms",
        stats.pages,
        stats.sections,
        stats.files,
        out_dir.display(),
        started.elapsed().as_millis()
    );
    Ok(())
}

pub fn check(args: &CheckArgs) -> Result<(), String> {
    let started = Instant::now();
    let options = SiteOptions {
        drafts: args.drafts,
        ..SiteOptions::default()
    };
    let site = Site::load(&args.root, options).map_err(|r| r.to_string())?;
    let stats = site.render(&NullOutput, None).map_err(|r| r.to_string())?;
    println!(
        "No problems in {} pages and {} sections ({} ms)",
        stats.pages,
        stats.sections,
        started.elapsed().as_millis()
    );
    Ok(())
}

/// Renders, drawing a progress bar on a terminal when it takes a while.
fn render_with_progress(site: &Site, out: &dyn Output) -> Result<estrade_site::BuildStats, String> {
    let progress = Arc::new(Progress::default());
    let show = std::io::stderr().is_terminal();
    let (stop, stopped) = std::sync::mpsc::channel::<()>();
    let drawer = show.then(|| {
        let progress = progress.clone();
        std::thread::spawn(move || {
            if stopped
                .recv_timeout(estrade_site::site::PROGRESS_AFTER)
                .is_ok()
            {
                return;
            }
            loop {
                let done = progress.done.load(Ordering::Relaxed);
                let total = progress.total.load(Ordering::Relaxed).max(1);
                let filled = done * 30 / total;
                eprint!(
                    "\r[{}{}] {done}/{total}",
                    "#".repeat(filled),
                    " ".repeat(30 - filled.min(30))
                );
                let _ = std::io::stderr().flush();
                if stopped.recv_timeout(Duration::from_millis(100)).is_ok() {
                    break;
                }
            }
            eprint!("\r{}\r", " ".repeat(50));
        })
    });
    let result = site.render(out, Some(&progress));
    let _ = stop.send(());
    if let Some(drawer) = drawer {
        let _ = drawer.join();
    }
    result.map_err(|r| r.to_string())
}
