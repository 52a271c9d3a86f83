/// Diagnosis: estimates per-PE fault rates of a black-box device, and creates
/// synthetic devices the paper's way.
public enum HASDiagnosis {}
