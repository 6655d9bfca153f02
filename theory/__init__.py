"""Replica theory of binary neural networks: one engine (``theory.engine``: saddle points,
continuation, thresholds, status), the models that plug into it (``theory.models``), the
local-entropy methods over them (``theory.local_entropy``) and the dynamics
(``theory.dynamics``). The names used most are re-exported here."""

from .engine import ReplicaModel as ReplicaModel
from .engine import SaddleSolution as SaddleSolution
from .engine import Status as Status
from .engine import Threshold as Threshold
from .engine import follow as follow
from .engine import saddle as saddle
from .engine import solve_threshold as solve_threshold
from .engine import threshold_on_branch as threshold_on_branch
from .models.perceptron import PERFECT_GENERALIZATION as PERFECT_GENERALIZATION
from .models.perceptron import BayesRS as BayesRS
from .models.perceptron import RSOrderParams as RSOrderParams
from .models.perceptron import StorageRS as StorageRS
from .models.perceptron import TeacherStudentRS as TeacherStudentRS
from .models.perceptron import TSOrderParams as TSOrderParams
from .models.perceptron import follow_teacher_student as follow_teacher_student
from .models.perceptron import free_entropy_bayes as free_entropy_bayes
from .models.perceptron import free_entropy_storage as free_entropy_storage
from .models.perceptron import free_entropy_teacher_student as free_entropy_teacher_student
from .models.perceptron import gen_error as gen_error
from .models.perceptron import replicon as replicon
from .models.perceptron import saddle_bayes as saddle_bayes
from .models.perceptron import saddle_storage as saddle_storage
from .models.perceptron import saddle_teacher_student as saddle_teacher_student
from .models.perceptron import solve_storage as solve_storage
from .models.perceptron import solve_teacher_student as solve_teacher_student
from .models.perceptron import stability_density as stability_density
from .models.perceptron import stability_quadrature as stability_quadrature
from .models.thresholds import storage_capacity as storage_capacity
from .models.thresholds import storage_rs_instability as storage_rs_instability
from .models.thresholds import teacher_student_transitions as teacher_student_transitions
from .models.margins import MarginEntropy as MarginEntropy
from .models.margins import MaximalMargin as MaximalMargin
from .models.margins import kappa_max as kappa_max
from .models.margins import margin_entropy as margin_entropy
from .models.random_features import RFMaximalMargin as RFMaximalMargin
from .models.random_features import RFOrderParams as RFOrderParams
from .models.random_features import follow_rf as follow_rf
from .models.random_features import free_entropy_rf as free_entropy_rf
from .models.random_features import gen_error_rf as gen_error_rf
from .models.random_features import replicon_rf as replicon_rf
from .models.random_features import rf_interpolation_threshold as rf_interpolation_threshold
from .models.random_features import rf_kappa_max as rf_kappa_max
from .models.random_features import saddle_rf as saddle_rf
from .models.random_features import solve_rf as solve_rf
from .models.committee import CommitteeRS as CommitteeRS
from .models.committee import committee_capacity as committee_capacity
from .models.committee import committee_kappa_max as committee_kappa_max
from .models.committee import free_entropy_committee as free_entropy_committee
from .models.committee import saddle_committee as saddle_committee
from .models.committee import solve_committee as solve_committee
from .models.committee import CommitteeTeacherStudentRS as CommitteeTeacherStudentRS
from .models.committee import committee_gen_error as committee_gen_error
from .models.committee import (
    free_entropy_committee_teacher_student as free_entropy_committee_teacher_student)
from .models.committee import saddle_committee_teacher_student as saddle_committee_teacher_student
from .models.committee import solve_committee_teacher_student as solve_committee_teacher_student
from .models.committee import committee_replicon as committee_replicon
from .models.committee import committee_rs_instability as committee_rs_instability
from .local_entropy.franz_parisi import franz_parisi_curve as franz_parisi_curve
from .local_entropy.franz_parisi import monotonicity_threshold as monotonicity_threshold
from .local_entropy.large_deviation import large_deviation_curve as large_deviation_curve
from .local_entropy.large_deviation import sigma_zero_curve as sigma_zero_curve
from .local_entropy.large_deviation_limit import (
    large_deviation_limit_curve as large_deviation_limit_curve)
from .local_entropy.large_deviation_limit import (
    large_deviation_threshold as large_deviation_threshold)
from .dynamics.state_evolution import StateEvolution as StateEvolution
from .dynamics.state_evolution import channel_q_hat as channel_q_hat
from .dynamics.state_evolution import clipped_overlap as clipped_overlap
from .dynamics.state_evolution import prior_q as prior_q
from .dynamics.state_evolution import state_evolution as state_evolution
