//! Demo consultations drawn from the seeds: a township asking the Kashgar centre, the centre
//! asking the Guangdong ophthalmology department (paired), a Kyrgyz partner's case in English,
//! referrals up and back down, one overdue and escalated.
use futures_util::future::BoxFuture;
use tianshan_platform::{AppError, Platform};

pub fn loader(st: &Platform) -> BoxFuture<'_, Result<(), AppError>> {
    Box::pin(async move { crate::demo_data::load(st).await })
}
