//! What licences cost: the monthly price of each SKU (from the config),
//! applied to the seats a plan adds and frees, and to the seats a licence
//! report counts. Money is kept in cents, so sums are exact.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::plan::Plan;
use crate::report::licenses::LicenseReport;

/// Monthly licence prices (config `prices`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Prices {
    /// The ISO 4217 code of the currency the prices are in (default `USD`).
    #[serde(default = "usd")]
    pub currency: String,
    /// SKU part number → the price of one seat for a month, such as `SPE_E3: 36.00`.
    pub monthly: BTreeMap<String, f64>,
}

fn usd() -> String {
    "USD".into()
}

impl Prices {
    /// The price of one seat of `sku` a month, in cents, if known.
    pub fn cents(&self, sku: &str) -> Option<i64> {
        self.monthly.get(sku).map(|p| (p * 100.0).round() as i64)
    }

    /// `cents` as money in this currency: `$128`, `$12.50`, `€1,024`, `CHF 9.90`.
    pub fn money(&self, cents: i64) -> String {
        let symbol = match self.currency.to_ascii_uppercase().as_str() {
            "USD" | "AUD" | "CAD" | "NZD" => "$".to_owned(),
            "EUR" => "€".to_owned(),
            "GBP" => "£".to_owned(),
            "JPY" => "¥".to_owned(),
            "INR" => "₹".to_owned(),
            other => format!("{other} "),
        };
        let sign = if cents < 0 { "−" } else { "" };
        let abs = cents.unsigned_abs();
        let whole = group_thousands(abs / 100);
        if abs.is_multiple_of(100) {
            format!("{sign}{symbol}{whole}")
        } else {
            format!("{sign}{symbol}{whole}.{:02}", abs % 100)
        }
    }

    /// A change of `cents` with its sign: `+$128`, `−$20`, `$0`.
    pub fn delta(&self, cents: i64) -> String {
        if cents > 0 {
            format!("+{}", self.money(cents))
        } else {
            self.money(cents)
        }
    }
}

fn group_thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// One SKU's seat change in a plan, and what it costs a month.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SkuCost {
    /// Part number.
    pub sku: String,
    /// Seats added minus seats freed.
    pub seats: i64,
    /// The change in cents a month; `None` when the SKU has no price.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub monthly_cents: Option<i64>,
}

/// What a plan changes in the monthly licence bill.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PlanCost {
    /// The currency (ISO 4217).
    pub currency: String,
    /// Each SKU whose seat count the plan changes.
    pub skus: Vec<SkuCost>,
    /// The total change in cents a month (priced SKUs only).
    pub monthly_cents: i64,
    /// SKUs the plan changes that have no price in the config.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unpriced: Vec<String>,
}

/// The cost of `plan`'s seat changes.
pub fn plan_cost(plan: &Plan, prices: &Prices) -> PlanCost {
    let mut skus = Vec::new();
    let mut unpriced = Vec::new();
    let mut total = 0;
    for seats in &plan.licenses {
        let delta = seats.added - seats.removed;
        if delta == 0 {
            continue;
        }
        let monthly = prices.cents(&seats.sku).map(|c| c * delta);
        match monthly {
            Some(m) => total += m,
            None => unpriced.push(seats.sku.clone()),
        }
        skus.push(SkuCost {
            sku: seats.sku.clone(),
            seats: delta,
            monthly_cents: monthly,
        });
    }
    PlanCost {
        currency: prices.currency.clone(),
        skus,
        monthly_cents: total,
        unpriced,
    }
}

impl PlanCost {
    /// `this plan: +4 SPE_E3, −2 POWER_BI_PRO: +$128/month`.
    pub fn line(&self, prices: &Prices) -> String {
        if self.skus.is_empty() {
            return format!(
                "this plan changes no licence seats: {}/month",
                prices.money(0)
            );
        }
        let changes: Vec<String> = self
            .skus
            .iter()
            .map(|s| {
                let n = if s.seats > 0 {
                    format!("+{}", s.seats)
                } else {
                    format!("−{}", -s.seats)
                };
                format!("{n} {}", s.sku)
            })
            .collect();
        let mut line = format!(
            "this plan: {}: {}/month",
            changes.join(", "),
            prices.delta(self.monthly_cents)
        );
        if !self.unpriced.is_empty() {
            line.push_str(&format!(" (no price for {})", self.unpriced.join(", ")));
        }
        line
    }
}

/// One SKU's monthly cost in a licence report.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SkuBill {
    /// Part number.
    pub sku: String,
    /// The price of a seat a month, in cents.
    pub price_cents: i64,
    /// Seats bought × price.
    pub purchased_cents: i64,
    /// Seats in use × price.
    pub consumed_cents: i64,
    /// Seats held by disabled accounts × price.
    pub disabled_cents: i64,
    /// Seats in use after the plan × price, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub after_plan_cents: Option<i64>,
}

/// The monthly cost of what a licence report counts.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ReportBill {
    /// The currency (ISO 4217).
    pub currency: String,
    /// Priced SKUs.
    pub skus: Vec<SkuBill>,
    /// Seats bought, in cents a month.
    pub purchased_cents: i64,
    /// Seats in use.
    pub consumed_cents: i64,
    /// Seats held by disabled accounts.
    pub disabled_cents: i64,
    /// Seats in use after the plan, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub after_plan_cents: Option<i64>,
    /// SKUs with no price in the config.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unpriced: Vec<String>,
}

/// Prices the seats of `report`.
pub fn report_bill(report: &LicenseReport, prices: &Prices) -> ReportBill {
    let mut bill = ReportBill {
        currency: prices.currency.clone(),
        skus: Vec::new(),
        purchased_cents: 0,
        consumed_cents: 0,
        disabled_cents: 0,
        after_plan_cents: report.planned.then_some(0),
        unpriced: Vec::new(),
    };
    for row in &report.skus {
        let Some(price) = prices.cents(&row.sku) else {
            bill.unpriced.push(row.sku.clone());
            continue;
        };
        let sku = SkuBill {
            sku: row.sku.clone(),
            price_cents: price,
            purchased_cents: price * row.purchased,
            consumed_cents: price * row.consumed,
            disabled_cents: price * row.disabled as i64,
            after_plan_cents: row.after_plan.map(|n| n * price),
        };
        bill.purchased_cents += sku.purchased_cents;
        bill.consumed_cents += sku.consumed_cents;
        bill.disabled_cents += sku.disabled_cents;
        if let (Some(total), Some(after)) = (bill.after_plan_cents.as_mut(), sku.after_plan_cents) {
            *total += after;
        }
        bill.skus.push(sku);
    }
    bill
}

impl ReportBill {
    /// `Seats in use cost $2,150/month; after this plan $2,278/month (+$128/month); $72/month sit on disabled accounts.`
    pub fn line(&self, prices: &Prices) -> String {
        let mut line = format!(
            "Seats in use cost {}/month (bought: {}/month)",
            prices.money(self.consumed_cents),
            prices.money(self.purchased_cents)
        );
        if let Some(after) = self.after_plan_cents {
            line.push_str(&format!(
                "; after this plan {}/month ({}/month)",
                prices.money(after),
                prices.delta(after - self.consumed_cents)
            ));
        }
        line.push_str(&format!(
            "; {}/month sit on disabled accounts.",
            prices.money(self.disabled_cents)
        ));
        if !self.unpriced.is_empty() {
            line.push_str(&format!(" No price for {}.", self.unpriced.join(", ")));
        }
        line
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::Seats;

    fn prices() -> Prices {
        Prices {
            currency: "USD".into(),
            monthly: [
                ("SPE_E3".to_owned(), 36.0),
                ("POWER_BI_PRO".to_owned(), 10.0),
            ]
            .into(),
        }
    }

    fn seats(sku: &str, added: i64, removed: i64) -> Seats {
        Seats {
            sku: sku.into(),
            total: 100,
            used_before: 50,
            added,
            removed,
            used_after: 50 + added - removed,
        }
    }

    #[test]
    fn a_plans_cost_line_names_each_seat_change_and_the_monthly_total() {
        let plan = Plan {
            format_version: crate::plan::FORMAT_VERSION,
            fingerprint: String::new(),
            digest: String::new(),
            targets: Vec::new(),
            refused: Vec::new(),
            accepted_read_drop: false,
            now: String::new(),
            summary: Default::default(),
            allowed_removals: Default::default(),
            licenses: vec![
                seats("SPE_E3", 4, 0),
                seats("POWER_BI_PRO", 0, 2),
                seats("FLOW_FREE", 1, 0),
                seats("ENTERPRISEPACK", 1, 1),
            ],
            actions: Vec::new(),
            manual_steps: Vec::new(),
            unmanaged: Vec::new(),
            warnings: Vec::new(),
        };
        let cost = plan_cost(&plan, &prices());
        assert_eq!(cost.monthly_cents, 4 * 3600 - 2 * 1000);
        assert_eq!(
            cost.line(&prices()),
            "this plan: +4 SPE_E3, −2 POWER_BI_PRO, +1 FLOW_FREE: +$124/month (no price for FLOW_FREE)"
        );
    }

    #[test]
    fn money_is_grouped_signed_and_in_the_currency() {
        let p = prices();
        assert_eq!(p.money(12_800), "$128");
        assert_eq!(p.money(123_456_750), "$1,234,567.50");
        assert_eq!(p.delta(-2_000), "−$20");
        assert_eq!(p.delta(0), "$0");
        let chf = Prices {
            currency: "CHF".into(),
            ..p
        };
        assert_eq!(chf.money(990), "CHF 9.90");
    }
}
