//! `oktasync serve` and `oktasync token`: the binary's side of the REST API. The server
//! itself is the `oktasync-serve` crate; here settings become clients and a store.

use crate::cli::{OrgArgs, ServeArgs, TokenCommand};
use crate::config::serve as serve_config;
use crate::output::{self, write_stdout};
use crate::{connect, exit, sync};
use anyhow::Result;
use oktasync_engine::SystemClock;
use oktasync_serve::{OrgSchedule, ServeOptions};
use oktasync_store::{ApiToken, ApiTokens, MirrorReader, TokenScope};
use std::process::ExitCode;
use std::sync::Arc;

pub async fn serve(org: &OrgArgs, args: &ServeArgs) -> Result<ExitCode> {
    if org.org.is_some() {
        return Err(exit::config(anyhow::anyhow!(
            "serve keeps every configured org fresh and answers for every org of the mirror; \
             --org does not apply (name orgs in [[orgs]], or give one with --org-url)"
        )));
    }
    let settings = crate::load_settings(org, crate::config::Layer::default())?;
    let env = std::env::vars_os()
        .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)));
    let served = serve_config::load(
        &settings,
        env,
        args.listen,
        args.sync_interval,
        args.reconcile_every,
    )
    .map_err(exit::config)?;
    let (grant_policies, grant_principal) =
        crate::config::grants::load(&settings).map_err(exit::config)?;
    let roles = crate::config::roles::load(&settings).map_err(exit::config)?;
    let push_targets = crate::push::after_sync_targets(&settings)?;
    if !push_targets.is_empty() && served.orgs.len() > 1 {
        return Err(exit::config(anyhow::anyhow!(
            "push_after_sync is set on a target while serve keeps {} orgs: a target receives \
             the users of one org; serve one org, or push with `oktasync push TARGET --org NAME`",
            served.orgs.len()
        )));
    }
    let mut after_changes: Vec<Arc<dyn oktasync_serve::AfterChanges>> =
        vec![Arc::new(crate::posture::PostureAfterChanges {
            posture: crate::config::posture::load(&settings).map_err(exit::config)?,
            clock: Arc::new(SystemClock),
        })];
    if !push_targets.is_empty() {
        after_changes.push(Arc::new(crate::push::PushAfterChanges {
            targets: push_targets,
            roles: roles.clone(),
        }));
    }
    let after_runs: Vec<Arc<dyn oktasync_serve::AfterChanges>> =
        match crate::detect::after_sync_detector(&settings)? {
            Some(detector) => vec![Arc::new(crate::detect::DetectAfterRuns {
                detector,
                clock: Arc::new(SystemClock),
            })],
            None => Vec::new(),
        };
    let mut schedules = Vec::new();
    for org in served.orgs {
        let client = connect::client(&org.settings).map_err(|e| {
            e.context(format!(
                "the org {:?} of [[orgs]] (an entry uses only its own credentials: give it \
                 api_token_file, or oauth_client_id with oauth_private_key_file)",
                org.name
            ))
        })?;
        schedules.push(OrgSchedule {
            name: org.name,
            client,
            options: sync::sync_options(&org.settings),
            sync_interval: org.sync_interval,
            reconcile_every: org.reconcile_every,
            roles: roles.clone(),
            after_changes: after_changes.clone(),
            after_runs: after_runs.clone(),
        });
    }
    let clock: Arc<dyn oktasync_engine::Clock> = Arc::new(SystemClock);
    let http = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(10))
        .build()?;
    let mut sinks: Vec<Arc<dyn oktasync_serve::feed::Sink>> = Vec::new();
    for hook in served.webhooks {
        let secret = hook
            .secret
            .read("secret", &hook.origin)
            .map_err(exit::config)?;
        sinks.push(Arc::new(oktasync_serve::feed::Webhook {
            name: hook.name,
            url: hook.url,
            signer: oktasync_serve::feed::Signer::from_secret(
                secrecy::ExposeSecret::expose_secret(&secret),
            ),
            orgs: hook.orgs,
            entities: hook.entities.into_iter().collect(),
            http: http.clone(),
            clock: clock.clone(),
        }));
    }
    if let Some(nats) = &served.nats {
        sinks.push(Arc::new(oktasync_serve::feed::Nats::new(
            &nats.url,
            &nats.subject_prefix,
            &nats.stream,
        )));
    }
    let db = connect::db_location(&settings)?;
    let store = Arc::new(connect::open_for_sync(&db).await?);
    let listener = oktasync_serve::bind(served.listen).await?;
    let addr = listener.local_addr()?;
    let names: Vec<String> = schedules
        .iter()
        .map(|s| format!("{} ({})", s.name, s.client.org().origin()))
        .collect();
    tracing::info!(%addr, mirror = %db, orgs = ?names, "Serving.");
    eprintln!(
        "serving the mirror {db} on http://{addr} (API reference: http://{addr}/docs); {}; \
         SIGTERM or Ctrl-C stops",
        if names.is_empty() {
            "no org configured to sync (reads only)".to_owned()
        } else {
            format!("keeping fresh: {}", names.join(", "))
        }
    );
    let options = ServeOptions {
        orgs: schedules,
        metrics_public: served.metrics_public,
        docs_public: served.docs_public,
        sinks,
        clock,
        grant_policies,
        grant_principal,
    };
    let result = oktasync_serve::serve(store.clone(), listener, options, sync::interrupted()).await;
    store.close().await;
    result?;
    eprintln!("stopped");
    Ok(ExitCode::SUCCESS)
}

pub async fn token(command: &TokenCommand) -> Result<ExitCode> {
    match command {
        TokenCommand::Create {
            name,
            scope,
            org,
            db,
        } => {
            let settings = crate::load_settings(&db.into(), crate::config::Layer::default())?;
            let location = connect::db_location(&settings)?;
            let store = connect::open_for_sync(&location).await?;
            let scope: TokenScope = scope
                .parse()
                .map_err(|e: oktasync_store::StoreError| exit::config(e.into()))?;
            if name.trim().is_empty() || name.chars().any(char::is_control) {
                return Err(exit::config(anyhow::anyhow!(
                    "--name must be a printable name, e.g. --name rbac-service"
                )));
            }
            if let Some(org) = org {
                let known = store.org_list().await?;
                if !known.iter().any(|o| o.name.eq_ignore_ascii_case(org)) {
                    eprintln!(
                        "warning: the mirror has no org named {org:?} yet; the token will reach it once it does"
                    );
                }
            }
            let (token, hash) = oktasync_serve::new_token()
                .map_err(|_| anyhow::anyhow!("the system's random number generator failed"))?;
            let record = ApiToken {
                name: name.clone(),
                scope,
                org: org.as_ref().map(|o| o.to_ascii_lowercase()),
                created_at: oktasync_store::timestamp(chrono::Utc::now()),
                last_used_at: None,
            };
            let created = store.create_token(&record, &hash).await;
            store.close().await;
            created.map_err(|e| exit::config(e.into()))?;
            eprintln!(
                "created the token {name:?} (scope {scope}{}); it is shown once, below: store it now",
                org.as_ref()
                    .map(|o| format!(", org {o}"))
                    .unwrap_or_default()
            );
            write_stdout(&format!("{token}\n"))?;
            Ok(ExitCode::SUCCESS)
        }
        TokenCommand::List { db, out } => {
            let settings = crate::load_settings(&db.into(), crate::config::Layer::default())?;
            let location = connect::db_location(&settings)?;
            let store = connect::open_for_sync(&location).await?;
            let tokens = store.tokens().await;
            store.close().await;
            let tokens = tokens?;
            let mut table =
                output::Table::new(&["name", "scope", "org", "created_at", "last_used_at"]);
            for t in &tokens {
                table.row(vec![
                    t.name.clone(),
                    t.scope.to_string(),
                    t.org.clone().unwrap_or_else(|| "(all)".into()),
                    t.created_at.clone(),
                    t.last_used_at.clone().unwrap_or_else(|| "never".into()),
                ]);
            }
            output::print_list(out.format(), &tokens, &table, "tokens")?;
            Ok(ExitCode::SUCCESS)
        }
        TokenCommand::Revoke { name, db } => {
            let settings = crate::load_settings(&db.into(), crate::config::Layer::default())?;
            let location = connect::db_location(&settings)?;
            let store = connect::open_for_sync(&location).await?;
            let removed = store.revoke_token(name).await;
            store.close().await;
            if removed? {
                eprintln!("revoked the token {name:?}: requests with it are refused from now on");
                Ok(ExitCode::SUCCESS)
            } else {
                Err(exit::config(anyhow::anyhow!(
                    "the mirror has no token named {name:?}; `oktasync token list` shows them"
                )))
            }
        }
    }
}
