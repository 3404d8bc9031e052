//! Alerts for people: the lockdown breaker tripped, an event failed for
//! good, a full plan was refused. [`Alert`] is the hook other channels
//! (Slack, Teams, a pager) plug into; [`LogAlert`] writes an error line.

/// What needs a person.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AlertKind {
    /// The lockdown breaker tripped; lockdowns wait until it is reset.
    BreakerTripped,
    /// An event's actions failed after every retry.
    EventFailed,
    /// A full plan after reconcile events was refused or failed.
    PlanFailed,
}

/// One alert.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AlertEvent {
    /// What happened.
    pub kind: AlertKind,
    /// One line for a notification.
    pub summary: String,
    /// What to do about it.
    pub hint: String,
}

/// Where alerts go. Implementations must not block for long: they are
/// called from the worker.
pub trait Alert: Send + Sync {
    /// Raises `alert`.
    fn raise(&self, alert: &AlertEvent);
}

/// Writes alerts as error logs (and to stderr, through the log).
#[derive(Debug, Default)]
pub struct LogAlert;

impl Alert for LogAlert {
    fn raise(&self, alert: &AlertEvent) {
        tracing::error!(alert = ?alert.kind, hint = %alert.hint, "{}", alert.summary);
    }
}
