#!/usr/bin/env bash
# Packs what bench/gpu/run.sh needs on a GPU machine that has no Node.js, into out/gpu/ (ignored):
#   node.tar.xz       this machine's Node.js binary (x86-64 Linux)
#   herograd.tar.xz   the compiled benchmarks and library (dist/src, dist/bench, the kernel checks
#                     bench/gpu/check loads from dist/test) and the runtime packages they load
#                     (webgpu's Linux x64 Dawn build, debug, ms)
#   ops.json          test/fixtures/ops.json, for `hero selftest ops` on the GPU
#   *.deb             the Vulkan loader (libvulkan1) and glvnd, for machines whose image has none
# Run after `npm run build` (or `npx tsc -p tsconfig.json` and the wasm build).
set -euo pipefail
cd "$(dirname "$0")/../.."
[ -f dist/bench/gpu/check.js ] || { echo "pack: build first (npm run build)" >&2; exit 1; }
out=out/gpu
rm -rf "$out" && mkdir -p "$out"
node_bin=$(readlink -f "$(command -v node)")
tar -C "$(dirname "$node_bin")" -cJf "$out/node.tar.xz" "$(basename "$node_bin")"
tar -cJf "$out/herograd.tar.xz" package.json dist/src dist/bench dist/test/webgpu-lane-cases.js \
  node_modules/webgpu/package.json node_modules/webgpu/index.js node_modules/webgpu/dist/linux-x64 \
  node_modules/debug node_modules/ms
cp test/fixtures/ops.json "$out/ops.json"
# libGLX_nvidia (the NVIDIA Vulkan driver) needs glvnd's dispatch libraries beside the loader.
(cd "$out" && apt-get download libvulkan1 libglvnd0 libglx0 libegl1 libgl1 libgles2 libopengl0 >/dev/null)
ls -la "$out"
