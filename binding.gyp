{
  "targets": [{
    "target_name": "gptune",
    "sources": ["<!@(node -p \"require('fs').readdirSync('native/src',{recursive:true}).filter(f=>f.endsWith('.cc')&&!f.startsWith('mpi')).sort().map(f=>'native/src/'+f).join(' ')\")"],
    "include_dirs": ["native/src"],
    "cflags!": ["-fno-exceptions", "-O2"],
    "cflags_cc!": ["-fno-exceptions", "-fno-rtti", "-O2"],
    "cflags": ["-O3", "-pthread", "-fvisibility=hidden", "-fno-math-errno"],
    "cflags_cc": ["-O3", "-std=c++17", "-fexceptions", "-pthread", "-fvisibility=hidden", "-fno-math-errno"],
    "ldflags": ["-pthread"],
    "defines": ["NAPI_VERSION=8"]
  }],
  "conditions": [
    ["'<!(node scripts/mpi-flags.mjs found)'=='1'", {
      "targets": [{
        "target_name": "gptune_mpi",
        "sources": ["native/src/mpi/mpi_addon.cc"],
        "include_dirs": ["native/src", "<!@(node scripts/mpi-flags.mjs cflags)"],
        "cflags_cc!": ["-fno-exceptions", "-fno-rtti"],
        "cflags_cc": ["-O2", "-std=c++17", "-fexceptions", "-fvisibility=hidden"],
        "libraries": ["<!@(node scripts/mpi-flags.mjs libs)"],
        "defines": ["NAPI_VERSION=8", "OMPI_SKIP_MPICXX=1", "MPICH_SKIP_MPICXX=1"]
      }]
    }]
  ]
}
