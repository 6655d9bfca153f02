"""atypical: replica theory and vectorized simulation of binary neural networks.

Importing the package turns on float64 in JAX (the theory needs it) unless the user set
``JAX_ENABLE_X64`` explicitly; simulation code passes explicit dtypes (float32 default).
"""

import os

import jax

if "JAX_ENABLE_X64" not in os.environ:
    jax.config.update("jax_enable_x64", True)

from .errors import ParameterError as ParameterError
from .errors import SaddlePointError as SaddlePointError
from .errors import checked as checked
from .errors import require_x64 as require_x64
from .gaussian import H as H
from .gaussian import gauss_mean as gauss_mean
from .gaussian import log_2cosh as log_2cosh
from .gaussian import log_H as log_H
from .observables import bayes_optimal_gen_error as bayes_optimal_gen_error
from .observables import flip_error_probability as flip_error_probability
from .observables import gen_error_from_overlap as gen_error_from_overlap
from .observables import hamming_to_overlap as hamming_to_overlap
from .observables import local_energy as local_energy
from .observables import multiplicative_noise_local_energy as multiplicative_noise_local_energy
from .observables import output_margins as output_margins
from .observables import overlap_to_hamming as overlap_to_hamming
from .observables import params_per_example as params_per_example
from .observables import train_error as train_error
from .observables import tree_committee_gen_error as tree_committee_gen_error
from .problems import BinaryStorage as BinaryStorage
from .problems import RandomFeatures as RandomFeatures
from .problems import TeacherStudent as TeacherStudent
from .problems import TreeCommittee as TreeCommittee
from .problems import TreeCommitteeTeacherStudent as TreeCommitteeTeacherStudent
from .problems import TwoLayerGradientFlow as TwoLayerGradientFlow
from .problems import two_layer_preset as two_layer_preset
from .problems import f64 as f64
