//! Coverage of the caller's area per place and product.
use super::*;

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AntigenCoverage {
    pub product_code: String,
    pub name_zh: String,
    /// Children with at least one, two and three doses of the product.
    pub dose1: i64,
    pub dose2: i64,
    pub dose3: i64,
    /// Percent of the place's children with at least one dose.
    pub coverage1: f64,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PlaceCoverage {
    /// The village (or other organisation) the children are registered at.
    pub org_code: String,
    pub name: String,
    /// Children of the place with at least one recorded dose (the denominator).
    pub children: i64,
    pub antigens: Vec<AntigenCoverage>,
    /// DTaP dropout 1 → 3, percent of those who started.
    pub dtap_dropout: Option<f64>,
}

/// Coverage per village and product in the caller's area. The denominator is the children of
/// each place with at least one recorded dose.
pub async fn coverage(st: &Platform, who: &Principal) -> Result<Vec<PlaceCoverage>, AppError> {
    who.require(perms::READ)?;
    let (lo, hi) = who.scope.path_range();
    let rows = store::coverage(&st.db, &lo, &hi).await?;
    let totals = store::children_per_place(&st.db, &lo, &hi).await?;
    let code_of = |path: &str| {
        path.trim_end_matches('/')
            .rsplit('/')
            .next()
            .unwrap_or("")
            .to_string()
    };
    let codes: Vec<String> = totals.iter().map(|(p, _)| code_of(p)).collect();
    let orgs = facade::orgs(st, &codes).await?;
    let products = products(st).await?;
    let locale = tianshan_platform::i18n::Locale::ZhHans;
    let mut out = Vec::new();
    for (path, children) in totals {
        let code = code_of(&path);
        let antigens: Vec<AntigenCoverage> = rows
            .iter()
            .filter(|r| r.patient_path == path)
            .map(|r| AntigenCoverage {
                product_code: r.product_code.clone(),
                name_zh: products
                    .iter()
                    .find(|p| p.code == r.product_code)
                    .map(|p| p.name_zh.clone())
                    .unwrap_or_default(),
                dose1: r.dose1,
                dose2: r.dose2,
                dose3: r.dose3,
                coverage1: if children > 0 {
                    (r.dose1 as f64 * 1000.0 / children as f64).round() / 10.0
                } else {
                    0.0
                },
            })
            .collect();
        let dtap_dropout = antigens
            .iter()
            .find(|a| a.product_code == "DTaP" && a.dose1 > 0)
            .map(|a| ((a.dose1 - a.dose3) as f64 * 1000.0 / a.dose1 as f64).round() / 10.0);
        out.push(PlaceCoverage {
            name: orgs
                .iter()
                .find(|o| o.code == code)
                .map(|o| o.name(locale).to_string())
                .unwrap_or_else(|| code.clone()),
            org_code: code,
            children,
            antigens,
            dtap_dropout,
        });
    }
    Ok(out)
}
