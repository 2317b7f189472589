"""An AR System REST API simulator (COM:Company, CTM:People) for development, tests and demos."""

from .data import (
    COMPANY_FORM,
    DEFAULT_ANCHOR,
    GLOBAL_COMPANY,
    PEOPLE_FORM,
    PROVIDER_COMPANY,
    format_ar_datetime,
    generate_dataset,
    parse_ar_datetime,
)
from .qualification import QualificationError, compile_qualification
from .server import ARError, Faults, Simulator

__all__ = [
    "COMPANY_FORM",
    "DEFAULT_ANCHOR",
    "GLOBAL_COMPANY",
    "PEOPLE_FORM",
    "PROVIDER_COMPANY",
    "ARError",
    "Faults",
    "QualificationError",
    "Simulator",
    "compile_qualification",
    "format_ar_datetime",
    "generate_dataset",
    "parse_ar_datetime",
]
