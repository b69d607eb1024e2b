#!/usr/bin/env bash
# One prepared run on a machine with an NVIDIA GPU: bench/matmul and bench/gpt2-124m on the webgpu
# backend (Dawn's Vulkan backend, core feature level) beside PyTorch on CUDA on the same machine.
#
# Needs the repository with out/gpu/ from bench/gpu/pack.sh (Node, the compiled code, the Vulkan
# loader), or node + a built dist/ + node_modules; and python3 with torch (CUDA) for the reference.
# HERO_GPU_QUICK=1 runs tiny sizes with whatever adapter exists (a dry run of the script itself).
set -uo pipefail
cd "$(dirname "$0")/../.."
bundle=out/gpu
work=${HERO_GPU_WORK:-/tmp/herograd-gpu}
mkdir -p "$work"

if ! command -v node >/dev/null; then
  mkdir -p "$work/bin" && tar -C "$work/bin" -xJf "$bundle/node.tar.xz" && export PATH="$work/bin:$PATH"
fi
if [ ! -f dist/bench/matmul.js ] || [ ! -f node_modules/webgpu/index.js ]; then
  tar -xJf "$bundle/herograd.tar.xz"
fi
# The Vulkan loader, unpacked beside (not over) the system's libraries.
if ! ldconfig -p | grep -q 'libvulkan.so.1 ' || ! ldconfig -p | grep -q 'libGLdispatch.so.0 '; then
  for f in "$bundle"/*.deb; do dpkg -x "$f" "$work/vk"; done
  export LD_LIBRARY_PATH="$work/vk/usr/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
fi
# NVIDIA's Vulkan driver manifest where the container mounts the driver outside the usual folders.
nvidia_icd=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
if [ -z "${VK_DRIVER_FILES:-}" ] && [ -f "$nvidia_icd" ]; then
  export VK_DRIVER_FILES="$nvidia_icd" VK_ICD_FILENAMES="$nvidia_icd"
fi

echo "== machine"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null || echo "no nvidia-smi"
echo "node $(node --version); $(python3 -c 'import torch; print("torch", torch.__version__, "cuda", torch.cuda.is_available())' 2>&1 | tail -1)"
echo "Vulkan driver manifests: $(ls /usr/share/vulkan/icd.d /etc/vulkan/icd.d /usr/local/nvidia/share/vulkan/icd.d 2>/dev/null | tr '\n' ' ')"
export HERO_VERBOSE_BACKEND=1
if [ -n "${HERO_GPU_QUICK:-}" ]; then
  torch_device=cpu
  matmul_sizes=64,128
  gpt=(--layers 1 --vocab 4096 --seq 16 --decode-tokens 2 --prompt 4 --train-steps 1 --train-batch 1 --train-seq 16)
else
  export HERO_WEBGPU_BACKEND=vulkan
  torch_device=cuda
  matmul_sizes=1024,2048,4096,4096x768x768,4096x768x3072
  gpt=(--seq 1024 --decode-tokens 64 --prompt 8 --train-steps 5 --train-batch 4 --train-seq 256)
fi

echo "== adapter"
node --input-type=module -e '
  const { createNodeWebGpuBackend } = await import(process.cwd() + "/dist/src/backend/webgpu/node.js");
  try { const b = await createNodeWebGpuBackend(); console.log("webgpu adapter:", b.description); process.exit(0); }
  catch (e) { console.log("webgpu: no adapter:", e.message); process.exit(1); }' || exit 1
echo "== bench/matmul (webgpu vs PyTorch $torch_device)"
node dist/bench/matmul.js --backend webgpu --sizes "$matmul_sizes" --peers torch --torch-device "$torch_device" --seconds 1
echo "== bench/gpt2-124m (webgpu vs PyTorch $torch_device)"
node dist/bench/gpt2-124m.js --backend webgpu --torch-device "$torch_device" "${gpt[@]}"
