//! The indicators with their definitions, and the live board.
use super::*;
use crate::web::record::Fact;
pub struct MonthLine {
    pub month: String,
    pub cases: u64,
    pub median: String,
    pub survival: String,
}

#[derive(Template)]
#[template(path = "trauma_indicators.html")]
struct IndicatorsPage {
    shell: Shell,
    q: RecordQuery,
    facts: Vec<Fact>,
    months: Vec<MonthLine>,
}

fn pct(v: Option<f64>) -> String {
    v.map(|x| format!("{:.1}%", x * 100.0)).unwrap_or_default()
}

pub(super) async fn indicators_page(
    State(st): State<Platform>,
    ctx: PageCtx,
    who: Principal,
    Query(q): Query<RecordQuery>,
) -> Result<Response, AppError> {
    let i: Indicators = service::indicators(&st, &who, &q).await?;
    let t = &ctx.t;
    let o = |v: Option<i64>| v.map(|x| x.to_string()).unwrap_or_default();
    let f2 = |v: Option<f64>| v.map(|x| format!("{x:.2}")).unwrap_or_default();
    let fact = |k: &str, value: String| Fact {
        label: t.get(k).to_string(),
        value,
    };
    let facts = vec![
        fact("trauma.ind.cases", i.cases.to_string()),
        fact(
            "trauma.ind.a2o",
            format!(
                "{} / {} ({})",
                o(i.arrival_to_op.median),
                o(i.arrival_to_op.p90),
                i.arrival_to_op.n
            ),
        ),
        fact(
            "trauma.ind.pre",
            format!(
                "{} / {} ({})",
                o(i.prehospital.median),
                o(i.prehospital.p90),
                i.prehospital.n
            ),
        ),
        fact(
            "trauma.ind.transfer",
            format!(
                "{} / {} ({})",
                o(i.transfer.median),
                o(i.transfer.p90),
                i.transfer.n
            ),
        ),
        fact(
            "trauma.ind.severe60",
            format!(
                "{} ({}/{})",
                pct(i.severe_within_60_share),
                i.severe_within_60,
                i.severe_operated
            ),
        ),
        fact(
            "trauma.ind.crude",
            format!(
                "{} ({}/{})",
                pct(i.crude_mortality),
                i.deaths,
                i.known_outcome
            ),
        ),
        fact("trauma.ind.w", format!("{:.2}", i.triss.w)),
        fact("trauma.ind.z", f2(i.triss.z)),
        fact(
            "trauma.ind.oe",
            format!(
                "{} [{} – {}] ({})",
                f2(i.triss.oe),
                f2(i.triss.oe_low),
                f2(i.triss.oe_high),
                i.triss.n
            ),
        ),
    ];
    let months = i
        .months
        .iter()
        .map(|m| MonthLine {
            month: m.month.clone(),
            cases: m.cases,
            median: o(m.arrival_to_op_median),
            survival: pct(m.survival),
        })
        .collect();
    render(&IndicatorsPage {
        shell: Shell::new(ctx, &st, Some(&who)),
        q,
        facts,
        months,
    })
}

pub struct BoardRow {
    pub id: String,
    pub status: String,
    pub status_label: String,
    pub org: String,
    pub mechanism: String,
    pub iss: String,
    pub minutes: i64,
}

#[derive(Template)]
#[template(path = "trauma_board.html")]
struct BoardPage {
    shell: Shell,
    rows: Vec<BoardRow>,
}

pub(super) async fn board_page(
    State(st): State<Platform>,
    ctx: PageCtx,
    who: Principal,
) -> Result<Response, AppError> {
    let lines = service::board(&st, &who).await?;
    let codes: Vec<String> = lines.iter().map(|l| l.org_code.clone()).collect();
    let orgs = facade::orgs(&st, &codes).await?;
    let t = &ctx.t;
    let rows = lines
        .into_iter()
        .map(|l| BoardRow {
            status_label: t.get(&format!("trauma.board.{}", l.status)).to_string(),
            org: orgs
                .iter()
                .find(|o| o.code == l.org_code)
                .map(|o| o.name(t.locale).to_string())
                .unwrap_or_else(|| l.org_code.clone()),
            mechanism: t.get(&format!("trauma.mech.{}", l.mechanism)).to_string(),
            iss: l.iss.map(|v| v.to_string()).unwrap_or_default(),
            minutes: l.minutes,
            status: l.status,
            id: l.id,
        })
        .collect();
    render(&BoardPage {
        shell: Shell::new(ctx, &st, Some(&who)),
        rows,
    })
}
