#!/usr/bin/env bash
# One prepared run on a machine with an NVIDIA GPU (a few minutes; well under 8): the webgpu
# kernels checked on the real adapter, then bench/matmul and bench/gpt2-124m on webgpu (Dawn's
# Vulkan backend, core feature level) beside PyTorch on CUDA on the same machine, then the
# figures issue 15 asks for side by side: float32 matmul 4096³ (PyTorch without TF32), GPT-2
# 124M training tokens/s against PyTorch eager, decode tokens/s.
#
# Needs the repository with out/gpu/ from bench/gpu/pack.sh (Node, the compiled code, the Vulkan
# loader), or node + a built dist/ + node_modules; and python3 with torch (CUDA) for the reference.
# HERO_GPU_QUICK=1 runs tiny sizes with whatever adapter exists (a dry run of the script itself).
# Logs go to $HERO_GPU_WORK (default /tmp/herograd-gpu); copy them to $OUT where that is set.
set -uo pipefail
cd "$(dirname "$0")/../.."
bundle=out/gpu
work=${HERO_GPU_WORK:-/tmp/herograd-gpu}
mkdir -p "$work"

if ! command -v node >/dev/null; then
  mkdir -p "$work/bin" && tar -C "$work/bin" -xJf "$bundle/node.tar.xz" && export PATH="$work/bin:$PATH"
fi
if [ ! -f dist/bench/gpu/check.js ] || [ ! -f node_modules/webgpu/index.js ]; then
  tar -xJf "$bundle/herograd.tar.xz"
fi
# The Vulkan loader, unpacked beside (not over) the system's libraries, where the image has none.
if compgen -G "$bundle/*.deb" >/dev/null &&
  { ! ldconfig -p | grep -q 'libvulkan.so.1 ' || ! ldconfig -p | grep -q 'libGLdispatch.so.0 '; }; then
  for f in "$bundle"/*.deb; do dpkg -x "$f" "$work/vk"; done
  export LD_LIBRARY_PATH="$work/vk/usr/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
fi
# NVIDIA's Vulkan driver manifest where the container mounts the driver outside the usual folders.
nvidia_icd=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
if [ -z "${VK_DRIVER_FILES:-}" ] && [ -f "$nvidia_icd" ]; then
  export VK_DRIVER_FILES="$nvidia_icd" VK_ICD_FILENAMES="$nvidia_icd"
fi
# The python with torch, as the benchmarks find it.
python=
for p in "${HERO_PYTHON:-}" python3 /usr/bin/python3; do
  if [ -n "$p" ] && "$p" -c 'import torch' 2>/dev/null; then python=$p && break; fi
done

echo "== machine"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null || echo "no nvidia-smi"
echo "node $(node --version); ${python:-no python with torch}$([ -n "$python" ] && "$python" -c 'import torch; print(" torch", torch.__version__, "cuda", torch.cuda.is_available())')"
echo "Vulkan driver manifests: $(ls /usr/share/vulkan/icd.d /etc/vulkan/icd.d /usr/local/nvidia/share/vulkan/icd.d 2>/dev/null | tr '\n' ' ')"
export HERO_VERBOSE_BACKEND=1
if [ -n "${HERO_GPU_QUICK:-}" ]; then
  torch_device=cpu
  check=(--quick)
  matmul_sizes=64,128
  gpt=(--layers 1 --vocab 4096 --seq 16 --decode-tokens 2 --prompt 4 --train-steps 1 --train-batch 1 --train-seq 16)
else
  export HERO_WEBGPU_BACKEND=vulkan
  torch_device=cuda
  check=()
  matmul_sizes=1024,2048,4096,4096x768x768,4096x768x3072
  gpt=(--seq 1024 --decode-tokens 64 --prompt 8 --train-steps 5 --train-batch 4 --train-seq 256)
fi
[ "$torch_device" = cpu ] && echo "PyTorch on the CPU runs with OPENBLAS_CORETYPE=SkylakeX (set by the benchmarks)"

echo "== the kernels on this adapter (bench/gpu/check)"
node dist/bench/gpu/check.js "${check[@]}" 2>&1 | tee "$work/check.log" | grep -v '^Warning\|XDG_RUNTIME_DIR\|^ - While\|^    at \|^$' || echo "(the check failed: figures below may be wrong)"
if [ -f "$bundle/ops.json" ] || [ -f test/fixtures/ops.json ]; then
  ops=$([ -f "$bundle/ops.json" ] && echo "$bundle/ops.json" || echo test/fixtures/ops.json)
  node dist/src/cli/main.js selftest ops "$ops" --backend webgpu 2>&1 | grep -E 'cases on|passed|FAIL' | head -20
fi
echo "== bench/matmul (webgpu vs PyTorch $torch_device)"
node dist/bench/matmul.js --backend webgpu --sizes "$matmul_sizes" --peers torch --torch-device "$torch_device" --seconds 1 2>&1 |
  tee "$work/matmul.log" | grep -v '^Warning\|XDG_RUNTIME_DIR\|^ - While\|^    at \|^$'
echo "== bench/gpt2-124m (webgpu vs PyTorch $torch_device)"
node dist/bench/gpt2-124m.js --backend webgpu --torch-device "$torch_device" "${gpt[@]}" 2>&1 |
  tee "$work/gpt2.log" | grep -v '^Warning\|XDG_RUNTIME_DIR\|^ - While\|^    at \|^$'
echo "== herograd webgpu vs PyTorch $torch_device (issue 15's targets)"
node dist/bench/gpu/summary.js "$work/matmul.log" "$work/gpt2.log"
[ -n "${OUT:-}" ] && cp "$work"/*.log "$OUT"/ 2>/dev/null
exit 0
