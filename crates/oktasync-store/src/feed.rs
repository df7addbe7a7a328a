//! The change feed's bookkeeping: how far each sink (a webhook, a NATS subject) has been
//! delivered each org's change log. Positions move only after a sink accepted every change
//! up to them, so delivery is at least once and in order, across restarts and instances.

use crate::error::Result;
use crate::mirror::Mirror;
use crate::sql::{args, scalar};
use crate::types::OrgId;
use async_trait::async_trait;
use serde::{Deserialize, Serialize};

/// Where one sink stands with one org.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FeedPosition {
    pub sink: String,
    pub org_id: i64,
    /// The last change delivered.
    pub change_id: i64,
    pub delivered_at: Option<String>,
    /// Failed attempts since the last success.
    pub failures: i64,
    pub last_error: Option<String>,
    pub last_error_at: Option<String>,
}

#[async_trait]
pub trait FeedLog: Send + Sync {
    /// The sink's position in the org's change log; a sink seen for the first time starts
    /// at the log's end (it is told of changes from now on).
    async fn feed_position(&self, sink: &str, org: OrgId) -> Result<i64>;

    /// Records that the sink accepted every change up to `change_id`.
    async fn feed_delivered(&self, sink: &str, org: OrgId, change_id: i64, now: &str)
    -> Result<()>;

    /// Records a failed attempt.
    async fn feed_failed(&self, sink: &str, org: OrgId, error: &str, now: &str) -> Result<()>;

    /// Every sink's position with every org, by sink then org.
    async fn feed_positions(&self) -> Result<Vec<FeedPosition>>;
}

#[async_trait]
impl FeedLog for Mirror {
    async fn feed_position(&self, sink: &str, org: OrgId) -> Result<i64> {
        let mut tx = self.backend.write(Some(org)).await?;
        let found: Option<i64> = tx
            .fetch_optional(
                "SELECT change_id FROM feed_positions WHERE sink = $1 AND org_id = $2",
                args![sink, org],
            )
            .await?
            .map(|r| r.get(0))
            .transpose()?;
        let position = match found {
            Some(position) => position,
            None => {
                let end: Option<i64> = scalar(
                    tx.as_mut(),
                    "SELECT MAX(change_id) FROM changes WHERE org_id = $1",
                    args![org],
                )
                .await?;
                let end = end.unwrap_or(0);
                tx.execute(
                    "INSERT INTO feed_positions (sink, org_id, change_id, failures)
                     VALUES ($1, $2, $3, 0)",
                    args![sink, org, end],
                )
                .await?;
                end
            }
        };
        tx.commit().await?;
        Ok(position)
    }

    async fn feed_delivered(
        &self,
        sink: &str,
        org: OrgId,
        change_id: i64,
        now: &str,
    ) -> Result<()> {
        let mut conn = self.backend.conn().await?;
        conn.execute(
            "UPDATE feed_positions SET change_id = $1, delivered_at = $2, failures = 0
             WHERE sink = $3 AND org_id = $4",
            args![change_id, now, sink, org],
        )
        .await?;
        Ok(())
    }

    async fn feed_failed(&self, sink: &str, org: OrgId, error: &str, now: &str) -> Result<()> {
        let mut conn = self.backend.conn().await?;
        conn.execute(
            "UPDATE feed_positions SET failures = failures + 1, last_error = $1,
                last_error_at = $2
             WHERE sink = $3 AND org_id = $4",
            args![error, now, sink, org],
        )
        .await?;
        Ok(())
    }

    async fn feed_positions(&self) -> Result<Vec<FeedPosition>> {
        let mut conn = self.backend.conn().await?;
        conn.fetch_all(
            "SELECT sink, org_id, change_id, delivered_at, failures, last_error, last_error_at
             FROM feed_positions ORDER BY sink, org_id",
            args![],
        )
        .await?
        .iter()
        .map(|r| r.decode())
        .collect()
    }
}
