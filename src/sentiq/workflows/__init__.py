"""The end-to-end functions behind the CLI, one module per verb.

Each takes plain arguments, returns plain results and never prints, so a notebook,
the CLI and the service all run the same code. This is the top layer: nothing under
``sentiq`` except the CLI imports it.

=================  ==================================================================
module             functions
=================  ==================================================================
``train``          :func:`train` (and ``TrainResult``, ``work_dir_for``, ``augmented_training_split``)
``compare``        :func:`compare`
``evaluate``       :func:`evaluate`, :func:`evaluate_behaviour`
``calibrate``      :func:`calibrate`
``route``          :func:`route`
``serve``          :func:`serve`
``predict``        :func:`predict_to_file`
``inspect``        :func:`inspect_data`
``trust``          :func:`trust_sections`, :func:`fairness_check` (report sections train and evaluate share)
``common``         ``ProgressFn``, headline metrics, preprocessing profile choice
=================  ==================================================================
"""

from sentiq.data import evaluation_frame, read_texts  # their home is sentiq.data; kept here for old imports
from sentiq.workflows.calibrate import calibrate
from sentiq.workflows.common import ProgressFn
from sentiq.workflows.compare import compare
from sentiq.workflows.evaluate import BehaviourResult, evaluate, evaluate_behaviour
from sentiq.workflows.inspect import inspect_data
from sentiq.workflows.predict import predict_to_file
from sentiq.workflows.route import route
from sentiq.workflows.serve import serve
from sentiq.workflows.train import TrainResult, augmented_training_split, train, work_dir_for
from sentiq.workflows.trust import fairness_check, trust_sections

__all__ = ["BehaviourResult", "ProgressFn", "TrainResult", "augmented_training_split", "calibrate", "compare",
           "evaluate", "evaluate_behaviour", "evaluation_frame", "fairness_check", "inspect_data",
           "predict_to_file", "read_texts", "route", "serve", "train", "trust_sections", "work_dir_for"]
