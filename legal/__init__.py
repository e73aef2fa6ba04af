"""French collection law as pure, deterministic functions.

No I/O, clock or randomness inside the computations, so workflows may call
them directly; the only I/O is ``load_rate_table``, to be called outside
workflow code (e.g. in an activity or at worker start) and passed in.
"""

from legal.accrual import InterestResult, Payment, Segment
from legal.after_title import (
    ProceedingPrescription,
    court_claim_prescription,
    enforcement_prescription,
)
from legal.deadlines import (
    Deadline,
    add_months,
    deadline_in_days,
    deadline_in_months,
    deadline_in_years,
    first_day_after,
)
from legal.errors import LegalError, RateNotConfigured, RateTableInvalid, UnsupportedPostalCode
from legal.half_year import HalfYear, half_year_of
from legal.imputation import Imputation, PaymentImputation, impute_payments
from legal.kinds import DebtorKind, parse_debtor_kind
from legal.payment_terms import TermWarning, check_payment_terms, statutory_due_date
from legal.penalties import b2b_penalties, consumer_interest, public_interest
from legal.prescription import (
    Interruption,
    Prescription,
    Suspension,
    compute_prescription,
    is_prescribed,
)
from legal.quadriennale import PublicBody, prescription_for_debtor, quadriennale_prescription
from legal.rate_periods import RatePeriod
from legal.rates import RateRow, RateTable, load_rate_table
from legal.small_claims import (
    SmallClaimsCheck,
    SmallClaimsRequest,
    small_claims_eligibility,
    small_claims_for_statement,
    small_claims_request,
)
from legal.statement import FIXED_INDEMNITY, Statement, build_statement
from legal.working_days import (
    METROPOLITAN,
    DebtorCalendar,
    calendar_for_postal_code,
    calendar_for_subdivision,
)

__all__ = [
    "FIXED_INDEMNITY",
    "METROPOLITAN",
    "Deadline",
    "DebtorCalendar",
    "DebtorKind",
    "HalfYear",
    "Imputation",
    "InterestResult",
    "Interruption",
    "LegalError",
    "Payment",
    "PaymentImputation",
    "Prescription",
    "ProceedingPrescription",
    "PublicBody",
    "RateNotConfigured",
    "RatePeriod",
    "RateRow",
    "RateTable",
    "RateTableInvalid",
    "Segment",
    "SmallClaimsCheck",
    "SmallClaimsRequest",
    "Statement",
    "Suspension",
    "TermWarning",
    "UnsupportedPostalCode",
    "add_months",
    "b2b_penalties",
    "build_statement",
    "calendar_for_postal_code",
    "calendar_for_subdivision",
    "check_payment_terms",
    "compute_prescription",
    "consumer_interest",
    "court_claim_prescription",
    "deadline_in_days",
    "deadline_in_months",
    "deadline_in_years",
    "enforcement_prescription",
    "first_day_after",
    "half_year_of",
    "impute_payments",
    "is_prescribed",
    "load_rate_table",
    "parse_debtor_kind",
    "prescription_for_debtor",
    "public_interest",
    "quadriennale_prescription",
    "small_claims_eligibility",
    "small_claims_for_statement",
    "small_claims_request",
    "statutory_due_date",
]
