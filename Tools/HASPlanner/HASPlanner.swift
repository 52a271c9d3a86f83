/// The offline planner: chooses each layer's row permutation for a fault
/// profile (GA, assignment, hybrid) and analyses layer sensitivity.
public enum HASPlanner {}
