from sentiq.inference.predictor import Prediction, Predictor

__all__ = ["Prediction", "Predictor"]
