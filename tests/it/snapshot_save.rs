//! `okta365 snapshot save`: both live sides (the Okta and Graph emulators)
//! saved as a snapshot folder plan exactly as the live sides do, byte for
//! byte; `--pseudonymise` replaces people's names and addresses.

use okta365_emulators::graph::{GraphEmulator, GraphOptions};
use okta365_emulators::okta::{OktaEmulator, OktaOptions};

use crate::common::{NOW, Scratch};

const TOKEN: &str = "00SnapshotSaveToken-k3j4h5g6f7d8s9a0";
const TOKEN_VAR: &str = "OKTA365_TEST_OKTA_TOKEN";
const SECRET: &str = "snapshot-save-secret-Zq7Lm2Vx";
const SECRET_VAR: &str = "OKTA365_TEST_GRAPH_SECRET";

/// Both emulators, seeded from the scratch copy of the example tenant, and
/// `live.yaml` pointing at them.
struct LiveSides {
    scratch: Scratch,
    okta: OktaEmulator,
    graph: GraphEmulator,
    runtime: tokio::runtime::Runtime,
}

impl LiveSides {
    fn start() -> Self {
        let scratch = Scratch::new();
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let okta = runtime
            .block_on(OktaEmulator::start(OktaOptions {
                snapshot: Some(scratch.path("examples/acme")),
                api_tokens: vec![TOKEN.into()],
                ..OktaOptions::default()
            }))
            .unwrap();
        let mut opts = GraphOptions {
            snapshot: Some(scratch.path("examples/acme")),
            ..GraphOptions::default()
        };
        for app in &mut opts.apps {
            app.client_secret = Some(SECRET.to_owned());
        }
        let (tenant, client_id) = (opts.tenant_id.clone(), opts.apps[0].client_id.clone());
        let graph = runtime.block_on(GraphEmulator::start(opts)).unwrap();
        let (okta_url, graph_url) = (okta.url(), graph.url());
        assert!(
            okta_url.starts_with("http://127.0.0.1:") && graph_url.starts_with("http://127.0.0.1:")
        );
        scratch.write(
            "live.yaml",
            &format!(
                "policies: policies\n\
                 okta:\n  org_url: {okta_url}\n  auth: {{ token_env: {TOKEN_VAR} }}\n\
                 m365:\n  tenant_id: {tenant}\n  graph_url: {graph_url}\n  login_url: {graph_url}\n\
                 \x20 auth: {{ client_id: {client_id}, client_secret_env: {SECRET_VAR} }}\n"
            ),
        );
        scratch.write(
            "saved.yaml",
            "policies: policies\nokta:\n  snapshot: saved\nm365:\n  snapshot: saved\n",
        );
        Self {
            scratch,
            okta,
            graph,
            runtime,
        }
    }

    fn run(&self, config: &str, args: &[&str]) -> (i32, String, String) {
        let mut full = vec!["-c", config];
        full.extend_from_slice(args);
        let out = self
            .scratch
            .cmd(&full)
            .env(TOKEN_VAR, TOKEN)
            .env(SECRET_VAR, SECRET)
            .output()
            .unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8(out.stdout).unwrap(),
            String::from_utf8(out.stderr).unwrap(),
        )
    }

    fn stop(self) {
        self.runtime.block_on(async {
            self.okta.stop().await;
            self.graph.stop().await;
        });
    }
}

#[test]
fn a_saved_snapshot_plans_byte_for_byte_like_the_live_sides() {
    let live = LiveSides::start();
    let mut from_live = Vec::new();
    for format in ["text", "json"] {
        let (code, plan, stderr) =
            live.run("live.yaml", &["plan", "--format", format, "--now", NOW]);
        assert_eq!(code, 0, "{stderr}");
        from_live.push(plan);
    }
    let (code, _, stderr) = live.run("live.yaml", &["snapshot", "save", "saved"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("Saved"), "{stderr}");
    for file in [
        "okta/users.json",
        "okta/groups.json",
        "okta/group-members.json",
        "m365/users.json",
        "m365/groups.json",
        "m365/group-members.json",
        "m365/group-owners.json",
        "m365/subscribedSkus.json",
    ] {
        assert!(live.scratch.path("saved").join(file).is_file(), "{file}");
    }
    for (format, expected) in ["text", "json"].iter().zip(&from_live) {
        let (code, plan, stderr) =
            live.run("saved.yaml", &["plan", "--format", format, "--now", NOW]);
        assert_eq!(code, 0, "{stderr}");
        assert!(
            plan == *expected,
            "the {format} plan from the saved snapshot differs:\n{plan}\n---\n{expected}"
        );
    }
    // Saving again over the folder changes nothing: stable key order.
    let before = live.scratch.read("saved/m365/users.json");
    let (code, _, stderr) = live.run("live.yaml", &["snapshot", "save", "saved"]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(live.scratch.read("saved/m365/users.json"), before);
    live.stop();
}

#[test]
fn a_pseudonymised_snapshot_hides_names_and_addresses_and_still_plans() {
    let live = LiveSides::start();
    let (code, _, stderr) = live.run(
        "live.yaml",
        &["snapshot", "save", "saved", "--pseudonymise"],
    );
    assert_eq!(code, 0, "{stderr}");
    let okta_users = live.scratch.read("saved/okta/users.json");
    let m365_users = live.scratch.read("saved/m365/users.json");
    for person in [
        "ines.garcia",
        "Inés",
        "García",
        "priya.natarajan",
        "Natarajan",
    ] {
        assert!(
            !okta_users.contains(person),
            "{person} is still in okta/users.json"
        );
        assert!(
            !m365_users.contains(person),
            "{person} is still in m365/users.json"
        );
    }
    assert!(okta_users.contains("@acme.example"), "domains are kept");
    let (code, plan, stderr) = live.run("saved.yaml", &["plan", "--now", NOW]);
    assert_eq!(code, 0, "{stderr}");
    assert!(plan.contains("Plan:"), "{plan}");
    assert!(!plan.contains("ines.garcia"), "{plan}");
    live.stop();
}
