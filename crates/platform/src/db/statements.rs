//! A write given as a list of statements and its audit entries, decided before it reaches the
//! database (a registration: the patient row, its search terms, its guardians). Such a write
//! needs nothing back from the database but success, so on an SQLite file the writer thread
//! runs it whole on its own connection, with the rest of its batch, without a thread switch
//! per statement ([`super::fast`]); elsewhere it runs as an ordinary [`Tx`] job. Either way
//! its statements and audit entries commit together or not at all.
use crate::audit::{AuditRow, Event};
use crate::auth::Principal;
use crate::db::{Arg, Tx};
use crate::error::AppError;

/// Statements of one write, run in order in one transaction (a savepoint of the writer's batch).
#[derive(Debug, Clone)]
pub struct Statements {
    pub(crate) now: String,
    pub(crate) stmts: Vec<(String, Vec<Arg>)>,
    pub(crate) audit: Vec<AuditRow>,
}

impl Statements {
    /// A write stamped with `now` (the time of its audit entries).
    pub fn new(now: String) -> Statements {
        Statements {
            now,
            stmts: Vec::new(),
            audit: Vec::new(),
        }
    }

    /// The time of this write, as stored text.
    pub fn now(&self) -> &str {
        &self.now
    }

    /// Add a statement (`$1`, `$2`, … bound to `args` by number, as everywhere).
    pub fn push(&mut self, sql: impl Into<String>, args: Vec<Arg>) {
        self.stmts.push((sql.into(), args));
    }

    /// Add every statement of `list`.
    pub fn extend(&mut self, list: Vec<(String, Vec<Arg>)>) {
        self.stmts.extend(list);
    }

    /// Record an audit entry by the signed-in user, committed with these statements.
    pub fn record(&mut self, who: &Principal, ev: Event<'_>) {
        self.audit.push(AuditRow::new(&self.now, who, ev));
    }

    /// Add an audit entry made elsewhere (no signed-in user: the CLI, a failed sign-in).
    pub fn audit(&mut self, row: AuditRow) {
        self.audit.push(row);
    }

    /// Run on an open transaction (PostgreSQL, an in-memory SQLite database, or a caller that
    /// writes more in the same transaction).
    pub async fn run_on(self, tx: &mut Tx) -> Result<(), AppError> {
        for (sql, args) in &self.stmts {
            tx.exec(sql, args).await?;
        }
        for r in self.audit {
            tx.audit(r);
        }
        Ok(())
    }
}

impl Tx {
    /// Execute one statement assembled at run time; evaluates to the rows it affected.
    pub async fn exec(&mut self, sql: &str, args: &[Arg]) -> Result<u64, AppError> {
        Ok(crate::tx_exec!(
            self,
            crate::bind_args!(sqlx::query(sql), args)
        )?)
    }
}
