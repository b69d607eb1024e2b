{
  "target_defaults": {
    "cflags_cc!": ["-fno-exceptions", "-std=gnu++17", "-std=gnu++14", "-O2"],
    "cflags_cc": ["-std=c++20", "-O3", "-fno-math-errno", "-Wall", "-Wextra", "-Wno-unused-parameter",
                  "-Wno-maybe-uninitialized", "-Wno-psabi"]
  },
  "targets": [
    {
      "target_name": "herograd",
      "dependencies": ["optim_norm"],
      "sources": ["src/addon.cc", "src/team.cc", "src/gemm_avx512.cc", "src/gemm_avx2.cc"]
    },
    {
      "target_name": "optim_norm",
      "type": "static_library",
      "cflags_cc": ["-ffp-contract=off", "-fPIC"],
      "sources": ["src/optim_norm.cc"]
    }
  ]
}
