//! A write given as a list of statements and its audit entries, decided before it reaches the
//! database (a registration: the patient row, its search terms, its guardians). Such a write
//! needs nothing back from the database but success, so on an SQLite file the writer thread
//! runs it whole on its own connection, with the rest of its batch, without a thread switch
//! per statement ([`super::fast`]); elsewhere it runs as an ordinary [`Tx`] job. Either way
//! its statements and audit entries commit together or not at all.
//!
//! A statement may be a row insert of a known [`RowShape`] ([`Statements::push_rows`]). On
//! PostgreSQL a batch whose writes are all row inserts becomes one statement: each shape's rows
//! of every write, and the audit rows, as `UNNEST` arrays in data-modifying `WITH` parts
//! ([`super::pg`]), one round trip where there were two or more a write.
use crate::audit::{AuditRow, Event};
use crate::auth::Principal;
use crate::db::{values_list, Arg, Tx};
use crate::error::AppError;

/// The type of a column a row insert fills (what its PostgreSQL array is cast to).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColType {
    Text,
    Int,
}

/// A table and the columns a row insert fills, in the order its values are given.
#[derive(Debug, PartialEq, Eq)]
pub struct RowShape {
    pub table: &'static str,
    pub columns: &'static [(&'static str, ColType)],
}

impl RowShape {
    /// `table (a, b, c)`.
    pub(crate) fn target(&self) -> String {
        let names: Vec<&str> = self.columns.iter().map(|(n, _)| *n).collect();
        format!("{} ({})", self.table, names.join(", "))
    }
}

/// One statement of a write; `rows` when it is a row insert of that shape (its arguments are
/// the rows' values, row after row).
#[derive(Debug, Clone)]
pub(crate) struct Stmt {
    pub(crate) sql: String,
    pub(crate) args: Vec<Arg>,
    pub(crate) rows: Option<&'static RowShape>,
}

/// Statements of one write, run in order in one transaction (a savepoint of the writer's batch).
#[derive(Debug, Clone)]
pub struct Statements {
    pub(crate) now: String,
    pub(crate) stmts: Vec<Stmt>,
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
        self.stmts.push(Stmt {
            sql: sql.into(),
            args,
            rows: None,
        });
    }

    /// Add every statement of `list`.
    pub fn extend(&mut self, list: Vec<(String, Vec<Arg>)>) {
        for (sql, args) in list {
            self.push(sql, args);
        }
    }

    /// Add an insert of rows into `shape`'s table: `values` holds each row's values in the
    /// shape's column order, row after row (`Arg::Text` for a text column, `Arg::Int` for an
    /// integer one, `Arg::Null` in either). Nothing is added for no values.
    pub fn push_rows(&mut self, shape: &'static RowShape, values: Vec<Arg>) {
        let width = shape.columns.len();
        if values.is_empty() || width == 0 {
            return;
        }
        let sql = format!(
            "INSERT INTO {} VALUES {}",
            shape.target(),
            values_list(values.len().div_ceil(width), width)
        );
        // A short last row binds fewer values than the list names, and the database refuses the
        // statement: no merging for it (`pg.rs` checks the shape too).
        let rows = values.len().is_multiple_of(width).then_some(shape);
        self.stmts.push(Stmt {
            sql,
            args: values,
            rows,
        });
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
        for s in &self.stmts {
            tx.exec(&s.sql, &s.args).await?;
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
