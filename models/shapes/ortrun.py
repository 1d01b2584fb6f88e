"""Run an exported ONNX model with the real ONNX Runtime through its Java API.

Debian's python3-onnx 1.12 has neither onnxruntime nor onnx.reference, so our export
checks call ONNX Runtime's Java API (the jar the Triptych build already has in ~/.m2)
through ort/OrtRun.java (Java 17 single-file launch). `available()` says whether that works.

    outs = ortrun.run("model.onnx", {"pixels": np_float32_array, ...})   # -> {name: ndarray}
"""
import glob
import os
import shutil
import subprocess
import tempfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
JAVA_SRC = os.path.join(HERE, "ort", "OrtRun.java")


def _jar():
    jars = sorted(glob.glob(os.path.expanduser(
        "~/.m2/repository/com/microsoft/onnxruntime/onnxruntime/*/onnxruntime-*.jar")))
    jars = [j for j in jars if not j.endswith(("-sources.jar", "-javadoc.jar"))]
    return jars[-1] if jars else None


def available():
    return _jar() is not None and shutil.which("java") is not None


def run(model_path, inputs):
    d = tempfile.mkdtemp(prefix="ortrun-")
    try:
        lines = []
        for i, (name, arr) in enumerate(inputs.items()):
            arr = np.ascontiguousarray(arr)
            dtype = {np.dtype(np.float32): "float32", np.dtype(np.int64): "int64"}[arr.dtype]
            fn = "in_%d.bin" % i
            arr.astype(arr.dtype.newbyteorder("<")).tofile(os.path.join(d, fn))
            shape = ",".join(str(s) for s in arr.shape) or "-"
            lines.append("%s %s %s %s" % (name, dtype, shape, fn))
        with open(os.path.join(d, "inputs.txt"), "w") as f:
            f.write("\n".join(lines) + "\n")
        r = subprocess.run(["java", "-cp", _jar(), JAVA_SRC, os.path.abspath(model_path), d],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        if r.returncode != 0:
            raise RuntimeError("ONNX Runtime failed on %s:\n%s" % (model_path, r.stderr.decode(errors="replace")[-3000:]))
        outs = {}
        with open(os.path.join(d, "outputs.txt")) as f:
            for line in f:
                name, dtype, shape, fn = line.split()
                shape = [] if shape == "-" else [int(s) for s in shape.split(",")]
                outs[name] = np.fromfile(os.path.join(d, fn), dtype="<" + {"float32": "f4", "int64": "i8"}[dtype]).reshape(shape)
        return outs
    finally:
        shutil.rmtree(d, ignore_errors=True)
