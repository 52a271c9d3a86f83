/// The trainer: backpropagation for the runtime's layers, SGD/Adam, bundles with provenance.
public enum HASTraining {}
