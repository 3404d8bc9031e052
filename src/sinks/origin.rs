//! Who and what made an audit record: the actor (the person, and the CI
//! run when there is one), the host, the okta365 version and the git
//! commit of the policies. Worked out once per run, at the edge.

use std::path::Path;

use serde::Serialize;

/// Where an apply came from, added to every audit record.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Origin {
    /// The person: the CI's triggering user, or the local user.
    pub actor: String,
    /// The CI run (a URL), when okta365 runs in GitHub Actions or GitLab CI.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ci_run: Option<String>,
    /// The machine's host name.
    pub host: String,
    /// The okta365 version.
    pub okta365_version: String,
    /// The git commit of the policy folder (`-dirty` when it has
    /// uncommitted changes), or the CI's commit when git is not at hand.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub policy_commit: Option<String>,
}

impl Origin {
    /// Works out the origin of a run whose policies are in `policies`.
    pub fn detect(policies: &Path) -> Self {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        let actor = var("GITHUB_TRIGGERING_ACTOR")
            .or_else(|| var("GITHUB_ACTOR"))
            .or_else(|| var("GITLAB_USER_LOGIN"))
            .or_else(|| var("USER"))
            .or_else(|| var("USERNAME"))
            .unwrap_or_else(|| "unknown".into());
        let github_run = match (
            var("GITHUB_SERVER_URL"),
            var("GITHUB_REPOSITORY"),
            var("GITHUB_RUN_ID"),
        ) {
            (Some(server), Some(repo), Some(run)) => {
                let attempt = var("GITHUB_RUN_ATTEMPT").unwrap_or_else(|| "1".into());
                Some(format!(
                    "{server}/{repo}/actions/runs/{run}/attempts/{attempt}"
                ))
            }
            _ => None,
        };
        let ci_run = github_run.or_else(|| var("CI_JOB_URL"));
        let ci_commit = var("GITHUB_SHA").or_else(|| var("CI_COMMIT_SHA"));
        Self {
            actor,
            ci_run,
            host: host_name(),
            okta365_version: env!("CARGO_PKG_VERSION").to_owned(),
            policy_commit: git_commit(policies).or(ci_commit),
        }
    }
}

fn host_name() -> String {
    let from_file = ["/proc/sys/kernel/hostname", "/etc/hostname"]
        .iter()
        .find_map(|p| std::fs::read_to_string(p).ok())
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty());
    from_file
        .or_else(|| std::env::var("HOSTNAME").ok())
        .or_else(|| std::env::var("COMPUTERNAME").ok())
        .unwrap_or_else(|| "unknown".into())
}

/// `git rev-parse HEAD` in the policy folder, `-dirty` when it has changes.
fn git_commit(policies: &Path) -> Option<String> {
    let dir = if policies.as_os_str().is_empty() {
        Path::new(".")
    } else {
        policies
    };
    let git = |args: &[&str]| {
        std::process::Command::new("git")
            .arg("-C")
            .arg(dir)
            .args(args)
            .stderr(std::process::Stdio::null())
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
    };
    let sha = git(&["rev-parse", "HEAD"]).filter(|s| !s.is_empty())?;
    let dirty = git(&["status", "--porcelain", "--", "."]).is_some_and(|s| !s.is_empty());
    Some(if dirty { format!("{sha}-dirty") } else { sha })
}
