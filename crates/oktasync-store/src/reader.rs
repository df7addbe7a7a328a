//! The mirror reader: every question the CLI (and the coming REST API) asks a mirror, as typed
//! rows. Callers hold a `dyn MirrorReader` and never name a backend.

use crate::delta::{ChangeQuery, ChangeRecord};
use crate::error::Result;
use crate::history::Concern;
use crate::query::{
    AdminRole, AppDetail, AppRow, GroupDetail, GroupFilter, GroupRow, GroupSummary, UserDetail,
    UserFilter, UserGroup, UserRow,
};
use crate::types::{OrgId, OrgRecord, RunId, SyncRunRecord, Table};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};

/// The typed columns of one table (everything but `org_id` and `raw`), as text, in key
/// order: (column names, rows).
pub type TableRows = (Vec<String>, Vec<Vec<Option<String>>>);

#[async_trait]
pub trait MirrorReader: Send + Sync {
    /// Every org in the mirror, as (id, URL), in id order.
    async fn orgs(&self) -> Result<Vec<(OrgId, String)>>;

    /// Every org in the mirror with its name, in id order.
    async fn org_list(&self) -> Result<Vec<OrgRecord>>;

    /// The org with this short name (any letter case), if the mirror has it.
    async fn find_org_by_name(&self, name: &str) -> Result<Option<OrgId>>;

    /// The org with this URL, if the mirror has it.
    async fn find_org(&self, org_url: &str) -> Result<Option<OrgId>>;

    /// Users matching `filter`, ordered by login.
    async fn users(&self, org: OrgId, filter: &UserFilter) -> Result<Vec<UserRow>>;

    /// Up to `limit` users matching `filter`, in id order, after the user with id `after`,
    /// read in one snapshot (a page of the REST API).
    async fn users_page(
        &self,
        org: OrgId,
        filter: &UserFilter,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<UserRow>>;

    /// The user with this id, or else this login (case-insensitive).
    async fn user(&self, org: OrgId, id_or_login: &str) -> Result<Option<UserDetail>>;

    /// Users by id as the mirror has them now; ids it does not hold are left out.
    async fn users_by_id(&self, org: OrgId, ids: &[String]) -> Result<Vec<UserRow>>;

    /// Every group with its member count, ordered by name.
    async fn groups(&self, org: OrgId) -> Result<Vec<GroupRow>>;

    /// Up to `limit` groups matching `filter`, in id order, after the group with id
    /// `after`, read in one snapshot (a page of the REST API).
    async fn groups_page(
        &self,
        org: OrgId,
        filter: &GroupFilter,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<GroupRow>>;

    /// The app with this id, or else this label (exact, then case-insensitive), alone.
    async fn find_app(&self, org: OrgId, id_or_label: &str) -> Result<Option<AppRow>>;

    /// The group with this id, or else this name (exact, then case-insensitive), with its
    /// members, apps and roles.
    async fn group(&self, org: OrgId, id_or_name: &str) -> Result<Option<GroupDetail>>;

    /// The group as [`MirrorReader::group`] finds it, with its apps and roles but not its
    /// members.
    async fn group_summary(&self, org: OrgId, id_or_name: &str) -> Result<Option<GroupSummary>>;

    /// The configured roles as last applied to the org, by name.
    async fn role_names(&self, org: OrgId) -> Result<Vec<String>>;

    /// Who holds which configured role, and how (the view `user_roles`, as the roles were
    /// last applied), by role, then login.
    async fn user_roles(
        &self,
        org: OrgId,
        filter: &crate::RoleFilter,
    ) -> Result<Vec<crate::UserRole>>;

    /// The grants of the org that still have something to do (pending approval, pending,
    /// adding, active, revoke failed), newest first: what `status` shows.
    async fn open_grants(&self, org: OrgId) -> Result<Vec<crate::Grant>>;

    /// The ACTIVE group rules that add users to the group with this id: (rule id, name).
    async fn active_rules_feeding(
        &self,
        org: OrgId,
        group_id: &str,
    ) -> Result<Vec<(String, Option<String>)>>;

    /// The group as [`MirrorReader::group`] finds it, alone.
    async fn find_group(&self, org: OrgId, id_or_name: &str) -> Result<Option<GroupRow>>;

    /// Names and types of the groups with these ids, by id.
    async fn groups_by_id(&self, org: OrgId, ids: &[String]) -> Result<HashMap<String, UserGroup>>;

    /// Every app with its user and group counts, ordered by label.
    async fn apps(&self, org: OrgId) -> Result<Vec<AppRow>>;

    /// The app with this id, or else this label, with who has access and through what.
    async fn app(&self, org: OrgId, id_or_label: &str) -> Result<Option<AppDetail>>;

    /// Labels of the apps with these ids, by id.
    async fn app_labels(
        &self,
        org: OrgId,
        ids: &[String],
    ) -> Result<HashMap<String, Option<String>>>;

    /// Every admin role held, directly or through a group.
    async fn admins(&self, org: OrgId) -> Result<Vec<AdminRole>>;

    /// The change log, oldest first (the newest `limit` when a limit is given).
    async fn changes(&self, org: OrgId, query: &ChangeQuery) -> Result<Vec<ChangeRecord>>;

    /// The kept System Log events matching `query`, newest first.
    async fn log_events(
        &self,
        org: OrgId,
        query: &crate::log_events::LogQuery,
    ) -> Result<Vec<crate::log_events::StoredLogEvent>>;

    /// The posture findings, by check and subject: the open ones, or all with
    /// `include_resolved`.
    async fn posture_findings(
        &self,
        org: OrgId,
        include_resolved: bool,
    ) -> Result<Vec<crate::posture::StoredFinding>>;

    /// The latest posture run, if any.
    async fn last_posture_run(&self, org: OrgId) -> Result<Option<crate::posture::PostureRun>>;

    /// The detection alerts matching `query`, newest first.
    async fn alerts(
        &self,
        org: OrgId,
        query: &crate::alerts::AlertQuery,
    ) -> Result<Vec<crate::alerts::StoredAlert>>;

    /// When the mirror's history of the org begins (the end of its first successful run).
    async fn history_start(&self, org: OrgId) -> Result<Option<String>>;

    /// The rows of `table` that concern a user, group or app, as they were at `at`.
    async fn rows_at(
        &self,
        org: OrgId,
        table: Table,
        concern: Concern<'_>,
        at: DateTime<Utc>,
    ) -> Result<Vec<Value>>;

    /// The org in the form of the emulator's `GET /__emulator/export`.
    async fn export_json(&self, org: OrgId) -> Result<Value>;

    /// One table's typed columns, for CSV export.
    async fn table_rows(&self, org: OrgId, table: Table) -> Result<TableRows>;

    /// Rows per table for one org, keyed by table name.
    async fn counts(&self, org: OrgId) -> Result<BTreeMap<String, u64>>;

    /// The most recent runs of one org, newest first.
    async fn recent_runs(&self, org: OrgId, limit: u32) -> Result<Vec<SyncRunRecord>>;

    /// Up to `limit` runs of one org older than `before` (all when `None`), newest first.
    async fn runs_page(
        &self,
        org: OrgId,
        before: Option<RunId>,
        limit: u32,
    ) -> Result<Vec<SyncRunRecord>>;

    /// When the org's newest successful run ended.
    async fn last_success(&self, org: OrgId) -> Result<Option<String>>;

    /// One run of one org, if the mirror has it.
    async fn run(&self, org: OrgId, run: RunId) -> Result<Option<SyncRunRecord>>;

    /// A fact about the mirror itself (`mirror_meta`), e.g. `created_by`.
    async fn meta(&self, key: &str) -> Result<Option<String>>;

    /// Where the mirror is, for messages (a path, or a URL without its password).
    fn location(&self) -> String;

    /// Closes the reader's connections.
    async fn close(&self);
}
