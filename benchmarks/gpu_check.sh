#!/usr/bin/env bash
# One call on a lent GPU machine (see the device tool): checks the CUDA path and times it.
# Usage there:  bash benchmarks/gpu_check.sh   (writes logs under $OUT when set, else ./gpu-check/)
# Budget: about 10 minutes of device time after the install (steps 5-7 added by issue 19: about 5 more).
set -uo pipefail
out=${OUT:-gpu-check}; mkdir -p "$out"
export PYTHONUNBUFFERED=1 MEDLT_CACHE=/tmp/medlt-cache
python3 -m venv /tmp/venv && . /tmp/venv/bin/activate
pip install -q -c constraints.txt -e ".[test]" 2>&1 | tail -2
python - <<'PY' 2>&1 | tee "$out/device.txt"
import torch; print("cuda", torch.cuda.is_available(), torch.cuda.get_device_name(0) if torch.cuda.is_available() else "")
PY
# 1. the test suite on the GPU machine (CPU tests; CUDA is not required by them)
timeout 300 python -m pytest -q -x tests/methods/test_conformance.py 2>&1 | tail -3 | tee "$out/tests.txt"
# 2. training input throughput on the GPU vs per-image PIL with all cores
timeout 120 python benchmarks/input_pipeline.py --device cuda --images 1024 --workers "$(nproc)" 2>&1 | tee "$out/input.txt"
# 3. the whole default grid on CUDA (bf16 autocast, channels-last), timed, then re-run (should skip everything)
( time timeout 400 python -m benchmark run --all --device cuda --results /tmp/gpu-results --quiet --no-site ) \
    > "$out/run_all.txt" 2>&1; tail -35 "$out/run_all.txt"
# 4. the paper pipeline at 224 px on ResNet-50 (random init; 2 short epochs) to time one epoch's steps
sed -e 's/^name = "paper"/name = "paper-gpu-check"/' -e 's/^pretrained = true/pretrained = false/' \
    -e 's/^epochs = 100/epochs = 2\nmax_steps_per_epoch = 20/' -e 's/^stage2_epochs = 10/stage2_epochs = 1/' \
    benchmark/protocols/paper.toml > /tmp/paper-gpu-check.toml
( time timeout 300 python -m benchmark run --method CE --method "CE+SC->cRW" --method BBN --method BCL --method "CE->LWS" --seeds 0 \
    --protocol /tmp/paper-gpu-check.toml --backbone resnet50 --device cuda --results /tmp/gpu-paper --quiet --no-site ) \
    > "$out/paper_resnet50.txt" 2>&1; tail -12 "$out/paper_resnet50.txt"
# 5. the GPU's memory per training step of the paper protocol (ResNet-50, 224 px, bf16), per kind of row
timeout 240 python benchmarks/memory.py --device cuda --protocols paper 2>&1 | tee "$out/memory_paper.txt"
# 6. the projection of the paper grid (counted FLOPs; compare its images/s with step 4's measured throughput)
timeout 120 python benchmarks/projection.py 2>&1 | tee "$out/projection.txt"
# 7. the CPU's bf16 path and the paper pipeline test (every row in bf16 vs float32; ResNet-50 at 224 px)
timeout 600 python -m pytest -q -x tests/benchmark/grid/test_every_method_runs.py tests/benchmark/grid/test_paper_pipeline.py \
    2>&1 | tail -3 | tee "$out/bf16_paper_tests.txt"
