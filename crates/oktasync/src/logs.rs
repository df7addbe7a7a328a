//! `oktasync logs`: the System Log events kept in the mirror (`log_events`), newest first,
//! filtered by time, type, actor, target and outcome. Reads the mirror only.

use crate::cli::{LogsArgs, OutputFormat};
use crate::history::parse_time;
use crate::output::{Table, opt, print_list};
use anyhow::Result;
use chrono::Utc;
use oktasync_store::{LogQuery, MirrorReader, OrgId, StoredLogEvent};

/// Where the event came from: `city, country`, or what is known of it.
fn place(e: &StoredLogEvent) -> String {
    match (&e.city, &e.country) {
        (Some(city), Some(country)) => format!("{city}, {country}"),
        (None, Some(only)) | (Some(only), None) => only.clone(),
        (None, None) => String::new(),
    }
}

fn outcome(e: &StoredLogEvent) -> String {
    match (&e.outcome_result, &e.outcome_reason) {
        (Some(result), Some(reason)) => format!("{result} ({reason})"),
        (Some(result), None) => result.clone(),
        _ => String::new(),
    }
}

pub async fn run(
    store: &dyn MirrorReader,
    org: OrgId,
    args: &LogsArgs,
    format: OutputFormat,
) -> Result<()> {
    let since = args
        .since
        .as_deref()
        .map(|s| parse_time(s, Utc::now()))
        .transpose()
        .map_err(crate::exit::config)?;
    let events = store
        .log_events(
            org,
            &LogQuery {
                since,
                event_type: args.event_type.clone(),
                actor: args.actor.clone(),
                target: args.target.clone(),
                outcome: args.outcome.clone(),
                limit: Some(args.limit),
                before: None,
            },
        )
        .await?;
    let mut t = Table::new(&[
        "published",
        "type",
        "outcome",
        "actor",
        "client_ip",
        "place",
        "message",
        "uuid",
    ]);
    for e in &events {
        t.row(vec![
            e.published.clone(),
            opt(e.event_type.as_ref()),
            outcome(e),
            opt(e.actor_alternate_id.as_ref().or(e.actor_id.as_ref())),
            opt(e.client_ip.as_ref()),
            place(e),
            opt(e.display_message.as_ref()),
            e.uuid.clone(),
        ]);
    }
    print_list(format, &events, &t, "events")
}
