package io.triptych.backend.opencl;

/** The implementation of one ONNX operator: reads the node's inputs from the run, places its outputs. */
@FunctionalInterface
interface Op {
    void run(Exec x, Node n);
}
