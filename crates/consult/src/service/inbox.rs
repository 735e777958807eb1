//! What waits for each user: the inbox sections with their clocks.
use super::*;

/// What waits for this user.
#[derive(Debug, Clone, Default, Serialize, ToSchema)]
pub struct Inbox {
    /// Addressed to my department, not yet accepted.
    pub to_accept: Vec<CaseView>,
    /// Accepted by me: to answer (or waiting for information).
    pub to_answer: Vec<CaseView>,
    /// My side's cases waiting on us: information asked, an answer to acknowledge.
    pub waiting_on_me: Vec<CaseView>,
    /// Cases I filed that are still open.
    pub my_requests: Vec<CaseView>,
    /// Coordinators: every open case of the scope, earliest clock first.
    pub coordinator: Vec<CaseView>,
}

pub async fn inbox(st: &Platform, who: &Principal) -> Result<Inbox, AppError> {
    let (req, ans, coord) = (
        who.can(perms::REQUEST),
        who.can(perms::ANSWER),
        who.can(perms::COORDINATE),
    );
    if !req && !ans && !coord {
        return Err(AppError::Forbidden);
    }
    let mut inbox = Inbox::default();
    let mut shown: Vec<String> = Vec::new();
    if ans {
        for r in store::open_cases(&st.db, store::Side::Target(&who.scope), LIST_LIMIT).await? {
            let Some(v) = view(st, who, r)? else { continue };
            match v.status {
                Status::Filed => inbox.to_accept.push(v),
                Status::Accepted | Status::InfoRequested if v.assignee == who.username => {
                    inbox.to_answer.push(v)
                }
                _ => continue,
            }
        }
    }
    if coord && who.scope.subtree {
        // A coordinator above the receiving side sees what is addressed into the scope too.
        for r in store::open_cases(&st.db, store::Side::Target(&who.scope), LIST_LIMIT).await? {
            if who.scope.covers(&r.from_path) {
                continue; // listed with the requesting side below
            }
            if let Some(v) = view(st, who, r)? {
                inbox.coordinator.push(v);
            }
        }
    }
    if (req || coord) && who.scope.subtree {
        for r in store::open_cases(&st.db, store::Side::Requester(&who.scope), LIST_LIMIT).await? {
            let mine = r.requested_by == who.user_id;
            let Some(v) = view(st, who, r)? else { continue };
            if coord {
                inbox.coordinator.push(v.clone());
            }
            if req {
                match v.status {
                    Status::InfoRequested | Status::Answered => inbox.waiting_on_me.push(v),
                    _ if mine => inbox.my_requests.push(v),
                    _ => {}
                }
            }
        }
    }
    inbox
        .coordinator
        .sort_by(|a, b| (&a.due_at, &a.id).cmp(&(&b.due_at, &b.id)));
    for v in inbox
        .to_accept
        .iter()
        .chain(&inbox.to_answer)
        .chain(&inbox.waiting_on_me)
        .chain(&inbox.my_requests)
        .chain(&inbox.coordinator)
    {
        if let Some(id) = &v.patient.id {
            shown.push(id.clone());
        }
    }
    shown.sort();
    shown.dedup();
    if !shown.is_empty() {
        let detail = format!("consult inbox: {}", shown.join(" "));
        st.audit(who, Event::new(Action::SEARCH, ENTITY, "").detail(&detail))
            .await?;
    }
    Ok(inbox)
}
