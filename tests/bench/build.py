#!/usr/bin/env python3
"""Build benchmark: `estrade build` against Hugo on the same synthetic campaign.

A seeded generator writes one campaign (sections news, agenda and programme,
Markdown pages with front matter, tags, links between real pages) and gives it
to both generators: estrade reads it through `campaign.yaml` and its default
theme, Hugo through a `hugo.toml` and small layouts written here that render
the same things (pages, section listings paginated by 10, tag pages, feeds).
Each build starts from an empty output folder, its wall time and peak RSS are
taken from the child process itself, and its output is checked so that a build
that silently does nothing cannot look fast.

Standard library only, so it runs wherever python3 does:

    python3 tests/bench/build.py [--pages 10000] [--runs 3]
"""

import argparse
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

# What the engine promises (see tests/bench/README.md).
TARGET_RATIO = 0.42
TARGET_RSS_MB = 200

# Share of the pages each section gets; the kind is what estrade reads from
# the section's `_index.md` (Hugo keeps it as an ordinary parameter).
SECTIONS = [
    ("news", "News", "news", 0.5),
    ("agenda", "Agenda", "news", 0.2),
    ("programme", "Programme", "pages", 0.3),
]
TAGS = [
    "housing", "transport", "ecology", "schools", "health", "jobs",
    "culture", "safety", "democracy", "farming", "energy", "youth",
]
WORDS = (
    "campaign volunteers district council budget neighbourhood tram line "
    "rent cap clinic library market square river bank canvassing meeting "
    "petition signatures mayor election turnout polling station leaflet "
    "door knocking town hall cycle lane bus fare apprentices nursery "
    "insulation solar roof allotment festival pledge survey residents "
    "commuters pensioners students workers shopkeepers plan proposal vote "
    "public consultation transparency accounts spending investment week "
    "evening morning weekend together local fair open clear honest green"
).split()


@dataclass
class Page:
    section: str
    slug: str
    title: str
    date: str
    tags: list
    token: str

    @property
    def path(self):
        return f"/{self.section}/{self.slug}/"


@dataclass
class Timing:
    name: str
    seconds: list = field(default_factory=list)
    peak_rss_kb: int = 0

    @property
    def best(self):
        return min(self.seconds)

    @property
    def median(self):
        return statistics.median(self.seconds)


# ---------------------------------------------------------------- the site


def plan_pages(count, rng):
    """Decide every page (section, slug, title, date, tags) before writing,
    so that links can point at pages that really exist."""
    pages = []
    remaining = count
    for index, (section, _title, _kind, share) in enumerate(SECTIONS):
        last = index == len(SECTIONS) - 1
        size = remaining if last else max(1, round(count * share))
        size = min(size, remaining)
        remaining -= size
        for number in range(1, size + 1):
            serial = len(pages) + 1
            day = rng.randrange(0, 730)
            year, day_of_year = 2024 + day // 365, day % 365
            month, day_of_month = 1 + day_of_year // 31 % 12, 1 + day_of_year % 28
            pages.append(
                Page(
                    section=section,
                    slug=f"item-{number:05d}",
                    title=f"{rng.choice(WORDS).capitalize()} {rng.choice(WORDS)} "
                    f"and {rng.choice(WORDS)}, note {serial}",
                    date=f"{year}-{month:02d}-{day_of_month:02d}T"
                    f"{rng.randrange(8, 20):02d}:{rng.choice(['00', '15', '30', '45'])}"
                    f":00+01:00",
                    tags=rng.sample(TAGS, 2),
                    token=f"bench-{serial:05d}",
                )
            )
    return pages


def sentence(rng, pages, link_chance=0.0):
    words = [rng.choice(WORDS) for _ in range(rng.randrange(8, 16))]
    if rng.random() < link_chance:
        target = rng.choice(pages)
        at = rng.randrange(1, len(words))
        words[at] = f"[{target.title.lower()}]({target.path})"
    return " ".join(words).capitalize() + "."


def paragraph(rng, pages):
    return " ".join(sentence(rng, pages, 0.25) for _ in range(rng.randrange(2, 4)))


def page_markdown(page, rng, pages):
    """1 to 3 KB of Markdown: headings, lists, a table, links to real pages."""
    first, second, third = rng.sample(pages, 3)
    target = rng.randrange(1100, 2700)
    parts = [
        "---",
        f'title: "{page.title}"',
        f"date: {page.date}",
        f"tags: [{', '.join(page.tags)}]",
        "---",
        "",
        f"Reference {page.token}. {paragraph(rng, pages)} "
        f"Read also [{first.title.lower()}]({first.path}).",
        "",
        f"## {rng.choice(WORDS).capitalize()} {rng.choice(WORDS)}",
        "",
        paragraph(rng, pages),
        "",
        f"- {sentence(rng, pages)}",
        f"- See [{second.title.lower()}]({second.path})",
        f"- {sentence(rng, pages)}",
        "",
        f"### {rng.choice(WORDS).capitalize()} in figures",
        "",
        "| Measure | Cost (EUR) | Year |",
        "|---|---:|---|",
    ]
    for _ in range(3):
        parts.append(
            f"| {rng.choice(WORDS)} {rng.choice(WORDS)} | "
            f"{rng.randrange(10, 900) * 1000:,} | {rng.randrange(2026, 2032)} |"
        )
    parts += [
        "",
        f"1. {sentence(rng, pages)}",
        f"2. {sentence(rng, pages)}",
        f"3. Compare with [{third.title.lower()}]({third.path}).",
        "",
        f"## {rng.choice(WORDS).capitalize()} {rng.choice(WORDS)}",
        "",
        paragraph(rng, pages),
    ]
    body = "\n".join(parts)
    closing = (
        f"\n\nMore on [{page.tags[0]}](/tags/{page.tags[0]}/) "
        f"and the [{page.section}](/{page.section}/) section.\n"
    )
    while len(body.encode()) + len(closing) < target:
        body += "\n\n" + paragraph(rng, pages)
    return body + closing


def write_content(content, pages, rng):
    content.mkdir(parents=True)
    (content / "_index.md").write_text(
        '---\ntitle: "Bench campaign"\n---\n\nA campaign made up for benchmarks.\n'
    )
    for section, title, kind, _share in SECTIONS:
        (content / section).mkdir()
        (content / section / "_index.md").write_text(
            f'---\ntitle: "{title}"\nkind: {kind}\n---\n\n'
            f"Everything about {section}.\n"
        )
    for page in pages:
        text = page_markdown(page, rng, pages)
        (content / page.section / f"{page.slug}.md").write_text(text)


def write_estrade_site(root):
    (root / "campaign.yaml").write_text(
        'title: "Bench campaign"\nbase_url: https://bench.example\nlanguage: en\n'
    )


# Hugo layouts giving the same pages estrade's default theme gives: a base
# with navigation, a page, a paginated listing, the tags index, a tag's
# paginated listing, feeds (the whole site's news and each section's, 20
# entries with their full text, as estrade's Atom feeds) and a 404 page. Kept plain on purpose: the point
# is the generator's own work, not template tricks.
HUGO_CONFIG = """\
baseURL = "https://bench.example/"
languageCode = "en"
title = "Bench campaign"
paginate = 10
enableRobotsTXT = false
disableHugoGeneratorInject = true

[taxonomies]
  tag = "tags"

[outputs]
  home = ["HTML", "RSS"]
  section = ["HTML", "RSS"]
  taxonomy = ["HTML"]
  term = ["HTML"]
"""

HUGO_LAYOUTS = {
    "_default/baseof.html": """\
<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ if not .IsHome }}{{ .Title }} | {{ end }}{{ site.Title }}</title>
<link rel="canonical" href="{{ .Permalink }}">
{{ with .OutputFormats.Get "rss" }}<link rel="alternate" type="application/rss+xml" href="{{ .RelPermalink }}">{{ end }}
</head>
<body>
<a href="#main">Skip to content</a>
<header><nav><a href="/">{{ site.Title }}</a>
{{ range site.Sections }}<a href="{{ .RelPermalink }}">{{ .Title }}</a> {{ end }}
<a href="/tags/">Tags</a></nav></header>
<main id="main">{{ block "main" . }}{{ end }}</main>
<footer><p>{{ site.Title }}</p></footer>
</body>
</html>
""",
    "_default/single.html": """\
{{ define "main" }}<article>
<h1>{{ .Title }}</h1>
<p><time datetime="{{ .Date.Format "2006-01-02T15:04:05Z07:00" }}">{{ .Date.Format "2 January 2006" }}</time></p>
{{ with .GetTerms "tags" }}<ul class="tags">{{ range . }}<li><a href="{{ .RelPermalink }}">{{ .LinkTitle }}</a></li>{{ end }}</ul>{{ end }}
{{ .Content }}
</article>{{ end }}
""",
    "_default/list.html": """\
{{ define "main" }}<h1>{{ .Title }}</h1>
{{ .Content }}
{{ $pager := .Paginate .Pages }}{{ partial "listing.html" $pager }}{{ end }}
""",
    "_default/term.html": """\
{{ define "main" }}<h1>Tag: {{ .Title }}</h1>
{{ $pager := .Paginate .Pages }}{{ partial "listing.html" $pager }}{{ end }}
""",
    "_default/taxonomy.html": """\
{{ define "main" }}<h1>Tags</h1>
<ul>{{ range .Data.Terms.Alphabetical }}<li><a href="{{ .Page.RelPermalink }}">{{ .Page.Title }}</a> ({{ .Count }})</li>{{ end }}</ul>{{ end }}
""",
    "partials/listing.html": """\
<ul class="listing">{{ range .Pages }}<li><a href="{{ .RelPermalink }}">{{ .Title }}</a>
<time datetime="{{ .Date.Format "2006-01-02" }}">{{ .Date.Format "2 January 2006" }}</time></li>{{ end }}</ul>
<nav aria-label="Pages">{{ with .Prev }}<a href="{{ .URL }}">Newer</a>{{ end }}
Page {{ .PageNumber }} of {{ .TotalPages }}
{{ with .Next }}<a href="{{ .URL }}">Older</a>{{ end }}</nav>
""",
    "index.html": """\
{{ define "main" }}<h1>{{ site.Title }}</h1>
{{ .Content }}
<h2>Latest news</h2>
<ul>{{ range first 5 (where site.RegularPages "Section" "news") }}<li><a href="{{ .RelPermalink }}">{{ .Title }}</a></li>{{ end }}</ul>{{ end }}
""",
    "_default/rss.xml": """\
<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel>
<title>{{ .Title }} | {{ site.Title }}</title>
<link>{{ .Permalink }}</link>
<description>{{ .Title }}</description>
{{ $pages := .Pages }}{{ if .IsHome }}{{ $pages = where site.RegularPages "Section" "in" (slice "news" "agenda") }}{{ end }}
{{ range first 20 $pages }}<item><title>{{ .Title }}</title><link>{{ .Permalink }}</link>
<guid>{{ .Permalink }}</guid><pubDate>{{ .Date.Format "Mon, 02 Jan 2006 15:04:05 -0700" }}</pubDate>
<description>{{ .Content | html }}</description></item>{{ end }}
</channel></rss>
""",
    "404.html": """\
{{ define "main" }}<h1>Page not found</h1><p><a href="/">Back to the home page</a></p>{{ end }}
""",
}


def write_hugo_site(root):
    (root / "hugo.toml").write_text(HUGO_CONFIG)
    for name, text in HUGO_LAYOUTS.items():
        target = root / "layouts" / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)


# ---------------------------------------------------------------- running


def measure(command, log_path):
    """Run `command` to completion; give back (seconds, exit code, peak RSS
    in KiB). The RSS comes from wait4 on the child itself, so it is the
    generator's own peak, not this script's."""
    with open(log_path, "wb") as log:
        actions = [
            (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
            (os.POSIX_SPAWN_DUP2, log.fileno(), 1),
            (os.POSIX_SPAWN_DUP2, log.fileno(), 2),
        ]
        started = time.perf_counter()
        pid = os.posix_spawnp(command[0], command, os.environ, file_actions=actions)
        _pid, status, usage = os.wait4(pid, 0)
        elapsed = time.perf_counter() - started
    return elapsed, os.waitstatus_to_exitcode(status), usage.ru_maxrss


def check_output(name, out, pages):
    """Fail loudly unless `out` holds the site: every page, every section,
    the tags index and each tag, and a feed."""
    problems = []
    html_files = sum(1 for _ in out.rglob("*.html"))
    if html_files < len(pages):
        problems.append(f"only {html_files} HTML files for {len(pages)} pages")
    missing = [p.path for p in pages if not (out / p.section / p.slug / "index.html").is_file()]
    if missing:
        problems.append(f"{len(missing)} pages not written, e.g. {', '.join(missing[:3])}")
    else:
        sample = random.Random(7).sample(pages, min(100, len(pages)))
        for page in sample:
            html = (out / page.section / page.slug / "index.html").read_text(errors="replace")
            if page.token not in html:
                problems.append(f"{page.path}index.html does not contain the page's text")
                break
    expected = [f"{section}/index.html" for section, *_ in SECTIONS]
    expected += ["index.html", "tags/index.html"]
    used_tags = sorted({tag for page in pages for tag in page.tags})
    expected += [f"tags/{tag}/index.html" for tag in used_tags]
    absent = [path for path in expected if not (out / path).is_file()]
    if absent:
        problems.append(f"missing {', '.join(absent[:5])}")
    if not any(out.rglob("*.xml")):
        problems.append("no feed or sitemap (.xml) written")
    if problems:
        raise SystemExit(
            f"{name} wrote a broken site in {out} (--keep keeps it):\n  " + "\n  ".join(problems)
        )
    return html_files


def build_estrade(release):
    print("building estrade (cargo build --release -p estrade)...", flush=True)
    done = subprocess.run(["cargo", "build", "--release", "-p", "estrade"], cwd=REPO)
    if done.returncode != 0:
        raise SystemExit("cargo build --release -p estrade failed; see the errors above")
    if not release.is_file():
        raise SystemExit(f"cargo finished but {release} does not exist")


def find_hugo():
    hugo = shutil.which("hugo")
    if hugo:
        return hugo
    if os.geteuid() != 0:
        raise SystemExit("hugo is not installed; run `apt-get install hugo` as root")
    print("hugo is missing: apt-get install hugo...", flush=True)
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    subprocess.run(["apt-get", "update", "-q"], check=True, env=env)
    subprocess.run(["apt-get", "install", "-y", "-q", "hugo"], check=True, env=env)
    return shutil.which("hugo") or sys.exit("hugo still missing after apt-get install")


def cpu_busy_share(seconds=1.0):
    """Share of the CPUs other processes kept busy over `seconds` (this
    script sleeps meanwhile), or None where /proc/stat does not exist."""

    def sample():
        with open("/proc/stat") as stat:
            values = [int(v) for v in stat.readline().split()[1:]]
        idle = values[3] + values[4]  # idle + iowait
        return sum(values) - idle, sum(values)

    try:
        busy_before, total_before = sample()
        time.sleep(seconds)
        busy_after, total_after = sample()
    except OSError:
        return None
    return (busy_after - busy_before) / max(1, total_after - total_before)


def warn_if_busy(when):
    """Other work on the machine skews both generators, unevenly: say so."""
    share = cpu_busy_share()
    if share is not None and share > 0.2:
        print(
            f"warning: other processes kept {share:.0%} of the CPUs busy {when} the "
            "builds; times are noisy: compare the best runs, or run again when idle"
        )


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, default=10000, help="pages to generate")
    parser.add_argument("--runs", type=int, default=3, help="builds per generator")
    parser.add_argument("--seed", type=int, default=2027, help="seed of the synthetic site")
    parser.add_argument("--estrade", type=Path, help="use this binary, do not run cargo")
    parser.add_argument("--keep", action="store_true", help="keep the temporary site")
    parser.add_argument(
        "--tmpdir", type=Path, help="where to write the site and outputs (default: $TMPDIR or /tmp)"
    )
    parser.add_argument(
        "--strict", action="store_true", help="exit 1 when a target is missed, too"
    )
    args = parser.parse_args()
    if args.pages < 10 or args.runs < 1:
        parser.error("--pages must be at least 10 and --runs at least 1")

    estrade = args.estrade
    if estrade is None:
        estrade = REPO / "target" / "release" / "estrade"
        build_estrade(estrade)
    hugo = find_hugo()
    hugo_version = subprocess.run([hugo, "version"], capture_output=True, text=True)

    work = Path(tempfile.mkdtemp(prefix="estrade-bench-", dir=args.tmpdir))
    try:
        rng = random.Random(args.seed)
        pages = plan_pages(args.pages, rng)
        started = time.perf_counter()
        estrade_root, hugo_root = work / "estrade-site", work / "hugo-site"
        write_content(estrade_root / "content", pages, rng)
        write_estrade_site(estrade_root)
        shutil.copytree(estrade_root / "content", hugo_root / "content")
        write_hugo_site(hugo_root)
        size = sum(f.stat().st_size for f in (estrade_root / "content").rglob("*.md"))
        print(
            f"site: {len(pages)} pages, {size / 1e6:.1f} MB of Markdown, written in "
            f"{time.perf_counter() - started:.1f} s to {work}"
        )
        print(f"estrade: {estrade}\nhugo: {hugo_version.stdout.strip()}")
        warn_if_busy("before")

        commands = {
            "estrade": lambda out: [
                str(estrade), "build", "--root", str(estrade_root), "--out", str(out)
            ],
            "hugo": lambda out: [
                hugo, "--quiet", "--source", str(hugo_root), "--destination", str(out)
            ],
        }
        timings = {name: Timing(name) for name in commands}
        written = {}
        # Alternate the generators so that a slow spell of the machine hits both.
        for run in range(1, args.runs + 1):
            for name, command in commands.items():
                # A new folder each run, all deleted at the end: ext4 makes
                # creating files slow for a while after thousands were
                # deleted (its inode allocator skips recently freed inodes),
                # which would bill each run for the previous one's cleanup.
                out = work / f"out-{name}-{run}"
                # Flush the previous build's writes too, or the kernel writes
                # them back during this one.
                os.sync()
                log = work / f"{name}-{run}.log"
                seconds, code, rss = measure(command(out), log)
                if code != 0:
                    tail = log.read_text(errors="replace")[-3000:]
                    raise SystemExit(f"{name} build failed (exit {code}):\n{tail}")
                written[name] = check_output(name, out, pages)
                timings[name].seconds.append(seconds)
                timings[name].peak_rss_kb = max(timings[name].peak_rss_kb, rss)
                print(f"  run {run} {name:8} {seconds:7.3f} s  {rss / 1024:6.1f} MB", flush=True)
    finally:
        if args.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)

    warn_if_busy("after")
    print(f"\n{'':10}{'best':>10}{'median':>10}{'peak RSS':>12}{'HTML files':>12}")
    for name, timing in timings.items():
        print(
            f"{name:10}{timing.best:9.3f}s{timing.median:9.3f}s"
            f"{timing.peak_rss_kb / 1024:9.1f} MB{written[name]:12}"
        )
    est, hug = timings["estrade"], timings["hugo"]
    ratio = est.median / hug.median
    best_ratio = est.best / hug.best
    rss_mb = est.peak_rss_kb / 1024
    ratio_ok, rss_ok = ratio <= TARGET_RATIO, rss_mb < TARGET_RSS_MB
    print(f"ratio estrade/hugo: {ratio:.2f} (median), {best_ratio:.2f} (best)")
    print(
        f"\nSUMMARY pages={len(pages)} runs={args.runs} "
        f"estrade={est.median:.3f}s hugo={hug.median:.3f}s ratio={ratio:.2f} "
        f"[target<={TARGET_RATIO} {'met' if ratio_ok else 'MISSED'}] "
        f"estrade_rss={rss_mb:.0f}MB [target<{TARGET_RSS_MB}MB {'met' if rss_ok else 'MISSED'}] "
        f"hugo_rss={hug.peak_rss_kb / 1024:.0f}MB"
    )
    if args.strict and not (ratio_ok and rss_ok):
        sys.exit(1)


if __name__ == "__main__":
    main()
