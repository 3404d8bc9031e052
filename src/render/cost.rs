//! The cost line of a plan (when the config has `prices`), as the text and
//! Markdown renderers' last line and as a `cost` object in the JSON plan.

use std::io::{self, Write};

use crate::plan::Plan;
use crate::report::cost::{PlanCost, Prices};

/// `Cost: this plan: +4 SPE_E3, −2 POWER_BI_PRO: +$124/month.`
pub fn text(cost: &PlanCost, prices: &Prices, out: &mut dyn Write) -> io::Result<()> {
    writeln!(out, "Cost: {}.", cost.line(prices))
}

/// The same line for a pull-request comment.
pub fn markdown(cost: &PlanCost, prices: &Prices, out: &mut dyn Write) -> io::Result<()> {
    writeln!(out)?;
    writeln!(out, "**Cost:** {}.", cost.line(prices))
}

/// The JSON plan with a `cost` object (`docs/plan-json.md`).
pub fn json(plan: &Plan, cost: &PlanCost, out: &mut dyn Write) -> io::Result<()> {
    let mut value = serde_json::to_value(plan)?;
    if let serde_json::Value::Object(map) = &mut value {
        map.insert("cost".into(), serde_json::to_value(cost)?);
    }
    serde_json::to_writer_pretty(&mut *out, &value)?;
    writeln!(out)
}
