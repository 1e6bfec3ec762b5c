{
  "targets": [
    {
      "target_name": "raftledger",
      "sources": [
        "native/addon.cc",
        "native/crc32c.cc",
        "native/segment.cc",
        "native/scan.cc",
        "native/flusher.cc",
        "native/sync-pool.cc",
        "native/release.cc"
      ],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NODE_ADDON_API_DISABLE_DEPRECATED", "NODE_ADDON_API_CPP_EXCEPTIONS", "NODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS"],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions"],
      "cflags_cc": ["-std=c++17", "-O3", "-Wall", "-Wextra", "-fexceptions"],
      # x64: no global -msse4.2/-mpclmul. The hardware CRC32C functions carry
      # __attribute__((target(...))) and are chosen at run time (__builtin_cpu_supports).
      "conditions": [
        ["target_arch=='arm64'", { "cflags_cc": ["-march=armv8-a+crc+crypto"] }]
      ]
    }
  ]
}
