"""Finite-N simulation: data, exact enumeration, vectorized training, measurements."""

from .data import Dataset as Dataset
from .data import n_examples as n_examples
from .data import sample_storage as sample_storage
from .data import sample_teacher_student as sample_teacher_student
from .data import sample_test_set as sample_test_set
from .enumerate import EnumerationResult as EnumerationResult
from .enumerate import enumerate_instances as enumerate_instances
from .enumerate import enumerate_solutions as enumerate_solutions
from .enumerate import sample_instances as sample_instances
from .measure import flip_random_weights as flip_random_weights
from .measure import gen_error as gen_error
from .measure import local_energy_by_flips as local_energy_by_flips
from .measure import local_energy_large_N as local_energy_large_N
from .measure import mean_sem as mean_sem
from .measure import stabilities as stabilities
from .measure import teacher_overlap as teacher_overlap
from .measure import test_error as test_error
from .measure import training_error as training_error
from .sgd import SGDConfig as SGDConfig
from .sgd import SGDResult as SGDResult
from .sgd import example_loss as example_loss
from .sgd import train_one as train_one
from .sgd import train_replicas as train_replicas
