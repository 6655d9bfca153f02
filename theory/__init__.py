"""Replica theory of binary neural networks: free entropies, saddle points, thresholds."""

from .binary_perceptron import PERFECT_GENERALIZATION as PERFECT_GENERALIZATION
from .binary_perceptron import RSOrderParams as RSOrderParams
from .binary_perceptron import TSOrderParams as TSOrderParams
from .binary_perceptron import follow_teacher_student as follow_teacher_student
from .binary_perceptron import free_entropy_bayes as free_entropy_bayes
from .binary_perceptron import free_entropy_storage as free_entropy_storage
from .binary_perceptron import free_entropy_teacher_student as free_entropy_teacher_student
from .binary_perceptron import gen_error as gen_error
from .binary_perceptron import replicon as replicon
from .binary_perceptron import saddle_bayes as saddle_bayes
from .binary_perceptron import saddle_storage as saddle_storage
from .binary_perceptron import saddle_teacher_student as saddle_teacher_student
from .binary_perceptron import solve_storage as solve_storage
from .binary_perceptron import solve_teacher_student as solve_teacher_student
from .binary_perceptron import stability_density as stability_density
from .binary_perceptron import stability_quadrature as stability_quadrature
from .solve import SaddleSolution as SaddleSolution
from .solve import continue_branch as continue_branch
from .thresholds import Threshold as Threshold
from .thresholds import storage_capacity as storage_capacity
from .thresholds import storage_rs_instability as storage_rs_instability
from .thresholds import teacher_student_transitions as teacher_student_transitions
