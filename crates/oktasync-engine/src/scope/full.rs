//! A scoped full sync: the scope's groups, their members, and (with an app) the app and its
//! assignments, read with calls in proportion to the scope, staged like any full sync.

use super::{CONCURRENT_SCOPE_READS, SCOPED_RESOURCES, SyncScope};
use crate::error::EngineError;
use crate::listing::ListingRun;
use crate::options::Resource;
use crate::reading::{each_page, failed_reading};
use futures::future::BoxFuture;
use futures::{FutureExt, StreamExt, TryStreamExt};
use okta_api::{Group, OktaClient, PageStream, USERS_PAGE_LIMIT};
use oktasync_store::Batch;
use parking_lot::Mutex;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicU64, Ordering};

/// The groups in scope, read whole, with the app's assignments of them (an app scope).
pub(crate) struct ScopedGroups {
    pub groups: Vec<Group>,
    /// The app's ApplicationGroupAssignment objects of `groups`.
    pub assignments: Vec<Value>,
}

/// Counts the calls a scoped read makes (its listings run concurrently).
#[derive(Default)]
pub(crate) struct Calls(AtomicU64);

impl Calls {
    pub(crate) fn add(&self, n: u64) {
        self.0.fetch_add(n, Ordering::Relaxed);
    }

    pub(crate) fn total(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// Runs `reads`, [`CONCURRENT_SCOPE_READS`] at a time. Boxed: the futures are then `Send`
/// whatever they borrow, as a sync spawned by `serve` needs.
pub(crate) async fn concurrently<'a, T: Send + 'a>(
    reads: Vec<BoxFuture<'a, Result<T, EngineError>>>,
) -> Result<Vec<T>, EngineError> {
    futures::stream::iter(reads)
        .buffer_unordered(CONCURRENT_SCOPE_READS)
        .try_collect()
        .await
}

/// Every item of a listing, counting one call per page (and one for an empty list).
pub(crate) async fn collect<T>(
    calls: &Calls,
    mut pages: PageStream<T>,
    what: impl Fn() -> String,
) -> Result<Vec<T>, EngineError> {
    let mut all = Vec::new();
    while let Some(page) = pages.next().await {
        calls.add(1);
        all.extend(page.map_err(|e| failed_reading(what())(e))?.items);
    }
    Ok(all)
}

/// The groups the scope keeps: an app's assigned groups (each read whole: the assignments
/// do not carry names) that pass the patterns, else the org's groups that do.
pub(crate) async fn resolve_groups(
    client: &OktaClient,
    scope: &SyncScope,
    calls: &Calls,
) -> Result<ScopedGroups, EngineError> {
    let Some(app) = &scope.app else {
        let groups = collect(calls, client.list_groups(None, false), || "groups".into()).await?;
        let groups = groups
            .into_iter()
            .filter(|g| scope.group_matches(&g.id, g.profile.name.as_deref()))
            .collect();
        return Ok(ScopedGroups {
            groups,
            assignments: Vec::new(),
        });
    };
    let assignments = match collect(calls, client.list_app_groups(app), || {
        format!("the groups assigned to app {app}")
    })
    .await
    {
        Err(EngineError::Okta {
            cause: okta_api::Error::NotFound(_),
            ..
        }) => {
            return Err(EngineError::Scope(format!(
                "the app {app} (scope app) is not in this org; check the app id in \
                 [scope] (an app's id starts with 0oa)"
            )));
        }
        other => other?,
    };
    let reads = assignments
        .iter()
        .map(|a| {
            let id = a.id.clone();
            async move {
                calls.add(1);
                client
                    .get_group(&id)
                    .await
                    .map_err(failed_reading(format!("group {id}")))
            }
            .boxed()
        })
        .collect();
    let groups: Vec<Option<Group>> = concurrently(reads).await?;
    // A group deleted since the listing has no row; its assignment goes with it.
    let groups: BTreeMap<String, Group> = groups
        .into_iter()
        .flatten()
        .filter(|g| scope.group_matches(&g.id, g.profile.name.as_deref()))
        .map(|g| (g.id.clone(), g))
        .collect();
    let assignments = assignments
        .into_iter()
        .filter(|a| groups.contains_key(&a.id))
        .map(|a| a.raw)
        .collect();
    Ok(ScopedGroups {
        groups: groups.into_values().collect(),
        assignments,
    })
}

/// The members of `group` the scope keeps, read whole.
pub(crate) async fn scoped_members(
    client: &OktaClient,
    scope: &SyncScope,
    group: &str,
    calls: &Calls,
) -> Result<Vec<Value>, EngineError> {
    let members = match collect(calls, client.list_group_users(group), || {
        format!("the members of group {group}")
    })
    .await
    {
        // Deleted since it was listed: no members; the next run sees the deletion.
        Err(EngineError::Okta {
            cause: okta_api::Error::NotFound(_),
            ..
        }) => Vec::new(),
        other => other?,
    };
    Ok(members
        .into_iter()
        .map(|u| u.raw)
        .filter(|u| scope.user_matches(u))
        .collect())
}

/// The groups of `user` (ids), for a scope that limits users only.
pub(crate) async fn groups_of_user(
    client: &OktaClient,
    user: &str,
    calls: &Calls,
) -> Result<Vec<String>, EngineError> {
    let groups = collect(calls, client.list_user_groups(user), || {
        format!("the groups of user {user}")
    })
    .await?;
    Ok(groups.into_iter().map(|g| g.id).collect())
}

/// Reads the scope and stages it (see the module docs).
pub(crate) async fn read_scope(run: &ListingRun) -> Result<(), EngineError> {
    let scope = &run.opts.scope;
    let client = &run.client;
    let calls = Calls::default();
    for r in SCOPED_RESOURCES {
        run.started(r, None);
    }
    let result = read(run, scope, client, &calls).await;
    run.add_calls(calls.total());
    for r in Resource::ALL {
        run.finished(r);
    }
    result
}

async fn read(
    run: &ListingRun,
    scope: &SyncScope,
    client: &OktaClient,
    calls: &Calls,
) -> Result<(), EngineError> {
    let groups = resolve_groups(client, scope, calls).await?;
    if let Some(app) = &scope.app {
        calls.add(1);
        let found = client
            .get_app(app)
            .await
            .map_err(failed_reading(format!("app {app}")))?;
        if run.wants(Resource::Apps) {
            run.read(Resource::Apps, u64::from(found.is_some()));
            run.stage(Batch::apps(found.into_iter().map(|a| a.raw).collect()))
                .await?;
        }
        if run.wants(Resource::AppGroups) {
            run.read(Resource::AppGroups, groups.assignments.len() as u64);
            run.stage(Batch::app_groups(app, groups.assignments.clone()))
                .await?;
        }
    }
    run.read(Resource::Groups, groups.groups.len() as u64);
    if run.wants(Resource::Groups) {
        let raw = groups.groups.iter().map(|g| g.raw.clone()).collect();
        run.stage(Batch::groups(raw)).await?;
    }

    let users = if scope.limits_groups() {
        stage_members(run, scope, client, calls, &groups).await?
    } else {
        stage_searched_users(run, scope, client, calls).await?
    };

    if let Some(app) = &scope.app
        && run.wants(Resource::AppUsers)
    {
        // page by page: an app assigned to Everyone has an assignment per user of the org
        let users = &users;
        each_page(
            client.list_app_users(app),
            || format!("the users assigned to app {app}"),
            false,
            |assigned| async move {
                calls.add(1);
                let raw: Vec<Value> = assigned
                    .into_iter()
                    .filter(|a| users.contains(&a.id))
                    .map(|a| a.raw)
                    .collect();
                run.read(Resource::AppUsers, raw.len() as u64);
                run.stage(Batch::app_users(app, raw)).await
            },
        )
        .await?;
    }
    Ok(())
}

/// The members of every scoped group: users (each once) and memberships staged page by page,
/// so that a group of 100,000 members is never held whole; returns the users' ids.
async fn stage_members(
    run: &ListingRun,
    scope: &SyncScope,
    client: &OktaClient,
    calls: &Calls,
    groups: &ScopedGroups,
) -> Result<BTreeSet<String>, EngineError> {
    let seen = Mutex::new(BTreeSet::new());
    let reads = groups
        .groups
        .iter()
        .map(|g| stage_group_members(run, scope, client, calls, &g.id, &seen).boxed())
        .collect();
    concurrently(reads).await?;
    Ok(seen.into_inner())
}

/// One scoped group's members, a page at a time: the page's users not staged yet by another
/// group, then the page's memberships.
async fn stage_group_members(
    run: &ListingRun,
    scope: &SyncScope,
    client: &OktaClient,
    calls: &Calls,
    group: &str,
    seen: &Mutex<BTreeSet<String>>,
) -> Result<(), EngineError> {
    each_page(
        client.list_group_users(group),
        || format!("the members of group {group}"),
        // deleted since it was listed: no members; the next run sees the deletion
        true,
        |members| async move {
            calls.add(1);
            let users: Vec<Value> = members
                .into_iter()
                .map(|u| u.raw)
                .filter(|u| scope.user_matches(u))
                .collect();
            let ids: Vec<String> = users
                .iter()
                .filter_map(|u| u.get("id").and_then(Value::as_str).map(str::to_owned))
                .collect();
            run.read(Resource::Memberships, ids.len() as u64);
            let new: Vec<Value> = {
                let mut seen = seen.lock();
                users
                    .into_iter()
                    .filter(|u| {
                        u.get("id")
                            .and_then(Value::as_str)
                            .is_some_and(|id| seen.insert(id.to_owned()))
                    })
                    .collect()
            };
            run.read(Resource::Users, new.len() as u64);
            if run.wants(Resource::Users) {
                // staged in batches the size of a users page: the store queue bounds memory
                // by batches, and a members page holds five times as many users
                let mut new = new.into_iter().peekable();
                while new.peek().is_some() {
                    let batch: Vec<Value> = new.by_ref().take(USERS_PAGE_LIMIT as usize).collect();
                    run.stage(Batch::users(batch)).await?;
                }
            }
            if run.wants(Resource::Memberships) {
                run.stage(Batch::group_members(group.to_owned(), ids))
                    .await?;
            }
            Ok(())
        },
    )
    .await?;
    Ok(())
}

/// The users Okta's search finds, staged, and their memberships (one listing per user);
/// returns the users' ids.
async fn stage_searched_users(
    run: &ListingRun,
    scope: &SyncScope,
    client: &OktaClient,
    calls: &Calls,
) -> Result<BTreeSet<String>, EngineError> {
    let Some(expression) = &scope.users else {
        return Ok(BTreeSet::new());
    };
    let users = collect(calls, client.search_users(expression.as_str()), || {
        format!("the users matching '{}'", expression.as_str())
    })
    .await?;
    let ids: BTreeSet<String> = users.iter().map(|u| u.id.clone()).collect();
    run.read(Resource::Users, users.len() as u64);
    if run.wants(Resource::Users) {
        run.stage(Batch::users(users.into_iter().map(|u| u.raw).collect()))
            .await?;
    }
    if run.wants(Resource::Memberships) {
        let reads = ids
            .iter()
            .map(|user| {
                async move { Ok((user.clone(), groups_of_user(client, user, calls).await?)) }
                    .boxed()
            })
            .collect();
        let memberships: Vec<(String, Vec<String>)> = concurrently(reads).await?;
        let mut members: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (user, groups) in memberships {
            for group in groups {
                members.entry(group).or_default().push(user.clone());
            }
        }
        for (group, users) in members {
            run.read(Resource::Memberships, users.len() as u64);
            run.stage(Batch::group_members(group, users)).await?;
        }
    }
    Ok(ids)
}
