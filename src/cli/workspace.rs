//! Everything a command reads before it can plan: the config file, the
//! policy files, and the two sides (snapshots, or the live Okta API and
//! Microsoft Graph).

use std::path::{Path, PathBuf};

use tracing::Instrument;

use super::Failure;
use crate::config::Config;
use crate::model::state::{LiveState, SourceScope, SourceState};
use crate::plan::{PlanSettings, fingerprint::fingerprint};
use crate::policy::check::{self, Checked};
use crate::policy::{Diagnostic, PolicySource};
use crate::providers::graph::GraphClient;
use crate::providers::okta::OktaClient;
use crate::providers::snapshot::{M365Snapshot, OktaSnapshot};
use crate::providers::{M365Reader, OktaReader};

/// A loaded config and the policy texts it points at.
pub struct Workspace {
    /// The parsed config (paths resolved).
    pub config: Config,
    /// The policy files, sorted by path.
    pub sources: Vec<PolicySource>,
    /// The Graph client, made on first use when `m365` is a live connection.
    graph: std::sync::OnceLock<GraphClient>,
    /// The checked policies, kept after the first successful check (the
    /// live readers need them too, to scope their reads).
    checked: std::sync::OnceLock<(Checked, Vec<Diagnostic>)>,
    /// `--accept-read-drop`: a read whose counts fell since the previous
    /// one is accepted (and becomes the new reference).
    accept_read_drop: std::sync::atomic::AtomicBool,
}

impl Workspace {
    /// Reads the config file and the policy files it names.
    pub fn open(config_path: &Path) -> Result<Self, Failure> {
        let shown = display_path(config_path);
        let bytes = std::fs::read(config_path).map_err(|e| {
            Failure::Message(format!(
                "cannot read the config file {}: {e}\n  hint: run okta365 where `okta365.yaml` is, or pass --config PATH",
                shown.display()
            ))
        })?;
        let text = crate::policy::load::decode(&shown.display().to_string(), bytes)
            .map_err(|d| Failure::Diagnostics(vec![d]))?;
        let config = Config::parse(&shown, &text).map_err(Failure::Diagnostics)?;
        let sources = read_policies(&config.policies)?;
        Ok(Self {
            config,
            sources,
            graph: std::sync::OnceLock::new(),
            checked: std::sync::OnceLock::new(),
            accept_read_drop: std::sync::atomic::AtomicBool::new(false),
        })
    }

    /// Loads and checks the policies (once; later calls return the same
    /// result). Errors stop here; warnings are returned.
    pub fn check(&self) -> Result<(Checked, Vec<Diagnostic>), Failure> {
        if let Some(done) = self.checked.get() {
            return Ok(done.clone());
        }
        let (policy, mut diagnostics) = crate::policy::load(&self.sources);
        let Some(policy) = policy else {
            return Err(Failure::Diagnostics(diagnostics));
        };
        let (checked, more) = check::check(policy);
        diagnostics.extend(more);
        match checked {
            Some(c) if !diagnostics.iter().any(Diagnostic::is_error) => {
                Ok(self.checked.get_or_init(|| (c, diagnostics)).clone())
            }
            _ => Err(Failure::Diagnostics(diagnostics)),
        }
    }

    /// Accepts (or not) a read whose counts fell since the previous read.
    pub fn accept_read_drop(&self, accept: bool) {
        self.accept_read_drop
            .store(accept, std::sync::atomic::Ordering::Relaxed);
    }

    /// Reads Okta and Office 365, then checks the read is plausible against
    /// the previous one (`safety.read_counts`) and keeps its counts.
    pub async fn read(&self) -> Result<(SourceState, LiveState), Failure> {
        let (source, live) = self.read_both().await?;
        self.check_read_counts(&source, &live)?;
        Ok((source, live))
    }

    /// Compares the counts of this read with the previous read's, refusing
    /// a likely short read (unless accepted), then keeps this read's counts.
    fn check_read_counts(&self, source: &SourceState, live: &LiveState) -> Result<(), Failure> {
        use crate::plan::plausible::{DropLimit, ReadCounts, short_read};
        let path = &self.config.safety.read_counts;
        let sides = self.sides();
        let current = ReadCounts::of(source, live);
        let accept = self
            .accept_read_drop
            .load(std::sync::atomic::Ordering::Relaxed);
        if let Some(previous) = read_counts::load(path).filter(|p| p.sides == sides) {
            let limit = DropLimit {
                max_percent: self.config.safety.max_read_drop_percent,
                min: self.config.safety.min_read_drop,
            };
            let names = |id: &str| -> Option<String> {
                source
                    .groups
                    .iter()
                    .find(|g| g.id.as_str() == id)
                    .map(|g| g.profile.name.clone())
                    .or_else(|| {
                        live.groups
                            .iter()
                            .find(|g| g.id.as_str() == id)
                            .map(|g| g.display_name.clone())
                    })
            };
            let when = format!("at {}", previous.at);
            let errors = short_read(&previous.counts, &current, limit, &when, &names);
            if !errors.is_empty() && !accept {
                // A kept incremental Okta state may hold the short read: start afresh.
                if let Some(dir) = &self.config.okta.incremental_state {
                    let _ =
                        std::fs::remove_file(crate::providers::okta::incremental::state_file(dir));
                }
                return Err(Failure::Diagnostics(errors));
            }
            if !errors.is_empty() {
                tracing::warn!(
                    drops = errors.len(),
                    "a drop in read counts was accepted (--accept-read-drop)"
                );
            }
        }
        read_counts::store(path, &sides, &super::clock::now().to_string(), &current).map_err(|e| {
            Failure::Message(format!(
                "cannot keep the read counts in {} (`safety.read_counts`): {e}",
                path.display()
            ))
        })
    }

    /// After an apply: the kept counts move by what it did, so that the
    /// next read does not take okta365's own removals for a short read.
    pub fn count_applied<'a>(
        &self,
        done: impl IntoIterator<Item = &'a crate::plan::Op>,
        groups_of: &std::collections::BTreeMap<String, Vec<String>>,
    ) {
        let path = &self.config.safety.read_counts;
        let Some(kept) = read_counts::load(path).filter(|k| k.sides == self.sides()) else {
            return;
        };
        let counts = kept.counts.after(done, groups_of);
        if let Err(e) = read_counts::store(path, &kept.sides, &kept.at, &counts) {
            tracing::warn!(error = %e, "cannot update the read counts after the apply");
        }
    }

    /// Which Okta org and Office 365 tenant (or snapshots) are read: counts
    /// of another pair are not compared.
    fn sides(&self) -> String {
        let okta = self
            .config
            .okta
            .org_url
            .clone()
            .or_else(|| {
                self.config
                    .okta
                    .snapshot
                    .as_ref()
                    .map(|p| p.display().to_string())
            })
            .unwrap_or_default();
        let m365 = self
            .config
            .m365
            .tenant_id
            .clone()
            .or_else(|| {
                self.config
                    .m365
                    .snapshot
                    .as_ref()
                    .map(|p| p.display().to_string())
            })
            .unwrap_or_default();
        format!("{okta} | {m365}")
    }

    /// Reads Okta and Office 365 (two snapshots at once). Either side failing
    /// fails the whole read (an Okta failure is reported first).
    async fn read_both(&self) -> Result<(SourceState, LiveState), Failure> {
        // Two snapshots: parse them at once, on two threads.
        if self.config.okta.snapshot.is_some()
            && let Some(m365) = self.m365_snapshot()
        {
            let (okta, m365) = std::thread::scope(|s| {
                let okta = s.spawn(|| self.okta_snapshot().load());
                let m365 = m365.load();
                let okta = okta
                    .join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
                (okta, m365)
            });
            let okta = okta.map_err(|e| Failure::Message(format!("reading Okta: {e}")))?;
            let m365 = m365.map_err(|e| Failure::Message(format!("reading Office 365: {e}")))?;
            return Ok((okta, m365));
        }
        let okta = self.read_okta().await?;
        let m365 = self.read_m365(&okta).await?;
        Ok((okta, m365))
    }

    /// Reads Office 365 from the snapshot, or from Graph (only the groups and
    /// properties the policies need, worked out from them and `okta`).
    async fn read_m365(&self, okta: &SourceState) -> Result<LiveState, Failure> {
        let fail =
            |e: crate::providers::ReadError| Failure::Message(format!("reading Office 365: {e}"));
        if let Some(snapshot) = self.m365_snapshot() {
            return snapshot.load().map_err(fail);
        }
        let (checked, _) = self.check()?;
        let settings = self.settings(None, None);
        let scope = crate::providers::scope::live_scope(&checked, okta, &settings);
        self.read_m365_scoped(&scope).await
    }

    /// Reads Office 365 alone: the snapshot, or from Graph the users and the
    /// members and owners of the groups in `scope` (a lockdown needs no more,
    /// and no Okta read).
    pub async fn read_m365_scoped(
        &self,
        scope: &crate::providers::LiveScope,
    ) -> Result<LiveState, Failure> {
        let fail =
            |e: crate::providers::ReadError| Failure::Message(format!("reading Office 365: {e}"));
        if let Some(snapshot) = self.m365_snapshot() {
            return snapshot.load().map_err(fail);
        }
        self.graph()?.read(scope).await.map_err(fail)
    }

    /// The Graph client of a live `m365` connection (made once).
    pub fn graph(&self) -> Result<&GraphClient, Failure> {
        if let Some(client) = self.graph.get() {
            return Ok(client);
        }
        let client = GraphClient::from_config(&self.config.m365)
            .map_err(|e| Failure::Message(format!("connecting to Microsoft Graph: {e}")))?;
        Ok(self.graph.get_or_init(|| client))
    }

    /// Reads Okta from the snapshot or the live API, as the config says.
    /// A live read asks only for the members of groups the policies name, and
    /// an org with no users while the policies select users is an error.
    pub async fn read_okta(&self) -> Result<SourceState, Failure> {
        let failed = |e: String| Failure::Message(format!("reading Okta: {e}"));
        if self.config.okta.snapshot.is_some() {
            return self
                .okta_snapshot()
                .load()
                .map_err(|e| failed(e.to_string()));
        }
        let (checked, _) = self.check()?;
        let (names, patterns) = crate::policy::check::referenced_okta_groups(&checked);
        let scope = SourceScope { names, patterns };
        let client = OktaClient::from_config(&self.config.okta).map_err(|e| failed(e.message))?;
        let state = client
            .read(&scope)
            .await
            .map_err(|e| failed(e.to_string()))?;
        if state.users.is_empty() && !(checked.rules.is_empty() && checked.guests.is_empty()) {
            return Err(failed(format!(
                "Okta returned no users from {} while the policies select users: refusing to plan removals\n  hint: check that the API token's admin (or the service app's admin role) can read users",
                self.config.okta.org_url.as_deref().unwrap_or_default()
            )));
        }
        Ok(state)
    }

    /// The Okta snapshot named in the config.
    pub fn okta_snapshot(&self) -> OktaSnapshot {
        OktaSnapshot {
            dir: self
                .config
                .okta
                .snapshot
                .clone()
                .unwrap_or_default()
                .join("okta"),
        }
    }

    /// The Office 365 snapshot named in the config (`None`: a live connection).
    pub fn m365_snapshot(&self) -> Option<M365Snapshot> {
        let dir = self.config.m365.snapshot.as_ref()?;
        Some(M365Snapshot {
            dir: dir.join("m365"),
        })
    }

    /// Planner settings at `now` (`--now`, or the clock), with an explicit removal allowance.
    pub fn settings(
        &self,
        now: Option<jiff::Timestamp>,
        allow_removals: Option<usize>,
    ) -> PlanSettings {
        let mut settings = self
            .config
            .plan_settings(now.unwrap_or_else(super::clock::now));
        if let Some(n) = allow_removals {
            settings
                .allowed_removals
                .insert(crate::plan::budget::RemovalKind::Accounts, n);
        }
        settings
    }

    /// The fingerprint of everything a plan is made from, except the clock
    /// and one-off allowances: policy texts, both states, ownership and budget.
    pub fn fingerprint(
        &self,
        source: &SourceState,
        live: &LiveState,
        settings: &PlanSettings,
    ) -> String {
        let policies: Vec<(String, &str)> = self
            .sources
            .iter()
            .map(|s| {
                (
                    Path::new(&s.path)
                        .file_name()
                        .unwrap_or_default()
                        .to_string_lossy()
                        .into_owned(),
                    s.text.as_str(),
                )
            })
            .collect();
        let stable = (
            &settings.okta_id_attribute,
            &settings.offboarded_at_attribute,
            &settings.match_by,
            &settings.budgets,
        );
        fingerprint(&policies, source, live, &stable)
    }
}

/// Everything a plan is made from: the checked policies, both sides as read,
/// the settings and the fingerprint over them.
pub struct Inputs {
    /// The checked policies.
    pub checked: Checked,
    /// Okta as read.
    pub source: SourceState,
    /// Office 365 as read.
    pub live: LiveState,
    /// Planner settings.
    pub settings: PlanSettings,
    /// The fingerprint of the inputs.
    pub fingerprint: String,
}

impl Inputs {
    /// The planner's view of these inputs.
    pub fn plan_input(&self) -> crate::plan::PlanInput<'_> {
        crate::plan::PlanInput {
            policy: &self.checked,
            source: &self.source,
            live: &self.live,
            settings: &self.settings,
            fingerprint: self.fingerprint.clone(),
        }
    }
}

impl Workspace {
    /// Checks the policies (printing warnings through `ui`), reads both sides
    /// and settles the settings: everything `plan`, `explain` and `report` need.
    pub async fn inputs(
        &self,
        ui: &super::terminal::Ui,
        settings: impl FnOnce(&Self) -> PlanSettings,
    ) -> Result<Inputs, Failure> {
        let (checked, warnings) = super::terminal::phase("load", || self.check())?;
        ui.diagnostics(&warnings);
        let (source, live) = self
            .read()
            .instrument(tracing::info_span!("phase", phase = "read"))
            .await?;
        let settings = settings(self);
        let fingerprint = super::terminal::phase("fingerprint", || {
            self.fingerprint(&source, &live, &settings)
        });
        Ok(Inputs {
            checked,
            source,
            live,
            settings,
            fingerprint,
        })
    }
}

/// Every `*.yaml` / `*.yml` file in `dir`, sorted by name.
fn read_policies(dir: &Path) -> Result<Vec<PolicySource>, Failure> {
    read_yaml_files(
        dir,
        "the policy folder",
        "set `policies:` in the config file",
        "no policy files (*.yaml) in",
    )
}

/// Every `*.yaml` / `*.yml` file directly in `dir` (not in subfolders),
/// sorted by name, with its path as the user should see it. `what`, `hint`
/// and `none` word the errors for a missing folder and an empty one.
pub(crate) fn read_yaml_files(
    dir: &Path,
    what: &str,
    hint: &str,
    none: &str,
) -> Result<Vec<PolicySource>, Failure> {
    let shown = display_path(dir);
    let entries = std::fs::read_dir(dir).map_err(|e| {
        Failure::Message(format!(
            "cannot read {what} {}: {e}\n  hint: {hint}",
            shown.display()
        ))
    })?;
    let mut paths: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file() && p.extension().is_some_and(|x| x == "yaml" || x == "yml"))
        .collect();
    paths.sort();
    if paths.is_empty() {
        return Err(Failure::Message(format!(
            "{none} {}\n  hint: {hint}",
            shown.display()
        )));
    }
    let mut sources = Vec::new();
    let mut not_text = Vec::new();
    for p in paths {
        let path = display_path(&p).display().to_string();
        let bytes =
            std::fs::read(&p).map_err(|e| Failure::Message(format!("cannot read {path}: {e}")))?;
        match crate::policy::load::decode(&path, bytes) {
            Ok(text) => sources.push(PolicySource { path, text }),
            Err(d) => not_text.push(d),
        }
    }
    if !not_text.is_empty() {
        return Err(Failure::Diagnostics(not_text));
    }
    Ok(sources)
}

/// `path` relative to the working directory when it is inside it.
fn display_path(path: &Path) -> PathBuf {
    let relative = std::env::current_dir()
        .ok()
        .and_then(|cwd| path.strip_prefix(cwd).ok().map(Path::to_path_buf));
    let p = relative.unwrap_or_else(|| path.to_path_buf());
    p.strip_prefix("./").map(Path::to_path_buf).unwrap_or(p)
}

/// The previous read's counts, kept in a small JSON file (`safety.read_counts`).
mod read_counts {
    use std::path::Path;

    use serde::{Deserialize, Serialize};

    use crate::plan::plausible::ReadCounts;

    /// The file's content.
    #[derive(Serialize, Deserialize)]
    pub struct Kept {
        /// The Okta org and Office 365 tenant (or snapshots) read.
        pub sides: String,
        /// When (RFC 3339).
        pub at: String,
        /// What the read returned.
        pub counts: ReadCounts,
    }

    /// The kept counts; `None` when there are none (or they are unreadable).
    pub fn load(path: &Path) -> Option<Kept> {
        serde_json::from_str(&std::fs::read_to_string(path).ok()?).ok()
    }

    /// Keeps these counts, atomically.
    pub fn store(path: &Path, sides: &str, at: &str, counts: &ReadCounts) -> std::io::Result<()> {
        let dir = path
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        std::fs::create_dir_all(dir)?;
        let kept = Kept {
            sides: sides.to_owned(),
            at: at.to_owned(),
            counts: counts.clone(),
        };
        let mut file = tempfile::NamedTempFile::new_in(dir)?;
        serde_json::to_writer(&mut file, &kept)?;
        file.persist(path).map_err(|e| e.error)?;
        Ok(())
    }
}
