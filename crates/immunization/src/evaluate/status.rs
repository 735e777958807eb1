//! What an evaluation says of a dose: its status (CDSi table 3-1) and the reasons behind it,
//! as a small bit set.

/// Evaluation status of a dose (CDSi table 3-1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EvalStatus {
    Valid,
    NotValid,
    Extraneous,
}

impl EvalStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            EvalStatus::Valid => "Valid",
            EvalStatus::NotValid => "Not Valid",
            EvalStatus::Extraneous => "Extraneous",
        }
    }

    /// A stable machine code: `valid`, `not_valid`, `extraneous`.
    pub fn code(self) -> &'static str {
        match self {
            EvalStatus::Valid => "valid",
            EvalStatus::NotValid => "not_valid",
            EvalStatus::Extraneous => "extraneous",
        }
    }
}

/// Why a dose got its status (CDSi evaluation reasons).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EvalReason {
    AgeTooYoung,
    AgeTooOld,
    AgeGracePeriod,
    IntervalTooSoon,
    IntervalGracePeriod,
    LiveVirusConflict,
    InadvertentAdministration,
    NotPreferableOrAllowable,
    SeriesAlreadyComplete,
}

impl EvalReason {
    pub fn as_str(self) -> &'static str {
        match self {
            EvalReason::AgeTooYoung => "Age: Too Young",
            EvalReason::AgeTooOld => "Age: Too Old",
            EvalReason::AgeGracePeriod => "Age: Grace Period",
            EvalReason::IntervalTooSoon => "Interval: Too Soon",
            EvalReason::IntervalGracePeriod => "Interval: Grace Period",
            EvalReason::LiveVirusConflict => "Live Virus Conflict",
            EvalReason::InadvertentAdministration => "Inadvertent Administration",
            EvalReason::NotPreferableOrAllowable => "Vaccine: Not Preferable or Allowable",
            EvalReason::SeriesAlreadyComplete => "Series Already Complete",
        }
    }

    /// A stable machine code (`age_too_young`, `interval_too_soon`, ...).
    pub fn code(self) -> &'static str {
        match self {
            EvalReason::AgeTooYoung => "age_too_young",
            EvalReason::AgeTooOld => "age_too_old",
            EvalReason::AgeGracePeriod => "age_grace_period",
            EvalReason::IntervalTooSoon => "interval_too_soon",
            EvalReason::IntervalGracePeriod => "interval_grace_period",
            EvalReason::LiveVirusConflict => "live_virus_conflict",
            EvalReason::InadvertentAdministration => "inadvertent_administration",
            EvalReason::NotPreferableOrAllowable => "vaccine_not_preferable_or_allowable",
            EvalReason::SeriesAlreadyComplete => "series_already_complete",
        }
    }
}

/// The set of reasons given for one evaluation (a dose can be too young and too soon at once).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct EvalReasons(u16);

impl EvalReasons {
    const ALL: [EvalReason; 9] = [
        EvalReason::AgeTooYoung,
        EvalReason::AgeTooOld,
        EvalReason::AgeGracePeriod,
        EvalReason::IntervalTooSoon,
        EvalReason::IntervalGracePeriod,
        EvalReason::LiveVirusConflict,
        EvalReason::InadvertentAdministration,
        EvalReason::NotPreferableOrAllowable,
        EvalReason::SeriesAlreadyComplete,
    ];

    fn bit(reason: EvalReason) -> u16 {
        1 << (reason as u16)
    }

    pub fn one(reason: EvalReason) -> EvalReasons {
        EvalReasons(Self::bit(reason))
    }

    pub fn insert(&mut self, reason: EvalReason) {
        self.0 |= Self::bit(reason);
    }

    pub fn contains(self, reason: EvalReason) -> bool {
        self.0 & Self::bit(reason) != 0
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The reasons in the order of the evaluation steps.
    pub fn iter(self) -> impl Iterator<Item = EvalReason> {
        Self::ALL.into_iter().filter(move |r| self.contains(*r))
    }
}
