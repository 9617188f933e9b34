"""Training of the harm classifier heads: dataset loaders (``datasets``) and the training script (``train``)."""
