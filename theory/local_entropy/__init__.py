"""Local entropy around reference solutions: Franz-Parisi (uniform references) and large
deviations (references weighted by their local entropy, finite y and y -> infinity), as
methods over models (``LocalEntropyQuery``: a task's free entropy around references)."""

from .franz_parisi import LocalEntropyQuery as LocalEntropyQuery
from .franz_parisi import LocalEntropyModel as LocalEntropyModel
from .franz_parisi import FranzParisiQuery as FranzParisiQuery
from .franz_parisi import FranzParisiStorage as FranzParisiStorage
from .franz_parisi import FranzParisiCurve as FranzParisiCurve
from .franz_parisi import MonotonicityThreshold as MonotonicityThreshold
from .franz_parisi import franz_parisi_curve as franz_parisi_curve
from .franz_parisi import follow_curve as follow_curve
from .franz_parisi import monotonicity_threshold as monotonicity_threshold
from .franz_parisi import SweepThreshold as SweepThreshold
from .franz_parisi import sweep_monotonicity_threshold as sweep_monotonicity_threshold
from .franz_parisi import interior_minimum as interior_minimum
from .franz_parisi import reference_saddle as reference_saddle
from .franz_parisi_teacher import FranzParisiTeacherStudent as FranzParisiTeacherStudent
from .franz_parisi_teacher import reference_saddle_ts as reference_saddle_ts
from .rf_franz_parisi import RFFranzParisi as RFFranzParisi
from .rf_franz_parisi import rf_franz_parisi_curve as rf_franz_parisi_curve
from .rf_franz_parisi import rf_franz_parisi_max_margin as rf_franz_parisi_max_margin
from .rf_franz_parisi import rf_atypical_threshold as rf_atypical_threshold
from .large_deviation import LargeDeviationStorage as LargeDeviationStorage
from .large_deviation import LargeDeviationTeacherStudent as LargeDeviationTeacherStudent
from .large_deviation import LargeDeviationModel as LargeDeviationModel
from .large_deviation import large_deviation_curve as large_deviation_curve
from .large_deviation import sigma_zero_curve as sigma_zero_curve
from .large_deviation_limit import large_deviation_limit_curve as large_deviation_limit_curve
from .large_deviation_limit import large_deviation_threshold as large_deviation_threshold
from .large_deviation_limit import limit_branch as limit_branch
from .rf_large_deviation_limit import (
    rf_large_deviation_limit_curve as rf_large_deviation_limit_curve)
from .rf_large_deviation_limit import rf_large_deviation_threshold as rf_large_deviation_threshold
from .rf_large_deviation_limit import rf_limit_branch as rf_limit_branch
from .committee_franz_parisi import committee_query as committee_query
from .committee_franz_parisi import CommitteeFPQuadrature as CommitteeFPQuadrature
from .committee_franz_parisi import energetic_committee_fp as energetic_committee_fp
from .committee_franz_parisi import free_entropy_committee_fp as free_entropy_committee_fp
