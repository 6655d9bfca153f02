"""Dynamics: DMFT of two-layer gradient flow, its limits, and AMP state evolution."""

from .dmft import DMFTBlowUpError as DMFTBlowUpError
from .dmft import DMFTSolution as DMFTSolution
from .dmft import solve_dmft as solve_dmft
from .dmft_limits import MeanFieldTrajectory as MeanFieldTrajectory
from .dmft_limits import solve_mean_field as solve_mean_field
from .dmft_limits import mean_field_error as mean_field_error
from .dmft_limits import lazy_short_time_error as lazy_short_time_error
from .dmft_limits import lazy_short_time_overlap as lazy_short_time_overlap
from .dmft_limits import lazy_plateau_test_error as lazy_plateau_test_error
from .state_evolution import StateEvolution as StateEvolution
from .state_evolution import state_evolution as state_evolution
from .state_evolution import channel_q_hat as channel_q_hat
from .state_evolution import prior_q as prior_q
from .state_evolution import clipped_overlap as clipped_overlap
