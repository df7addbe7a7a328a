//! MFA factor enrollments: enroll, unenroll and reset, with the `user.mfa.factor.*` events
//! Okta writes (target: the user).

use super::log::Ctx;
use super::objects::{Factor, FactorKind, UserStatus};
use super::{Id, Org};
use crate::error::{OktaError, Result};

impl Org {
    /// The user whose factors change; a DEPROVISIONED user's cannot (403 E0000038).
    fn factor_holder(&self, user: &str) -> Result<Id> {
        let uid = self.user_id(user)?;
        if self.users[&uid].status == UserStatus::Deprovisioned {
            return Err(OktaError::user_status_forbidden());
        }
        Ok(uid)
    }

    /// `POST /api/v1/users/{id}/factors`: enrolls a factor of `kind`, ACTIVE at once (the
    /// emulator has no passcodes to verify), and writes `user.mfa.factor.activate`.
    pub fn enroll_factor(&mut self, ctx: &Ctx, user: &str, kind: FactorKind) -> Result<Id> {
        let uid = self.factor_holder(user)?;
        if self
            .factors
            .get(&uid)
            .is_some_and(|fs| fs.iter().any(|f| f.kind == kind))
        {
            return Err(OktaError::validation(
                "factorEnrollRequest",
                "A factor of this type is already set up.",
            ));
        }
        let id = Id::random(kind.prefix, &mut self.rng);
        let factor = Factor::enroll(id, kind, &self.users[&uid], true, ctx.now);
        self.factors.entry(uid).or_default().push(factor);
        self.emit_user(ctx, "user.mfa.factor.activate", &uid);
        Ok(id)
    }

    /// `DELETE /api/v1/users/{id}/factors/{factorId}`: unenrolls a factor and writes
    /// `user.mfa.factor.deactivate`. Unenrolling Okta Verify push also unenrolls Okta
    /// Verify's TOTP, as Okta does.
    pub fn unenroll_factor(&mut self, ctx: &Ctx, user: &str, factor: &str) -> Result<()> {
        let uid = self.factor_holder(user)?;
        let factors = self.factors.get_mut(&uid);
        let Some((factors, i)) = factors.and_then(|fs| {
            let i = fs.iter().position(|f| f.id.as_str() == factor)?;
            Some((fs, i))
        }) else {
            return Err(OktaError::not_found(factor, "UserFactor"));
        };
        let removed = factors.remove(i);
        if removed.kind.factor_type == "push" && removed.kind.provider == "OKTA" {
            factors.retain(|f| {
                !(f.kind.factor_type == "token:software:totp" && f.kind.provider == "OKTA")
            });
        }
        if factors.is_empty() {
            self.factors.remove(&uid);
        }
        self.emit_user(ctx, "user.mfa.factor.deactivate", &uid);
        Ok(())
    }

    /// `POST /api/v1/users/{id}/lifecycle/reset_factors`: every factor unenrolled, the status
    /// unchanged, one `user.mfa.factor.reset_all`.
    pub fn reset_factors(&mut self, ctx: &Ctx, user: &str) -> Result<Id> {
        let uid = self.factor_holder(user)?;
        self.factors.remove(&uid);
        self.emit_user(ctx, "user.mfa.factor.reset_all", &uid);
        Ok(uid)
    }
}
