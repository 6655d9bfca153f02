"""The engine every model and method uses: one root finder (``BoxNewton``), saddle points
and their continuation, thresholds, and the results contract (``Status``,
``SaddleSolution``, ``Threshold``, ``raise_unconverged``)."""

from .model import LineSearchModel as LineSearchModel
from .model import ReplicaModel as ReplicaModel
from .newton import BoxNewton as BoxNewton
from .newton import MAX_NEWTON_STEPS as MAX_NEWTON_STEPS
from .newton import Root as Root
from .newton import damped_fixed_point as damped_fixed_point
from .newton import solve_root as solve_root
from .results import RESIDUAL_TOL as RESIDUAL_TOL
from .results import SaddleSolution as SaddleSolution
from .results import Solved as Solved
from .results import Status as Status
from .results import Threshold as Threshold
from .results import blank_unconverged as blank_unconverged
from .results import check as check
from .results import checked_grid as checked_grid
from .results import demote as demote
from .results import raise_unconverged as raise_unconverged
from .results import residual_norm as residual_norm
from .results import select as select
from .results import status_from as status_from
from .saddle import Continuation as Continuation
from .saddle import continue_to as continue_to
from .saddle import follow as follow
from .saddle import saddle as saddle
from .saddle import solution_at as solution_at
from .saddle import stationarity as stationarity
from .saddle import tangent as tangent
from .threshold import augmented as augmented
from .threshold import branch_sweep as branch_sweep
from .threshold import entropy as entropy
from .threshold import hessian_determinant as hessian_determinant
from .threshold import last_before as last_before
from .threshold import solve_threshold as solve_threshold
from .threshold import threshold_on_branch as threshold_on_branch
from .threshold import LOG_ALPHA as LOG_ALPHA
from .threshold import MARGIN as MARGIN
from .threshold import Control as Control
from .threshold import along as along
