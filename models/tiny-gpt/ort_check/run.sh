#!/bin/sh
# Optional check: runs the exported model.onnx with the ONNX Runtime Java API (jar from the
# local Maven repository) and compares it with torch (batch of 3 left-padded prompts with an
# empty past, then a 1-token and a 3-token cached step).
# usage: models/tiny-gpt/ort_check/run.sh [OUT_DIR [CHECKPOINT]]
set -e
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../../.." && pwd)
OUT=${1:-$ROOT/bundles/models/tiny-gpt/src/main/resources/models/tiny-gpt}
CKPT=${2:-$HERE/../work/model.pt}
CASE=$HERE/../work/ort_check
ORT=$(ls ~/.m2/repository/com/microsoft/onnxruntime/onnxruntime/*/onnxruntime-*.jar | grep -v sources | sort -V | tail -1)
GSON=$(ls ~/.m2/repository/com/google/code/gson/gson/*/gson-*.jar | grep -v sources | sort -V | tail -1)
/usr/bin/python3 "$HERE/make_case.py" "$OUT" "$CKPT" "$CASE"
mkdir -p "$CASE/classes"
javac -d "$CASE/classes" -cp "$ORT:$GSON" "$HERE/OrtCheck.java"
cd "$CASE" && java -cp "$ORT:$GSON:$CASE/classes" OrtCheck
